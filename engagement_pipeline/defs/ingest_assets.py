"""Per-file assets: the dropped upload, its validated records, and those records matched to customers.

Each is a thin wrapper: the work happens in `inbox`, `ingest`, `matching` and `warehouse`. One run may cover
a batch of files (a range of `uploads` partitions, see `sensors.py`): then each asset does its per-file work
for every file of the range, returns `{file name: value}` (stored per partition by `io.BatchPickleIOManager`)
and records each file's metadata on its own partition. A one-file run returns the bare value, as always.
"""


import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg
import pandas as pd

from engagement_pipeline import warehouse as wh
from engagement_pipeline.crm import Crm, load_crm_cached
from engagement_pipeline.ingest.overrides import load_overrides
from engagement_pipeline.ingest.parse import parse_export
from engagement_pipeline.ingest.result import ParsedUpload, RejectedFile
from engagement_pipeline.ledger import exclude_internal
from engagement_pipeline.matching import match_attendance

from .partitions import upload_partitions_def
from .resources import DataFolder, Inbox, Warehouse

# `backfill_policy` is marked beta; it is the documented way to run a range of partitions in one run.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)
T = TypeVar("T")
BATCH = dg.BackfillPolicy.single_run()  # a range of files is one run, not one run per file


@dataclass(frozen=True)
class Upload:
    """What the pipeline knows about one dropped file once it is safely archived."""

    upload_id: int
    file_name: str
    sha256: str
    archive_path: str  # the durable archived copy: a path, or an s3:// URL with a bucket inbox
    first_seen: bool
    local_path: str = ""  # a local copy of the same bytes for this run to parse (empty: archive_path)


def _location(ref: str) -> dg.MetadataValue:
    return dg.MetadataValue.url(ref) if "://" in ref else dg.MetadataValue.path(ref)


def _per_file(value: Any, keys: list[str]) -> dict[str, Any]:
    """An upstream input as {file name: value}: a batch run loads a dict, a one-file run the bare value.
    The IO manager leaves a partition whose value is None (a rejected file) out of a batch: it is None here."""
    return {key: value.get(key) for key in keys} if len(keys) > 1 else {keys[0]: value}


def _each_file(context: dg.AssetExecutionContext, work: Callable[[str], tuple[T, dict[str, Any]]]
               ) -> dg.Output[Any]:
    """Runs `work(file name) -> (value, metadata)` for every partition of the run, in partition order."""
    keys = list(context.partition_keys)
    if len(keys) == 1:
        value, metadata = work(keys[0])
        return dg.Output(value, metadata=metadata)
    values: dict[str, Any] = {}
    for key in keys:
        values[key], metadata = work(key)
        context.add_asset_metadata(metadata, partition_key=key)
    return dg.Output(values)


@dg.asset(partitions_def=upload_partitions_def, group_name="ingest", kinds={"file"}, backfill_policy=BATCH)
def attendance_upload(
    context: dg.AssetExecutionContext, inbox: Inbox, data_folder: DataFolder, warehouse: Warehouse
) -> dg.Output[Any]:
    """The dropped file, archived by content hash; the same bytes under any name are one upload."""
    store = inbox.store(data_folder.settings)
    return _each_file(context, lambda file_name: _archive(file_name, store, inbox, warehouse))


def _archive(file_name: str, store: Any, inbox: Inbox, warehouse: Warehouse) -> tuple[Upload, dict[str, Any]]:
    fetched = store.fetch(file_name)
    with warehouse.engine().begin() as conn:
        if fetched is None:  # already processed and gone from the inbox: re-run from its archived copy
            previous = wh.load_uploads(conn)
            previous = previous[previous["file_name"] == file_name]
            if previous.empty:
                raise dg.Failure(description=f"{file_name} is neither in the inbox ({store.location}) "
                                             "nor in the archive.")
            fetched = store.fetch_archived(str(previous.iloc[-1]["archive_path"]), file_name)
        upload_id, first_seen = wh.register_upload(
            conn, sha256=fetched.sha256, file_name=file_name, size_bytes=fetched.size,
            archive_path=fetched.archive_ref,
        )
    if inbox.consume:
        store.consume(fetched)
    upload = Upload(upload_id, file_name, fetched.sha256, fetched.archive_ref, first_seen, str(fetched.local_path))
    return upload, {
        "upload_id": upload_id,
        "sha256": fetched.sha256,
        "archived_to": _location(fetched.archive_ref),
        "first_seen": first_seen,
    }


