"""Shared fixtures: a warehouse URL on SQLite and on a real PostgreSQL, and a demo data folder.

Every test that touches the warehouse takes one of the warehouse fixtures below, so it runs on both backends:

- `db_url`: per test. SQLite: a new file. PostgreSQL: one database for the whole session, migrated to head once
  and emptied (TRUNCATE) before each test, which keeps the suite fast.
- `module_db_url`: per module, for a pipeline run once and read by many tests; its own PostgreSQL database, so
  the per-test emptying never reaches it.
- `empty_db_url`: per test, a database with nothing in it (not even `alembic_version`), for migration tests.

PostgreSQL tests create their own database and drop it afterwards. Without a server they skip with a
reason on a laptop, and fail in CI (CI=true), where a skipped PostgreSQL test would hide a regression.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

PG_ADMIN_URL = os.environ.get("ENGAGEMENT_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
DEMO_ANCHOR = date(2026, 11, 2)


def _postgres_unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {reason}")


@contextlib.contextmanager
def fresh_postgres_database(prefix: str) -> Iterator[str]:
    """Creates a uniquely named PostgreSQL database and drops it (with its connections) afterwards."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as err:
        admin.dispose()
        _postgres_unavailable(str(err).splitlines()[0])
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session's warehouse tests, dropped at the end."""
    with fresh_postgres_database("engagement_test") as url:
        yield url


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def reset_postgres_warehouse(url: str) -> None:
    """Empties every warehouse table and restarts the ids, as a new SQLite file would have them; rebuilds the
    database from scratch (alembic_version included) when a test left it at another revision or without a table."""
    import engagement_pipeline.warehouse.action_tables  # noqa: F401  (the action tables, on the same metadata)
    from engagement_pipeline.warehouse import make_engine, metadata
    from engagement_pipeline.warehouse.schema import current_revision, head_revision, upgrade_warehouse

    engine = make_engine(url)
    try:
        tables = {t.name for t in metadata.sorted_tables}
        if current_revision(engine) == head_revision() and tables <= set(sa.inspect(engine).get_table_names()):
            with engine.begin() as conn:
                conn.execute(sa.text(f"TRUNCATE {', '.join(sorted(tables))} RESTART IDENTITY CASCADE"))
            return
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        upgrade_warehouse(engine)
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every warehouse test runs on both backends; PostgreSQL tables are emptied before each test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
        return
    url = request.getfixturevalue("postgres_database")
    reset_postgres_warehouse(url)
    yield url


@pytest.fixture(scope="module", params=BACKENDS)
def module_db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One warehouse per test module and backend, for data built once (a scored demo) and read by many tests."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('warehouse') / 'warehouse.sqlite'}"
        return
    with fresh_postgres_database("engagement_module") as url:
        yield url


@pytest.fixture(params=BACKENDS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it, on both backends: where migration tests start."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
        return
    with fresh_postgres_database("engagement_migrations") as url:
        yield url


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo data at a fixed anchor, generated once per session (tests copy it before mutating)."""
    from engagement_pipeline.demo import generate_demo

    out = tmp_path_factory.mktemp("demo")
    generate_demo(out, anchor=DEMO_ANCHOR)
    return out
