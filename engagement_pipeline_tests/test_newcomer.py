"""A newcomer's first commands: a missing CRM is one line before anything is written, `init --no-demo` gives a
production data folder, the events catalogue is optional and a plain postgresql:// URL works."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from engagement_pipeline import cli
from engagement_pipeline.config import Settings
from engagement_pipeline.ingest.canonical import EVENT_TYPES
from engagement_pipeline.insights import load_upcoming_events
from engagement_pipeline.warehouse import make_engine
from engagement_pipeline.warehouse.databases import sqlalchemy_url

EXPORTS = Path(__file__).parent / "fixtures" / "exports"


def _warehouse_tables(url: str) -> set[str]:
    if url.startswith("sqlite") and not Path(url.removeprefix("sqlite:///")).exists():
        return set()
    engine = make_engine(url)
    try:
        return {t for t in sa.inspect(engine).get_table_names() if t != "alembic_version"}
    finally:
        engine.dispose()


def test_score_without_a_crm_is_one_line_and_writes_nothing(tmp_path: Path, empty_db_url: str) -> None:
    data = tmp_path / "data"
    result = CliRunner().invoke(cli.main, ["score", str(EXPORTS / "zoom_webinar_2025.csv")],
                                env={"ENGAGEMENT_DATA_DIR": str(data), "ENGAGEMENT_DB_URL": empty_db_url})
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0] == (f"Error: No CRM: {data / 'crm' / 'customers.csv'} and {data / 'crm' / 'contacts.csv'} are "
                        "missing. Put your CRM export there (README: The CRM format), or run `engagement-pipeline "
                        "init` for the demo data.")
    assert not data.exists()  # no archive, no rejected copy, no SQLite warehouse
    assert _warehouse_tables(empty_db_url) == set()  # nor tables in a PostgreSQL one


def test_init_no_demo_creates_the_folders_and_no_demo_data(tmp_path: Path, empty_db_url: str) -> None:
    data = tmp_path / "data"
    env = {"ENGAGEMENT_DATA_DIR": str(data), "ENGAGEMENT_DB_URL": empty_db_url, "DAGSTER_HOME": ""}
    result = CliRunner().invoke(cli.main, ["init", "--no-demo"], env=env)
    assert result.exit_code == 0, result.output
    assert "No demo data written" in result.output
    for folder in ("inbox", "archive", "rejected", "reports", "outbox", "events", "crm", "mappings"):
        assert (data / folder).is_dir(), folder
    assert [p for p in data.rglob("*") if p.is_file() and p.parent.name in ("crm", "inbox", "events")] == []
    assert "uploads" in _warehouse_tables(empty_db_url)


def test_the_upcoming_events_catalogue_is_optional(tmp_path: Path) -> None:
    upcoming = load_upcoming_events(tmp_path / "upcoming_events.csv")
    assert upcoming.empty
    assert list(upcoming.columns) == ["event_name", "event_type", "event_date", "topics", "registration_url"]


def test_a_plain_postgresql_url_uses_psycopg2() -> None:
    assert sqlalchemy_url("postgresql://u:p@h:5432/db") == "postgresql+psycopg2://u:p@h:5432/db"
    assert sqlalchemy_url("postgres://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert sqlalchemy_url("postgresql+psycopg2://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert sqlalchemy_url("sqlite:///x.sqlite") == "sqlite:///x.sqlite"
    settings = Settings.from_env({"ENGAGEMENT_DB_URL": "postgresql://u@h/db"})
    assert settings.db_url == "postgresql+psycopg2://u@h/db"


def test_a_plain_postgresql_url_connects(postgres_database: str) -> None:
    plain = "postgresql://" + postgres_database.split("://", 1)[1]
    engine = make_engine(plain)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar() == 1
        assert engine.dialect.driver == "psycopg2"
    finally:
        engine.dispose()


def test_cli_event_types_are_the_canonical_ones() -> None:
    assert cli.commands.EVENT_TYPES == EVENT_TYPES


@pytest.mark.slow
def test_score_holds_a_file_then_the_event_flags_score_it(tmp_path: Path) -> None:
    """SQLite only: two full CLI runs (~20 s each); the held flow on both backends is test_held_uploads."""
    from engagement_pipeline_tests.door_helpers import write_crm

    data = tmp_path / "data"
    write_crm(data)
    export = tmp_path / "Attendees-777.csv"
    export.write_bytes((EXPORTS / "eventbrite_en_gb.csv").read_bytes())
    env = {"ENGAGEMENT_DATA_DIR": str(data), "ENGAGEMENT_DB_URL": f"sqlite:///{tmp_path / 'w.sqlite'}"}
    held = CliRunner().invoke(cli.main, ["score", str(export), "--as-of", "2026-06-01"], env=env)
    assert held.exit_code == 3, held.output
    assert "Waiting for event details: Attendees-777.csv" in held.stderr
    assert not (data / "rejected").exists() or not any((data / "rejected").iterdir())
    scored = CliRunner().invoke(cli.main, ["score", str(export), "--as-of", "2026-06-01", "--event-name",
                                           "Spring Bootcamp", "--event-type", "training", "--event-date",
                                           "2026-03-14"], env=env)
    assert scored.exit_code == 0, scored.output
    assert "Recorded in" in scored.stderr and "Attendees-777.csv,Spring Bootcamp,training,2026-03-14" in scored.stderr
    assert (data / "events" / "overrides.csv").read_text().splitlines()[1] == (
        "Attendees-777.csv,Spring Bootcamp,training,2026-03-14")
    # Rae checked in, Tom registered and did not come: one attendance record, one event.
    assert "Found 1 attendance record for 1 user across 1 event" in scored.stdout


def test_the_sensor_path_without_a_crm_fails_in_one_line_and_leaves_the_file(tmp_path: Path,
                                                                            empty_db_url: str) -> None:
    import dagster as dg

    from engagement_pipeline.defs import INGEST_ASSETS
    from engagement_pipeline.defs.ingest.partitions import upload_partitions_def
    from engagement_pipeline.defs.resources import default_resources

    settings = Settings.from_env({"ENGAGEMENT_DATA_DIR": str(tmp_path / "data"), "ENGAGEMENT_DB_URL": empty_db_url})
    settings.inbox_dir.mkdir(parents=True)
    dropped = settings.inbox_dir / "webinar.csv"
    dropped.write_bytes((EXPORTS / "zoom_webinar_2025.csv").read_bytes())
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(upload_partitions_def.name, [dropped.name])
        run = dg.materialize(INGEST_ASSETS, partition_key=dropped.name, instance=instance,
                             resources=default_resources(settings), raise_on_error=False,
                             run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}})
    assert not run.success
    failure = next(e for e in run.all_events if e.is_step_failure)
    assert failure.step_failure_data.error.message.startswith("dagster._core.definitions.events.Failure: No CRM:")
    assert dropped.exists() and not settings.archive_dir.exists()
    assert _warehouse_tables(empty_db_url) == set()
