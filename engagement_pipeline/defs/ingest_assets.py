"""Per-file assets: the dropped upload, its validated records, and those records matched to customers.

Each is a thin wrapper: the work happens in `inbox`, `ingest`, `matching` and `warehouse`.
"""


from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import dagster as dg
import pandas as pd

from engagement_pipeline import warehouse as wh
from engagement_pipeline.config import missing_crm
from engagement_pipeline.crm import load_crm
from engagement_pipeline.ingest.mappings import load_mappings, write_mapping_skeleton
from engagement_pipeline.ingest.organiser import internal_domains_for
from engagement_pipeline.ingest.overrides import WaitingForEventDetails, load_overrides
from engagement_pipeline.ingest.parse import parse_export
from engagement_pipeline.ingest.result import ParsedUpload, RejectedFile
from engagement_pipeline.ledger import exclude_internal
from engagement_pipeline.matching import match_attendance
from engagement_pipeline.report.escape import mask_emails_in

from .partitions import upload_partitions_def
from .resources import DataFolder, Inbox, Warehouse


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


@dg.asset(partitions_def=upload_partitions_def, group_name="ingest", kinds={"file"})
def attendance_upload(
    context: dg.AssetExecutionContext, inbox: Inbox, data_folder: DataFolder, warehouse: Warehouse
) -> dg.Output[Upload]:
    """The dropped file, archived by content hash; the same bytes under any name are one upload."""
    file_name = context.partition_key
    no_crm = missing_crm(data_folder.settings)
    if no_crm:  # before anything is archived or stored: the file stays in the inbox for when the CRM is there
        raise dg.Failure(description=no_crm)
    store = inbox.store(data_folder.settings)
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
    return dg.Output(
        upload,
        metadata={
            "upload_id": upload_id,
            "sha256": fetched.sha256,
            "archived_to": _location(fetched.archive_ref),
            "first_seen": first_seen,
        },
    )


UPLOAD_ACCEPTED_CHECK = "upload_accepted"


@dg.asset(partitions_def=upload_partitions_def, group_name="ingest", kinds={"pandas", "pandera"},
          check_specs=[dg.AssetCheckSpec(UPLOAD_ACCEPTED_CHECK, asset="validated_attendance",
                                         description="The file was read and accepted; fails with the reason "
                                                     "when it was rejected.")])
def validated_attendance(
    context: dg.AssetExecutionContext, attendance_upload: Upload, inbox: Inbox, data_folder: DataFolder,
    warehouse: Warehouse,
) -> Iterator[dg.Output[ParsedUpload | None] | dg.AssetCheckResult]:
    """Platform detected from content, mapped through its pandera schema onto canonical records.

    A file that cannot be used is rejected with a reason beside it in `rejected/`, and the asset's
    `upload_accepted` check fails (severity ERROR) with that reason, so the partition shows red in the UI;
    the run itself still succeeds so that the other files and the report go on.
    """
    settings = data_folder.settings
    archived = Path(attendance_upload.local_path or attendance_upload.archive_path)
    try:
        overrides = load_overrides(settings.events_dir / "overrides.csv")
        parsed = parse_export(
            archived, source_name=attendance_upload.file_name, overrides=overrides,
            max_bytes=settings.max_upload_bytes, mappings=load_mappings(settings.mappings_dir),
        )
    except WaitingForEventDetails as err:  # held, not rejected: an overrides.csv line processes it in place
        explanation = err.explanation()
        with warehouse.engine().begin() as conn:
            wh.mark_held(conn, attendance_upload.upload_id, explanation, [err.found])
        context.log.warning(f"Holding {attendance_upload.file_name}: {err.reason}")
        return dg.Output(None, metadata={"status": "held", "reason": explanation,
                                         "overrides_line": err.suggested_line})
    except RejectedFile as err:
        explanation = err.explanation()
        skeleton = getattr(err, "skeleton", None)  # an unrecognised file's suggested column mapping
        store = inbox.store(settings)
        error_file = store.reject(archived, attendance_upload.file_name,
                                  explanation + (f"\n\n{skeleton}" if skeleton and inbox.url else ""))
        if skeleton and "://" not in error_file:
            write_mapping_skeleton(Path(error_file), skeleton)
        with warehouse.engine().begin() as conn:
            wh.mark_rejected(conn, attendance_upload.upload_id, explanation)
        reason = mask_emails_in(err.reason)  # a reason can quote a cell; the event log keeps no address
        context.log.warning(f"Rejected {attendance_upload.file_name}: {reason}")
        yield dg.Output(
            None,
            metadata={"status": "rejected", "reason": mask_emails_in(explanation),
                      "error_file": _location(error_file)},
        )
        yield dg.AssetCheckResult(
            check_name=UPLOAD_ACCEPTED_CHECK, passed=False, severity=dg.AssetCheckSeverity.ERROR,
            description=f"Rejected: {reason}",
            metadata={"file": attendance_upload.file_name, "reason": mask_emails_in(explanation)})
        return
    yield dg.Output(
        parsed,
        metadata={
            "status": "accepted",
            "platform": parsed.platform,
            "records": len(parsed.records),
            "ledger": dg.MetadataValue.json(parsed.ledger),
            "notes": "\n".join(parsed.notes) or "none",
        },
    )
    yield dg.AssetCheckResult(check_name=UPLOAD_ACCEPTED_CHECK, passed=True,
                              metadata={"file": attendance_upload.file_name, "platform": parsed.platform})


@dg.asset(partitions_def=upload_partitions_def, group_name="ingest", kinds={"pandas", "sqlite"})
def matched_attendance(
    context: dg.AssetExecutionContext, attendance_upload: Upload, validated_attendance: ParsedUpload | None,
    data_folder: DataFolder, warehouse: Warehouse,
) -> dg.Output[pd.DataFrame]:
    """Records matched to customers (method and confidence per row), stored for this upload."""
    if validated_attendance is None:
        return dg.Output(pd.DataFrame(), metadata={"status": "rejected", "records": 0})
    settings = data_folder.settings
    crm = load_crm(settings.crm_dir)
    internal_domains, rule = internal_domains_for(settings.internal_domains, validated_attendance)
    outcome = match_attendance(validated_attendance.records, crm, internal_domains)
    parsed = exclude_internal(validated_attendance, outcome.internal)
    if rule:
        parsed = replace(parsed, notes=[*parsed.notes, rule])
        context.log.info(rule)
    ledger = {**parsed.ledger, "notes": list(parsed.notes)}  # notes: inferred event dates, mappings used, ...
    with warehouse.engine().begin() as conn:
        wh.store_parsed_upload(
            conn, attendance_upload.upload_id, platform=parsed.platform, records=outcome.matched,
            excluded=parsed.excluded, quarantined=parsed.quarantined, ledger=ledger,
        )
    methods = outcome.matched["match_method"].value_counts().to_dict()
    return dg.Output(
        outcome.matched,
        metadata={
            "records": len(outcome.matched),
            "matched": int(outcome.matched["customer_id"].notna().sum()),
            "by_method": dg.MetadataValue.json({str(k): int(v) for k, v in methods.items()}),
            "ledger": dg.MetadataValue.json(ledger),
            "ledger_balanced": bool(ledger["balanced"]),
            "notes": "\n".join(parsed.notes) or "none",
        },
    )
