"""The Dagster definitions: assets, jobs, the inbox sensor, the re-score sensor and the weekly schedule."""

import warnings

import dagster as dg

from . import actions
from .actions.jobs import action_jobs
from .engagement import checks
from .engagement.assets import (
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
from .engagement.jobs import engagement_job
from .engagement.schedules import weekly_rescore_schedule
from .ingest.assets import attendance_upload, stored_attendance, validated_attendance
from .ingest.held_uploads import held_uploads_sensor
from .ingest.jobs import ingest_upload_job
from .ingest.sensors import inbox_sensor, rescore_after_ingest_sensor
from .report.assets import REPORT_FRESHNESS_CHECKS, engagement_report, quarantined_rows, upload_ledger
from .resources import default_resources

INGEST_ASSETS = [attendance_upload, validated_attendance, stored_attendance]
ENGAGEMENT_ASSETS = [
    crm, attendance, events_held, unmatched_attendees, engagement_scores, engagement_trends, event_summary,
    advocacy_candidates, engagement_risks, upcoming_events, invitation_recommendations, upload_ledger,
    quarantined_rows, *actions.ASSETS, engagement_report,
]


def build_definitions(resources: dict | None = None) -> dg.Definitions:
    merged = {**default_resources(), **actions.RESOURCES, **(resources or {})}
    folder = merged.get("data_folder")
    events_csv = folder.settings.events_dir / "upcoming_events.csv" if hasattr(folder, "settings") else None
    with warnings.catch_warnings():  # code references are a beta API; the warning is noise for every CLI run
        warnings.simplefilter("ignore", dg.BetaWarning)
        # Code references: each asset's page links to the function that computes it.
        assets = dg.with_source_code_references([*INGEST_ASSETS, *ENGAGEMENT_ASSETS])
    return dg.Definitions(
        assets=assets,
        asset_checks=[*checks.ASSET_CHECKS, *REPORT_FRESHNESS_CHECKS],
        # The action jobs: the event a drop-down read from the catalogue now; infrastructure hidden.
        jobs=[ingest_upload_job, engagement_job, *action_jobs(merged, events_csv)],
        sensors=[inbox_sensor, rescore_after_ingest_sensor, held_uploads_sensor],
        schedules=[weekly_rescore_schedule],
        resources=merged,
    )


defs = build_definitions()
