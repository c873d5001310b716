"""The ingestion job: a batch of dropped files through ingestion and the re-score (`engagement_job` alone is
in `engagement/jobs.py`).

Both jobs run in-process: on two cores the multiprocess executor spends seconds starting a process per
small pandas step, and the embedded SQLite warehouse prefers a single writer anyway.

Why the ingestion job also re-scores: a run costs seconds before any work starts (the daemon's tick, the
queue, a fresh process importing the code location), so one run per dropped file plus a re-score run made
19 demo files take 140 s, of which ~17 s was work. The inbox sensor now asks for one run per batch (a range
of `uploads` partitions, see `sensors.py`), and that run merges and re-scores right after ingesting, so a
drop becomes a report in one run. `engagement_job` stays for the weekly schedule and a manual re-score.
"""

import dagster as dg

from ..engagement.jobs import RESCORE_SELECTION
from .partitions import upload_partitions_def

INGEST_GROUPS = ("ingest",)
INGEST_ASSET_NAMES = ("attendance_upload", "validated_attendance", "stored_attendance")

ingest_upload_job = dg.define_asset_job(
    "ingest_upload_job",
    selection=dg.AssetSelection.assets(*INGEST_ASSET_NAMES) | RESCORE_SELECTION,
    partitions_def=upload_partitions_def,
    executor_def=dg.in_process_executor,
    description="Archive, validate and store a batch of dropped files (one partition per file, one run per "
    "batch), then merge all uploads, re-score and write the report in the same run. Never sends anything.",
)
