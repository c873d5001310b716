"""Per-file assets: the dropped upload, its validated records, and those records stored for the merge.

Each is a thin wrapper: the work happens in `inbox`, `ingest`, `ledger` and `warehouse`. One run may cover
a batch of files (a range of `uploads` partitions, see `sensors.py`): then each asset does its per-file work
for every file of the range, returns `{file name: value}` (stored per partition by `io.BatchPickleIOManager`)
and records each file's metadata on its own partition. A one-file run returns the bare value, as always.
"""


import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg
import pandas as pd

from engagement_pipeline import warehouse as wh
from engagement_pipeline.config import missing_crm
from engagement_pipeline.ingest.ledger import exclude_internal
from engagement_pipeline.ingest.mappings import LoadedMapping, load_mappings, write_mapping_skeleton
from engagement_pipeline.ingest.organiser import internal_domains_for, organiser_records
from engagement_pipeline.ingest.overrides import EventOverride, WaitingForEventDetails, load_overrides
from engagement_pipeline.ingest.parse import parse_export
from engagement_pipeline.ingest.result import ParsedUpload, RejectedFile
from engagement_pipeline.report.escape import mask_emails_in

from ..resources import DataFolder, Inbox, Warehouse
from .partitions import partitions_read_once, upload_partitions_def

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
    metadata_by_key: dict[str, dict[str, Any]] = {}
    for key in keys:
        values[key], metadata_by_key[key] = work(key)
    with partitions_read_once(context.instance):  # each call checks the key is in the run's range
        for key, metadata in metadata_by_key.items():
            context.add_asset_metadata(metadata, partition_key=key)
    return dg.Output(values)


@dg.asset(partitions_def=upload_partitions_def, group_name="ingest", kinds={"file"}, backfill_policy=BATCH)
def attendance_upload(
    context: dg.AssetExecutionContext, inbox: Inbox, data_folder: DataFolder, warehouse: Warehouse
) -> dg.Output[Any]:
    """The dropped file, archived by content hash; the same bytes under any name are one upload."""
    no_crm = missing_crm(data_folder)
    if no_crm:  # before anything is archived or stored: the file stays in the inbox for when the CRM is there
        raise dg.Failure(description=no_crm)
    store = inbox.store(data_folder)
    return _each_file(context, lambda file_name: _archive(file_name, store, inbox, warehouse))


def _archive(file_name: str, store: Any, inbox: Inbox, warehouse: Warehouse) -> tuple[Upload, dict[str, Any]]:
    fetched = store.fetch(file_name)
    if fetched is None:  # already processed and gone from the inbox: re-run from its archived copy
        archived = wh.load_archive_ref(warehouse.engine(), file_name)
        if archived is None:
            raise dg.Failure(description=f"{file_name} is neither in the inbox ({store.location}) "
                                         "nor in the archive.")
        fetched = store.fetch_archived(archived, file_name)
    upload_id, first_seen = wh.store_upload(warehouse.engine(), sha256=fetched.sha256, file_name=file_name,
                                            size_bytes=fetched.size, archive_path=fetched.archive_ref)
    if inbox.consume:
        store.consume(fetched)
    upload = Upload(upload_id, file_name, fetched.sha256, fetched.archive_ref, first_seen, str(fetched.local_path))
    return upload, {
        "upload_id": upload_id,
        "sha256": fetched.sha256,
        "archived_to": _location(fetched.archive_ref),
        "first_seen": first_seen,
    }


UPLOAD_ACCEPTED_CHECK = "upload_accepted"


@dg.asset(partitions_def=upload_partitions_def, group_name="ingest", kinds={"pandas", "pandera"},
          backfill_policy=BATCH,
          check_specs=[dg.AssetCheckSpec(UPLOAD_ACCEPTED_CHECK, asset="validated_attendance",
                                         description="The files of the run were read and accepted (or held for "
                                                     "event details); fails with the reasons when one was "
                                                     "rejected.")])
def validated_attendance(
    context: dg.AssetExecutionContext, attendance_upload: Any, inbox: Inbox, data_folder: DataFolder,
    warehouse: Warehouse,
) -> Iterator[dg.Output[Any] | dg.AssetCheckResult]:
    """Platform detected from content, mapped through its pandera schema onto canonical records.

    A file that cannot be used is rejected with a reason beside it in `rejected/`, and the asset's
    `upload_accepted` check fails (severity ERROR) with that reason, so the run shows red in the UI;
    the run itself still succeeds so that the other files and the report go on. A check result cannot name a
    partition, so a batch run has one result for all its files (naming each rejected one).
    """
    keys = list(context.partition_keys)
    uploads = _per_file(attendance_upload, keys)
    settings = data_folder
    overrides = load_overrides(settings.events_dir / "overrides.csv")  # once per run, not per file of a batch
    mappings = load_mappings(settings.mappings_dir)
    rejected: dict[str, str] = {}
    platforms: dict[str, str] = {}

    def validate(key: str) -> tuple[ParsedUpload | None, dict[str, Any]]:
        value, metadata = _validate(context, uploads[key], overrides, mappings, inbox, data_folder, warehouse)
        if metadata["status"] == "rejected":
            rejected[key] = str(metadata["reason"])
        elif value is not None:
            platforms[key] = value.platform
        return value, metadata

    yield _each_file(context, validate)
    if rejected:
        yield dg.AssetCheckResult(
            check_name=UPLOAD_ACCEPTED_CHECK, passed=False, severity=dg.AssetCheckSeverity.ERROR,
            description="Rejected: " + "; ".join(f"{name}: {reason.splitlines()[0]}"
                                                  for name, reason in rejected.items()),
            metadata={"files": len(keys), "rejected": len(rejected), "file": ", ".join(rejected),
                      "reason": "\n\n".join(rejected.values())})
    else:
        yield dg.AssetCheckResult(check_name=UPLOAD_ACCEPTED_CHECK, passed=True,
                                  metadata={"files": len(keys), "file": ", ".join(keys),
                                            "platform": ", ".join(sorted(set(platforms.values()))) or "none"})


