"""The ingest fast paths give exactly what the pandas code they replace gives, on awkward input.

Why: folding, row pre-checks and column parsing were rewritten with numpy reductions and per-distinct-value
work (issue 11, throughput); the golden files pin the fixtures, and these pin the cases a fixture may not
hold: nulls in first-value columns, fractional minutes whose sum depends on the order of addition, repeated
people across events, every role.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engagement_pipeline.inbox.files import archive_copy, sha256_of, stable_copy
from engagement_pipeline.ingest import collector as collector_module
from engagement_pipeline.ingest import common
from engagement_pipeline.ingest.canonical import CANONICAL_COLUMNS, CanonicalAttendance
from engagement_pipeline.ingest.common import (
    clean,
    parse_count,
    parse_datetime,
    parse_feedback,
    parse_flag,
    parse_minutes,
)
from engagement_pipeline.ingest.ledger import exclude_internal, quarantine_oversized_keys
from engagement_pipeline.ingest.organiser import organiser_records
from engagement_pipeline.ingest.result import ParsedUpload, row_counts
from engagement_pipeline.matching.domains import email_domain


def _columns(seed: int, rows: int) -> dict[str, np.ndarray]:
    """Canonical record columns as `Collector._records` builds them, with many duplicates to fold."""
    rng = np.random.default_rng(seed)
    people = [f"p{i}@x.io" for i in range(max(2, rows // 3))]
    events = ["2026-03-01-launch", "2026-03-02-demo", "2026-03-01-launch-2"]
    maybe = lambda values: np.array([v if rng.random() > 0.4 else None for v in values], dtype=object)  # noqa: E731
    keys = rng.choice(people, rows)
    event = rng.choice(events, rows)
    attended = rng.random(rows) > 0.3
    minutes = np.where(attended, rng.choice([0.1, 0.2, 0.3, 1 / 3, 7.0, 12.5, 1e-9], rows), 0.0)
    return {
        "event_id": event.astype(object), "event_name": np.array([e[11:] for e in event], dtype=object),
        "event_type": rng.choice(["webinar", "training"], rows).astype(object),
        "event_date": pd.to_datetime([e[:10] for e in event]).to_numpy(),
        "platform": np.full(rows, "zoom_webinar", dtype=object), "attendee_key": keys.astype(object),
        "attendee_email": keys.astype(object), "attendee_name": maybe([f"Name {k}" for k in keys]),
        "company": maybe([f"Co {i}" for i in rng.integers(0, 5, rows)]),
        "registered": rng.random(rows) > 0.5, "attended": attended, "minutes_attended": minutes,
        "questions_asked": rng.integers(0, 4, rows), "polls_answered": rng.integers(0, 4, rows),
        "feedback_submitted": rng.random(rows) > 0.5,
        "role": rng.choice(["attendee", "panelist", "speaker", "host"], rows).astype(object),
        "source_file": np.full(rows, "f.csv", dtype=object),
        "source_row": rng.permutation(np.arange(2, rows + 2)).astype(np.int64), "rows_folded": np.ones(rows, np.int64),
    }


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("whole_minutes", [False, True])
def test_fold_by_sorting_equals_the_groupby(seed: int, whole_minutes: bool, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    columns = _columns(seed, rows=5 + seed * 17)
    if whole_minutes:
        columns["minutes_attended"] = np.round(columns["minutes_attended"] * 10)
    order = np.argsort(columns["source_row"], kind="stable")
    grouped = collector_module._fold_grouped(pd.DataFrame({c: v[order] for c, v in columns.items()}))
    monkeypatch.setattr(collector_module, "_fold_grouped", None)  # the fast path must not hand over
    fast = collector_module._fold(columns)
    assert list(fast.columns) == list(CANONICAL_COLUMNS)
    pd.testing.assert_frame_equal(CanonicalAttendance.validate(fast), CanonicalAttendance.validate(grouped),
                                  check_exact=True)


def test_fold_without_duplicates_keeps_every_row_in_source_order() -> None:
    columns = _columns(3, rows=4)
    columns["attendee_key"] = columns["attendee_email"] = np.array(["a@x.io", "b@x.io", "c@x.io", "d@x.io"],
                                                                    dtype=object)
    fast = collector_module._fold(columns)
    assert fast["source_row"].tolist() == sorted(columns["source_row"].tolist())
    assert fast["rows_folded"].tolist() == [1, 1, 1, 1]


_CELLS = ["", "--", " 12 ", "12", "1h 2m", "abc", "Yes", "no", "NA", "2025-03-04", "Mar 4, 2025 10:00 AM", "0:40:00",
          "-3", "1e400", "  ", "ñ", "1,5"]


@pytest.mark.parametrize("parse_cell", [parse_minutes, parse_count, parse_flag, parse_feedback, parse_datetime, clean],
                         ids=lambda f: f.__name__)
def test_parse_cells_by_codes_equals_parsing_each_cell(parse_cell: Callable[[str], object]) -> None:
    rng = np.random.default_rng(7)
    values = pd.Series(rng.choice(np.array(_CELLS, dtype=object), 200), index=rng.permutation(400)[:200],
                       dtype=object)
    fast, fast_errors = common.parse_cells(values, parse_cell)
    slow, slow_errors = common._parse_each(values, parse_cell)
    pd.testing.assert_series_equal(fast, slow, check_exact=True)
    pd.testing.assert_series_equal(fast_errors, slow_errors, check_exact=True)
    assert fast_errors.notna().any() or parse_cell in (parse_flag, parse_feedback, clean)


def test_either_first_error_and_full_names_equal_the_pandas_expressions() -> None:
    index = pd.Index([5, 3, 9, 11], name="source_row")
    first = pd.Series(["a", None, np.nan, ""], index=index, dtype=object, name="email")
    fallback = pd.Series(["x", "y", None, "z"], index=index, dtype=object)
    pd.testing.assert_series_equal(common.either(first, fallback), first.where(first.notna(), fallback))
    shifted = fallback.set_axis([3, 5, 9, 11])  # other rows: aligned by pandas as before
    pd.testing.assert_series_equal(common.either(first, shifted), first.where(first.notna(), shifted))
    pd.testing.assert_series_equal(common.first_error(first, fallback, shifted),
                                   first.where(first.notna(), fallback).where(lambda s: s.notna(), shifted))
    names = pd.Series([" Ann", "", "--", "Bo "], index=index, dtype=object)
    lasts = pd.Series(["Lee", "", "", " "], index=index, dtype=object)
    pd.testing.assert_series_equal(common.full_names(names, lasts),
                                   common.clean_column(names.astype(str) + " " + lasts.astype(str)))


@pytest.mark.parametrize(("key", "moved"), [("a" * 1024, False), ("a" * 1025, True), ("😀" * 256, False),
                                            ("😀" * 257, True), ("é" * 512, False), ("é" * 513, True)])
def test_only_keys_over_the_byte_limit_are_quarantined(key: str, moved: bool) -> None:
    columns = _columns(1, rows=2)
    columns["attendee_key"] = np.array([key, "b@x.io"], dtype=object)
    columns["attendee_email"] = np.array([None, "b@x.io"], dtype=object)
    records = CanonicalAttendance.validate(collector_module._fold(columns))
    parsed = quarantine_oversized_keys(ParsedUpload("zoom_webinar", records, rows_read=2, rows_kept=2))
    assert len(parsed.quarantined) == int(moved) and len(parsed.records) == 2 - int(moved)


@pytest.mark.parametrize("rows", [None, [2, None, 3, 1], [2, 1, 3, 4]])
def test_the_ledger_counts_equal_the_row_counts_groupby(rows: list[int | None] | None) -> None:
    excluded = pd.DataFrame({"source_row": [2, 3, 4, 5], "reason": ["host", "bot", "host", None],
                             "detail": ["a", "b", "c", "d"], "raw": [{}, {}, {}, {}]})
    if rows is not None:
        excluded["rows"] = rows
    quarantined = excluded.iloc[:2].assign(reason="bad_email")
    parsed = ParsedUpload("zoom_webinar", pd.DataFrame(), excluded=excluded, quarantined=quarantined,
                          rows_read=20, rows_kept=20 - int(row_counts(excluded).sum() + row_counts(quarantined).sum()))
    by_reason = row_counts(excluded).groupby(excluded["reason"]).sum().to_dict()
    ledger = parsed.ledger
    assert ledger["excluded_by_reason"] == {str(k): int(v) for k, v in sorted(by_reason.items())}
    assert ledger["rows_excluded"] == int(row_counts(excluded).sum())
    assert ledger["rows_quarantined"] == int(row_counts(quarantined).sum())
    assert ledger["balanced"] is True


_HEADER_CELLS = ["", " ", "Name", "  Join  Time ", "\tIn-Meeting\nDuration", "E-mail\x1c", "Ｎａｍｅ", "\ufeffEmail",
                 "Duração na reunião", "a\u00a0b", "x\x0by", "MiXeD Case ", "\u3000Topic"]


def test_header_and_blank_shortcuts_equal_the_general_rules() -> None:
    for cell in _HEADER_CELLS:  # NFKC, \s+ collapsed, trimmed, lower-cased: the ASCII shortcut must agree
        folded = unicodedata.normalize("NFKC", cell.replace("\ufeff", ""))
        assert common.norm_header(cell) == re.sub(r"\s+", " ", folded).strip().lower(), repr(cell)
    for first in _HEADER_CELLS:
        for row in ([first], [first, ""], [first, "x"], []):
            assert common.is_blank(row) == (not any(c.strip() for c in row)), row


# --- Session 11 (lane-parse3): the column-array paths --------------------------------------------------------

_NAMES = [None, "", "Ann Lee", "Otter", "Read.ai Notetaker", "meeting", "Zoom AI Companion", "x tl;dv", "Nyota",
          "İstanbul Σ", "note taker", "bob\x00x", "Ann\nLee"]
_EMAILS = [None, "", "  ", "a@b.co", " A@B.CO ", "notes@x.com", "x@otter.ai", "b@sub.tldv.io", "bot@fathom.video",
           "ann@x.bluedot.com", "bad", "x@y", "p q@r.s", "é@Ü.de", "ΣΣ@x.gr", "a@b.c\n", "z@q\x00.io"]


def _pairs(seed: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    names, emails = np.empty(rows, dtype=object), np.empty(rows, dtype=object)
    names[:] = [_NAMES[i] for i in rng.integers(0, len(_NAMES), rows)]
    emails[:] = [_EMAILS[i] for i in rng.integers(0, len(_EMAILS), rows)]
    return names, emails


@pytest.mark.parametrize("seed", range(6))
def test_row_checks_on_joined_texts_equal_the_row_by_row_rules(seed: int) -> None:
    names, emails = _pairs(seed, rows=seed * 7)
    expected = [common.is_bot(n, e) for n, e in zip(names, emails, strict=True)]
    common._TEXTS_WITHOUT_BOT_LITERALS.clear()
    assert common.bot_flags(names, emails).tolist() == expected
    assert common.bot_flags(names, emails).tolist() == expected  # the texts without a literal now known
    assert common.bot_flags([*names, "Otter.ai"], [*emails, None]).tolist() == [*expected, True]
    assert common.identity_keys(emails, names).tolist() == [
        common.cached_attendee_key(e, n) for e, n in zip(emails, names, strict=True)]
    checked = collector_module._email_checks(emails)
    invalid = [not pd.isna(e) and bool(e) and not collector_module._is_address(e) for e in emails]
    if checked is None:  # only an invalid address (or a NUL) sends the rows to the row-by-row rule
        assert any(invalid) or any(isinstance(e, str) and "\x00" in e for e in emails)
    else:
        assert not any(invalid) and checked[0].all()
        assert checked[1].tolist() == [bool(isinstance(e, str) and e.strip()) for e in emails]
    lowered = collector_module._lowered_emails(emails)
    assert list(lowered) == [e.strip().lower() if isinstance(e, str) and e else None for e in emails]
    assert list(collector_module._attendee_keys(lowered, names)) == [
        common.cached_attendee_key(e, n) for e, n in zip(lowered, names, strict=True)]
    assert list(collector_module._texts(names)) == [n if isinstance(n, str) and n else None for n in names]


def test_clean_column_and_blank_full_names_equal_the_general_path() -> None:
    values = pd.Series(["", " --", "NA ", "n/a", "x", " a b ", "None", "NULL", "İ", "-", "nonee", "x"], dtype=object,
                       index=range(4, 16))
    for column in (values, values.iloc[:0], values.iloc[::-2]):
        fast, slow = common.clean_column(column), common.parse_cells(column, clean)[0]
        pd.testing.assert_series_equal(fast, slow, check_exact=True)
        assert list(map(type, fast)) == list(map(type, slow))
    blank = pd.Series(["", ""], dtype=object, index=[3, 7])
    pd.testing.assert_series_equal(common.full_names(blank, blank),
                                   common.clean_column(blank.astype(str) + " " + blank.astype(str)), check_exact=True)


def test_section_columns_and_frame_equal_the_per_row_frame() -> None:
    sec = common.Section(["a", "b", "c"], ["A", "B", "C"], [(2, ["x", "y", "z"]), (3, ["x"]), (5, ["", "q", "r", "s"])])
    found = {"first": 0, "second": 1, "third": 2, "absent": None}
    expected = pd.DataFrame({name: [cells[i] if i is not None and i < len(cells) else "" for _, cells in sec.rows]
                             for name, i in found.items()}, index=range(3), dtype="object")
    pd.testing.assert_frame_equal(common.field_frame(sec, found), expected, check_exact=True)


def test_header_prefilters_only_pass_over_rows_the_full_rules_reject() -> None:
    from engagement_pipeline.ingest import generic_sheet, teams

    rows = [["Name", "First Join", "In-Meeting Duration"], ["NAME ", "in-meeting  duration"],
            ["Nome", "Duração na reunião"], ["Ｎａｍｅ", "In-Meeting Duration"], ["Ann", "10m"], [],
            ["Email", "Event", "Attendance Status"],
            ["e-mail", "Session_Title", "STATUS"], ["a@b.co", "Webinar 1", "attended"], ["Name", "Webinar", "x"]]
    for row in rows:
        cells = frozenset(map(common.norm_header, set(row)))
        full = bool(cells & {"name", "nome"} and cells & {"in-meeting duration", "duração na reunião"})
        assert teams._may_be_participants_header(row) or not full, row
        usable = len([c for c in row if c]) >= 3 and generic_sheet._usable(generic_sheet.match_headers(row))
        assert generic_sheet._may_be_header(row) or not usable, row


def test_block_reading_and_line_counts_equal_the_record_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    from engagement_pipeline.ingest import reader

    lines = [f"name {i},x{i}@y.io,{i}\n" for i in range(1200)]
    lines[700] = 'quoted,"two\nlines",7\n'  # a record over two lines, in the second block
    lines[900] = "\n"
    path = tmp_path / "t.csv"
    path.write_text("Name,Email,Minutes\n" + "".join(lines) + 'cut,"open')
    fast = reader.read_table(path)
    monkeypatch.setattr(reader, "_parse_sound_lines", lambda *args: 0)  # the record loop from the first line
    slow = reader.read_table(path)
    assert (fast.rows, fast.spans, fast.damaged) == (slow.rows, slow.spans, slow.damaged)
    blank = in_records = 0
    for index, (first, last) in enumerate(slow.spans):  # line_counts as it was written, record by record
        if index not in {d.record - 1 for d in slow.damaged}:
            in_records, blank = (in_records + last - first + 1, blank) if any(slow.rows[index]) else (
                in_records, blank + last - first + 1)
    assert fast.line_counts() == {"lines_read": slow.physical_lines, "lines_in_records": in_records,
                                  "lines_blank": blank, "lines_damaged": len(slow.damaged)}


@pytest.mark.parametrize("event_pool", [["a", "b", None, np.nan], ["a"], ["a", None]])
@pytest.mark.parametrize("dtype", ["str", object])
def test_the_one_row_check_equals_duplicated(dtype: object, event_pool: list[object]) -> None:
    rng = np.random.default_rng(5)
    for rows in [*range(8), *range(8)]:
        events = [event_pool[i] for i in rng.integers(0, len(event_pool), rows)]
        keys = [["x", "y", None, np.nan][i] for i in rng.integers(0, 4, rows)]
        frame = pd.DataFrame({"event_id": pd.Series(events, dtype=dtype), "attendee_key": pd.Series(keys, dtype=dtype),
                              "other": 1})
        assert CanonicalAttendance.one_row_per_event_and_attendee(frame) == (
            not frame.duplicated(["event_id", "attendee_key"]).any())


@pytest.mark.parametrize("name", [None, "email", 0])
def test_object_series_from_the_manager_equals_the_constructor(name: object) -> None:
    index = pd.Index([3, 5, 9], name="source_row")
    for values in (np.array(["a", None, 3], dtype=object), np.empty(0, dtype=object), np.array([1.5, 2.0, 3.0])):
        at = index[:len(values)]
        fast, slow = common.object_series(values, at, name), pd.Series(values, index=at, dtype=object, copy=False,
                                                                       name=name)
        pd.testing.assert_series_equal(fast, slow, check_exact=True)
        assert fast.name == slow.name and fast.index is slow.index and fast.dtype == object
        assert fast.flags.allows_duplicate_labels == slow.flags.allows_duplicate_labels and fast.attrs == slow.attrs
        assert (fast.isna() | (fast == "a")).tolist() == (slow.isna() | (slow == "a")).tolist()


def test_a_pandas_whose_private_manager_misbehaves_gets_the_constructor(monkeypatch: pytest.MonkeyPatch) -> None:
    """The one-column manager is private API: probed at import, and a pandas where it raises (or builds a
    different Series) makes `object_series` fall back to the public constructor."""
    from pandas.core.internals import SingleBlockManager

    assert common._one_column_manager() is SingleBlockManager  # this pandas passes the probe

    def broken(*args: object, **kwargs: object) -> None:
        raise TypeError("from_array() got an unexpected keyword argument")

    monkeypatch.setattr(SingleBlockManager, "from_array", broken)
    assert common._one_column_manager() is None


def test_the_minutes_check_on_arrays_equals_the_pandas_expression() -> None:
    attended = [True, False, False, True, False]
    minutes = [0.0, 0.0, 3.5, 2.0, np.nan]
    coerced = pd.DataFrame({"attended": attended, "minutes_attended": minutes}, index=[4, 7, 9, 10, 12])
    uncoerced = coerced.astype(object).assign(minutes_attended=["0", 0.0, "x", 2.0, None])  # pandera's failing frame
    for frame in (coerced, uncoerced):
        expected = frame["attended"] | (frame["minutes_attended"] == 0)
        result = CanonicalAttendance.minutes_only_when_attended(frame)
        assert isinstance(result, pd.Series)
        assert result.index.equals(expected.index) and result.tolist() == expected.tolist()


def test_issue_masks_aligned_or_reindexed_mark_the_same_rows() -> None:
    """A mask Series on the rows' own index is read as it is; one on other rows goes through reindex."""
    rows = pd.DataFrame({"email": list("abcde")}, index=pd.Index([3, 5, 6, 8, 9], name="source_row"))
    mask = pd.Series([False, True, False, True, False], index=rows.index)
    wider = pd.Series([True, False, True, False, True, False, True], index=[1, 3, 5, 6, 8, 9, 10])[::-1]
    for kind in ("exclude_where", "quarantine_where"):
        aligned, reindexed = (collector_module.Collector(platform="zoom_webinar", source_file="f") for _ in "ab")
        left = getattr(aligned, kind)(rows, mask, "bot", lambda hit: (f"row {e}" for e in hit["email"]))
        right = getattr(reindexed, kind)(rows, mask.reindex([*rows.index, 99], fill_value=True)[::-1], "bot",
                                         lambda hit: (f"row {e}" for e in hit["email"]))
        assert left.equals(right) and aligned._pending == reindexed._pending
        assert getattr(aligned, kind)(rows, wider, "bot", "x").index.tolist() == [3, 6, 9]


