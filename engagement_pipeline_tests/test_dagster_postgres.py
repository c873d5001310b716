"""Dagster's own storage on PostgreSQL (dagster-postgres): runs, materialisations, partitions and sensor
cursors land in PostgreSQL and are read back from it, with the configuration `make run` installs."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from engagement_pipeline.cli import install_instance_config
from engagement_pipeline.config import Settings
from engagement_pipeline.defs.ingest.sensors import inbox_sensor
from engagement_pipeline.defs.resources import Inbox
from engagement_pipeline.defs.runner import run_pipeline

from .conftest import DEMO_ANCHOR, fresh_postgres_database

pytestmark = pytest.mark.slow  # a Dagster instance on PostgreSQL, a pipeline run and sensor ticks stored there


@pytest.fixture
def postgres_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with fresh_postgres_database("engagement_dagster") as url:
        dagster_url = url  # postgresql+psycopg2://…: SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3
        monkeypatch.setenv("DAGSTER_PG_URL", dagster_url)
        home = tmp_path / "dagster_home"
        assert install_instance_config(home, use_postgres=True) == "PostgreSQL (DAGSTER_PG_URL)"
        instance = dg.DagsterInstance.from_config(str(home))
        try:
            yield instance, url
        finally:
            instance.dispose()


def test_materialisations_and_sensor_ticks_are_stored_in_postgres(
    postgres_instance, demo_dir: Path, tmp_path: Path
) -> None:
    instance, url = postgres_instance
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    data = tmp_path / "data"
    for folder in ("crm", "events"):
        shutil.copytree(demo_dir / folder, data / folder)
    inbox = data / "inbox"
    inbox.mkdir()
    webinar = sorted((demo_dir / "inbox").glob("*Attendee Report.csv"))[0]
    shutil.copyfile(webinar, inbox / webinar.name)

    context = dg.build_sensor_context(instance=instance, resources={"inbox": Inbox(directory=str(inbox),
                                                                                   settle_seconds=0)})
    tick = inbox_sensor(context)
    assert [r.partition_key for r in tick.run_requests] == [webinar.name]
    for request in tick.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))

    run = run_pipeline([inbox / webinar.name], settings=Settings.from_env({"ENGAGEMENT_DATA_DIR": str(data)}),
                       as_of=DEMO_ANCHOR, instance=instance)
    assert run.outputs["engagement_scores"]["score"].notna().any()

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            runs = conn.execute(sa.text("SELECT status FROM runs")).scalars().all()
            materialised = conn.execute(sa.text(
                "SELECT DISTINCT asset_key FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'"
            )).scalars().all()
            partitions = conn.execute(sa.text("SELECT partition FROM dynamic_partitions")).scalars().all()
    finally:
        engine.dispose()
    assert runs == ["SUCCESS"]  # one run: the file's ingestion and the re-score after it
    assert {'["attendance_upload"]', '["engagement_scores"]', '["engagement_report"]'} <= set(materialised)
    assert partitions == [webinar.name]
