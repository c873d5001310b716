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

from engagement_pipeline.ingest import common, eventbrite, hopin, zoom_meeting, zoom_webinar
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


def _same_upload_both_ways(path: Path, text: str, module: object, name: str, reference: object,
                           monkeypatch: pytest.MonkeyPatch) -> ParsedUpload:
    """`text` written to `path` and parsed with the module's array function `name`, then with `reference` in its
    place; both uploads must be equal in every part. Returns the array path's."""
    path.write_text(text, encoding="utf-8")
    uploads = []
    for function in (getattr(module, name), reference):
        with monkeypatch.context() as patched:
            patched.setattr(module, name, function)
            uploads.append(parse_export(path, mappings=[]))
    _assert_same_upload(*uploads)
    return uploads[0]


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
    fast = _same_upload_both_ways(tmp_path / "report.csv", _SUMMARY + sections, zoom_webinar, "_parse_section",
                                  _frame_section, monkeypatch)
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


_HEADER_CELLS = ["Topic", "Webinar  ID", " Email", "Name ", "a\tb", "x\x1fy", "", "Time in Session (minutes)",
                 "DEL\x7f", "A B", "#", "Ｎａｍｅ", "ß", "x\x00y", " ", "İ"]


def test_header_cells_lowered_as_one_text_equal_the_per_cell_rule() -> None:
    from engagement_pipeline.ingest.reader import Table

    rng = np.random.default_rng(11)
    rows = [list(rng.choice(np.array(_HEADER_CELLS, dtype=object), int(rng.integers(0, 6)))) for _ in range(300)]
    rows += [[], [""], ["Topic", "Webinar ID"], [" "], ["a  b"]]
    table = Table(rows=rows, encoding="utf-8", delimiter=",", container="csv")
    for index, row in enumerate(rows):
        expected = frozenset(map(common.norm_header, row))
        assert common.normalised_cells(table, index) == expected, row


def test_lone_cells_after_the_two_cell_filter_equal_the_full_scan() -> None:
    from engagement_pipeline.ingest.reader import Table

    rng = np.random.default_rng(5)
    cells = np.array(["", " ", "x", "Attendee Details", "\t", "y "], dtype=object)
    rows = [list(rng.choice(cells, int(rng.integers(0, 5)))) for _ in range(400)]
    expected = []
    for index, row in enumerate(rows):
        filled = [(column, cell) for column, cell in enumerate(row) if cell.strip()]
        if len(filled) == 1:
            expected.append((index, *filled[0]))
    assert Table(rows=rows, encoding="utf-8", delimiter=",", container="csv").lone_cells() == expected
    assert len(expected) > 20


def _frame_meeting_rows(col: Collector, sec: Section, found: dict[str, int | None],
                        block: tuple[str | None, datetime | None, set[str]] | None, flat: dict[str, int]) -> None:
    """zoom_meeting's participant rows as they were parsed on a frame and Series (the reference)."""
    rows = col.frame(sec, found, zoom_meeting.ZoomMeetingRows)
    email, name = clean_column(rows["email"]), clean_column(rows["name"])
    who = either(name, email)
    keys = common.attendee_keys(email, name)
    if block:
        topic, start, hosts_of_block = block
        is_host = pd.Series([key in hosts_of_block for key in keys], index=rows.index, dtype=bool)
    else:
        cells = dict(sec.rows)
        meetings = pd.Series([zoom_meeting._flat_meeting(tuple((f, cells[r][i]) for f, i in flat.items()
                                                               if i < len(cells[r])))
                              for r in rows.index], index=rows.index, dtype=object)
        topic, start = meetings.map(lambda m: m[0]), meetings.map(lambda m: m[1])
        is_host = pd.Series([key in m[2] for key, m in zip(keys, meetings, strict=True)], index=rows.index,
                            dtype=bool)
    minutes, minutes_error = parse_cells(rows["minutes"], parse_minutes)
    questions, polls, feedback, engagement_error = engagement_columns(rows)
    value_error = first_error(minutes_error, engagement_error)
    if not block:
        rows = col.quarantine_where(rows, start.isna(), "bad_date", "meeting start time missing or not a date")
    hosts = email[rows.index]
    col.organisers.extend(hosts[is_host[rows.index] & hosts.notna()])
    rows = col.exclude_where(rows, is_host, "host", lambda hit: (f"meeting host {w}" for w in who[hit.index]))
    rows = col.exclude_where(rows, parse_cells(rows["waiting"], parse_flag)[0].map(bool), "waiting_room",
                             lambda hit: (f"{w} was in the waiting room" for w in who[hit.index]))
    rows = col.quarantine_where(rows, value_error.notna(), "bad_value", lambda hit: value_error[hit.index])
    col.keep_columns(rows.index, {
        "event_name": topic, "event_date": start, "email": email, "name": name,
        "company": clean_column(rows["company"]), "minutes": minutes.astype(float), "questions": questions,
        "polls": polls, "feedback": feedback,
    })