_ORGANISER_EMAILS = ["a@acme.com", " B@EU.Acme.COM ", "c@acme.com.", "d@gmail.com", "e@other.io", "no-at-sign",
                     "f@", "@acme.com", None, np.nan, 7, "g@sub.other.io", "h@ACME.com", "i@acme.co.uk",
                     "a@acme.com", "j@acme.com/x", ""]


def _organiser_records_by_map(records: pd.DataFrame, domains: frozenset[str]) -> pd.DataFrame:
    """The pandas code `organiser_records` replaced."""
    def internal(email: object) -> bool:
        cleaned = email.strip().lower() if isinstance(email, str) else ""
        domain = email_domain(cleaned) if cleaned else None
        return domain is not None and (domain.registrable in domains or domain.full in domains)

    flags = {email: internal(email) for email in records["attendee_email"].dropna().unique()}
    return records.loc[records["attendee_email"].map(flags).fillna(False).astype(bool)].reset_index(drop=True)


@pytest.mark.parametrize("domains", [{"acme.com"}, {"eu.acme.com", "other.io"}, {"gmail.com"}, {"nowhere.org"}])
def test_organiser_records_and_their_exclusion_equal_the_pandas_code(domains: set[str]) -> None:
    rows = len(_ORGANISER_EMAILS)
    records = pd.DataFrame({"event_id": ["2026-03-01-launch", "2026-03-02-demo"] * (rows // 2) + ["2026-03-01-launch"],
                            "attendee_key": [f"k{i % 5}" for i in range(rows)],
                            "attendee_email": pd.Series(_ORGANISER_EMAILS, dtype=object),
                            "attendee_name": [f"n{i}" for i in range(rows)], "source_row": range(2, rows + 2),
                            "rows_folded": [1 + i % 3 for i in range(rows)]})
    internal = organiser_records(records, frozenset(domains))
    pd.testing.assert_frame_equal(internal, _organiser_records_by_map(records, frozenset(domains)))
    parsed = exclude_internal(ParsedUpload("zoom_webinar", records, rows_read=40, rows_kept=40), internal)
    pairs = set(zip(internal["event_id"], internal["attendee_key"], strict=True))
    keep = [(e, k) not in pairs for e, k in zip(records["event_id"], records["attendee_key"], strict=True)]
    pd.testing.assert_frame_equal(parsed.records, records.loc[keep].reset_index(drop=True))


@pytest.mark.parametrize("size", [0, 5, (1 << 20) + 3])
def test_stable_copy_in_one_pass_equals_copy2_then_hash_then_archive_copy(tmp_path: Path, size: int) -> None:
    source = tmp_path / "inbox" / "Webinar report.csv"
    source.parent.mkdir()
    source.write_bytes(bytes(i % 251 for i in range(size)))
    source.chmod(0o640)
    os.utime(source, ns=(1_700_000_000_123_456_789, 1_700_000_000_987_654_321))
    archived, sha256, version = stable_copy(source, tmp_path / "fast", source.name)
    expected = archive_copy(source, tmp_path / "slow", sha256_of(source))
    assert (sha256, archived.relative_to(tmp_path / "fast")) == (expected.parent.name, expected.relative_to(
        tmp_path / "slow"))
    assert archived.read_bytes() == expected.read_bytes()
    got, want = archived.stat(), expected.stat()
    assert (got.st_mode, got.st_mtime_ns, got.st_size) == (want.st_mode, want.st_mtime_ns, want.st_size)
    assert version == f"{size}:{source.stat().st_mtime_ns}"
    assert [p.name for p in (tmp_path / "fast" / ".staging").iterdir()] == []  # nothing left behind


def test_texts_are_stripped_and_lowered_as_one_text_as_each_alone() -> None:
    texts = [" Ana@Example.COM ", "ΟΔΟΣ@x.gr", "İstanbul@x.tr", "\t", "b@x.org\n", "ẞ@x.de"]
    assert common.stripped_lowered(texts) == [t.strip().lower() for t in texts]
    assert common.stripped_lowered([]) == []
    assert common.stripped_lowered(["a@x.org", "nul\x00inside@x.org"]) is None  # the joined text would split wrong


def test_texts_are_joined_by_nul_only_when_they_split_back() -> None:
    assert common.nul_joined(["a", "", "b c"]) == "a\x00\x00b c"
    assert common.nul_joined([]) == "" and common.nul_joined(["only"]) == "only"
    assert common.nul_joined(["a\x00b", "c"]) is None and common.nul_joined(["\x00"]) is None


class _Text(str):
    """A subclass of str: np.full makes plain str cells of it."""


@pytest.mark.parametrize("value", ["", "attendee", "zoom_webinar", "Ünïcödé 😀 report.csv", "a\x00b", "a\x00", "\x00",
                                   " padded ", _Text("sub"), None, 0.0, 0, True, False, float("nan")])
@pytest.mark.parametrize("rows", [0, 1, 7])
def test_repeated_cells_equal_np_full(value: object, rows: int) -> None:
    """`common.repeated` gives np.full's cells (values and types; a trailing NUL, a str subclass and non-text go
    through np.full), text as the one object in every cell."""
    made, full = common.repeated(value, rows), np.full(rows, value, dtype=object)
    assert made.dtype == full.dtype == object and made.shape == full.shape
    assert [type(v) for v in made] == [type(v) for v in full]
    assert all(a == b or (a != a and b != b) for a, b in zip(made.tolist(), full.tolist(), strict=True))
    if type(value) is str and not value.endswith("\x00"):
        assert all(cell is value for cell in made)


@pytest.mark.parametrize("event_pool", [["a"], ["a", "b"], ["a", None], [None], [np.nan], ["a", np.nan]])
@pytest.mark.parametrize("key_pool", [[f"k{i}" for i in range(40)], [*(f"k{i}" for i in range(40)), None],
                                      [*(f"k{i}" for i in range(40)), np.nan, None], ["x", "y"]])
@pytest.mark.parametrize("dtype", ["str", object])
def test_the_one_row_check_of_one_event_equals_duplicated(dtype: object, event_pool: list[object],
                                                          key_pool: list[object]) -> None:
    """The one-event shortcut (every id the same text, keys counted as a set when none is missing) against
    duplicated(): mostly distinct keys, a missing key (None and NaN, which duplicated() counts as one), ids all
    missing."""
    rng = np.random.default_rng(11)
    for rows in [*range(12), 30, 30]:
        events = [event_pool[i] for i in rng.integers(0, len(event_pool), rows)]
        keys = [key_pool[i] for i in rng.choice(len(key_pool), rows, replace=rows > len(key_pool) or rows == 30)]
        frame = pd.DataFrame({"event_id": pd.Series(events, dtype=dtype), "attendee_key": pd.Series(keys, dtype=dtype),
                              "other": 1})
        assert CanonicalAttendance.one_row_per_event_and_attendee(frame) == (
            not frame.duplicated(["event_id", "attendee_key"]).any()), (events, keys)
