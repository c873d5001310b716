"""Webex meeting attendance report (UTF-16 tab-separated): rejoins folded, host and cohost excluded."""

from __future__ import annotations

from engagement_pipeline.ingest.parse import parse_export

from .platform_expectations import EXPORTS, minutes_by_key, summary


def test_webex_attendance_report() -> None:
    parsed = parse_export(EXPORTS / "webex_attendance.csv")
    assert parsed.platform == "webex"
    assert summary(parsed) == {"attended": 3, "no_show": 0, "minutes": 138.0,
                               "roles": {"attendee": 2, "speaker": 1}, "excluded": {"host": 2}, "balanced": True}
    assert minutes_by_key(parsed) == {"ada.lee@brightwave.io": 58.0, "ben.okafor@tallpine.com": 60.0,
                                      "name:call in user 3": 20.0}
    assert set(parsed.records["event_id"]) == {"2025-03-18-quarterly-business-review"}
    assert parsed.organiser_emails == ("ivy.grant@harbourline.io", "noah.berg@harbourline.io")
