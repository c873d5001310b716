"""Property-based tests: whatever bytes arrive, ingestion parses with a balanced ledger or rejects the file.

Never another exception, never the catch-all "unexpected problem" (that is a parser bug wearing a
RejectedFile), and never a lost row: when a real export is mutated in ways that keep its data rows
(rows deleted or duplicated, columns shuffled, header case changed, cells replaced by garbage, other
encodings, re-saved as XLSX), `rows_read` equals the data rows counted here independently of the parser.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from engagement_pipeline.ingest.overrides import EventOverride
from engagement_pipeline.ingest.parse import parse_export
from engagement_pipeline.ingest.reader import read_table
from engagement_pipeline.ingest.result import ParsedUpload, RejectedFile

FIXTURES = Path(__file__).parent / "fixtures" / "exports"
MARKERS = {"host details", "panelist details", "attendee details", "other attended",
           "organizer details", "session details"}  # the last two: GoTo Webinar
TEAMS_SECTIONS = ("1. summary", "2. participants", "3. in-meeting activities")
EMAIL_HEADERS = {"email", "user email", "attendee email", "email address"}
NAME_HEADERS = {"name (original name)", "名前 (元の名前)", "full name"}  # full name: Teams' flat list
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "cp1252")
# Exports without event columns (Eventbrite's per-event report) need an override to be usable.
OVERRIDES = [EventOverride("eventbrite_en_gb*", "UK User Group", "user_group", date(2017, 5, 20)),
             EventOverride("google_meet*", "Pilot kickoff", "training", date(2025, 3, 4)),
             EventOverride("teams_attendance_list*", "Onboarding clinic", "training", date(2020, 9, 14))]
# INGEST_PROPERTY_EXAMPLES=1000 for a longer hunt (about 3 minutes); the default keeps this file under 20 s.
SETTINGS = settings(max_examples=int(os.environ.get("INGEST_PROPERTY_EXAMPLES", "60")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

Rows = list[list[str]]


# ---------------------------------------------------------------- the outcome every input must have

def outcome(data: bytes, name: str = "upload.csv", max_bytes: int = 5 * 1024 * 1024) -> ParsedUpload | None:
    """Parses `data` as a dropped file; None if rejected. Fails the test on anything but the two outcomes."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            parsed = parse_export(path, source_name=name, max_bytes=max_bytes, overrides=OVERRIDES)
        except RejectedFile as err:
            assert err.reason.strip()
            assert "Traceback" not in err.explanation()
            assert "unexpected problem" not in err.reason, err.explanation()  # a parser bug, not bad input
            return None
    ledger = parsed.ledger
    assert parsed.balanced, ledger
    assert ledger["rows_read"] == ledger["rows_kept"] + ledger["rows_excluded"] + ledger["rows_quarantined"]
    assert parsed.rows_kept == int(parsed.records["rows_folded"].sum())
    return parsed


# ---------------------------------------------------------------- an independent count of data rows

def _blank(row: list[str]) -> bool:
    return not any(c.strip() for c in row)


def _norm(cell: str) -> str:
    return " ".join(cell.split()).lower()


def tables(rows: Rows) -> list[tuple[int, list[int]]]:
    """(header index, data row indices) of each table: Zoom webinar sections under their marker rows,
    Teams' `2. Participants` section, otherwise the one table under the participants/attendee header."""
    participants = next((i for i, r in enumerate(rows) if r and _norm(r[0]) == TEAMS_SECTIONS[1] and not any(r[1:])),
                        None)
    if participants is not None:
        end = next((i for i in range(participants + 1, len(rows)) if rows[i] and _norm(rows[i][0]) in TEAMS_SECTIONS
                    and not any(rows[i][1:])), len(rows))
        body = [i for i in range(participants + 1, end) if not _blank(rows[i])]
        return [(body[0], body[1:])] if body else []
    if any(len([c for c in r if c.strip()]) == 1 and _norm(r[0]) in MARKERS for r in rows if r):
        found = []
        markers = [i for i, r in enumerate(rows) if r and _norm(r[0]) in MARKERS and not any(r[1:])]
        for n, m in enumerate(markers):
            end = markers[n + 1] if n + 1 < len(markers) else len(rows)
            body = [i for i in range(m + 1, end) if not _blank(rows[i])]
            if body:
                found.append((body[0], body[1:]))
        return found
    header = next((i for i, r in enumerate(rows) if {_norm(c) for c in r} & NAME_HEADERS), None)
    if header is None:
        header = next(i for i, r in enumerate(rows) if {_norm(c) for c in r} & EMAIL_HEADERS)
    return [(header, [i for i in range(header + 1, len(rows)) if not _blank(rows[i])])]


