"""The inbox sensor (one partition per new file, one run per batch of files) and the re-score safety net.

The inbox sensor only lists files (a folder's stat, or a bucket's ListObjectsV2: the `Inbox` resource picks);
parsing happens in the run. Files ready at the same tick are one batch: one run over their partitions (a
partition range of `ingest_upload_job`, which ingests every file of the range and then re-scores in the same
run, see `jobs.py`). A run costs seconds before any work starts, so one run per file made a drop of 19 files
take minutes instead of seconds. Its cursor remembers the signature (size and mtime; in a bucket also the ETag)
of each file it requested while the file is still in the inbox, so the same file is never requested twice,
and a file replaced in place is requested again. A file still in the inbox whose every run failed or was
cancelled (a worker killed half-way; the warehouse writes are transactional, so a retry is safe) is requested
again, up to MAX_ATTEMPTS runs; then it stays in the inbox, named in the sensor's log.
"""


import hashlib
import json
from collections import defaultdict
from datetime import date

import dagster as dg

from engagement_pipeline.inbox import InboxFile

from ..engagement.jobs import engagement_job
from ..engagement.resources import scoring_run_config
from ..resources import Inbox
from .jobs import ingest_upload_job
from .partitions import upload_partitions_def

ACTIVE_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]
FINISHED_STATUSES = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE]


MAX_ATTEMPTS = 3
GAVE_UP_STATUSES = (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
FILE_TAG, SIGNATURE_TAG = "engagement/file", "engagement/signature"  # a one-file run
BATCH_TAG = "engagement/batch"  # a run over several files: JSON {file name: signature}
WILL_RETRY_TAG = "dagster/will_retry"  # set by Dagster on a failed run that run_retries will re-execute
RANGE_START_TAG, RANGE_END_TAG = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
RUNS_LOOKED_AT = 1000  # the newest ingestion runs searched for a file's earlier attempts
# The daemon's sensor loop comes round every 5 s (fixed in Dagster). A minimum interval of 5 s as well made
# every other evaluation fall a few milliseconds short of it and be skipped: a dropped file waited up to 10 s
# for its tick (measured: 10 s gaps between inbox ticks). Any minimum below the loop means every loop.
SENSOR_INTERVAL_SECONDS = 1


def run_files(run: dg.DagsterRun) -> dict[str, str]:
    """{file name: signature} of the files an ingestion run was launched for."""
    if BATCH_TAG in run.tags:
        return json.loads(run.tags[BATCH_TAG])
    if FILE_TAG in run.tags:
        return {run.tags[FILE_TAG]: run.tags.get(SIGNATURE_TAG, "")}
    return {}


def requested_files(request: dg.RunRequest) -> list[str]:
    """The file names (partition keys) one of this sensor's run requests covers."""
    if request.partition_key:
        return [request.partition_key]
    return sorted(json.loads(request.tags.get(BATCH_TAG, "{}")))


def _runs_by_file(instance: dg.DagsterInstance) -> dict[tuple[str, str], list[dg.DagsterRun]]:
    """Every recent ingestion run per (file name, signature), newest first: one query per tick, not per file."""
    records = instance.get_run_records(filters=dg.RunsFilter(job_name=ingest_upload_job.name), limit=RUNS_LOOKED_AT)
    found: dict[tuple[str, str], list[dg.DagsterRun]] = defaultdict(list)
    for record in records:
        for name, signature in run_files(record.dagster_run).items():
            found[(name, signature)].append(record.dagster_run)
    return found


def _contiguous(keys: list[str], order: list[str]) -> list[list[str]]:
    """The requested partition keys cut into runs of neighbours in the partition order (one range each)."""
    position = {key: i for i, key in enumerate(order)}
    groups: list[list[str]] = []
    for key in sorted(keys, key=position.__getitem__):
        if groups and position[key] == position[groups[-1][-1]] + 1:
            groups[-1].append(key)
        else:
            groups.append([key])
    return groups


def _request(batch: list[tuple[InboxFile, int]], as_of: date) -> dg.RunRequest:
    """One run for a batch; the run key counts earlier attempts of each file version (see inbox_sensor).
    `as_of`, the tick's day, is the run's scoring date (a retry of the run keeps it)."""
    if len(batch) == 1:
        f, attempt = batch[0]
        return dg.RunRequest(partition_key=f.name, run_key=f"{f.name}:{f.signature}:{attempt}",
                             run_config=scoring_run_config(as_of), tags={FILE_TAG: f.name, SIGNATURE_TAG: f.signature})
    signature = "\n".join(f"{f.name}:{f.signature}:{attempt}" for f, attempt in batch)
    return dg.RunRequest(
        run_key=f"batch:{len(batch)}:{hashlib.sha256(signature.encode()).hexdigest()[:32]}",
        run_config=scoring_run_config(as_of),
        tags={RANGE_START_TAG: batch[0][0].name, RANGE_END_TAG: batch[-1][0].name,
              BATCH_TAG: json.dumps({f.name: f.signature for f, _ in batch})},
    )


@dg.sensor(
    job=ingest_upload_job,
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests one ingestion-and-re-score run per batch of new or replaced files in the inbox; "
    f"retries a file whose run failed or was cancelled (a killed worker), up to {MAX_ATTEMPTS} attempts.",
)
def inbox_sensor(context: dg.SensorEvaluationContext, inbox: Inbox) -> dg.SensorResult | dg.SkipReason:
    """The run key counts earlier runs of the same file version, so an identical file dropped again after
    it was processed (`cp -p` keeps size and mtime) is a new run instead of one Dagster skips as a duplicate,
    and a retry after a failed run is one too."""
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    files = inbox.ready()
    existing = list(context.instance.get_dynamic_partitions(upload_partitions_def.name))
    runs_by_file = _runs_by_file(context.instance) if files else {}
    requests: list[tuple[InboxFile, int]] = []
    gave_up: list[str] = []
    for f in files:
        runs = runs_by_file.get((f.name, f.signature), [])
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
    new_keys = sorted({f.name for f, _ in requests} - set(existing))
    # New partitions are added in this order before the runs launch, so a batch of new files is one range;
    # a file dropped again keeps its old place, and a range never covers a file that was not requested.
    attempts = {f.name: (f, attempt) for f, attempt in requests}
    batches = _contiguous(list(attempts), existing + new_keys)
    return dg.SensorResult(
        run_requests=[_request([attempts[name] for name in batch], date.today()) for batch in batches],
        dynamic_partitions_requests=[upload_partitions_def.build_add_request(new_keys)] if new_keys else [],
        cursor=json.dumps(cursor, sort_keys=True),
    )


@dg.sensor(
    job=engagement_job,
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Re-scores after an ingestion run that failed (and so did not re-score itself), once no "
    "ingestion is pending: the uploads it stored before failing still count.",
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
    if latest.dagster_run.status == dg.DagsterRunStatus.SUCCESS:
        return dg.SkipReason("The latest ingestion run re-scored in the same run.")
    if latest.dagster_run.tags.get(WILL_RETRY_TAG) == "true":
        return dg.SkipReason("The latest ingestion run failed and will be re-executed; it re-scores then.")
    if context.cursor == latest.dagster_run.run_id:
        return dg.SkipReason("Already re-scored after the latest ingestion run.")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"rescore-after-{latest.dagster_run.run_id}",
                                    run_config=scoring_run_config(date.today()))],
        cursor=latest.dagster_run.run_id,
    )
