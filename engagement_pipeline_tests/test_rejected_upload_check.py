"""Issue 10 point 7: a rejected upload is red in the UI, not a green *Materialized* partition: its
`upload_accepted` check fails (severity ERROR) with the reason, masked; an accepted one passes."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from engagement_pipeline.config import Settings
from engagement_pipeline.defs import INGEST_ASSETS
from engagement_pipeline.defs.ingest.assets import UPLOAD_ACCEPTED_CHECK
from engagement_pipeline.defs.ingest.partitions import upload_partitions_def
from engagement_pipeline.defs.resources import Inbox, default_resources

pytestmark = pytest.mark.slow  # two Dagster runs, ~4 s (10 s on a busy machine)
SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


def _ingest(path: Path, data: Path) -> dg.ExecuteInProcessResult:
    settings = Settings.from_env({"ENGAGEMENT_DATA_DIR": str(data)})
    resources = {**default_resources(settings), "inbox": Inbox(directory=str(path.parent), consume=False)}
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(upload_partitions_def.name, [path.name])
        return dg.materialize(INGEST_ASSETS, partition_key=path.name, instance=instance, resources=resources,
                              raise_on_error=False)


def test_a_rejected_upload_fails_its_check_with_the_reason_and_an_accepted_one_passes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(SAMPLES / "crm", data / "crm")
    shutil.copytree(SAMPLES / "events", data / "events")
    drop = tmp_path / "drop"
    drop.mkdir()
    bad = drop / "notes.csv"
    bad.write_text("who,what\nmallory@evil.example,hello\n", encoding="utf-8")
    result = _ingest(bad, data)
    assert result.success  # the run goes on (the report still runs), but the check is red
    [check] = result.get_asset_check_evaluations()
    assert (check.check_name, check.passed, check.severity) == (UPLOAD_ACCEPTED_CHECK, False,
                                                                  dg.AssetCheckSeverity.ERROR)
    assert "not a recognised attendance export" in check.description
    assert "mallory@evil.example" not in str(check.metadata) + check.description

    good = sorted((SAMPLES / "inbox").glob("*Attendee Report.csv"))[0]
    [check] = _ingest(good, data).get_asset_check_evaluations()
    assert check.passed and check.metadata["platform"].value == "zoom_webinar"
