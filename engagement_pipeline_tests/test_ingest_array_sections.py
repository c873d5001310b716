"""Platform sections parsed on column arrays give exactly what the frame-and-Series code they replace gives.

Why: a Zoom webinar report is a handful of small sections, and building a frame, then a Series per column and
per step, was most of parsing one (issue 11, throughput). The array path must keep every record, every issue
with its reason, detail and raw cells, and the ledger; these pin it on hostile input a benchmark file never holds:
hosts met again in later sections, duplicates, unreadable values, bots, bad emails, rows without identity.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engagement_pipeline.ingest import common, zoom_webinar
from engagement_pipeline.ingest.collector import Collector
from engagement_pipeline.ingest.common import (
    Section,
    clean,
    clean_column,
    either,
    engagement_columns,
    first_error,
    full_names,
    parse_cells,
    parse_count,
    parse_feedback,
    parse_flag,
    parse_minutes,
)
from engagement_pipeline.ingest.parse import parse_export
from engagement_pipeline.ingest.result import ParsedUpload


def _frame_section(col: Collector, sec: Section, found: dict[str, int | None], kind: str, host_keys: set[str],
                   event_name: str | None, event_date: datetime | None) -> None:
    """zoom_webinar._parse_section as it was on a frame and Series (the reference)."""
    rows = col.frame(sec, found, zoom_webinar.ZoomWebinarRows, scope=kind)
    email = clean_column(rows["email"])
    name = either(clean_column(rows["user_name"]), full_names(rows["first_name"], rows["last_name"]))
    rows = col.exclude_hosts(rows, email, name, host_keys, host_section=kind == "host", label="webinar host")
    flag = parse_cells(rows["attended"], parse_flag)[0]
    minutes, minutes_error = parse_cells(rows["minutes"], parse_minutes)
    questions, polls, feedback, engagement_error = engagement_columns(rows)
    value_error = first_error(minutes_error, engagement_error)
    rows = col.quarantine_where(rows, value_error.notna(), "bad_value", lambda hit: value_error[hit.index])
    kept = flag.index.get_indexer(rows.index)
    flags, minutes_kept = flag.to_numpy()[kept], minutes.to_numpy()[kept].astype(float)
    attended = np.where(pd.isna(flags), (minutes_kept > 0) | (kind != "attendee"), flags).astype(bool)
    col.keep_columns(rows.index, {
        "event_name": event_name, "event_date": event_date, "email": email, "name": name,
        "company": clean_column(rows["company"]), "registered": kind != "other", "attended": attended,
        "minutes": np.where(attended, minutes_kept, 0.0), "questions": questions, "polls": polls, "feedback": feedback,
        "role": "panelist" if kind == "panelist" else "attendee",
    })


_SUMMARY = ("Attendee Report,,,,,,,\nTopic,Webinar ID,Actual Start Time,Actual Duration (minutes),,,,\n"
            'Launch Webinar,810 0000 0000,"Dec 4, 2025 11:00 AM",60,,,,\n')
_HOSTS = ("Host Details,,,,,,,\nAttended,User Name (Original Name),Email,Time in Session (minutes),,,,\n"
          "Yes,Maya Chen,Maya.Chen@northwind.com,72,,,,\nYes,Read.ai Notetaker,,60,,,,\n")
_PANELISTS = ("Panelist Details,,,,,,,\nAttended,User Name (Original Name),Email,Time in Session (minutes),,,,\n"
              "Yes,Lena Fischer,lena@northwind.com,64,,,,\nYes,Lena Fischer,lena@northwind.com,64,,,,\n"
              "No,Quinn Keller,quinn@fenran.es,,,,,\n")
_ATTENDEES = (
    "Attendee Details,,,,,,,\n"
    "Attended,User Name (Original Name),First Name,Last Name,Email,Time in Session (minutes),Organization,"
    "Questions Asked\n"
    "Yes,Sven Lindqvist,Sven,Lindqvist,sven@ixkami.io,59,Ixkami,2\n"
    "Yes,,Farid,Yilmaz,farid@senbr.com,30,--,\n"
    "Yes,Maya C,,,maya.chen@NORTHWIND.com,50,Northwind,\n"  # the host again: excluded as host
    "No,Ann Lee,,,ann@x.io,0,,-1\n"  # a count that is not one: bad_value
    "Yes,Bo Ek,,,bo@x.io,99999999,,\n"  # beyond any session: bad_value
    "Yes,Cy Dee,,,cy@x.io,abc,,\n"  # fails the row model: quarantined by pandera
    ",Dee Fox,,,dee@x.io,12,,\n"  # no flag: attended by minutes
    ",Eve Gale,,,eve@x.io,0,,\n"  # no flag, no minutes: registered only
    "Yes,Otter.ai,,,otter@otter.ai,40,,\n"  # a note-taker bot
    "Yes,,,,,15,Nobody Inc,\n"  # no identity
    "Yes,Sven Lindqvist,Sven,Lindqvist,sven@ixkami.io,59,Ixkami,2\n"  # exact duplicate
    "Yes,Sven Again,,,SVEN@ixkami.io,5,,1\n"  # same person: folded
    "Yes,Ana Lima,,,ana@x.io,1.5,,yes\n"
)
_OTHER = ("Other Attended,,,,,,,\nUser Name (Original Name),Email,Time in Session (minutes),,,,,\n"
          "Walk In,walk@x.io,25,,,,,\nLena Fischer,lena@northwind.com,3,,,,,\n")


def _parsed(path: Path, section: object, monkeypatch: pytest.MonkeyPatch) -> ParsedUpload:
    with monkeypatch.context() as patched:
        patched.setattr(zoom_webinar, "_parse_section", section)
        return parse_export(path, mappings=[])


def _assert_same_upload(fast: ParsedUpload, slow: ParsedUpload) -> None:
    pd.testing.assert_frame_equal(fast.records, slow.records, check_exact=True)
    for frame in ("excluded", "quarantined"):
        pd.testing.assert_frame_equal(getattr(fast, frame), getattr(slow, frame), check_exact=True)
    assert (fast.ledger, fast.notes, fast.organiser_emails) == (slow.ledger, slow.notes, slow.organiser_emails)
    for column in fast.records.columns:  # None and NaN, and the types of the values, alike
        assert list(map(type, fast.records[column])) == list(map(type, slow.records[column])), column


@pytest.mark.parametrize("sections", [
    _HOSTS + _PANELISTS + _ATTENDEES + _OTHER,
    _ATTENDEES + _HOSTS + _OTHER,  # the host's attendee row read before the host section
    _PANELISTS + _ATTENDEES,  # no hosts at all
    _HOSTS + "Attendee Details,,,,,,,\n" + _OTHER,  # an empty section
], ids=["all", "host-late", "no-hosts", "empty-section"])
def test_zoom_sections_on_arrays_equal_the_frame_path(sections: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "report.csv"
    path.write_text(_SUMMARY + sections, encoding="utf-8")
    fast = _parsed(path, zoom_webinar._parse_section, monkeypatch)
    slow = _parsed(path, _frame_section, monkeypatch)
    _assert_same_upload(fast, slow)
    assert len(fast.records) and len(fast.excluded) and (len(fast.quarantined) or "bad_value" not in sections)


_CELLS = ["", "--", " 12 ", "12", "1h 2m", "abc", "Yes", "no", "NA", "-3", "  ", "ñ", "1,5", "Ann", " x@y.io "]


@pytest.mark.parametrize("parse_cell", [parse_minutes, parse_count, parse_flag, parse_feedback, clean],
                         ids=lambda f: f.__name__)
def test_cell_arrays_equal_the_series_helpers(parse_cell: object) -> None:
    rng = np.random.default_rng(3)
    for cells in (rng.choice(np.array(_CELLS, dtype=object), 50), np.full(7, "", dtype=object),
                  np.empty(0, dtype=object), np.array(["", "", "x"], dtype=object)):
        series = pd.Series(cells, index=rng.permutation(100)[:len(cells)], dtype=object)
        parsed, errors = common.parse_cell_array(cells, parse_cell)
        expected, expected_errors = common._parse_each(series, parse_cell)
        assert list(parsed) == list(expected) and list(errors) == list(expected_errors)
        assert list(map(type, parsed)) == list(map(type, expected))
        if parse_cell is clean:
            assert list(common.clean_cells(cells)) == list(expected)
            assert list(map(type, common.clean_cells(cells))) == list(map(type, expected))


def test_blank_columns_are_factorised_as_pandas_does() -> None:
    for cells in (np.full(4, "", dtype=object), np.array(["", "", "x"], dtype=object),
                  np.array(["", 0, ""], dtype=object), np.array(["", None], dtype=object), np.empty(0, dtype=object)):
        codes, distinct = common._factorized(cells)
        expected_codes, expected_distinct = pd.factorize(cells)
        assert list(codes) == list(expected_codes) and list(distinct) == list(expected_distinct)


def test_either_full_names_and_engagement_on_arrays_equal_the_series_helpers() -> None:
    index = pd.Index([4, 2, 9, 7], name="source_row")
    first = np.array(["a", None, np.nan, ""], dtype=object)
    fallback = np.array(["x", "y", None, "z"], dtype=object)
    expected = either(pd.Series(first, index=index, dtype=object), pd.Series(fallback, index=index, dtype=object))
    assert list(common.either_cells(first, fallback)) == list(expected)
    firsts = np.array([" Ann", "", "--", "Bo ", 5], dtype=object)
    lasts = np.array(["Lee", "", "", " ", "Kim"], dtype=object)  # a number: the astype(str) path
    for f, v in ((firsts, lasts), (firsts[1:3], lasts[1:3]), (firsts[:4], lasts[:4])):
        as_series = full_names(pd.Series(f, dtype=object), pd.Series(v, dtype=object))
        assert list(common.full_name_cells(f, v)) == list(as_series.to_numpy(dtype=object))
    frame = pd.DataFrame({"questions": ["1", "", "x", "2"], "feedback": ["yes", "", "No", "4"]}, index=index,
                         dtype=object)
    arrays = common.engagement_cells({c: frame[c].to_numpy() for c in frame.columns}, len(frame))
    for array, series in zip(arrays, engagement_columns(frame), strict=True):
        assert list(array) == list(series) and list(map(type, array)) == list(map(type, series))
