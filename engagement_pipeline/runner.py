"""Runs the same Dagster assets the UI runs, in-process, for the CLI and for tests.

Each file is one partition of the ingestion assets (exactly as the sensor does it), then one run of the
engagement job re-scores everything; results are read back from the runs' outputs.
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
from engagement_pipeline.defs.partitions import upload_partitions_def
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
    settings = settings or Settings.from_env()
    resources = default_resources(settings)
    run_config: dict[str, Any] = dict(QUIET) if quiet else {}
    if as_of:
        run_config["resources"] = {"scoring": {"config": {"as_of": as_of.isoformat()}}}
    result = PipelineRun()
    owned = instance is None
    instance = instance or dg.DagsterInstance.ephemeral()
    try:
        for path in files:
            path = Path(path).resolve()
            instance.add_dynamic_partitions(upload_partitions_def.name, [path.name])
            per_file = {**resources, "inbox": Inbox(directory=str(path.parent), consume=False)}
            with _quiet_dagster() if quiet else contextlib.nullcontext():
                run = dg.materialize(
                    INGEST_ASSETS, partition_key=path.name, instance=instance, resources=per_file,
                    run_config=dict(QUIET) if quiet else None,
                )
            upload = run.output_for_node("attendance_upload")
            parsed = run.output_for_node("validated_attendance")
            result.uploads.append(
                {
                    "file": str(path),
                    "upload_id": upload.upload_id,
                    "sha256": upload.sha256,
                    "first_seen": upload.first_seen,
                    "platform": parsed.platform if parsed is not None else None,
                    "reason": None if parsed is not None else str(
                        run.asset_materializations_for_node("validated_attendance")[-1].metadata["reason"].value
                    ),
                    "status": str(run.asset_materializations_for_node("validated_attendance")[-1]
                                  .metadata["status"].value),
                }
            )
        with _quiet_dagster() if quiet else contextlib.nullcontext():
            run = dg.materialize(ENGAGEMENT_ASSETS, instance=instance, resources=resources,
                                 run_config=run_config or None)
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
