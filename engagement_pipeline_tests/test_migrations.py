"""Warehouse migrations on SQLite and PostgreSQL: models and migrations agree, old warehouses upgrade in place
with their rows, a warehouse from before migrations is adopted, concurrent upgrades both succeed, and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner

import engagement_pipeline.warehouse.action_tables as at
from engagement_pipeline import warehouse as wh
from engagement_pipeline.cli import main
from engagement_pipeline.ingest.result import empty_row_issues
from engagement_pipeline.warehouse.schema import (
    BASELINE_REVISION,
    BASELINE_TABLES,
    PG_UPGRADE_LOCK_KEY,
    WarehouseSchemaError,
    alembic_config,
    current_revision,
    head_revision,
    upgrade_warehouse,
)

from .test_warehouse import _ledger, _records

HEAD = "0005_records_version"
NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def engine(empty_db_url: str) -> Iterator[sa.Engine]:
    engine = wh.make_engine(empty_db_url)
    yield engine
    engine.dispose()


def _upgrade_to(engine: sa.Engine, revision: str) -> None:
    """Runs the migrations up to `revision` only: a warehouse as an older release of the product left it."""
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)


def _diffs(engine: sa.Engine) -> list[Any]:
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), wh.metadata)


def _later_index_names() -> set[str]:
    """The indexes revision 2 adds, read from the revision itself."""
    script = ScriptDirectory.from_config(alembic_config()).get_revision("0002_lookup_indexes")
    return {name for name, _table, _column in script.module.INDEXES}


def _indexes(engine: sa.Engine) -> set[str]:
    inspector = sa.inspect(engine)
    return {i["name"] for t in inspector.get_table_names() for i in inspector.get_indexes(t)}


def _fill(engine: sa.Engine) -> None:
    """Rows in the core tables (through the warehouse's own functions) and in the action tables."""
    excluded = pd.concat([empty_row_issues(), pd.DataFrame([
        {"source_row": 9, "reason": "host", "detail": "meeting host", "raw": {"Email": "host@northwind.com"}}
    ])], ignore_index=True)
    scores = pd.DataFrame({"customer_id": ["C001", "C002"], "score": [81.25, 40.0], "band": ["High", "Medium"],
                           "frequency": [0.8, 0.3]})
    trends = pd.DataFrame({"customer_id": ["C001", "C002"], "trend": ["rising", "stable"]})
    with engine.begin() as conn:
        # What register_upload and store_parsed_upload write, by their parts: today's versions also read and set
        # columns of later revisions.
        upload_id = conn.execute(wh.uploads.insert().values(
            sha256="c" * 64, file_name="w.csv", size_bytes=1, archive_path="/c", received_at=NOW, status="received")
        ).inserted_primary_key[0]
        wh.insert_frame(conn, wh.upload_records, _records(5), wh.RECORD_COLUMN_NAMES, upload_id=upload_id)
        wh.insert_frame(conn, wh.row_issues, excluded.assign(raw=excluded["raw"].map(json.dumps)),
                        ("source_row", "reason", "detail", "raw"), upload_id=upload_id, kind="excluded")
        ledger = _ledger(6, 5, 1, 5)
        conn.execute(wh.uploads.update().where(wh.uploads.c.upload_id == upload_id).values(
            status="accepted", platform="zoom_webinar", rows_read=6, rows_kept=5, rows_excluded=1,
            rows_quarantined=0, records=5, ledger=json.dumps(ledger)))
        wh.replace_attendance(conn, _records(5))
        wh.store_scores(conn, date(2026, 11, 2), scores, trends)
        conn.execute(at.invitations.insert(), [
            {"event_name": "Dashboards", "contact_email": f"p{i}@acme.com", "status": "sent", "attempts": 1,
             "customer_id": "C001", "created_at": NOW, "sent_at": NOW} for i in range(3)])
        conn.execute(at.advocacy_opportunities.insert().values(
            customer_id="C001", opportunity_type="speaking", status="open", created_at=NOW, updated_at=NOW))
        conn.execute(at.suppressions.insert().values(email="p9@acme.com", reason="unsubscribed", added_at=NOW))
        conn.execute(at.customer_health.insert().values(
            as_of=date(2026, 11, 2), customer_id="C001", engagement_weight=0.4, health_score=71.0, computed_at=NOW))


def _snapshot(engine: sa.Engine, like: dict | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every warehouse table, order-independent; with `like`, only the tables and columns that
    an earlier snapshot had (later revisions add columns and tables)."""
    inspector = sa.inspect(engine)
    existing = set(inspector.get_table_names())
    shape = like["__columns__"] if like else {
        t.name: [c["name"] for c in inspector.get_columns(t.name)] for t in wh.metadata.sorted_tables
        if t.name in existing}
    with engine.connect() as conn:
        rows = {name: sorted((tuple(r) for r in conn.execute(sa.select(*(wh.metadata.tables[name].c[c]
                                                                         for c in columns)))), key=repr)
                for name, columns in shape.items()}
    return {**rows, "__columns__": shape}


# ---------------------------------------------------------------- models and migrations describe one schema

def test_the_migrations_and_the_models_agree(engine: sa.Engine) -> None:
    result = upgrade_warehouse(engine)
    assert (result.from_revision, result.to_revision, result.adopted_unversioned) == (None, HEAD, False)
    assert head_revision() == HEAD
    assert _diffs(engine) == []


def test_revision_1_is_the_frozen_baseline_and_revision_2_is_exactly_the_new_indexes(engine: sa.Engine) -> None:
    _upgrade_to(engine, BASELINE_REVISION)
    inspector = sa.inspect(engine)
    found = {t: frozenset(c["name"] for c in inspector.get_columns(t))
             for t in inspector.get_table_names() if t != "alembic_version"}
    assert found == BASELINE_TABLES  # what recognises a pre-migration warehouse is what revision 1 builds
    missing = {(d[0], d[1].name) for d in _diffs(engine) if isinstance(d, tuple) and d[0] == "add_index"}
    later = {"ix_invitations_status"}  # 0004 (the invitation outbox's queue)
    assert missing == {("add_index", name) for name in _later_index_names() | later}  # the comparison sees them


# ---------------------------------------------------------------- the three starting points

def test_a_warehouse_at_revision_1_with_data_upgrades_in_place_with_its_rows(engine: sa.Engine) -> None:
    _upgrade_to(engine, BASELINE_REVISION)
    _fill(engine)
    before = _snapshot(engine)
    assert current_revision(engine) == BASELINE_REVISION
    result = upgrade_warehouse(engine)
    assert (result.from_revision, result.to_revision) == (BASELINE_REVISION, HEAD)
    assert result.describe() == f"{BASELINE_REVISION} → {HEAD}"
    assert current_revision(engine) == HEAD
    assert _snapshot(engine, like=before) == before
    assert sum(len(rows) for rows in before.values()) > 15 and all(before[t] for t in ("attendance", "invitations"))
    assert _later_index_names() <= _indexes(engine)
    assert _diffs(engine) == []
    again = upgrade_warehouse(engine)  # up to date: nothing to do
    assert not again.changed and again.describe() == f"already at head {HEAD}"


@pytest.mark.parametrize("with_later_indexes", [False, True], ids=["as-released", "indexes-already-there"])
def test_a_warehouse_created_before_migrations_is_recognised_stamped_and_upgraded(
    engine: sa.Engine, with_later_indexes: bool
) -> None:
    # What the old `create_schema` did: `metadata.create_all` of the models of the day (the baseline's tables,
    # without revision 2's indexes), and no alembic_version. A development build may also have created the
    # indexes already. (Built from revision 1, since today's models have moved on since.)
    _upgrade_to(engine, BASELINE_REVISION)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE alembic_version"))
        if with_later_indexes:
            script = ScriptDirectory.from_config(alembic_config()).get_revision("0002_lookup_indexes")
            for name, table, column in script.module.INDEXES:
                conn.execute(sa.text(f"CREATE INDEX {name} ON {table} ({column})"))
    _fill(engine)
    before = _snapshot(engine)
    assert current_revision(engine) is None
    result = upgrade_warehouse(engine)
    assert (result.from_revision, result.to_revision, result.adopted_unversioned) == (BASELINE_REVISION, HEAD, True)
    assert result.describe() == f"unversioned (recognised as {BASELINE_REVISION}) → {HEAD}"
    assert current_revision(engine) == HEAD
    assert _snapshot(engine, like=before) == before
    assert _diffs(engine) == []


def test_an_unversioned_database_that_is_not_the_baseline_is_refused_untouched(engine: sa.Engine) -> None:
    wh.uploads.create(engine)
    with pytest.raises(WarehouseSchemaError, match="table attendance is missing"):
        upgrade_warehouse(engine)
    assert set(sa.inspect(engine).get_table_names()) == {"uploads"}


def test_a_warehouse_migrated_by_a_newer_release_is_refused_with_a_clear_reason(engine: sa.Engine) -> None:
    upgrade_warehouse(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
    with pytest.raises(WarehouseSchemaError, match="at revision 0099_from_the_future, which this release does not"):
        upgrade_warehouse(engine)


# ---------------------------------------------------------------- two processes at once

UPGRADER = """
import json, sys
from engagement_pipeline.warehouse.schema import upgrade_warehouse
from engagement_pipeline.warehouse import make_engine
engine = make_engine(sys.argv[1])
print("ready", flush=True)
result = upgrade_warehouse(engine)
print(json.dumps([result.from_revision, result.to_revision]), flush=True)
"""


def _waiting_for_the_lock(engine: sa.Engine, database: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
            "WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = :db"), {"db": database}).scalar_one()


@pytest.mark.slow  # two upgrader processes, each importing the package
def test_two_concurrent_upgrades_both_succeed(engine: sa.Engine, empty_db_url: str) -> None:
    """The test holds the upgrade lock while both processes start, so they really contend for it: on PostgreSQL
    it waits until both are queued on the advisory lock, on SQLite both wait behind a held write lock."""
    url = engine.url.render_as_string(hide_password=False)
    with engine.connect() as holder:
        if engine.dialect.name == "postgresql":
            holder.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": PG_UPGRADE_LOCK_KEY})
        else:
            holder.exec_driver_sql("BEGIN IMMEDIATE")
        procs = [subprocess.Popen([sys.executable, "-c", UPGRADER, url], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
        try:
            for proc in procs:
                assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            deadline = time.monotonic() + 30
            if engine.dialect.name == "postgresql":
                while _waiting_for_the_lock(engine, engine.url.database or "") < 2:
                    assert time.monotonic() < deadline, "the upgraders never queued on the advisory lock"
                    time.sleep(0.05)
            else:
                time.sleep(1.0)
        finally:
            if engine.dialect.name == "postgresql":
                holder.execute(sa.text("SELECT pg_advisory_unlock_all()"))
            else:
                holder.exec_driver_sql("ROLLBACK")
        outcomes = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            outcomes.append(tuple(json.loads(out.strip().splitlines()[-1])))
    assert sorted(outcomes, key=repr) == sorted([(None, HEAD), (HEAD, HEAD)], key=repr)
    assert current_revision(engine) == HEAD and _diffs(engine) == []


# ---------------------------------------------------------------- the CLI

def _with_password(url: str) -> str:
    """A password in the URL (ignored by the test server's trust auth) must never be printed."""
    parsed = sa.make_url(url)
    return parsed.set(password="s3cret").render_as_string(hide_password=False) if parsed.host else url


def test_migrate_upgrades_an_old_warehouse_then_says_it_is_at_head(engine: sa.Engine, tmp_path: Path) -> None:
    _upgrade_to(engine, BASELINE_REVISION)
    url = _with_password(engine.url.render_as_string(hide_password=False))
    shown = sa.make_url(url).render_as_string(hide_password=True)
    env = {"ENGAGEMENT_DATA_DIR": str(tmp_path), "ENGAGEMENT_DB_URL": url}
    first = CliRunner().invoke(main, ["migrate"], env=env)
    assert first.exit_code == 0, first.output
    assert first.output == f"Warehouse at {shown}: {BASELINE_REVISION} → {HEAD}\n"
    second = CliRunner().invoke(main, ["migrate"], env=env)
    assert second.output == f"Warehouse at {shown}: already at head {HEAD}\n"
    assert "s3cret" not in first.output + second.output
    assert current_revision(engine) == HEAD


def test_migrate_refuses_a_database_it_does_not_recognise(engine: sa.Engine, tmp_path: Path) -> None:
    wh.uploads.create(engine)
    env = {"ENGAGEMENT_DATA_DIR": str(tmp_path), "ENGAGEMENT_DB_URL": engine.url.render_as_string(False)}
    result = CliRunner().invoke(main, ["migrate"], env=env)
    assert result.exit_code == 1
    assert "does not match the baseline schema" in result.output and "Traceback" not in result.output


def test_init_applies_the_migrations(engine: sa.Engine, tmp_path: Path) -> None:
    _upgrade_to(engine, BASELINE_REVISION)
    env = {"ENGAGEMENT_DATA_DIR": str(tmp_path / "data"), "ENGAGEMENT_DB_URL": engine.url.render_as_string(False),
           "DAGSTER_HOME": str(tmp_path / "home"), "DAGSTER_PG_URL": None}
    result = CliRunner().invoke(main, ["init"], env=env)
    assert result.exit_code == 0, result.output
    assert f": {BASELINE_REVISION} → {HEAD}\n" in result.output
    assert current_revision(engine) == HEAD
    assert (tmp_path / "data" / "crm" / "customers.csv").exists() and (tmp_path / "home" / "dagster.yaml").exists()
