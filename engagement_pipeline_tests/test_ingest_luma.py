"""Luma guest list: check-in is attendance, unconfirmed guests are excluded, event from the file name."""

from __future__ import annotations

import pytest

from engagement_pipeline.ingest.parse import parse_export
from engagement_pipeline.ingest.result import RejectedFile

from .platform_expectations import EXPORTS, LUMA_FILE, summary


def test_luma_guest_list() -> None:
    parsed = parse_export(EXPORTS / LUMA_FILE)
    assert parsed.platform == "luma"
    assert summary(parsed) == {"attended": 3, "no_show": 2, "minutes": 0.0, "roles": {"attendee": 5},
                               "excluded": {"cancelled": 2}, "balanced": True}
    assert set(parsed.records["event_id"]) == {"2025-03-12-customer-summit"}
    assert any("from Luma's file name" in n for n in parsed.notes)
    assert any("check-in times" in n for n in parsed.notes)
    companies = dict(zip(parsed.records["attendee_email"], parsed.records["company"], strict=True))
    assert companies["ben.okafor@tallpine.com"] == "Tall Pine"
    assert bool(parsed.records.set_index("attendee_email").loc["ada.lee@brightwave.io", "feedback_submitted"])


def test_luma_renamed_without_event_needs_an_override(tmp_path) -> None:
    path = tmp_path / "guests.csv"
    path.write_bytes((EXPORTS / LUMA_FILE).read_bytes())
    with pytest.raises(RejectedFile, match="Could not tell which event"):  # the name came from the file name
        parse_export(path)


def test_luma_with_an_empty_status_column_is_rejected(tmp_path) -> None:
    path = tmp_path / "x - Guests - 2025-03-13-09-17-47.csv"
    path.write_text("api_id,name,email,approval_status,checked_in_at\ngst-1,Ada Lee,ada@b.io,,\n"
                    "gst-2,Ben Ode,ben@b.io,,\n", encoding="utf-8")
    with pytest.raises(RejectedFile, match=r"'approval_status' column .* is empty in every row"):
        parse_export(path)
