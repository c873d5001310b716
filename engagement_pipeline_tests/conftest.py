"""Shared fixtures: a warehouse URL on SQLite and on a real PostgreSQL, and a demo data folder.

Every test that touches the warehouse takes one of the warehouse fixtures below, so it runs on both backends:

- `db_url`: per test. SQLite: a new file. PostgreSQL: one database for the whole session, migrated to head once
  and emptied (TRUNCATE) before each test, which keeps the suite fast.
- `module_db_url`: per module, for a pipeline run once and read by many tests; its own PostgreSQL database, so
  the per-test emptying never reaches it.
- `empty_db_url`: per test, a database with nothing in it (not even `alembic_version`), for migration tests.
- `scored_demo` / `module_scored_demo`: the demo inbox scored as of DEMO_ANCHOR, on both backends. The pipeline
  runs once per backend per session (`scored_demo_templates`); each test (or module) gets its own copy of the
  data folder and warehouse (SQLite: the file is copied; PostgreSQL: `CREATE DATABASE … TEMPLATE`), so a test
  may change it freely. Running the 19 demo files through Dagster costs seconds; a copy costs milliseconds.

Two tiers: `pytest -m "not slow"` (`make test-fast`) runs the unit tests, domain functions on small frames and
Dagster definitions evaluated without a pipeline run; `slow` marks what starts processes or runs the pipeline,
and every test on the scored demo is marked slow here (`pytest_collection_modifyitems`), since its first use in
a session scores the demo. `make test` runs both.

PostgreSQL tests create their own database and drop it afterwards. Without a server they skip with a
reason on a laptop, and fail in CI (CI=true), where a skipped PostgreSQL test would hide a regression.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

if TYPE_CHECKING:
    from engagement_pipeline.config import Settings
    from engagement_pipeline.defs.runner import PipelineRun

PG_ADMIN_URL = os.environ.get("ENGAGEMENT_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
DEMO_ANCHOR = date(2026, 11, 2)


# Fixtures whose first use in a session runs the whole demo through Dagster: a test that takes one is slow.
SCORED_DEMO_FIXTURES = frozenset({"scored_demo", "module_scored_demo", "scored_demo_templates"})


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects: the marker must be there when it looks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow: a test on the scored demo, and the PostgreSQL variant of a test that runs on both warehouses.
    The fast tier is the embedded SQLite one; each PostgreSQL variant creates and drops a database on the
    server (a checkpoint and fsyncs each: 12.8 of the fast tier's 69 s), and `make test` runs every one."""
    for item in items:
        if SCORED_DEMO_FIXTURES & set(getattr(item, "fixturenames", ())) or item.get_closest_marker("postgres"):
            item.add_marker(pytest.mark.slow)


def _postgres_unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {reason}")


@contextlib.contextmanager
def fresh_postgres_database(prefix: str, *, template: str | None = None) -> Iterator[str]:
    """Creates a uniquely named PostgreSQL database and drops it (with its connections) afterwards; with
    `template` (a database name nobody is connected to), a copy of that database."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    copy_of = f' TEMPLATE "{template}"' if template else ""
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"{copy_of}'))
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


@dataclass(frozen=True)
class ScoredDemo:
    """The demo inbox scored as of DEMO_ANCHOR: its data folder, warehouse URL, the environment the CLI reads,
    and the run that scored it (shared by every copy: read it, never change it)."""

    data: Path
    db_url: str
    run: PipelineRun
    env: dict[str, str] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        from engagement_pipeline.config import Settings

        return Settings.from_env(self.env)


def _close_connections_to(url: str) -> None:
    """Ends every session on a PostgreSQL database (the pipeline's cached engine keeps a pool open), so it can
    serve as the template of a copy; no one connects to a template again."""
    from engagement_pipeline.defs.resources import _engine

    _engine(url).dispose()
    _engine.cache_clear()
    name = sa.make_url(url).database
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
    finally:
        admin.dispose()


class ScoredDemoTemplates:
    """Scores the demo once per backend on first use; hands out copies (data folder and warehouse)."""

    def __init__(self, root: Path, demo_dir: Path, stack: contextlib.ExitStack) -> None:
        self._root, self._demo_dir, self._stack = root, demo_dir, stack
        self._built: dict[str, ScoredDemo] = {}

    def template(self, backend: str) -> ScoredDemo:
        if backend not in self._built:
            self._built[backend] = self._build(backend)
        return self._built[backend]

    def _build(self, backend: str) -> ScoredDemo:
        from engagement_pipeline.config import Settings
        from engagement_pipeline.defs.runner import run_pipeline

        data = self._root / f"template_{backend}" / "data"
        for part in ("crm", "events", "inbox"):
            shutil.copytree(self._demo_dir / part, data / part)
        shutil.copy2(self._demo_dir / "demo_truth.json", data / "demo_truth.json")
        if backend == "sqlite":
            url = f"sqlite:///{data / 'warehouse.sqlite'}"
        else:
            url = self._stack.enter_context(fresh_postgres_database("engagement_demo_template"))
        env = {"ENGAGEMENT_DATA_DIR": str(data), "ENGAGEMENT_DB_URL": url}
        run = run_pipeline(sorted((data / "inbox").iterdir()), settings=Settings.from_env(env), as_of=DEMO_ANCHOR)
        if backend == "postgresql":
            _close_connections_to(url)
        return ScoredDemo(data, url, run, env)

    def copy(self, backend: str, dest: Path, stack: contextlib.ExitStack) -> ScoredDemo:
        """A copy at `dest` (a folder that does not exist yet); PostgreSQL copies live until `stack` closes."""
        template = self.template(backend)
        shutil.copytree(template.data, dest)
        if backend == "sqlite":
            url = f"sqlite:///{dest / 'warehouse.sqlite'}"
        else:
            url = stack.enter_context(fresh_postgres_database(
                "engagement_demo", template=sa.make_url(template.db_url).database))
        return ScoredDemo(dest, url, template.run, {"ENGAGEMENT_DATA_DIR": str(dest), "ENGAGEMENT_DB_URL": url})


@pytest.fixture(scope="session")
def scored_demo_templates(tmp_path_factory: pytest.TempPathFactory, demo_dir: Path) -> Iterator[ScoredDemoTemplates]:
    with contextlib.ExitStack() as stack:
        yield ScoredDemoTemplates(tmp_path_factory.mktemp("scored_demo"), demo_dir, stack)


@pytest.fixture(params=BACKENDS)
def scored_demo(request: pytest.FixtureRequest, tmp_path: Path,
                scored_demo_templates: ScoredDemoTemplates) -> Iterator[ScoredDemo]:
    """This test's own copy of the scored demo, on both backends."""
    with contextlib.ExitStack() as stack:
        yield scored_demo_templates.copy(request.param, tmp_path / "data", stack)


@pytest.fixture(scope="module", params=BACKENDS)
def module_scored_demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                       scored_demo_templates: ScoredDemoTemplates) -> Iterator[ScoredDemo]:
    """One copy of the scored demo per test module and backend, for tests that read it (or change it in order)."""
    with contextlib.ExitStack() as stack:
        yield scored_demo_templates.copy(request.param, tmp_path_factory.mktemp("module_demo") / "data", stack)
