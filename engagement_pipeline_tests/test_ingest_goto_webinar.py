"""GoTo Webinar attendee reports (current and 2012 layouts): durations in words, organizer excluded."""

from __future__ import annotations

import pytest

from engagement_pipeline.ingest.parse import detect_platform, parse_export
from engagement_pipeline.ingest.result import RejectedFile

from .platform_expectations import EXPORTS, minutes_by_key, summary


def test_goto_webinar_current_layout() -> None:
    parsed = parse_export(EXPORTS / "goto_webinar.csv")
    assert parsed.platform == "goto_webinar"
    assert summary(parsed) == {"attended": 6, "no_show": 2, "minutes": 242.0,
                               "roles": {"attendee": 6, "panelist": 2}, "excluded": {"host": 1}, "balanced": True}
    minutes = minutes_by_key(parsed)
    assert minutes["ada.lee@brightwave.io"] == 44.0  # 34 minutes + 10 minutes on a rejoin, folded
    assert minutes["ben.okafor@tallpine.com"] == 62.0  # "1 hour 2 minutes"
    assert minutes["eli.moss@brightwave.io"] == 0.0
    assert set(parsed.records["event_id"]) == {"2025-03-04-roadmap-webinar-q1"}
    assert parsed.organiser_emails == ("dana.whitfield@harbourline.io",)


def test_goto_webinar_2012_layout() -> None:
    parsed = parse_export(EXPORTS / "goto_webinar_2012.csv")
    assert summary(parsed) == {"attended": 3, "no_show": 1, "minutes": 83.78, "roles": {"attendee": 4},
                               "excluded": {}, "balanced": True}
    assert set(parsed.records["event_id"]) == {"2012-05-16-data-pipelines-101"}
    asked = parsed.records.set_index("attendee_email")["questions_asked"].to_dict()
    assert asked["ada.lee@brightwave.io"] == 1 and asked["ben.okafor@tallpine.com"] == 0  # text, counted once


def test_goto_webinar_is_never_a_zoom_webinar() -> None:
    assert detect_platform(EXPORTS / "goto_webinar.csv") == "goto_webinar"
    assert detect_platform(EXPORTS / "goto_webinar_2012.csv") == "goto_webinar"


def test_goto_webinar_with_every_time_in_session_missing_is_rejected(tmp_path) -> None:
    text = (EXPORTS / "goto_webinar.csv").read_text(encoding="utf-8")
    for value in ("34 minutes", "10 minutes", "1 hour 2 minutes", "3 minutes", "30 minutes"):
        text = text.replace(f",{value},", ",--,")
    path = tmp_path / "goto.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RejectedFile, match=r"'Time in Session' column .* is empty in every row"):
        parse_export(path)
