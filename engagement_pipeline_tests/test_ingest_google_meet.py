"""Google Meet attendance report: `1 hr 2 min` durations; no event inside the file, so an override names it."""

from __future__ import annotations

from datetime import date

import pytest

from engagement_pipeline.ingest.overrides import EventOverride
from engagement_pipeline.ingest.parse import parse_export
from engagement_pipeline.ingest.result import RejectedFile

from .platform_expectations import EXPORTS, minutes_by_key, summary


def test_google_meet_needs_the_event_and_reads_durations() -> None:
    with pytest.raises(RejectedFile, match="Could not tell which event"):
        parse_export(EXPORTS / "google_meet.csv")
    override = EventOverride("google_meet.csv", "Pilot kickoff", "training", date(2025, 3, 4))
    parsed = parse_export(EXPORTS / "google_meet.csv", overrides=[override])
    assert parsed.platform == "google_meet"
    assert summary(parsed) == {"attended": 4, "no_show": 0, "minutes": 124.0, "roles": {"attendee": 4},
                               "excluded": {}, "balanced": True}
    assert minutes_by_key(parsed)["ada.lee@brightwave.io"] == 62.0


def test_google_meet_with_dated_join_times_takes_the_date(tmp_path) -> None:
    path = tmp_path / "meet.csv"
    path.write_text("First name,Last name,Email,Duration,Time joined,Time exited,Role\n"
                    "Ivy,Grant,ivy.grant@harbourline.io,50 min,2025-03-04 10:00:00,2025-03-04 10:50:00,Organizer\n"
                    "Ada,Lee,ada.lee@brightwave.io,1 hr,2025-03-04 10:01:00,2025-03-04 11:01:00,\n",
                    encoding="utf-8")
    override = EventOverride("meet.csv", "Pilot kickoff", None, None)
    parsed = parse_export(path, overrides=[override])
    assert set(parsed.records["event_id"]) == {"2025-03-04-pilot-kickoff"}
    assert summary(parsed)["excluded"] == {"host": 1} and parsed.organiser_emails == ("ivy.grant@harbourline.io",)