_MEETING_ROWS = (
    "Hana Host,host@acme-events.com,77,No,Acme,\n"
    "Ann Lee,ann@x.io,30,No,--,2\n"
    "Ann Lee,ann@x.io,30,No,--,2\n"  # exact duplicate
    "Bo Ek,bo@x.io,5,Yes,,\n"  # waiting room
    "Cy Dee,cy@x.io,abc,No,,\n"  # fails the row model
    "Dee Fox,dee@x.io,99999999,No,,\n"  # beyond any session
    "Eve Gale,eve@x.io,12,No,Gale Co,-2\n"  # a count that is not one
    "HANA HOST,,3,No,,\n"  # the host by name
    "Fathom Notetaker,fathom@fathom.video,40,No,,\n"  # a bot
    ",,15,No,Nobody,\n"  # no identity
    "Gus Hale,GUS@x.io,1.5,,,1\n"
    "Ann L,ann@X.io,5,No,,\n"  # Ann again: folded
)
_BLOCK_MEETING = ("Topic,ID,Host,Duration (minutes),Start time,End time,Participants\n"
                  "Office Hours,8123,Hana Host (host@acme-events.com),77,06/16/2026 03:10:26 PM,"
                  "06/16/2026 04:26:31 PM,7\n\n"
                  "Name (original name),Email,Duration (minutes),In waiting room,Company,Questions Asked\n"
                  + _MEETING_ROWS)


def _flat_meeting_rows(start: str) -> str:
    head = ("Topic,Meeting ID,User Name,User Email,Start Time,Duration (Minutes),"
            "Name (Original Name),User Email,Duration (Minutes),In Waiting Room,Company,Questions Asked\n")
    meeting = f"Weekly Sync,1,Hana Host,host@acme-events.com,{start},60,"
    other = "Retro,2,Ivy Host,ivy@acme-events.com,2023-05-03 10:00:00,60,"
    lines = _MEETING_ROWS.splitlines()
    return head + "".join(f"{other if at % 3 == 2 else meeting}{line}\n" for at, line in enumerate(lines))


@pytest.mark.parametrize("text", [_BLOCK_MEETING, _flat_meeting_rows("2023-05-02 10:00:00"),
                                  _flat_meeting_rows("not a date")], ids=["block", "flat", "flat-undated"])
