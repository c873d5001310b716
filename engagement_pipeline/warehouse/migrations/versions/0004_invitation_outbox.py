"""Invitations become a transactional outbox keyed by event id, with a randomised holdout.

- `invitation_events`: one row per invited event: its stable id (renaming the event in the catalogue keeps
  it), the holdout share and the seed of the draw, recorded once and never re-drawn.
- `invitations.event_id` replaces the event *name* in the uniqueness rule (unique per event id and contact);
  existing rows are given the id of their (name, date, type), registered with a holdout share of 0, so what
  was sent before stays "already invited".
- `invitations.message` (the rendered message, committed before any send), `next_attempt_at` (backoff of
  temporary failures), `claimed_by`/`claimed_at` (which process is sending), `arm` (invite | holdout), and a
  wider `status` for the outbox states (pending, sending, transmitting, unknown, held_out...).

Revision ID: 0004_invitation_outbox
Revises: 0003_long_text_values
Create Date: 2026-11-29
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0004_invitation_outbox"
down_revision: str | None = "0003_long_text_values"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _legacy_event_id(name: str, day: object, event_type: object) -> str:
    """The same derivation as `actions.outbox.derived_event_id` (frozen here: a migration never imports app code)."""
    key = f"{' '.join(str(name).lower().split())}|{day or ''}|{event_type or ''}"
    return "evt-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def upgrade() -> None:
    op.create_table(
        "invitation_events",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("event_name", sa.String(512), nullable=False),
        sa.Column("event_date", sa.Date),
        sa.Column("event_type", sa.String(32)),
        sa.Column("holdout_share", sa.Float, nullable=False),
        sa.Column("holdout_seed", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("invitations") as batch:
        batch.add_column(sa.Column("event_id", sa.String(64)))
        batch.add_column(sa.Column("arm", sa.String(8)))
        batch.add_column(sa.Column("message", sa.Text))
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("claimed_by", sa.String(256)))
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True)))
        batch.alter_column("status", existing_type=sa.String(8), type_=sa.String(16), existing_nullable=False)

    conn = op.get_bind()
    events = sa.table("invitation_events", sa.column("event_id"), sa.column("event_name"), sa.column("event_date"),
                      sa.column("event_type"), sa.column("holdout_share"), sa.column("holdout_seed"),
                      sa.column("created_at"))
    invitations = sa.table("invitations", sa.column("event_name"), sa.column("event_date"),
                           sa.column("event_type"), sa.column("event_id"))
    now = datetime.now(UTC)
    seen: set[str] = set()
    for name, day, event_type in conn.execute(sa.select(invitations.c.event_name, invitations.c.event_date,
                                                        invitations.c.event_type).distinct()).all():
        event_id = _legacy_event_id(name, day, event_type)
        if event_id not in seen:
            seen.add(event_id)
            conn.execute(events.insert().values(event_id=event_id, event_name=name, event_date=day,
                                                event_type=event_type, holdout_share=0.0, holdout_seed=event_id,
                                                created_at=now))
        match = (invitations.c.event_name == name) & (
            invitations.c.event_date == day if day is not None else invitations.c.event_date.is_(None)) & (
            invitations.c.event_type == event_type if event_type is not None else invitations.c.event_type.is_(None))
        conn.execute(invitations.update().where(match).values(event_id=event_id))

    with op.batch_alter_table("invitations") as batch:
        batch.alter_column("event_id", existing_type=sa.String(64), nullable=False)
        batch.drop_constraint("uq_invitation_event_contact", type_="unique")
        batch.create_unique_constraint("uq_invitation_event_id_contact", ["event_id", "contact_email"])
    op.create_index("ix_invitations_status", "invitations", ["status"])


def downgrade() -> None:
    op.drop_index("ix_invitations_status", table_name="invitations")
    with op.batch_alter_table("invitations") as batch:
        batch.drop_constraint("uq_invitation_event_id_contact", type_="unique")
        batch.create_unique_constraint("uq_invitation_event_contact", ["event_name", "contact_email"])
        for column in ("claimed_at", "claimed_by", "next_attempt_at", "message", "arm", "event_id"):
            batch.drop_column(column)
        batch.alter_column("status", existing_type=sa.String(16), type_=sa.String(8), existing_nullable=False)
    op.drop_table("invitation_events")
