"""The inbox sensor (one partition and one run per new file) and the re-score that follows ingestion.

The inbox sensor only lists files (a folder's stat, or a bucket's ListObjectsV2: the `Inbox` resource picks);
parsing happens in the run. Its cursor remembers the signature (size and mtime; in a bucket also the ETag) of
each file it requested while the file is still in the inbox, so the same file is never requested twice, and a
file replaced in place is requested again. A file still in the inbox whose every run failed or was cancelled
(a worker killed half-way; the warehouse writes are transactional, so a retry is safe) is requested again, up
to MAX_ATTEMPTS runs; then it stays in the inbox, named in the sensor's log.
"""


import json

import dagster as dg

from engagement_pipeline.inbox import InboxFile

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


MAX_ATTEMPTS = 3
GAVE_UP_STATUSES = (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
FILE_TAG, SIGNATURE_TAG = "engagement/file", "engagement/signature"
WILL_RETRY_TAG = "dagster/will_retry"  # set by Dagster on a failed run that run_retries will re-execute


def _runs_for(instance: dg.DagsterInstance, f: InboxFile) -> list[dg.DagsterRun]:
    """Every ingestion run launched for this version of this file (same name, same signature)."""
    records = instance.get_run_records(filters=dg.RunsFilter(
        job_name=ingest_upload_job.name, tags={FILE_TAG: f.name, SIGNATURE_TAG: f.signature}))
    return [r.dagster_run for r in records]


@dg.sensor(
    job=ingest_upload_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests one ingestion run per new or replaced file in the inbox; retries a file whose run "
    f"failed or was cancelled (a killed worker), up to {MAX_ATTEMPTS} attempts.",
)
def inbox_sensor(context: dg.SensorEvaluationContext, inbox: Inbox) -> dg.SensorResult | dg.SkipReason:
    """The run key counts earlier runs of the same file version, so an identical file dropped again after
    it was processed (`cp -p` keeps size and mtime) is a new run instead of one Dagster skips as a duplicate,
    and a retry after a failed run is one too."""
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    files = inbox.ready()
    existing = set(context.instance.get_dynamic_partitions(upload_partitions_def.name))
    requests: list[tuple[InboxFile, int]] = []
    gave_up: list[str] = []
    for f in files:
        runs = _runs_for(context.instance, f)
        if seen.get(f.name) == f.signature:
            if not runs or any(r.status not in GAVE_UP_STATUSES or r.tags.get(WILL_RETRY_TAG) == "true"
                               for r in runs):
                continue  # pending, running, done, or a crashed run the daemon re-executes (run_retries)
            if len(runs) >= MAX_ATTEMPTS:
                gave_up.append(f"{f.name} (last run {runs[0].run_id})")
                continue
        requests.append((f, len(runs)))
    # Forget files that left the inbox (processed and archived) so a later drop of the same name counts.
    cursor = {f.name: seen[f.name] for f in files if f.name in seen}
    for f, _ in requests:
        cursor[f.name] = f.signature
    if gave_up:
        context.log.warning(f"Not retrying after {MAX_ATTEMPTS} failed runs: {', '.join(gave_up)}. The files stay "
                            "in the inbox; fix the cause and drop them again.")
    if not requests:
        reason = f"No new files in the inbox{'; given up on ' + ', '.join(gave_up) if gave_up else ''}."
        return dg.SensorResult(skip_reason=dg.SkipReason(reason), cursor=json.dumps(cursor, sort_keys=True))
    new_keys = sorted({f.name for f, _ in requests} - existing)
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(partition_key=f.name, run_key=f"{f.name}:{f.signature}:{attempt}",
                          tags={FILE_TAG: f.name, SIGNATURE_TAG: f.signature})
            for f, attempt in requests
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