def test_zoom_meeting_rows_on_arrays_equal_the_frame_path(text: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _same_upload_both_ways(tmp_path / "participants.csv", text, zoom_meeting, "_parse_rows",
                                  _frame_meeting_rows, monkeypatch)
    assert len(fast.records) and len(fast.excluded) and len(fast.quarantined)


def _frame_ticket_rows(col: Collector, sec: Section, found: dict[str, int | None]) -> None:
    """eventbrite's ticket rows as they were parsed on a frame and Series (the reference)."""
    rows = col.frame(sec, found, eventbrite.EventbriteRows)
    status = pd.Series([eventbrite._status(*cells) for cells in zip(rows["status"], rows["order_type"],
                                                                     rows["checked_in"], strict=True)],
                       index=rows.index, dtype=object)
    event_date, date_error = common.parse_dates(rows["event_date"])
    questions, polls, feedback, engagement_error = engagement_columns(rows)
    error = first_error(date_error, engagement_error)
    is_date_error = error.map(lambda e: e is not None and "date" in e)
    first = pd.Series([cells[0] if cells else "" for _, cells in sec.rows], index=sec.row_numbers(), dtype=object)
    rows = col.exclude_where(rows, first.map(common.norm_header) == "totals", "summary_row", "TOTALS footer row")
    rows = col.exclude_where(rows, status == "cancelled", "cancelled",
                             lambda hit: (f"ticket status {s or o!r}" for s, o in zip(hit["status"], hit["order_type"],
                                                                                      strict=True)))
    rows = col.quarantine_where(rows, status == "unknown", "bad_value",
                                lambda hit: (f"unrecognised attendee status {s!r}" for s in hit["status"]))
    rows = col.quarantine_where(rows, is_date_error, "bad_date", lambda hit: error[hit.index])
    rows = col.quarantine_where(rows, error.notna(), "bad_value", lambda hit: error[hit.index])
    col.keep_columns(rows.index, {
        "event_name": clean_column(rows["event_name"]), "event_date": event_date, "email": clean_column(rows["email"]),
        "name": full_names(rows["first_name"], rows["last_name"]), "company": clean_column(rows["company"]),
        "attended": status == "attended", "minutes": 0.0, "questions": questions, "polls": polls,
        "feedback": feedback,
    })


_TICKETS = (
    "Order #,First Name,Last Name,Email,Order Type,Attendee Status,Company,Event Name,Event Date,Polls Answered\n"
    "1001,Gus,Hale,gus@g.com,Free Order,Checked In,Customer G,Acme User Group,2024-12-05,1\n"
    "1001,Gus,Hale,gus@g.com,Free Order,Attending,Customer G,Acme User Group,2024-12-05,\n"  # a second ticket
    "1002,Ann,Lee,ann@x.io,Free Order,Attending,--,Acme User Group,2024-12-05,\n"
    "1002,Ann,Lee,ann@x.io,Free Order,Attending,--,Acme User Group,2024-12-05,\n"  # exact duplicate
    "1003,Bo,Ek,bo@x.io,Refunded,Attending,,Acme User Group,2024-12-05,\n"  # refunded
    "1004,Cy,Dee,cy@x.io,Free Order,Not Attending,,Acme User Group,2024-12-05,\n"  # cancelled
    "1005,Dee,Fox,dee@x.io,Free Order,Waitlisted,,Acme User Group,2024-12-05,\n"  # an unknown status
    "1006,Eve,Gale,eve@x.io,Free Order,Checked In,,Acme User Group,someday,\n"  # not a date
    "1007,Fay,Holm,fay@x.io,Free Order,Checked In,,Acme User Group,2024-12-05,-4\n"  # a count that is not one
    "1008,,,,Free Order,Checked In,,Acme User Group,2024-12-05,\n"  # no identity
    "1009,Otter,Notetaker,otter@otter.ai,Free Order,Checked In,,Acme User Group,2024-12-05,\n"  # a bot
    "1010, Hal ,Ives,HAL@x.io,Free Order,Checked In,Ives Ltd,Acme Training Day,2024-12-06,yes\n"
    " totals ,,,,,,,,,\n"  # the footer
)


def test_eventbrite_rows_on_arrays_equal_the_frame_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _same_upload_both_ways(tmp_path / "Attendees-1.csv", _TICKETS, eventbrite, "_parse_rows",
                                  _frame_ticket_rows, monkeypatch)
    reasons = set(fast.excluded["reason"]) | set(fast.quarantined["reason"])
    assert {"summary_row", "cancelled", "bad_value", "bad_date", "duplicate", "bot", "no_identity"} <= reasons


def test_first_cells_of_source_rows_equal_the_cells_by_row_number() -> None:
    sec = Section(["a"], ["A"], [(2, ["x", "y"]), (3, []), (7, ["TOTALS"]), (9, [" z"])])
    by_number = {number: cells[0] if cells else "" for number, cells in sec.rows}
    for rows in ([2, 3, 7, 9], [3, 9], [], [7]):
        assert common.first_cells(sec, np.array(rows, dtype=np.int64)) == [by_number[r] for r in rows]


def _frame_people_rows(col: Collector, sec: Section, found: dict[str, int | None]) -> None:
    """hopin's people rows as they were parsed on a frame and Series (the reference)."""
    rows = col.frame(sec, found, hopin.HopinRows)
    ticket = rows["ticket"].str.strip().str.lower()
    names = clean_column(rows["name"])
    names = names.where(names.notna(), full_names(rows["first_name"], rows["last_name"]))
    minutes, minutes_error = parse_cells(rows["minutes"], parse_minutes)
    questions, polls, feedback, engagement_error = engagement_columns(rows)
    value_error = first_error(minutes_error, engagement_error)
    event_date, date_error = common.parse_dates(rows["event_date"])
    flag = parse_cells(rows["attended"], parse_flag)[0]
    ticket_text = lambda hit: (repr(t) for t in hit["ticket"])  # noqa: E731
    rows = col.exclude_where(rows, ticket.str.contains("organiser|organizer|host"), "host",
                             lambda hit: (f"organiser ticket {t}" for t in ticket_text(hit)))
    rows = col.exclude_where(rows, ticket.str.contains("cancel|refund"), "cancelled",
                             lambda hit: (f"ticket {t}" for t in ticket_text(hit)))
    rows = col.quarantine_where(rows, value_error.notna(), "bad_value", lambda hit: value_error[hit.index])
    rows = col.quarantine_where(rows, date_error.notna(), "bad_date", lambda hit: date_error[hit.index])
    minutes = minutes[rows.index].astype(float)
    attended = flag[rows.index].where(flag[rows.index].notna(), minutes > 0).astype(bool)
    col.keep_columns(rows.index, {
        "event_name": clean_column(rows["event_name"]), "event_date": event_date, "email": clean_column(rows["email"]),
        "name": names, "company": clean_column(rows["company"]), "attended": attended,
        "minutes": minutes.where(attended, 0.0), "questions": questions, "polls": polls, "feedback": feedback,
        "role": ticket.str.contains("speaker", regex=False).map({True: "speaker", False: "attendee"}),
    })


_PEOPLE = (
    "Name,First name,Last name,Email,Headline,Company,Ticket type,Attended,Time in event (minutes),"
    "Questions asked,Event,Event start\n"
    "Gus Hale,,,gus@g.com,CTO,Customer G,General,Yes,40,1,Data Summit,2024-12-05 09:00\n"
    ",Ann,Lee,ann@x.io,,--, Speaker ,,12.5,,Data Summit,2024-12-05 09:00\n"  # named by first/last; speaker
    ",Ann,Lee,ann@x.io,,--, Speaker ,,12.5,,Data Summit,2024-12-05 09:00\n"  # exact duplicate
    "Olga Org,,,olga@acme.com,,,Organizer,Yes,90,,Data Summit,2024-12-05 09:00\n"  # organiser
    "Bo Ek,,,bo@x.io,,,Refunded General,No,0,,Data Summit,2024-12-05 09:00\n"  # refunded
    "Cy Dee,,,cy@x.io,,,General,No,-,,Data Summit,2024-12-05 09:00\n"
    "Dee Fox,,,dee@x.io,,,General,,0,,Data Summit,2024-12-05 09:00\n"  # no flag, no minutes
    "Eve Gale,,,eve@x.io,,,General,Yes,9999999999,,Data Summit,2024-12-05 09:00\n"  # beyond any session
    "Fay Holm,,,fay@x.io,,,General,Yes,5,,Data Summit,whenever\n"  # not a date
    "Hal Ives,,,HAL@x.io,,,VIP speaker,Yes,3,x,Data Summit,2024-12-05 09:00\n"  # a count that is not one
    "Read.ai,,,,,,General,Yes,30,,Data Summit,2024-12-05 09:00\n"  # a bot
    ",,,,,Nobody,General,Yes,30,,Data Summit,2024-12-05 09:00\n"  # no identity
    "Ivy Jo,,,ivy@x.io,,,General,No,20,,Data Summit,2024-12-05 09:00\n"  # flagged absent despite minutes
)


def test_hopin_rows_on_arrays_equal_the_frame_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _same_upload_both_ways(tmp_path / "hopin-people-export.csv", _PEOPLE, hopin, "_parse_rows",
                                  _frame_people_rows, monkeypatch)
    reasons = set(fast.excluded["reason"]) | set(fast.quarantined["reason"])
    assert {"host", "cancelled", "bad_value", "bad_date", "duplicate", "bot", "no_identity"} <= reasons
    assert set(fast.records["role"]) == {"speaker", "attendee"}


@pytest.mark.parametrize("days", [
    [datetime(2025, 12, 4)], ["2025-12-04", "2026-01-01"], [pd.Timestamp("2025-12-04").as_unit("ns")],
    [pd.Timestamp("2025-12-04").as_unit("ms"), pd.Timestamp("2025-12-05").as_unit("ms")],
    [pd.Timestamp("2025-12-04").as_unit("s"), pd.Timestamp("2025-12-05").as_unit("us")],  # two units
    [pd.Timestamp("2025-12-04", tz="UTC")], [], [datetime(1678, 1, 1)], [datetime(2261, 12, 31)],
], ids=repr)
def test_event_days_taken_directly_equal_to_datetime(days: list[object]) -> None:
    from engagement_pipeline.ingest.collector import _day_values

    days = [pd.Timestamp(d) if not isinstance(d, pd.Timestamp) else d for d in days]
    direct, expected = _day_values(days), pd.to_datetime(pd.Series(days, dtype=object)).to_numpy()
    assert direct.dtype == expected.dtype
    assert list(direct) == list(expected)


def _email_checks_of_all(emails: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """collector._email_checks as it was, matching every email each time (the reference)."""
    from engagement_pipeline.ingest import collector

    present = ~pd.isna(emails)
    texts = emails[present] if not present.all() else emails
    if not set(map(type, texts)) <= {str}:
        return None
    stripped = list(map(str.strip, texts))
    joined = common.nul_joined(stripped)
    nonempty = int(np.count_nonzero(np.fromiter(map(bool, texts), dtype=bool, count=len(texts))))
    if joined is None or collector._JOINED_EMAIL.subn("", joined)[1] != nonempty:
        return None
    has_email = np.zeros(len(emails), dtype=bool)
    has_email[present] = np.fromiter(map(bool, stripped), dtype=bool, count=len(stripped))
    return np.ones(len(emails), dtype=bool), has_email


_EMAILS = ["a@x.io", " a@x.io ", "A@X.IO", "", "  ", None, np.nan, "not an address", "b@y", "c@z.co\x00",
           "d@e.org", "two@@x.io", "e@f.gh", "x y@z.io", 5]


def test_known_addresses_checked_once_equal_matching_every_email(monkeypatch: pytest.MonkeyPatch) -> None:
    from engagement_pipeline.ingest import collector

    rng = np.random.default_rng(9)
    monkeypatch.setattr(collector, "_KNOWN_ADDRESSES", set())
    monkeypatch.setattr(collector, "_KNOWN_ADDRESS_LIMIT", 3)  # forgotten now and then
    outcomes = set()
    for size in [0, 1, 2, 5, 9, 20] * 12:
        emails = np.empty(size, dtype=object)
        emails[:] = list(rng.choice(np.array(_EMAILS, dtype=object), size))
        expected = _email_checks_of_all(emails)
        for _ in range(2):  # the second time with the addresses known
            checked = collector._email_checks(emails)
            assert (checked is None) == (expected is None), list(emails)
            if checked is not None:
                assert [a.tolist() for a in checked] == [a.tolist() for a in expected]
        outcomes.add(expected is None)
    assert outcomes == {True, False}


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_a_naive_datetime_column_coerced_by_astype_equals_pandera(unit: str) -> None:
    from engagement_pipeline.ingest.canonical import CanonicalAttendance
    from engagement_pipeline.ingest.schema_check import _coerced

    column = CanonicalAttendance.to_schema().columns["event_date"]
    days = np.array(["2025-12-04T10:11:12", "NaT", "1678-01-01", "2261-12-31"], dtype=f"datetime64[{unit}]")
    values = pd.Series(days, index=[3, 1, 2, 0], name="event_date")
    pd.testing.assert_series_equal(_coerced(column, values), column.dtype.coerce(values), check_exact=True)
    zoned = values.dt.tz_localize("UTC")  # not naive: pandera's own coercion
    pd.testing.assert_series_equal(_coerced(column, zoned), column.dtype.coerce(zoned), check_exact=True)
