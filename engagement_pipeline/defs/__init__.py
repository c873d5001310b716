"""The Dagster definitions: assets, jobs, the inbox sensor, the re-score sensor and the weekly schedule.

Importing this package reads nothing from the environment. `defs` is loaded lazily (`@dg.definitions`): when
Dagster loads the code location it calls `defs()`, which reads the settings for one thing, the catalogue the
invitation job's event drop-down lists (`events/upcoming_events.csv` in ENGAGEMENT_DATA_DIR: a job's config
schema is fixed when its definition is built, so a drop-down cannot wait for a run). Every resource reads the
environment when a run or a sensor tick sets it up (`resources.environment_resources`).
"""

import warnings
from pathlib import Path

import dagster as dg

from engagement_pipeline.config import Settings

from . import actions
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
from .ingest.assets import attendance_upload, stored_attendance, validated_attendance
from .report.assets import REPORT_FRESHNESS_CHECKS, engagement_report, quarantined_rows, upload_ledger
from .resources import default_resources, environment_resources

INGEST_ASSETS = [attendance_upload, validated_attendance, stored_attendance]
ENGAGEMENT_ASSETS = [
    crm, attendance, events_held, unmatched_attendees, engagement_scores, engagement_trends, event_summary,
    advocacy_candidates, engagement_risks, upcoming_events, invitation_recommendations, upload_ledger,
    quarantined_rows, *actions.ASSETS, engagement_report,
]


def build_definitions(resources: dict | None = None, settings: Settings | None = None,
                      events_csv: Path | None = None) -> dg.Definitions:
    """Everything, bound to `settings` (the CLI, tests: resources made from them, the mailer writing `.eml`
    files to their outbox folder, the event drop-down from their catalogue) or, without them, to resources that
    read the environment when set up (and the events of `events_csv`, if given). `resources` replace any.

    The jobs, checks, sensors and schedule are imported here, not with the package: a run of the assets
    (`runner.run_pipeline`, the CLI's `score`) needs only the asset lists above, and the action jobs' side
    (mailer, outbox, invitations, holdout) is ~25 ms of imports it never uses."""
    from .actions.jobs import action_jobs
    from .actions.resources import Mailer
    from .engagement import checks
    from .engagement.jobs import engagement_job
    from .engagement.schedules import weekly_rescore_schedule
    from .ingest.held_uploads import held_uploads_sensor
    from .ingest.jobs import ingest_upload_job
    from .ingest.sensors import inbox_sensor, rescore_after_ingest_sensor

    base = {**default_resources(settings), "mailer": Mailer()} if settings else \
        {**environment_resources(), **actions.environment_resources()}
    merged = {**base, **(resources or {})}
    catalogue = settings.events_dir / "upcoming_events.csv" if settings else events_csv
    with warnings.catch_warnings():  # code references are a beta API; the warning is noise for every CLI run
        warnings.simplefilter("ignore", dg.BetaWarning)
        # Code references: each asset's page links to the function that computes it.
        assets = dg.with_source_code_references([*INGEST_ASSETS, *ENGAGEMENT_ASSETS])
    return dg.Definitions(
        assets=assets,
        asset_checks=[*checks.ASSET_CHECKS, *REPORT_FRESHNESS_CHECKS],
        # The action jobs: the event a drop-down read from the catalogue now; infrastructure hidden.
        jobs=[ingest_upload_job, engagement_job, *action_jobs(merged, catalogue)],
        sensors=[inbox_sensor, rescore_after_ingest_sensor, held_uploads_sensor],
        schedules=[weekly_rescore_schedule],
        resources=merged,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The code location `workspace.yaml` names, built when Dagster loads it (not when this module is imported)."""
    return build_definitions(events_csv=Settings.from_env().events_dir / "upcoming_events.csv")
