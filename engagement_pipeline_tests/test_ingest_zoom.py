"""Zoom webinar and meeting exports: exact records, roles, minutes and ledgers for hand-written fixtures."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from engagement_pipeline.ingest.parse import detect_platform, parse_export

EXPORTS = Path(__file__).parent / "fixtures" / "exports"


def by_key(records: pd.DataFrame) -> dict[str, dict]:
    return {r["attendee_key"]: r for r in records.to_dict("records")}


def csv_to_xlsx(source: Path, target: Path) -> Path:
    """The same cells re-saved as a one-sheet workbook (what Excel users do)."""
    workbook = Workbook()
    sheet = workbook.active
    with source.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.reader(handle):
            sheet.append(row)
    workbook.save(target)
    return target


def test_webinar_2025_padded_bom_layout() -> None:
    parsed = parse_export(EXPORTS / "zoom_webinar_2025.csv")
    assert parsed.platform == "zoom_webinar"
    assert parsed.ledger == {
        "rows_read": 10, "rows_kept": 7, "rows_excluded": 2, "rows_quarantined": 1, "records": 5,
        "excluded_by_reason": {"duplicate": 1, "host": 1}, "balanced": True,
        "lines_read": 20, "lines_in_records": 20, "lines_blank": 0, "lines_damaged": 0,
    }
    people = by_key(parsed.records)
    assert set(people) == {"paul@partner.com", "pia@customer-a.com", "ann@customer-a.com", "bob@customer-b.com",
                           "cy@customer-c.com"}
    ann = people["ann@customer-a.com"]
    assert (ann["minutes_attended"], ann["rows_folded"], ann["source_row"]) == (40.0, 2, 14)
    assert ann["company"] == "Customer A"
    bob = people["bob@customer-b.com"]
    assert (bob["registered"], bob["attended"], bob["minutes_attended"]) == (True, False, 0.0)
    pia = people["pia@customer-a.com"]  # panelist who also registered as an attendee: one record
    assert (pia["role"], pia["attended"], pia["rows_folded"], pia["minutes_attended"]) == ("panelist", True, 2, 45.0)
    assert people["paul@partner.com"]["role"] == "panelist"
    assert set(parsed.records["event_id"]) == {"2025-03-22-product-roadmap-live-demo"}
    assert set(parsed.records["event_type"]) == {"webinar"}
    assert parsed.quarantined.iloc[0]["reason"] == "no_identity"
    assert parsed.quarantined.iloc[0]["source_row"] == 20
    assert parsed.quarantined.iloc[0]["raw"]["Time in Session (minutes)"] == "5"
    assert parsed.excluded.set_index("reason").loc["host", "source_row"] == 7


def test_webinar_2020_trailing_comma_layout_with_other_attended() -> None:
    parsed = parse_export(EXPORTS / "zoom_webinar_2020.csv")
    assert parsed.ledger["rows_read"] == 7
    assert parsed.ledger["excluded_by_reason"] == {"host": 1}
    assert parsed.balanced
    people = by_key(parsed.records)
    assert people["attendee52@email.com"]["minutes_attended"] == 40.0
    assert people["attendee384@email.com"]["attended"] is False
    other = people["name:userother 1"]
    assert (other["registered"], other["attended"]) == (False, True)
    assert pd.isna(other["attendee_email"])
    assert parsed.quarantined.iloc[0]["reason"] == "bad_minutes"  # 'ten' minutes
    assert str(parsed.records["event_date"].iloc[0].date()) == "2020-03-28"


def test_webinar_resaved_as_xlsx_gives_the_same_records(tmp_path: Path) -> None:
    xlsx = csv_to_xlsx(EXPORTS / "zoom_webinar_2025.csv", tmp_path / "report.xlsx")
    from_csv = parse_export(EXPORTS / "zoom_webinar_2025.csv")
    from_xlsx = parse_export(xlsx, source_name="zoom_webinar_2025.csv")
    assert from_xlsx.ledger == from_csv.ledger
    pd.testing.assert_frame_equal(from_xlsx.records, from_csv.records)


def test_meeting_2024_lowercase_layout() -> None:
    parsed = parse_export(EXPORTS / "zoom_meeting_2024.csv")
    assert parsed.platform == "zoom_meeting"
    assert parsed.ledger["excluded_by_reason"] == {"bot": 1, "host": 1, "waiting_room": 1}
    assert (parsed.ledger["rows_read"], parsed.ledger["rows_kept"], parsed.ledger["rows_quarantined"]) == (8, 4, 1)
    people = by_key(parsed.records)
    assert people["ann@customer-a.com"]["minutes_attended"] == 59.0  # 39 + 20, waiting-room minute excluded
    assert people["bob@customer-b.com"]["attendee_email"] == "bob@customer-b.com"
    assert people["name:1 555 010 0199"]["minutes_attended"] == 12.0  # phone caller, keyed by name
    assert parsed.records["registered"].all() and parsed.records["attended"].all()
    assert parsed.quarantined.iloc[0]["reason"] == "bad_minutes"  # -5
    assert set(parsed.records["event_id"]) == {"2026-06-16-acme-analytics-office-hours"}


def test_meeting_2020_block_layout() -> None:
    parsed = parse_export(EXPORTS / "zoom_meeting_2020.csv")
    assert parsed.ledger["excluded_by_reason"] == {"bot": 1, "host": 1}
    people = by_key(parsed.records)
    assert people["eli@customer-e.com"]["minutes_attended"] == 10.5
    assert set(parsed.records["event_type"]) == {"training"}
    assert set(parsed.records["event_id"]) == {"2020-09-01-customer-training-module-1"}


def test_meeting_unique_users_and_flat_2023_variants(tmp_path: Path) -> None:
    unique = tmp_path / "unique.csv"
    unique.write_text(
        "Meeting ID,Topic,Start Time,End Time,User Email,Duration (Minutes),Participants,\n"
        "930,Partner Meetup,09/01/2020 09:03:16 AM,09/01/2020 10:13:23 AM,host@acme.com,71,2,\n\n"
        "Name (Original Name),User Email,Total Duration (Minutes)\n"
        "Host,host@acme.com,71\nDora Fox,dora@d.com,65\n", encoding="utf-8")
    parsed = parse_export(unique)
    assert [(r["attendee_key"], r["minutes_attended"]) for r in parsed.records.to_dict("records")] == [
        ("dora@d.com", 65.0)]
    assert parsed.records["event_type"].iloc[0] == "user_group"
    flat = tmp_path / "flat.csv"
    flat.write_text(
        "Topic,Meeting ID,User Name,User Email,Start Time,End Time,Duration (Minutes),Participants,"
        "Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest,In Waiting Room\n"
        "Weekly Sync,1,Host,host@acme.com,2023-05-02 10:00:00,2023-05-02 11:00:00,60,3,"
        "Host,host@acme.com,2023-05-02 10:00:00,2023-05-02 11:00:00,60,No,No\n"
        "Weekly Sync,1,Host,host@acme.com,2023-05-02 10:00:00,2023-05-02 11:00:00,60,3,"
        "Eve,eve@e.com,2023-05-02 10:00:00,2023-05-02 10:20:00,20,Yes,No\n"
        "Weekly Sync,1,Host,host@acme.com,2023-05-02 10:00:00,2023-05-02 11:00:00,60,3,"
        "Eve,eve@e.com,2023-05-02 10:30:00,2023-05-02 10:40:00,10,Yes,No\n", encoding="utf-8")
    parsed = parse_export(flat)
    assert parsed.ledger["excluded_by_reason"] == {"host": 1}
    assert parsed.records[["attendee_key", "minutes_attended", "rows_folded"]].values.tolist() == [
        ["eve@e.com", 30.0, 2]]
    assert parsed.records["event_id"].iloc[0] == "2023-05-02-weekly-sync"


@pytest.mark.parametrize("fixture", ["zoom_webinar_2025.csv", "zoom_webinar_2020.csv", "zoom_meeting_2024.csv",
                                     "zoom_meeting_2020.csv"])
def test_detection_ignores_the_file_name(tmp_path: Path, fixture: str) -> None:
    renamed = shutil.copy(EXPORTS / fixture, tmp_path / "Attendees-12345.csv")
    expected = "zoom_webinar" if "webinar" in fixture else "zoom_meeting"
    assert detect_platform(Path(renamed)) == expected
