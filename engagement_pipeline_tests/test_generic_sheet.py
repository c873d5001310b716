"""The generic attendance sheet: three everyday spellings, CSV and XLSX, many events per file, every event scored."""

from __future__ import annotations

from pathlib import Path

import pytest

from engagement_pipeline.ingest.generic_sheet import attendance_of, header_key, match_headers, parse_sheet_date
from engagement_pipeline.ingest.parse import detect_platform, parse_export
from engagement_pipeline.matching import match_attendance
from engagement_pipeline.matching.crm import load_crm
from engagement_pipeline_tests.door_helpers import (
    EXPECTED_CUSTOMERS,
    EXPECTED_PER_EVENT,
    EXPECTED_TYPES,
    spelling_rows,
    write_crm,
    write_sheet,
)

CASES = [(s, ext) for s in ("title", "literal", "crm") for ext in ("csv", "xlsx")]


def per_event(parsed) -> dict[str, tuple[int, int, int]]:
    records = parsed.records
    out = {}
    for event in EXPECTED_PER_EVENT:
        rows = records[records["event_name"] == event]
        excluded = parsed.excluded
        cancelled = sum(1 for raw, reason in zip(excluded["raw"], excluded["reason"], strict=True)
                        if reason == "cancelled" and event in raw.values())
        out[event] = (int(rows["attended"].sum()), int((~rows["attended"]).sum()), cancelled)
    return out


@pytest.mark.parametrize(("spelling", "ext"), CASES)
def test_each_spelling_scores_every_event(tmp_path: Path, spelling: str, ext: str) -> None:
    path = write_sheet(tmp_path / f"attendance_{spelling}.{ext}", spelling_rows(spelling, xlsx=ext == "xlsx"),
                       notes_sheet_first=ext == "xlsx" and spelling == "title")
    assert detect_platform(path) == "generic_sheet"
    parsed = parse_export(path)
    assert parsed.platform == "generic_sheet"
    assert parsed.ledger["rows_read"] == 8 and parsed.ledger["rows_kept"] == 6
    assert parsed.ledger["excluded_by_reason"] == {"cancelled": 2} and parsed.ledger["balanced"]
    assert per_event(parsed) == EXPECTED_PER_EVENT
    types = dict(zip(parsed.records["event_name"], parsed.records["event_type"], strict=True))
    assert types == EXPECTED_TYPES
    dates = {n: d.date().isoformat() for n, d in zip(parsed.records["event_name"], parsed.records["event_date"],
                                                      strict=True)}
    assert dates == {"Dashboards Webinar": "2026-03-14", "Spring User Group": "2026-04-02",
                     "Admin Training": "2026-04-20"}
    outcome = match_attendance(parsed.records, load_crm(write_crm(tmp_path)), frozenset())
    matched = dict(zip(outcome.matched["attendee_email"], outcome.matched["customer_id"], strict=True))
    assert matched == EXPECTED_CUSTOMERS
    methods = dict(zip(outcome.matched["attendee_email"], outcome.matched["match_method"], strict=True))
    # The sheet said "Globex" for ed@acme.io: the corporate domain decided, not the customer column.
    assert methods["ed@acme.io"] != "company_name" and matched["ed@acme.io"] == "C1"
    assert methods["gus.ho@gmail.com"].startswith("company")


def test_headers_are_matched_without_case_space_or_punctuation() -> None:
    assert header_key(" ATTENDANCE-status ") == header_key("attendance_status") == "attendancestatus"
    found = match_headers(["Account Name", "Contact Name", "Contact Email", "Event Name", "Format", "Start", "Status"])
    assert found["company"] == 0 and found["name"] == 1 and found["email"] == 2
    assert found["event_type"] == 4 and found["event_date"] == 5 and found["status"] == 6


@pytest.mark.parametrize(("cell", "expected"), [
    ("46095", "2026-03-14"), ("2026-03-14", "2026-03-14"), ("March 14, 2026", "2026-03-14"),
    ("14 March 2026", "2026-03-14"), ("14-Mar-2026", "2026-03-14"), ("03/14/2026", "2026-03-14"),
    ("Saturday 14 March 2026", "2026-03-14"), ("14th March 2026", "2026-03-14"),
])
def test_everyday_dates(cell: str, expected: str) -> None:
    assert parse_sheet_date(cell).date().isoformat() == expected
    assert parse_sheet_date("14/03/2026", day_first=True).date().isoformat() == "2026-03-14"


def test_status_values() -> None:
    assert {attendance_of(s) for s in ("Attended", "present", "Checked In", "YES", "true", "1")} == {"attended"}
    assert {attendance_of(s) for s in ("registered", "No-show", "no show", "Absent", "no", "0")} == {"registered"}
    assert {attendance_of(s) for s in ("Cancelled", "declined")} == {"excluded"}
    assert attendance_of("maybe") == "unknown"


def test_unknown_status_is_quarantined_not_guessed(tmp_path: Path) -> None:
    rows = spelling_rows("title")
    rows[1][-1] = "maybe"
    parsed = parse_export(write_sheet(tmp_path / "a.csv", rows))
    assert parsed.ledger["rows_quarantined"] == 1 and parsed.ledger["balanced"]
    assert "unrecognised attendance status 'maybe'" in parsed.quarantined["detail"].iloc[0]
