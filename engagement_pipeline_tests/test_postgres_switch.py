"""The README's switch to PostgreSQL is two variables: `init` (run by `make run`) creates both databases
when they do not exist yet, migrates the warehouse and points the Dagster home at PostgreSQL."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from engagement_pipeline.cli import main
from engagement_pipeline.warehouse.databases import ensure_database
from engagement_pipeline.warehouse.schema import current_revision, head_revision

from .conftest import PG_ADMIN_URL, _postgres_unavailable

pytestmark = pytest.mark.postgres


@pytest.fixture
def unborn_databases() -> tuple[str, str]:
    """Two database URLs whose databases do not exist yet; dropped afterwards whatever happens."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        admin.connect().close()
    except sa.exc.OperationalError as err:
        _postgres_unavailable(str(err).splitlines()[0])
    names = [f"engagement_switch_{kind}_{uuid.uuid4().hex[:8]}" for kind in ("warehouse", "dagster")]
    base = sa.engine.make_url(PG_ADMIN_URL)
    try:
        yield tuple(base.set(database=n).render_as_string(hide_password=False) for n in names)
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.slow  # `init` creates two databases, migrates and installs a Dagster instance
def test_init_creates_both_databases_migrates_and_installs_the_postgres_instance(
        unborn_databases: tuple[str, str], demo_dir: Path, tmp_path: Path) -> None:
    warehouse_url, dagster_url = unborn_databases
    data = tmp_path / "data"
    for part in ("crm", "events"):
        shutil.copytree(demo_dir / part, data / part)
    env = {"ENGAGEMENT_DATA_DIR": str(data), "ENGAGEMENT_DB_URL": warehouse_url, "DAGSTER_PG_URL": dagster_url,
           "DAGSTER_HOME": str(tmp_path / "home")}

    first = CliRunner().invoke(main, ["init"], env=env, catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert "Created the PostgreSQL database named in ENGAGEMENT_DB_URL." in first.output
    assert "Created the PostgreSQL database named in DAGSTER_PG_URL." in first.output
    assert "Dagster instance: PostgreSQL (DAGSTER_PG_URL)." in first.output
    engine = sa.create_engine(warehouse_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()

    again = CliRunner().invoke(main, ["init"], env=env, catch_exceptions=False)
    assert again.exit_code == 0 and "Created" not in again.output and "already at head" in again.output

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_PG_URL", dagster_url)
        instance = dg.DagsterInstance.from_config(str(tmp_path / "home"))
        try:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            assert instance.get_runs_count() == 0
        finally:
            instance.dispose()


def test_sqlite_urls_are_left_alone() -> None:
    assert ensure_database("sqlite:///nowhere/warehouse.sqlite") is False
