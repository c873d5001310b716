"""The inbox sensor (one partition and one run per new file) and the re-score that follows ingestion.

The inbox sensor only lists files (a folder's stat, or a bucket's ListObjectsV2: the `Inbox` resource picks);
parsing happens in the run. Its cursor remembers the signature (size and mtime; in a bucket also the ETag) of
each file it requested while the file is still in the inbox, so the same file is never requested twice, and a
file replaced in place is requested again.
"""


import json

import dagster as dg

from .jobs import engagement_job, ingest_upload_job
from .partitions import upload_partitions_def
from .resources import Inbox

ACTIVE_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]
FINISHED_STATUSES = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE]


@dg.sensor(
    job=ingest_upload_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests one ingestion run per new or replaced file in the inbox.",
)
def inbox_sensor(context: dg.SensorEvaluationContext, inbox: Inbox) -> dg.SensorResult | dg.SkipReason:
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    files = inbox.ready()
    existing = set(context.instance.get_dynamic_partitions(upload_partitions_def.name))
    new_files = [f for f in files if seen.get(f.name) != f.signature]
    # Forget files that left the inbox (processed and archived) so a later drop of the same name counts.
    cursor = {f.name: seen[f.name] for f in files if f.name in seen}
    if not new_files:
        return dg.SensorResult(skip_reason=dg.SkipReason("No new files in the inbox."),
                               cursor=json.dumps(cursor, sort_keys=True))
    for f in new_files:
        cursor[f.name] = f.signature
    new_keys = sorted({f.name for f in new_files} - existing)
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(partition_key=f.name, run_key=f"{f.name}:{f.signature}",
                          tags={"engagement/file": f.name})
            for f in new_files
        ],
        dynamic_partitions_requests=[upload_partitions_def.build_add_request(new_keys)] if new_keys else [],
        cursor=json.dumps(cursor, sort_keys=True),
    )


@dg.sensor(
    job=engagement_job,
    minimum_interval_seconds=20,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Re-scores once ingestion has settled: after the latest ingestion run, when none is pending.",
)
def rescore_after_ingest_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    instance = context.instance
    pending = instance.get_run_records(
        filters=dg.RunsFilter(job_name=ingest_upload_job.name, statuses=ACTIVE_STATUSES), limit=1
    )
    if pending:
        return dg.SkipReason("Ingestion runs are still pending; re-scoring once they finish.")
    finished = instance.get_run_records(
        filters=dg.RunsFilter(job_name=ingest_upload_job.name, statuses=FINISHED_STATUSES), limit=1
    )
    if not finished:
        return dg.SkipReason("No ingestion run has finished yet.")
    latest = finished[0]
    if context.cursor == latest.dagster_run.run_id:
        return dg.SkipReason("Already re-scored after the latest ingestion run.")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"rescore-after-{latest.dagster_run.run_id}")],
        cursor=latest.dagster_run.run_id,
    )
