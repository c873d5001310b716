"""Weekly re-score: recency decays and windows move even when no file arrives."""

import dagster as dg

from .jobs import engagement_job
from .resources import scoring_run_config


@dg.schedule(
    job=engagement_job,
    cron_schedule="0 6 * * 1",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every Monday 06:00 UTC, re-score every customer as of that day.",
)
def weekly_rescore_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    as_of = context.scheduled_execution_time.date()
    return dg.RunRequest(
        run_key=f"weekly-{as_of.isoformat()}",
        run_config=scoring_run_config(as_of),
        tags={"engagement/as_of": as_of.isoformat()},
    )