@dg.asset(partitions_def=upload_partitions_def, group_name="ingest", kinds={"pandas", "pandera"},
          backfill_policy=BATCH)
def validated_attendance(
    context: dg.AssetExecutionContext, attendance_upload: Any, inbox: Inbox, data_folder: DataFolder,
    warehouse: Warehouse,
) -> dg.Output[Any]:
    """Platform detected from content, mapped through its pandera schema onto canonical records.

    A file that cannot be used is rejected with a reason beside it in `rejected/`; the run still
    succeeds so that the other files and the report go on.
    """
    uploads = _per_file(attendance_upload, list(context.partition_keys))
    return _each_file(context, lambda key: _validate(context, uploads[key], inbox, data_folder, warehouse))


def _validate(context: dg.AssetExecutionContext, attendance_upload: Upload, inbox: Inbox, data_folder: DataFolder,
              warehouse: Warehouse) -> tuple[ParsedUpload | None, dict[str, Any]]:
    settings = data_folder.settings
    archived = Path(attendance_upload.local_path or attendance_upload.archive_path)
    try:
        overrides = load_overrides(settings.events_dir / "overrides.csv")
        parsed = parse_export(
            archived, source_name=attendance_upload.file_name, overrides=overrides,
            max_bytes=settings.max_upload_bytes,
        )
    except RejectedFile as err:
        explanation = err.explanation()
        error_file = inbox.store(settings).reject(archived, attendance_upload.file_name, explanation)
        with warehouse.engine().begin() as conn:
            wh.mark_rejected(conn, attendance_upload.upload_id, explanation)
        context.log.warning(f"Rejected {attendance_upload.file_name}: {err.reason}")
        return None, {"status": "rejected", "reason": explanation, "error_file": _location(error_file)}
    return parsed, {
        "status": "accepted",
        "platform": parsed.platform,
        "records": len(parsed.records),
        "ledger": dg.MetadataValue.json(parsed.ledger),
        "notes": "\n".join(parsed.notes) or "none",
    }


@dg.asset(partitions_def=upload_partitions_def, group_name="ingest", kinds={"pandas", "sqlite"},
          backfill_policy=BATCH)
def matched_attendance(
    context: dg.AssetExecutionContext, attendance_upload: Any, validated_attendance: Any,
    data_folder: DataFolder, warehouse: Warehouse,
) -> dg.Output[Any]:
    """Records matched to customers (method and confidence per row), stored for this upload."""
    keys = list(context.partition_keys)
    uploads, parsed = _per_file(attendance_upload, keys), _per_file(validated_attendance, keys)
    crm: list[Crm] = []  # the CRM is read once per run, and only when some file was accepted

    def match(key: str) -> tuple[pd.DataFrame, dict[str, Any]]:
        if parsed[key] is not None and not crm:
            crm.append(load_crm_cached(data_folder.settings.crm_dir))
        return _match(uploads[key], parsed[key], crm[0] if crm else None, data_folder, warehouse)

    return _each_file(context, match)


def _match(attendance_upload: Upload, validated_attendance: ParsedUpload | None, crm: Crm | None,
           data_folder: DataFolder, warehouse: Warehouse) -> tuple[pd.DataFrame, dict[str, Any]]:
    if validated_attendance is None or crm is None:
        return pd.DataFrame(), {"status": "rejected", "records": 0}
    settings = data_folder.settings
    outcome = match_attendance(validated_attendance.records, crm, settings.internal_domains)
    parsed = exclude_internal(validated_attendance, outcome.internal)
    ledger = parsed.ledger
    with warehouse.engine().begin() as conn:
        wh.store_parsed_upload(
            conn, attendance_upload.upload_id, platform=parsed.platform, records=outcome.matched,
            excluded=parsed.excluded, quarantined=parsed.quarantined, ledger=ledger,
        )
    methods = outcome.matched["match_method"].value_counts().to_dict()
    return outcome.matched, {
        "records": len(outcome.matched),
        "matched": int(outcome.matched["customer_id"].notna().sum()),
        "by_method": dg.MetadataValue.json({str(k): int(v) for k, v in methods.items()}),
        "ledger": dg.MetadataValue.json(ledger),
        "ledger_balanced": bool(ledger["balanced"]),
    }
