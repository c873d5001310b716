"""Indexes for the per-customer and per-contact look-ups the product makes on tables that only grow.

- `attendance.customer_id`: `engagement-pipeline customer NAME` reads one customer's attendance history.
- `engagement_scores.customer_id`: score history of one customer; the primary key leads with `as_of`,
  so it does not help a filter on the customer alone.
- `invitations.contact_email`: the frequency cap looks up every invitation sent to a contact before mailing;
  the unique (event_name, contact_email) constraint leads with the event, so it does not help either.
- `customer_health.customer_id`: one customer's health history (primary key leads with `as_of`).

Revision ID: 0002_lookup_indexes
Revises: 0001_baseline
Create Date: 2026-11-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002_lookup_indexes"
down_revision: str | None = "0001_baseline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES: tuple[tuple[str, str, str], ...] = (
    ("ix_attendance_customer_id", "attendance", "customer_id"),
    ("ix_engagement_scores_customer_id", "engagement_scores", "customer_id"),
    ("ix_invitations_contact_email", "invitations", "contact_email"),
    ("ix_customer_health_customer_id", "customer_health", "customer_id"),
)


def upgrade() -> None:
    # IF NOT EXISTS: a warehouse created by `create_all` from models that already declared these indexes is
    # stamped as the baseline and must still upgrade cleanly.
    for name, table, column in INDEXES:
        op.create_index(name, table, [column], if_not_exists=True)


def downgrade() -> None:
    for name, table, _column in INDEXES:
        op.drop_index(name, table_name=table)