def data_rows(rows: Rows) -> int:
    return sum(len(body) for _, body in tables(rows))


# ---------------------------------------------------------------- real exports and how to mutate them

def _bases() -> dict[str, Rows]:
    return {p.name: read_table(p).rows for p in sorted(FIXTURES.iterdir())}


BASES = _bases()


def to_csv(rows: Rows, delimiter: str = ",") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def to_xlsx(rows: Rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append([ILLEGAL_CHARACTERS_RE.sub("", c) for c in row] or [None])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding, errors="replace")


def delete_row(rows: Rows, data: st.DataObject) -> None:
    body = [i for _, b in tables(rows) for i in b]
    if body:
        del rows[data.draw(st.sampled_from(body))]


def duplicate_row(rows: Rows, data: st.DataObject) -> None:
    body = [i for _, b in tables(rows) for i in b]
    if body:
        i = data.draw(st.sampled_from(body))
        rows.insert(i + 1, list(rows[i]))


GARBAGE = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["--", "NA", "-1", "1e309", "nan", "inf", "=HYPERLINK(\"http://x\")", "@SUM(A1)", "+cmd",
                     "0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-05:00", "9999-12-31", "1677-09-21",
                     "2262-04-12", "1e20", "9223372036854775808", "Yes", "No", "a@b", "@@", "x@y.z",
                     "13/45/2025", "Feb 30, 2025", "0:99", "1h 2m 3s",
                     "99999999999999999999", "Attended", "\u200b", "\ufeff", "'", '"', ",", "\t", "日本語"]),
)


def garbage_cell(rows: Rows, data: st.DataObject) -> None:
    body = [i for _, b in tables(rows) for i in b]
    if body:
        i = data.draw(st.sampled_from(body))
        j = data.draw(st.integers(0, max(len(rows[i]) - 1, 0)))
        cell = data.draw(GARBAGE).replace("\x00", "")
        assume(cell.strip() or any(c.strip() for k, c in enumerate(rows[i]) if k != j))
        rows[i] = [*rows[i][:j], cell, *rows[i][j + 1:]] if rows[i] else [cell]


def _table_columns(rows: Rows, data: st.DataObject) -> tuple[list[int], int]:
    header, body = data.draw(st.sampled_from(tables(rows)))
    width = max(len(rows[i]) for i in [header, *body])
    for i in [header, *body]:
        rows[i] = rows[i] + [""] * (width - len(rows[i]))
    return [header, *body], width


def shuffle_columns(rows: Rows, data: st.DataObject) -> None:
    indices, width = _table_columns(rows, data)
    order = data.draw(st.permutations(range(width)))
    for i in indices:
        rows[i] = [rows[i][k] for k in order]


def header_case(rows: Rows, data: st.DataObject) -> None:
    header, _ = data.draw(st.sampled_from(tables(rows)))
    change: Callable[[str], str] = data.draw(st.sampled_from([str.upper, str.lower, str.title, str.swapcase]))
    rows[header] = [change(c) if c.isascii() else c for c in rows[header]]


def drop_column(rows: Rows, data: st.DataObject) -> None:
    indices, width = _table_columns(rows, data)
    k = data.draw(st.integers(0, width - 1))
    for i in indices:
        del rows[i][k]


KEEPING = {"delete_row": delete_row, "duplicate_row": duplicate_row, "garbage_cell": garbage_cell,
           "shuffle_columns": shuffle_columns, "header_case": header_case}


# ---------------------------------------------------------------- the properties

@SETTINGS
@given(st.binary(max_size=2048), st.sampled_from(["x.csv", "x.xlsx", "x.txt"]))
def test_random_bytes_parse_or_reject(data: bytes, name: str) -> None:
    outcome(data, name)


