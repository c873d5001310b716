"""Shared fixtures: a warehouse URL on SQLite and on a real PostgreSQL, and a demo data folder.

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


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every warehouse test runs on both backends; PostgreSQL tables are emptied between tests."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
        return
    url = request.getfixturevalue("postgres_database")
    from engagement_pipeline.warehouse import metadata

    engine = sa.create_engine(url)
    metadata.drop_all(engine)
    engine.dispose()
    yield url


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo data at a fixed anchor, generated once per session (tests copy it before mutating)."""
    from engagement_pipeline.demo import generate_demo

    out = tmp_path_factory.mktemp("demo")
    generate_demo(out, anchor=DEMO_ANCHOR)
    return out
