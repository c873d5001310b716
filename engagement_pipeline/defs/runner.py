"""Runs the same Dagster assets the UI runs, in-process, for the CLI and for tests.

Each file is one partition of the ingestion assets and, exactly as the sensor does it, one run ingests the
whole batch (a partition range) and re-scores everything; results are read back from the run's outputs.
Files from several folders (or partitions that are not neighbours) are ingested one range per run, then
one run re-scores.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg

from engagement_pipeline.config import Settings
from engagement_pipeline.defs import ENGAGEMENT_ASSETS, INGEST_ASSETS
from engagement_pipeline.defs.engagement.resources import scoring_run_config
from engagement_pipeline.defs.ephemeral import ephemeral_instance
from engagement_pipeline.defs.ingest.partitions import upload_partitions_def
from engagement_pipeline.defs.io import BatchMemoryIOManager
from engagement_pipeline.defs.resources import Inbox, default_resources

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass
class PipelineRun:
    """What one CLI invocation produced: per-file upload info and every engagement asset's value."""

    uploads: list[dict[str, Any]] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    report_markdown: str = ""


@contextlib.contextmanager
def _quiet_dagster() -> Iterator[None]:
    """Dagster prints run events to stderr; a terminal user wants the report, not the event log."""
    with contextlib.redirect_stderr(io.StringIO()):
        yield


def run_pipeline(
    files: Sequence[Path], *, settings: Settings | None = None, as_of: date | None = None,
    instance: dg.DagsterInstance | None = None, quiet: bool = True,
) -> PipelineRun:
    """Ingests `files` (one partition each) and re-scores, in this process, on `instance` (default: a throw-away
    one, whose asset values then stay in memory instead of being pickled to its temporary folder)."""
    settings = settings or Settings.from_env()
    owned = instance is None
    resources = {**default_resources(settings), **({"io_manager": BatchMemoryIOManager()} if owned else {})}
    # One scoring date for every run of this invocation: `as_of`, or today read once here.
    run_config: dict[str, Any] = {**(QUIET if quiet else {}), **scoring_run_config(as_of or date.today())}
    result = PipelineRun()
    instance = instance or ephemeral_instance()
    try:
        paths = [Path(p).resolve() for p in files]
        names = [p.name for p in paths]
        instance.add_dynamic_partitions(upload_partitions_def.name, list(dict.fromkeys(names)))
        order = list(instance.get_dynamic_partitions(upload_partitions_def.name))
        batches = _batches(paths, order)
        together = len(batches) == 1  # the usual case: one run ingests every file and re-scores, like the sensor
        found: dict[Path, dict[str, Any]] = {}
        for batch in batches:
            per_batch = {**resources, "inbox": Inbox(directory=str(batch[0].parent), consume=False)}
            tags = ({"dagster/asset_partition_range_start": batch[0].name,
                     "dagster/asset_partition_range_end": batch[-1].name} if len(batch) > 1 else None)
            with _quiet_dagster() if quiet else contextlib.nullcontext():
                run = dg.materialize(
                    [*INGEST_ASSETS, *ENGAGEMENT_ASSETS] if together else INGEST_ASSETS,
                    partition_key=batch[0].name if len(batch) == 1 else None, tags=tags, instance=instance,
                    resources=per_batch,
                    run_config=run_config,
                )
            found.update(_uploads(run, batch))
        result.uploads = [found[p] for p in paths]
        if not together:
            with _quiet_dagster() if quiet else contextlib.nullcontext():
                run = dg.materialize(ENGAGEMENT_ASSETS, instance=instance, resources=resources,
                                     run_config=run_config)
        for asset in ENGAGEMENT_ASSETS:
            name = asset.key.to_user_string()
            if name == "engagement_report":
                events = run.asset_materializations_for_node(name)
                result.report_markdown = str(events[-1].metadata["report"].value)
                result.outputs["report_paths"] = {
                    k: str(events[-1].metadata[k].value) for k in ("markdown_path", "excel_path")
                }
            else:
                result.outputs[name] = run.output_for_node(name)
    finally:
        if owned:
            instance.dispose()
    return result


def _batches(paths: list[Path], order: list[str]) -> list[list[Path]]:
    """Files cut into runs of one folder whose partitions are neighbours (one partition range per run).

    A name given twice (two folders) splits the batch, so each run sees each partition once."""
    position = {key: i for i, key in enumerate(order)}
    batches: list[list[Path]] = []
    for path in sorted(paths, key=lambda p: position[p.name]):
        last = batches[-1][-1] if batches else None
        if (last is not None and last.parent == path.parent and position[path.name] == position[last.name] + 1):
            batches[-1].append(path)
        else:
            batches.append([path])
    return batches


def _uploads(run: dg.ExecuteInProcessResult, batch: list[Path]) -> dict[Path, dict[str, Any]]:
    """Per-file upload info of one ingestion run (a one-file run returns bare values, a batch dicts)."""
    uploads, parsed = run.output_for_node("attendance_upload"), run.output_for_node("validated_attendance")
    if len(batch) == 1:
        uploads, parsed = {batch[0].name: uploads}, {batch[0].name: parsed}
    events = run.asset_materializations_for_node("validated_attendance")
    reasons = {event.partition: event.metadata.get("reason") for event in events}
    statuses = {event.partition: event.metadata.get("status") for event in events}
    found: dict[Path, dict[str, Any]] = {}
    for path in batch:
        upload, result = uploads[path.name], parsed[path.name]
        found[path] = {
            "file": str(path),
            "upload_id": upload.upload_id,
            "sha256": upload.sha256,
            "first_seen": upload.first_seen,
            "platform": result.platform if result is not None else None,
            "reason": None if result is not None else str(reasons[path.name].value),
            "status": str(statuses[path.name].value) if statuses.get(path.name) is not None else None,
        }
    return found
