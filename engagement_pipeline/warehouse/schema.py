"""Schema migrations of the warehouse: every start brings an existing warehouse to the current schema in place.

A warehouse is in one of three states, and `upgrade_warehouse` handles each:

- empty (none of our tables): every revision runs, from the baseline to head;
- created before migrations existed (our tables, no `alembic_version`): its tables and columns are checked
  against the baseline revision, it is stamped with it, then the later revisions run;
- versioned: the missing revisions run, none when it is at head (checked first, without taking any lock).

Two processes may start at once (Dagster runs in parallel on PostgreSQL), so the check and the upgrade happen in
one transaction that the database serialises, and the second process finds the work done:

- PostgreSQL: `pg_advisory_xact_lock` on a fixed key, released by the commit; DDL is transactional there,
  so a failed migration leaves nothing half-applied.
- SQLite: `BEGIN IMMEDIATE` takes the database's write lock up front (the second process waits for it, up to
  30 s) instead of both reading "empty" and then racing to create the same tables.
  The driver's own transaction handling is switched off for that connection, because Python's sqlite3 would
  otherwise run the DDL outside any transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BASELINE_REVISION = "0001_baseline"
# Any fixed 64-bit number; every process that upgrades a warehouse waits on the same one.
PG_UPGRADE_LOCK_KEY = 0x656E_6761_6765_6D74  # "engagemt"

# The tables and columns of the baseline revision, frozen: how a warehouse created by the pre-migration
# `metadata.create_all` is recognised. Never derive this from the models, which move on with later revisions.
BASELINE_TABLES: dict[str, frozenset[str]] = {
    "uploads": frozenset({
        "upload_id", "sha256", "file_name", "size_bytes", "archive_path", "received_at", "status", "platform",
        "reason", "rows_read", "rows_kept", "rows_excluded", "rows_quarantined", "records", "ledger",
    }),
    "upload_records": frozenset({
        "upload_id", "event_id", "event_name", "event_type", "event_date", "platform", "attendee_key",
        "attendee_email", "attendee_name", "company", "registered", "attended", "minutes_attended",
        "questions_asked", "polls_answered", "feedback_submitted", "role", "source_file", "source_row",
        "rows_folded", "customer_id", "match_method", "match_confidence", "matched_contact",
    }),
    "row_issues": frozenset({"upload_id", "kind", "source_row", "reason", "detail", "raw"}),
    "attendance": frozenset({
        "event_id", "event_name", "event_type", "event_date", "platform", "attendee_key", "attendee_email",
        "attendee_name", "company", "registered", "attended", "minutes_attended", "questions_asked",
        "polls_answered", "feedback_submitted", "role", "source_file", "source_row", "rows_folded",
        "customer_id", "match_method", "match_confidence", "matched_contact",
    }),
    "engagement_scores": frozenset({"as_of", "customer_id", "score", "band", "trend", "components", "computed_at"}),
    "advocacy_opportunities": frozenset({
        "opportunity_id", "customer_id", "customer_name", "opportunity_type", "champion_name", "champion_email",
        "notes", "next_task", "status", "score", "as_of", "created_at", "updated_at",
    }),
    "invitations": frozenset({
        "invitation_id", "event_name", "event_date", "event_type", "customer_id", "customer_name",
        "contact_name", "contact_email", "status", "reason", "attempts", "message_id", "created_at", "sent_at",
        "converted_at", "converted_event_id",
    }),
    "suppressions": frozenset({"email", "reason", "source", "added_at"}),
    "risk_signals": frozenset({
        "signal_id", "customer_id", "customer_name", "cause", "detail", "status", "as_of", "created_at",
        "resolved_at",
    }),
    "outreach_tasks": frozenset({
        "task_id", "customer_id", "customer_name", "csm_owner", "due_date", "suggested_action", "status", "as_of",
        "created_at",
    }),
    "customer_health": frozenset({
        "as_of", "customer_id", "customer_name", "usage_health", "engagement_score", "engagement_weight",
        "health_score", "computed_at",
    }),
}


class WarehouseSchemaError(RuntimeError):
    """The database holds some of our tables but not the baseline schema: we refuse to guess and alter it."""


@dataclass(frozen=True)
class MigrationResult:
    """Where an upgrade started and ended; `from_revision` is None for an empty database."""

    from_revision: str | None
    to_revision: str
    adopted_unversioned: bool = False  # created before migrations existed, stamped as the baseline

    @property
    def changed(self) -> bool:
        return self.from_revision != self.to_revision or self.adopted_unversioned

    def describe(self) -> str:
        """One line for a terminal: `0001_baseline → 0002_lookup_indexes`, or `already at head …`."""
        if not self.changed:
            return f"already at head {self.to_revision}"
        start = self.from_revision or "empty"
        if self.adopted_unversioned:
            start = f"unversioned (recognised as {self.from_revision})"
        return f"{start} → {self.to_revision}"


def alembic_config(connection: Connection | None = None) -> Config:
    """The migration environment inside the installed package; no alembic.ini needed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


