"""Uploads held *waiting for event details* are processed as soon as `events/overrides.csv` names their event.

A file without an event name or date is archived and held (never rejected, never counted); the person adds the
line its ledger suggests to `events/overrides.csv` and is done: this sensor notices that the file's content
changed and requests one ingestion run per held upload the new overrides match. The run finds the file gone
from the inbox and re-reads its archived copy (`attendance_upload`), so nothing has to be dropped again.
Kept apart from the inbox sensor (defs/ingest/sensors.py) on purpose: it watches a different thing, the overrides.
"""

import hashlib
from datetime import date

import dagster as dg

from engagement_pipeline import warehouse as wh
from engagement_pipeline.ingest.overrides import load_overrides, merged_override

from ..engagement.resources import scoring_run_config
from ..resources import DataFolder, Warehouse
from .jobs import ingest_upload_job

HELD_TAG = "engagement/held_upload"


def overrides_digest(data_folder: DataFolder) -> str:
    path = data_folder.events_dir / "overrides.csv"
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.exists() else "none"


@dg.sensor(
    job=ingest_upload_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="When events/overrides.csv changes, re-processes the uploads held waiting for event details "
    "that it now names (from their archived copy; nothing is dropped again).",
)
def held_uploads_sensor(context: dg.SensorEvaluationContext, data_folder: DataFolder,
                        warehouse: Warehouse) -> dg.SensorResult | dg.SkipReason:
    digest = overrides_digest(data_folder)
    if context.cursor == digest:
        return dg.SkipReason("events/overrides.csv unchanged.")
    try:
        overrides = load_overrides(data_folder.events_dir / "overrides.csv")
    except ValueError as err:
        context.log.warning(f"events/overrides.csv cannot be read, held uploads stay held: {err}")
        return dg.SensorResult(skip_reason=dg.SkipReason(str(err)), cursor=digest)
    held = wh.load_held(warehouse.engine())
    named = [row for row in held.itertuples(index=False) if merged_override(overrides, row.file_name)]
    if not named:
        return dg.SensorResult(skip_reason=dg.SkipReason(f"{len(held)} held upload(s), none named by the overrides."),
                               cursor=digest)
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(partition_key=row.file_name, run_key=f"held:{row.upload_id}:{digest}",
                          run_config=scoring_run_config(date.today()), tags={HELD_TAG: str(row.upload_id)})
            for row in named
        ],
        cursor=digest,
    )
