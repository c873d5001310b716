"""The re-score on its own: the weekly schedule, the re-score sensor and a manual re-score launch it.

In-process, like the ingestion job (`ingest/jobs.py` says why); the ingestion job runs the same selection right
after ingesting.
"""

import dagster as dg

RESCORE_SELECTION = (
    dg.AssetSelection.groups("crm", "engagement", "insights", "actions", "actions_tracking", "report")
    | dg.AssetSelection.assets("upload_ledger", "quarantined_rows")
)

engagement_job = dg.define_asset_job(
    "engagement_job",
    selection=RESCORE_SELECTION,
    executor_def=dg.in_process_executor,
    description="Merge all uploads, re-score every customer as of the run's scoring date, update risk signals, "
    "outreach tasks, health and conversion, and write the report. Never sends anything.",
)
