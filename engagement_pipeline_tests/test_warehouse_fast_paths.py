"""Fast paths of storing an upload (and of the per-upload step before it) against the simple code they replace,
on concrete and hostile input: the same values, of the same types, in the same order."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from engagement_pipeline import warehouse as wh
from engagement_pipeline.ingest.ledger import exclude_internal, rows_at
from engagement_pipeline.ingest.organiser import organiser_records
from engagement_pipeline.ingest.result import ParsedUpload
from engagement_pipeline.matching.domains import email_domain
from engagement_pipeline.warehouse import bulk, kept_records
from engagement_pipeline.warehouse.bulk import SqliteColumn, _clean, _sqlite_column, _text_or_null, objects
from engagement_pipeline.warehouse.store import _with_raw_json


def _organiser_records_one_by_one(records: pd.DataFrame, domains: frozenset[str]) -> pd.DataFrame:
    """The per-email code `organiser_records` replaced: each email stripped, lowered and split in Python, the
    verdict of its domain part cached, the rows taken by position."""
    by_domain: dict[str, bool] = {}

    def internal(email: object) -> bool:
        cleaned = email.strip().lower() if isinstance(email, str) else ""
        if "@" not in cleaned:
            return False
        found = by_domain.get(part := cleaned.rsplit("@", 1)[1])
        if found is None:
            domain = email_domain(cleaned)
            found = by_domain[part] = domain is not None and (domain.registrable in domains or domain.full in domains)
        return found

    emails = records["attendee_email"].to_numpy(dtype=object)
    flags = {email: internal(email) for email in set(emails)}
    hits = np.fromiter(map(flags.__getitem__, emails), dtype=bool, count=len(emails))
    return records.iloc[np.flatnonzero(hits)].reset_index(drop=True)


_HOSTILE_EMAILS = [" Ana@ACME.com ", "b@eu.acme.com", "ΟΔΟΣ@ACME.COM", "İlker@acme.com", "c@acme.com.", "d@gmail.com",
                   "no-at-sign", "e@", "@acme.com", None, np.nan, 7, "", "f@acme.com/x", "g@ACME.COM\t", "h@acme.co.uk",
                   "x@y@acme.com", "\u00a0i@acme.com\u2003", "ΣΊΣΥΦΟΣ@acme.com", "j@acme.com"]


@pytest.mark.parametrize("nul", [False, True])
@pytest.mark.parametrize("domains", [{"acme.com"}, {"eu.acme.com"}, {"gmail.com"}, {"nowhere.org"}])
def test_organiser_records_equal_the_email_by_email_code(domains: set[str], nul: bool) -> None:
    """Every kind of email (case, spaces, Greek final sigma, dotted I, no '@', missing, not text) and, with a NUL
    in one email, the one-by-one fallback; staff rows in one run and scattered, and the records left without them
    (one run when the staff come first or last, taken as a slice; scattered otherwise)."""
    emails = [*_HOSTILE_EMAILS, "k\x00@acme.com"] if nul else _HOSTILE_EMAILS
    for order in (emails, sorted(emails, key=lambda e: isinstance(e, str) and "acme.com" in e.lower())):
        records = pd.DataFrame({"event_id": [f"e{i % 3}" for i in range(len(order))],
                                "attendee_key": [f"k{i}" for i in range(len(order))],
                                "attendee_email": pd.Series(order, dtype=object),
                                "attendee_name": [f"n{i}" for i in range(len(order))],
                                "source_row": range(2, len(order) + 2), "rows_folded": [1] * len(order)})
        for frame in (records, records.astype({"attendee_email": "str"}).iloc[::-1].reset_index(drop=True)):
            expected = _organiser_records_one_by_one(frame, frozenset(domains))
            internal = organiser_records(frame, frozenset(domains))
            pd.testing.assert_frame_equal(internal, expected)
            parsed = exclude_internal(ParsedUpload("zoom_webinar", frame, rows_read=40, rows_kept=40), internal)
            pairs = set(zip(expected["event_id"], expected["attendee_key"], strict=True))
            keep = [(e, k) not in pairs for e, k in zip(frame["event_id"], frame["attendee_key"], strict=True)]
            pd.testing.assert_frame_equal(parsed.records, frame.loc[keep].reset_index(drop=True))


@pytest.mark.parametrize("positions", [[], [0], [4], [0, 1, 2], [3, 4, 5], [1, 2, 3], [0, 2], [0, 1, 5], [*range(6)]])
def test_rows_at_a_run_or_scattered_positions_equal_the_take(positions: list[int]) -> None:
    frame = pd.DataFrame({"a": pd.Series(["x", None, "z", "w", "v", "u"], dtype="str"), "n": range(6),
                          "d": pd.to_datetime(["2026-03-04"] * 6), "o": [None, 1, "a", 2.5, None, "b"]},
                         index=[10, 11, 12, 13, 14, 15])
    at = np.asarray(positions, dtype=np.intp)
    pd.testing.assert_frame_equal(rows_at(frame, at), frame.iloc[at].reset_index(drop=True))


def _text_column_with_isna(column: pd.Series) -> SqliteColumn:
    """The text branch of `_sqlite_column` before the all-text check: missing values from `isna`."""
    return _text_or_null(column.to_numpy(dtype=object), np.asarray(column.array.isna()), "text")


@pytest.mark.parametrize("column", [
    pd.Series(["a", "b", "a"], dtype="str"),
    pd.Series(["a", None, "0", ""], dtype="str"),
    pd.Series([np.nan, np.nan], dtype="str"),
    pd.Series(["a", None, "b"], dtype=object),
    pd.Series([np.str_("a"), "b"], dtype=object),  # a str subclass: text, not missing
    pd.Series(["a\x00b", "c"], dtype="str"),
    pd.Series([], dtype="str"),
    pd.Series(["x", pd.NA], dtype=pd.StringDtype()),
], ids=lambda c: f"{c.dtype}:{c.tolist()!r}")
def test_a_text_column_goes_to_sqlite_as_the_isna_code_sends_it(column: pd.Series) -> None:
    got = _sqlite_column(sa.Text(), column)
    expected = _text_column_with_isna(column)
    assert (got.placeholder, got.kind) == (expected.placeholder, expected.kind)
    assert got.values == expected.values and list(map(type, got.values)) == list(map(type, expected.values))


def _datetimes_by_unique(stamps: np.ndarray) -> SqliteColumn:
    """`_naive_datetimes` without its one-date shortcut."""
    distinct, where = np.unique(stamps, return_inverse=True)
    text = np.char.replace(np.datetime_as_string(distinct, unit="us"), "T", " ").astype(object)[where]
    return _text_or_null(text, np.isnat(stamps), "datetime")


@pytest.mark.parametrize("stamps", [
    ["2026-03-04"] * 4,
    ["2026-03-04 10:11:12.345678"],
    ["NaT", "NaT"],
    ["NaT"],
    ["2026-03-04", "NaT", "2026-03-04"],
    ["2026-03-05", "2026-03-04", "2026-03-05"],
    ["1677-09-22 00:12:43.145225", "1677-09-22 00:12:43.145225"],
])  # (never empty: `_insert_sqlite` writes nothing for an empty chunk)
def test_datetimes_go_to_sqlite_as_the_unique_code_sends_them(stamps: list[str]) -> None:
    values = np.array(stamps, dtype="datetime64[us]")
    got, expected = bulk._naive_datetimes(values), _datetimes_by_unique(values)
    assert (got.placeholder, got.kind, got.values) == (expected.placeholder, expected.kind, expected.values)
    assert list(map(type, got.values)) == list(map(type, expected.values))


def _one_value_elementwise(values: np.ndarray) -> bool:
    """`kept_records._one_value` as it compared object arrays before: elementwise `==`, then `.all()`."""
    first = values[0]
    if values.dtype.kind in "biuf":
        return bool((values == first).all())
    if values.dtype.kind != "O" or not (first is None or first.__class__ in (str, datetime)):
        return False
    return bool((values == first).all())


def test_one_value_columns_are_found_as_the_elementwise_code_finds_them() -> None:
    day = datetime(2026, 3, 4, 10, 11, 12)
    same = "attendee"
    cases = [
        np.full(5, same, dtype=object), objects(["a", "a", "a"]), objects(["a", "a", "b"]), objects(["b", "a", "a"]),
        objects(["a", "b", "a"]), objects([None, "a", None]), objects([day, None, day]),
        objects(["a", np.str_("a")]), objects([np.str_("a"), "a"]), objects([None, None]), objects([None, "a"]),
        objects(["a", None]), objects([float("nan"), float("nan")]), objects([day, day]),
        objects([day, pd.Timestamp(day)]), objects([day, datetime(2026, 3, 5)]), objects(["1", 1]), objects([1, 1]),
        objects(["a"]),
        np.array([1.0, 1.0]), np.array([np.nan, np.nan]), np.array([True, True]), np.array([3, 4]),
    ]
    for values in cases:
        assert kept_records._one_value(values) is _one_value_elementwise(values), values


@pytest.mark.parametrize("raw", [
    [{"Name": "Zoë", "Email": "z@x.org", "n": None}, {"x": float("nan")}, {"t": pd.Timestamp("2026-03-04")}, {}],
    [None, float("nan"), "text", 3, ["a"], {"nested": {"é": 1}}],
    [pd.NaT, np.int64(4), pd.Timestamp("2026-03-04 10:00")],
])
def test_row_issue_cells_become_the_json_dumps_text(raw: list[object]) -> None:
    issues = pd.DataFrame({"source_row": range(len(raw)), "reason": "bot", "detail": None,
                           "raw": pd.Series(raw, dtype=object)})
    got = _with_raw_json(issues)["raw"].tolist()
    assert got == [json.dumps(_clean(cells), ensure_ascii=False, default=str) for cells in raw]
    assert _with_raw_json(issues.drop(columns=["raw"]))["raw"].tolist() == ["null"] * len(raw)


@pytest.mark.parametrize("rows", [2, 3, 4, 7])
def test_a_frame_of_one_chunk_or_several_stores_every_row_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              rows: int) -> None:
    """A frame that fits one chunk is inserted as it is, a longer one chunk by chunk (3 rows a chunk here)."""
    monkeypatch.setattr(bulk, "INSERT_CHUNK_ROWS", 3)
    engine = wh.make_engine(f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    wh.create_schema(engine)
    frame = pd.DataFrame({"event_id": "e1", "event_name": "E", "event_type": "webinar",
                          "event_date": pd.Timestamp("2026-03-04"), "platform": "zoom_webinar",
                          "attendee_key": [f"k{i}" for i in range(rows)], "attendee_email": None,
                          "attendee_name": [f"n{i}" for i in range(rows)], "company": None, "registered": True,
                          "attended": True, "minutes_attended": 1.0, "questions_asked": 0, "polls_answered": 0,
                          "feedback_submitted": False, "role": "attendee", "source_file": "a.csv",
                          "source_row": range(2, rows + 2), "rows_folded": 1}, index=range(10, 10 + rows))
    with engine.begin() as conn:
        wh.replace_attendance(conn, frame)
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT attendee_key, source_row FROM attendance ORDER BY source_row").all()
    assert [tuple(row) for row in stored] == [(f"k{i}", i + 2) for i in range(rows)]
