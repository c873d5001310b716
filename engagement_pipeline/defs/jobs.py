"""Two jobs: one file through ingestion, and the re-score that rebuilds everything downstream.

Both run in-process: on two cores the multiprocess executor spends seconds starting a process per
small pandas step, and the embedded SQLite warehouse prefers a single writer anyway.
"""

import dagster as dg

from .partitions import upload_partitions_def

INGEST_GROUPS = ("ingest",)

ingest_upload_job = dg.define_asset_job(
    "ingest_upload_job",
    selection=dg.AssetSelection.assets("attendance_upload", "validated_attendance", "matched_attendance"),
    partitions_def=upload_partitions_def,
    executor_def=dg.in_process_executor,
    description="Archive, validate and match one dropped file (one partition per file).",
)

engagement_job = dg.define_asset_job(
    "engagement_job",
    selection=dg.AssetSelection.groups("crm", "engagement", "insights", "actions", "actions_tracking", "report")
    | dg.AssetSelection.assets("upload_ledger", "quarantined_rows"),
    executor_def=dg.in_process_executor,
    description="Merge all uploads, re-score every customer as of the run's scoring date, update risk signals, "
    "outreach tasks, health and conversion, and write the report. Never sends anything.",
)
