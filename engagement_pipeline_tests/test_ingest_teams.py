"""Microsoft Teams attendance reports: the UTF-16 tab-separated sectioned report and the older flat list."""

from __future__ import annotations

from datetime import date

import pytest

from engagement_pipeline.ingest.overrides import EventOverride
from engagement_pipeline.ingest.parse import parse_export
from engagement_pipeline.ingest.result import RejectedFile

from .platform_expectations import EXPORTS, minutes_by_key, summary


def test_teams_webinar_report() -> None:
    parsed = parse_export(EXPORTS / "teams_webinar.csv")
    assert parsed.platform == "teams"
    assert summary(parsed) == {"attended": 5, "no_show": 0, "minutes": 150.53,
                               "roles": {"attendee": 4, "speaker": 1}, "excluded": {"host": 1}, "balanced": True}
    assert minutes_by_key(parsed) == {"omar.reyes@harbourline.io": 45.0, "ada.lee@brightwave.io": 62.05,
                                      "ben.okafor@tallpine.com": 30.5, "cara.diaz@tallpine.com": 0.98,
                                      "dev.patel@brightwave.io": 12.0}
    assert set(parsed.records["event_id"]) == {"2025-03-04-harbourline-product-briefing"}
    names = set(parsed.records["attendee_name"])
    assert "Lee, Ada" in names and "Ben Okafor" in names and "Cara Diaz" in names  # (External)/(Guest) dropped
    assert parsed.organiser_emails == ("dana.whitfield@harbourline.io",)
    assert "read as utf-16-le" in parsed.notes


def test_teams_plain_meeting_lowercase_headers_and_bot() -> None:
    parsed = parse_export(EXPORTS / "teams_meeting.csv")
    assert summary(parsed) == {"attended": 2, "no_show": 0, "minutes": 60.5, "roles": {"attendee": 2},
                               "excluded": {"bot": 1, "host": 1}, "balanced": True}
    assert parsed.organiser_emails == ("priya.nair@harbourline.io",)


def test_teams_flat_attendance_list_pairs_joins_and_leaves() -> None:
    with pytest.raises(RejectedFile, match="Could not tell which event"):
        parse_export(EXPORTS / "teams_attendance_list.csv")
    override = EventOverride("teams_attendance_list.csv", "Onboarding clinic", "training", date(2020, 9, 14))
    parsed = parse_export(EXPORTS / "teams_attendance_list.csv", overrides=[override])
    assert summary(parsed)["attended"] == 3 and summary(parsed)["balanced"]
    assert minutes_by_key(parsed) == {"name:priya nair": 50.0, "name:ada lee": 45.0, "name:sam ortiz": 20.0}


def test_teams_report_with_every_duration_blank_is_rejected(tmp_path) -> None:
    text = (EXPORTS / "teams_meeting.csv").read_bytes()[2:].decode("utf-16-le")
    for duration in ("\t42m\t", "\t40m\t", "\t20m 30s\t", "\t40m 55s\t"):
        text = text.replace(duration, "\t\t")
    path = tmp_path / "teams.csv"
    path.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    with pytest.raises(RejectedFile, match=r"'In-meeting duration' column .* is empty in every row"):
        parse_export(path)
