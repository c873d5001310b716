"""Warehouse tables of the actions, registered on the warehouse's own `metadata`.

"Unique while open" is a partial unique index (SQLite and PostgreSQL both have them): a customer has at most
one open advocacy opportunity, one open risk signal per cause and one open outreach task, while closed ones
stay as history. An invitation is unique per (event id, contact email), whatever its status.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from engagement_pipeline.warehouse.store import metadata


def _open_only(table: sa.Table) -> dict[str, object]:
    where = table.c.status == "open"
    return {"sqlite_where": where, "postgresql_where": where}


advocacy_opportunities = sa.Table(
    "advocacy_opportunities",
    metadata,
    sa.Column("opportunity_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("customer_id", sa.String(128), nullable=False),
    sa.Column("customer_name", sa.String(512)),
    sa.Column("opportunity_type", sa.String(32), nullable=False),  # case study | reference | advisory board | speaking
    sa.Column("champion_name", sa.String(512)),
    sa.Column("champion_email", sa.String(512)),
    sa.Column("notes", sa.Text),
    sa.Column("next_task", sa.Text),
    sa.Column("status", sa.String(8), nullable=False),  # open | won | lost
    sa.Column("score", sa.Float),
    sa.Column("as_of", sa.Date),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
sa.Index("uq_advocacy_open_customer", advocacy_opportunities.c.customer_id, unique=True,
         **_open_only(advocacy_opportunities))

invitation_events = sa.Table(  # migration 0004: the identity of an invited event, and its holdout draw
    "invitation_events",
    metadata,
    sa.Column("event_id", sa.String(64), primary_key=True),
    sa.Column("event_name", sa.String(512), nullable=False),  # the latest catalogue name (renames update it)
    sa.Column("event_date", sa.Date),
    sa.Column("event_type", sa.String(32)),
    sa.Column("holdout_share", sa.Float, nullable=False),
    sa.Column("holdout_seed", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

invitations = sa.Table(
    "invitations",
    metadata,
    sa.Column("invitation_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(64), nullable=False),  # migration 0004: uniqueness by event id, not name
    sa.Column("event_name", sa.String(512), nullable=False),
    sa.Column("event_date", sa.Date),
    sa.Column("event_type", sa.String(32)),
    sa.Column("customer_id", sa.String(128)),
    sa.Column("customer_name", sa.String(512)),
    sa.Column("contact_name", sa.String(512)),
    sa.Column("contact_email", sa.String(512), nullable=False),
    # pending | sending | transmitting | sent | retry | unknown | failed | skipped | held_out (see outbox.py)
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("arm", sa.String(8)),  # invite | holdout: the randomised draw, never re-drawn (None: not eligible)
    sa.Column("reason", sa.Text),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("message_id", sa.String(512)),
    sa.Column("message", sa.Text),  # the rendered message, committed before any send (the outbox intent)
    sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
    sa.Column("claimed_by", sa.String(256)),
    sa.Column("claimed_at", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.Column("converted_at", sa.DateTime(timezone=True)),
    sa.Column("converted_event_id", sa.String(128)),
    sa.UniqueConstraint("event_id", "contact_email", name="uq_invitation_event_id_contact"),
)
sa.Index("ix_invitations_contact_email", invitations.c.contact_email)  # migration 0002: the frequency cap
sa.Index("ix_invitations_status", invitations.c.status)  # migration 0004: the outbox's queue and review list

suppressions = sa.Table(
    "suppressions",
    metadata,
    sa.Column("email", sa.String(512), primary_key=True),
    sa.Column("reason", sa.String(32), nullable=False),  # unsubscribed | bounced | complaint | manual
    sa.Column("source", sa.String(512)),
    sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
)

risk_signals = sa.Table(
    "risk_signals",
    metadata,
    sa.Column("signal_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("customer_id", sa.String(128), nullable=False),
    sa.Column("customer_name", sa.String(512)),
    sa.Column("cause", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text),
    sa.Column("status", sa.String(8), nullable=False),  # open | resolved
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("resolved_at", sa.DateTime(timezone=True)),
)
sa.Index("uq_risk_signal_open_cause", risk_signals.c.customer_id, risk_signals.c.cause, unique=True,
         **_open_only(risk_signals))

outreach_tasks = sa.Table(
    "outreach_tasks",
    metadata,
    sa.Column("task_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("customer_id", sa.String(128), nullable=False),
    sa.Column("customer_name", sa.String(512)),
    sa.Column("csm_owner", sa.String(256)),
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("suggested_action", sa.Text, nullable=False),
    sa.Column("status", sa.String(8), nullable=False),  # open | done
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
sa.Index("uq_outreach_open_customer", outreach_tasks.c.customer_id, unique=True, **_open_only(outreach_tasks))

customer_health = sa.Table(
    "customer_health",
    metadata,
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("customer_id", sa.String(128), nullable=False),
    sa.Column("customer_name", sa.String(512)),
    sa.Column("usage_health", sa.Float),
    sa.Column("engagement_score", sa.Float),
    sa.Column("engagement_weight", sa.Float, nullable=False),
    sa.Column("health_score", sa.Float),
    sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("as_of", "customer_id", name="pk_customer_health"),
)
sa.Index("ix_customer_health_customer_id", customer_health.c.customer_id)  # migration 0002


def read_table(conn: sa.Connection, table: sa.Table, *where: sa.ColumnElement[bool]) -> pd.DataFrame:
    """A whole table (optionally filtered) as a DataFrame with its columns even when empty."""
    query = sa.select(table)
    for clause in where:
        query = query.where(clause)
    pk = list(table.primary_key.columns)
    frame = pd.DataFrame(conn.execute(query.order_by(*pk)).mappings().all())
    return frame if not frame.empty else pd.DataFrame(columns=[c.name for c in table.columns])