@cache
def _known_revisions() -> frozenset[str]:
    return frozenset(script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions())


def _revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def current_revision(engine: Engine) -> str | None:
    """The warehouse's revision, None when it has no `alembic_version` (empty, or created before migrations)."""
    with engine.connect() as conn:
        return _revision(conn)


def _is_unversioned_baseline(conn: Connection) -> bool:
    """True when our tables are there without a version (pre-migration warehouse), False when there are none."""
    inspector = sa.inspect(conn)
    present = set(inspector.get_table_names()) & set(BASELINE_TABLES)
    if not present:
        return False
    problems = []
    for table, columns in BASELINE_TABLES.items():
        if table not in present:
            problems.append(f"table {table} is missing")
            continue
        missing = columns - {c["name"] for c in inspector.get_columns(table)}
        if missing:
            problems.append(f"{table} lacks {', '.join(sorted(missing))}")
    if problems:
        raise WarehouseSchemaError(
            "The warehouse has no migration version and does not match the baseline schema "
            f"({BASELINE_REVISION}): {'; '.join(problems)}. Point ENGAGEMENT_DB_URL at an empty database or "
            "restore a complete warehouse."
        )
    return True


def _is_memory_sqlite(engine: Engine) -> bool:
    return engine.url.database in (None, "", ":memory:") or "mode=memory" in str(engine.url)


@contextlib.contextmanager
def _serialised(engine: Engine) -> Iterator[Connection]:
    """One transaction that no other upgrader of the same database can run beside (see the module docstring)."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_UPGRADE_LOCK_KEY})
            yield conn
        return
    if engine.dialect.name != "sqlite" or _is_memory_sqlite(engine):
        # Other databases: one transaction, no lock. An in-memory SQLite database has one process by definition.
        with engine.begin() as conn:
            yield conn
        return
    locking = sa.create_engine(engine.url, poolclass=NullPool, connect_args={"timeout": 30, "isolation_level": None})

    @sa.event.listens_for(locking, "begin")
    def _begin_immediate(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        with locking.begin() as conn:
            yield conn
    finally:
        locking.dispose()


def upgrade_warehouse(engine: Engine) -> MigrationResult:
    """Brings the warehouse to the newest revision in place; safe to call on every start and from many processes."""
    head = head_revision()
    if current_revision(engine) == head:
        return MigrationResult(head, head)
    with _serialised(engine) as conn:
        before = _revision(conn)  # again: another process may have upgraded while we waited for the lock
        config = alembic_config(conn)
        if before is not None and before not in _known_revisions():
            raise WarehouseSchemaError(
                f"The warehouse is at revision {before}, which this release does not know (its newest is {head}): "
                "it was migrated by a newer release of engagement_pipeline; run that release or a later one."
            )
        adopted = before is None and _is_unversioned_baseline(conn)
        if adopted:
            command.stamp(config, BASELINE_REVISION)
            before = BASELINE_REVISION
        if before != head:
            command.upgrade(config, "head")
    return MigrationResult(before, head, adopted_unversioned=adopted)
