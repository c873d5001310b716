"""Eventbrite attendee reports and the (lenient, LOW-confidence) Hopin mapping."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook

from engagement_pipeline.ingest.overrides import EventOverride
from engagement_pipeline.ingest.parse import detect_platform, parse_export
from engagement_pipeline.ingest.result import RejectedFile

EXPORTS = Path(__file__).parent / "fixtures" / "exports"


def by_key(parsed) -> dict[str, dict]:
    return {r["attendee_key"]: r for r in parsed.records.to_dict("records")}


def test_eventbrite_classic_with_event_columns() -> None:
    parsed = parse_export(EXPORTS / "eventbrite_classic.csv")
    assert parsed.platform == "eventbrite"
    assert parsed.ledger == {
        "rows_read": 7, "rows_kept": 4, "rows_excluded": 2, "rows_quarantined": 1, "records": 3,
        "excluded_by_reason": {"cancelled": 1, "summary_row": 1}, "balanced": True,
        "lines_read": 8, "lines_in_records": 8, "lines_blank": 0, "lines_damaged": 0,
    }
    people = by_key(parsed)
    gus = people["gus@customer-g.com"]  # two tickets on one buyer email, one checked in
    assert (gus["attended"], gus["rows_folded"], gus["source_row"], gus["company"]) == (True, 2, 2, "Customer G")
    assert (people["ivy@customer-i.com"]["registered"], people["ivy@customer-i.com"]["attended"]) == (True, False)
    assert people["max@customer-m.com"]["event_id"] == "2025-03-01-acme-summit-2025"
    assert people["max@customer-m.com"]["event_type"] == "conference"
    assert people["gus@customer-g.com"]["event_type"] == "user_group"
    assert parsed.quarantined.iloc[0]["reason"] == "bad_date"
    assert parsed.quarantined.iloc[0]["raw"]["Email"] == "ola@customer-o.com"


def test_eventbrite_without_event_columns_needs_an_override() -> None:
    with pytest.raises(RejectedFile, match=r"overrides\.csv"):
        parse_export(EXPORTS / "eventbrite_en_gb.csv")
    override = EventOverride("Attendees-*.csv", "Acme Analytics Bootcamp", None, date(2017, 6, 1))
    parsed = parse_export(EXPORTS / "eventbrite_en_gb.csv", source_name="Attendees-777.csv", overrides=[override])
    assert set(parsed.records["event_id"]) == {"2017-06-01-acme-analytics-bootcamp"}
    assert set(parsed.records["event_type"]) == {"training"}
    assert by_key(parsed)["rae@customer-r.co.uk"]["attended"] is True
    assert by_key(parsed)["tom@customer-t.co.uk"]["attended"] is False
    assert parsed.records["attendee_name"].tolist() == ["Rae Sims", "Tom Uno"]


def test_event_type_override_corrects_the_inferred_type() -> None:
    override = EventOverride("zoom_webinar_2025.csv", None, "user_group", None)
    parsed = parse_export(EXPORTS / "zoom_webinar_2025.csv", overrides=[override])
    assert set(parsed.records["event_type"]) == {"user_group"}
    assert set(parsed.records["event_id"]) == {"2025-03-22-product-roadmap-live-demo"}
    assert any("override" in note for note in parsed.notes)


def test_eventbrite_sentence_case_attendee_report(tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    path.write_text(
        "Order ID,Event ID,Event name,Event start date,Attendee first name,Attendee last name,Attendee email,"
        "Ticket type,Attendee status\n"
        "1,9,Customer Forum Berlin,2025-10-09,Ana,Lima,ana@x.com,GA,Checked In\n"
        "2,9,Customer Forum Berlin,2025-10-09,Ben,Ko,ben@y.com,GA,Refunded\n"
        "3,9,Customer Forum Berlin,2025-10-09,Cai,Mu,cai@z.com,GA,Attending\n", encoding="utf-8")
    parsed = parse_export(path)
    assert parsed.ledger["excluded_by_reason"] == {"cancelled": 1}
    assert parsed.records[["attendee_key", "attended", "event_type"]].values.tolist() == [
        ["ana@x.com", True, "user_group"], ["cai@z.com", False, "user_group"]]


def test_eventbrite_orders_export_is_rejected_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("Order ID,Order date,Buyer first name,Buyer last name,Buyer email,Event name,Payment status\n"
                    "1,2025-01-01 10:00:00,A,B,a@b.com,X,Free Order\n", encoding="utf-8")
    with pytest.raises(RejectedFile, match="no attendee status"):
        parse_export(path)


def test_hopin_demo_layout() -> None:
    parsed = parse_export(EXPORTS / "hopin.csv")
    assert parsed.platform == "hopin"
    assert (parsed.rows_read, parsed.rows_kept, len(parsed.quarantined)) == (4, 3, 1)
    people = by_key(parsed)
    vera = people["vera@customer-v.com"]
    assert (vera["minutes_attended"], vera["questions_asked"], vera["polls_answered"], vera["feedback_submitted"]) \
        == (52.0, 2, 3, True)
    assert (people["will@partner.com"]["role"], people["will@partner.com"]["attended"]) == ("speaker", True)
    assert (people["yan@customer-y.com"]["attended"], people["yan@customer-y.com"]["minutes_attended"]) == (False, 0)
    assert set(parsed.records["event_id"]) == {"2025-08-08-acme-data-conference-2025"}
    assert parsed.quarantined.iloc[0]["reason"] == "bad_value"  # Questions asked = -1


def test_hopin_xlsx_and_aliases(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Full name", "Email", "Organisation", "Headline", "Ticket type", "Registration date",
                  "Checked in", "Time spent", "# Questions", "Survey response", "Event name", "Event date"])
    from datetime import datetime
    sheet.append(["Jo Ma", "JO@m.com", "M Corp", "", "Speaker", datetime(2025, 5, 1, 9), True, 45, 1, "Great",
                  "Partner Summit", datetime(2025, 5, 20)])
    sheet.append(["Lu Ne", "lu@n.com", "N Corp", "", "General", datetime(2025, 5, 2, 9), False, None, None, None,
                  "Partner Summit", datetime(2025, 5, 20)])
    workbook.save(tmp_path / "people.xlsx")
    assert detect_platform(tmp_path / "people.xlsx") == "hopin"
    parsed = parse_export(tmp_path / "people.xlsx")
    assert parsed.records[["attendee_key", "company", "role", "attended", "minutes_attended", "questions_asked",
                           "feedback_submitted"]].values.tolist() == [
        ["jo@m.com", "M Corp", "speaker", True, 45.0, 1, True],
        ["lu@n.com", "N Corp", "attendee", False, 0.0, 0, False]]
    assert set(parsed.records["event_id"]) == {"2025-05-20-partner-summit"}
