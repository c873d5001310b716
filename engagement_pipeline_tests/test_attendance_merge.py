"""Many uploads, one history: later exports supersede, platforms merge, nothing is counted twice."""

from __future__ import annotations

import pandas as pd

from engagement_pipeline.ingest.attendance import events_held, merge_uploads


def _row(upload_id: int, platform: str, key: str, **values: object) -> dict[str, object]:
    row: dict[str, object] = {
        "upload_id": upload_id, "event_id": "2026-05-12-boston-user-group", "event_name": "Boston User Group",
        "event_type": "user_group", "event_date": pd.Timestamp("2026-05-12"), "platform": platform,
        "attendee_key": key, "attendee_email": key, "attendee_name": key.split("@")[0], "company": None,
        "registered": True, "attended": False, "minutes_attended": 0.0, "questions_asked": 0,
        "polls_answered": 0, "feedback_submitted": False, "role": "attendee", "source_file": f"f{upload_id}",
        "source_row": 2, "rows_folded": 1,
    }
    row.update(values)
    return row


def test_hybrid_event_merges_registration_and_online_attendance() -> None:
    records = pd.DataFrame([
        _row(1, "eventbrite", "ana@acme.com", attended=True),                 # checked in on site
        _row(1, "eventbrite", "bo@acme.com"),                                  # registered, not checked in
        _row(2, "zoom_meeting", "bo@acme.com", attended=True, minutes_attended=42.0, registered=True),
        _row(2, "zoom_meeting", "cy@orbit.io", attended=True, minutes_attended=15.0, event_type="other"),
    ])

    merged, superseded = merge_uploads(records)

    assert superseded.empty
    assert list(merged["attendee_key"]) == ["ana@acme.com", "bo@acme.com", "cy@orbit.io"]
    assert list(merged["attended"]) == [True, True, True]
    assert list(merged["minutes_attended"]) == [0.0, 42.0, 15.0]
    assert set(merged["event_type"]) == {"user_group"}  # the specific type wins over 'other'
    assert merged["rows_folded"].tolist() == [1, 2, 1]


def test_later_export_of_the_same_event_and_platform_supersedes_the_earlier_one() -> None:
    records = pd.DataFrame([
        _row(3, "zoom_webinar", "ana@acme.com", attended=True, minutes_attended=30.0),
        _row(7, "zoom_webinar", "ana@acme.com", attended=True, minutes_attended=55.0),
        _row(7, "zoom_webinar", "dee@acme.com", attended=True, minutes_attended=20.0),
    ])

    merged, superseded = merge_uploads(records)

    assert merged[["attendee_key", "minutes_attended"]].values.tolist() == [
        ["ana@acme.com", 55.0], ["dee@acme.com", 20.0]
    ]
    assert superseded.to_dict(orient="records") == [
        {"upload_id": 3, "event_id": "2026-05-12-boston-user-group", "platform": "zoom_webinar",
         "superseded_by": 7, "records": 1}
    ]


def test_speaker_role_wins_and_no_show_has_no_minutes() -> None:
    records = pd.DataFrame([
        _row(1, "eventbrite", "ana@acme.com", attended=False),
        _row(2, "zoom_webinar", "ana@acme.com", attended=True, role="panelist", minutes_attended=60.0),
        _row(2, "zoom_webinar", "zed@acme.com", attended=False, minutes_attended=0.0),
    ])
    merged, _ = merge_uploads(records)
    assert merged.set_index("attendee_key")["role"].to_dict() == {"ana@acme.com": "panelist",
                                                                   "zed@acme.com": "attendee"}
    assert merged.set_index("attendee_key")["minutes_attended"].to_dict() == {"ana@acme.com": 60.0,
                                                                               "zed@acme.com": 0.0}


def test_events_held_counts_registrations_and_attendance_per_event() -> None:
    merged, _ = merge_uploads(pd.DataFrame([
        _row(1, "eventbrite", "ana@acme.com", attended=True),
        _row(1, "eventbrite", "bo@acme.com"),
    ]))
    events = events_held(merged)
    assert events[["event_id", "registered", "attended"]].values.tolist() == [
        ["2026-05-12-boston-user-group", 2, 1]
    ]
