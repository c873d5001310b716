"""The Dagster definitions: assets, jobs, the inbox sensor, the re-score sensor and the weekly schedule."""

import dagster as dg

from . import actions, checks
from .engagement_assets import (
    advocacy_candidates,
    attendance,
    crm,
    engagement_risks,
    engagement_scores,
    engagement_trends,
    event_summary,
    events_held,
    invitation_recommendations,
    unmatched_attendees,
    upcoming_events,
)
from .held_uploads import held_uploads_sensor
from .ingest_assets import attendance_upload, matched_attendance, validated_attendance
from .jobs import engagement_job, ingest_upload_job
from .report_assets import engagement_report, quarantined_rows, upload_ledger
from .resources import default_resources
from .schedules import weekly_rescore_schedule
from .sensors import inbox_sensor, rescore_after_ingest_sensor

INGEST_ASSETS = [attendance_upload, validated_attendance, matched_attendance]
ENGAGEMENT_ASSETS = [
    crm, attendance, events_held, unmatched_attendees, engagement_scores, engagement_trends, event_summary,
    advocacy_candidates, engagement_risks, upcoming_events, invitation_recommendations, upload_ledger,
    quarantined_rows, *actions.ASSETS, engagement_report,
]


def build_definitions(resources: dict | None = None) -> dg.Definitions:
    return dg.Definitions(
        assets=[*INGEST_ASSETS, *ENGAGEMENT_ASSETS],
        asset_checks=checks.ASSET_CHECKS,
        jobs=[ingest_upload_job, engagement_job, *actions.JOBS],
        sensors=[inbox_sensor, rescore_after_ingest_sensor, held_uploads_sensor],
        schedules=[weekly_rescore_schedule],
        resources={**default_resources(), **actions.RESOURCES, **(resources or {})},
    )


defs = build_definitions()