@SETTINGS
@given(st.binary(max_size=600))
def test_random_bytes_after_a_zip_or_bom_header_parse_or_reject(tail: bytes) -> None:
    for head in (b"PK\x03\x04", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xd0\xcf\x11\xe0"):
        outcome(head + tail)


CELL = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
HEADERS = st.sampled_from(["Email", "Name (Original Name)", "User Email", "Duration (Minutes)", "Topic",
                           "Attended", "Order #", "Attendee Status", "Headline", "Ticket type", "Attendee Details",
                           "Time in event (minutes)", "Event", "Event start", "Webinar ID", "First Name"])


@SETTINGS
@given(st.lists(st.lists(st.one_of(CELL, HEADERS), max_size=8), max_size=15),
       st.sampled_from([",", "\t", ";"]), st.sampled_from(ENCODINGS))
def test_random_csv_text_parses_or_rejects(rows: Rows, delimiter: str, encoding: str) -> None:
    outcome(encode(to_csv(rows, delimiter), encoding))


@pytest.mark.parametrize("name", sorted(BASES))
def test_the_unmutated_fixtures_read_every_data_row(name: str) -> None:
    rows = BASES[name]
    parsed = outcome(to_csv(rows).encode("utf-8"), name)
    assert parsed is not None, name
    assert parsed.rows_read == data_rows(rows)


@SETTINGS
@given(st.sampled_from(sorted(BASES)), st.lists(st.sampled_from(sorted(KEEPING)), min_size=1, max_size=3),
       st.sampled_from([*ENCODINGS, "xlsx"]), st.data())
def test_mutated_exports_keep_every_data_row(name: str, mutations: list[str], container: str,
                                             data: st.DataObject) -> None:
    rows = [list(r) for r in BASES[name]]
    for mutation in mutations:
        KEEPING[mutation](rows, data)
    expected = data_rows(rows)
    payload = to_xlsx(rows) if container == "xlsx" else encode(to_csv(rows), container)
    parsed = outcome(payload, Path(name).stem + ".xlsx" if container == "xlsx" else name)
    if parsed is not None:
        assert parsed.rows_read == expected, (mutations, parsed.ledger)


@SETTINGS
@given(st.sampled_from(sorted(BASES)), st.data())
def test_dropped_columns_parse_or_reject(name: str, data: st.DataObject) -> None:
    rows = [list(r) for r in BASES[name]]
    drop_column(rows, data)
    outcome(to_csv(rows).encode("utf-8"), name)


@SETTINGS
@given(st.sampled_from(sorted(BASES)), st.sampled_from([*ENCODINGS, "xlsx"]), st.floats(0, 1))
def test_truncated_exports_parse_or_reject(name: str, container: str, fraction: float) -> None:
    payload = to_xlsx(BASES[name]) if container == "xlsx" else encode(to_csv(BASES[name]), container)
    cut = payload[: int(len(payload) * fraction)]
    outcome(cut, Path(name).stem + ".xlsx" if container == "xlsx" else name)


def test_demo_exports_read_every_data_row(demo_dir: Path) -> None:
    for path in sorted((demo_dir / "inbox").iterdir()):
        rows = read_table(path).rows
        parsed = outcome(path.read_bytes(), path.name)
        assert parsed is not None, path.name
        assert parsed.rows_read == data_rows(rows), path.name


# ---------------------------------------------------------------- regressions found by the properties above

HOPIN = FIXTURES / "hopin.csv"


@pytest.mark.parametrize(("column", "value"), [
    ("Event start", "9999-12-31"),  # beyond datetime64[ns]: used to reject the whole file
    ("Event start", "1500-01-01"),
    ("Event start", "0001-01-01T00:00:00+01:00"),  # OverflowError in the UTC conversion
    ("Event start", "9999-12-31T23:00:00-05:00"),
    ("Questions asked", "99999999999999999999"),  # beyond int64: used to reject the whole file
    ("Polls answered", "1e20"),
    ("Time in event (minutes)", "1e308"),  # summed with another row this became inf
])
def test_one_out_of_range_cell_quarantines_its_row_not_the_file(column: str, value: str) -> None:
    rows = [list(r) for r in csv.reader(io.StringIO(HOPIN.read_text(encoding="utf-8")))]
    rows[1][rows[0].index(column)] = value
    parsed = outcome(to_csv(rows).encode("utf-8"), "hopin.csv")
    assert parsed is not None
    assert parsed.rows_read == len(rows) - 1
    bad = parsed.quarantined[parsed.quarantined["source_row"] == 2]
    assert len(bad) == 1, parsed.quarantined
    assert value in bad.iloc[0]["detail"]