def _validate(context: dg.AssetExecutionContext, attendance_upload: Upload, overrides: list[EventOverride],
              mappings: list[LoadedMapping], inbox: Inbox, data_folder: DataFolder,
              warehouse: Warehouse) -> tuple[ParsedUpload | None, dict[str, Any]]:
    settings = data_folder
    archived = Path(attendance_upload.local_path or attendance_upload.archive_path)
    try:
        parsed = parse_export(
            archived, source_name=attendance_upload.file_name, overrides=overrides,
            max_bytes=settings.max_upload_bytes, mappings=mappings,
        )
    except WaitingForEventDetails as err:  # held, not rejected: an overrides.csv line processes it in place
        explanation = err.explanation()
        wh.store_held_upload(warehouse.engine(), attendance_upload.upload_id, explanation, [err.found])
        reason = mask_emails_in(err.reason)  # the event log keeps no address
        context.log.warning(f"Holding {attendance_upload.file_name}: {reason}")
        return None, {"status": "held", "reason": explanation, "overrides_line": err.suggested_line}
    except RejectedFile as err:
        explanation = err.explanation()
        skeleton = getattr(err, "skeleton", None)  # an unrecognised file's suggested column mapping
        store = inbox.store(settings)
        error_file = store.reject(archived, attendance_upload.file_name,
                                  explanation + (f"\n\n{skeleton}" if skeleton and inbox.url else ""))
        if skeleton and "://" not in error_file:
            write_mapping_skeleton(Path(error_file), skeleton)
        wh.store_rejected_upload(warehouse.engine(), attendance_upload.upload_id, explanation)
        reason = mask_emails_in(err.reason)  # a reason can quote a cell; the event log keeps no address
        context.log.warning(f"Rejected {attendance_upload.file_name}: {reason}")
        return None, {"status": "rejected", "reason": mask_emails_in(explanation),
                      "error_file": _location(error_file)}
    return parsed, {
        "status": "accepted",
        "platform": parsed.platform,
        "records": len(parsed.records),
        "ledger": dg.MetadataValue.json(parsed.ledger),
        "notes": "\n".join(parsed.notes) or "none",
    }


@dg.asset(partitions_def=upload_partitions_def, group_name="ingest", kinds={"pandas", "sqlite"},
          backfill_policy=BATCH)
def stored_attendance(
    context: dg.AssetExecutionContext, attendance_upload: Any, validated_attendance: Any,
    data_folder: DataFolder, warehouse: Warehouse,
) -> dg.Output[Any]:
    """The upload's records, the organiser's own people moved to its ledger as excluded, stored for the merge.

    Not matched to customers here: `attendance` matches the merged history of every upload once per run,
    against the `crm` asset, so a CRM correction takes effect at the next re-score (docs/design.md)."""
    keys = list(context.partition_keys)
    uploads, parsed = _per_file(attendance_upload, keys), _per_file(validated_attendance, keys)
    return _each_file(context, lambda key: _store(context, uploads[key], parsed[key], data_folder, warehouse))


def _store(context: dg.AssetExecutionContext, attendance_upload: Upload, validated_attendance: ParsedUpload | None,
           data_folder: DataFolder, warehouse: Warehouse) -> tuple[pd.DataFrame, dict[str, Any]]:
    if validated_attendance is None:
        return pd.DataFrame(), {"status": "rejected", "records": 0}
    internal_domains, rule = internal_domains_for(data_folder.internal_domains, validated_attendance)
    parsed = exclude_internal(validated_attendance, organiser_records(validated_attendance.records,
                                                                      internal_domains))
    if rule:
        parsed = replace(parsed, notes=[*parsed.notes, rule])
        context.log.info(rule)
    ledger = {**parsed.ledger, "notes": list(parsed.notes)}  # notes: inferred event dates, mappings used, ...
    wh.store_upload_records(warehouse.engine(), attendance_upload.upload_id, platform=parsed.platform,
                            records=parsed.records, excluded=parsed.excluded, quarantined=parsed.quarantined,
                            ledger=ledger)
    return parsed.records, {
        "records": len(parsed.records),
        "ledger": dg.MetadataValue.json(ledger),
        "ledger_balanced": bool(ledger["balanced"]),
        "notes": "\n".join(parsed.notes) or "none",
    }
