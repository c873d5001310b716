"""Baseline: the warehouse exactly as `metadata.create_all` built it before migrations existed.

Written out table by table rather than derived from the models, so later model changes never rewrite history:
a warehouse created by the pre-migration `create_schema` is recognised as this revision and stamped with it.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-11-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_baseline"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Dropped in reverse order on downgrade (children before the uploads they reference).
TABLES: tuple[str, ...] = (
    "uploads", "upload_records", "row_issues", "attendance", "engagement_scores", "advocacy_opportunities",
    "invitations", "suppressions", "risk_signals", "outreach_tasks", "customer_health",
)


def _record_columns() -> list[sa.Column]:
    """One attendance record's columns, shared by `upload_records` and `attendance` (fresh objects per table)."""
    return [
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("event_name", sa.String(512), nullable=False),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("event_date", sa.DateTime, nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("attendee_key", sa.String(512), nullable=False),
        sa.Column("attendee_email", sa.String(512)),
        sa.Column("attendee_name", sa.String(512)),
        sa.Column("company", sa.String(512)),
        sa.Column("registered", sa.Boolean, nullable=False),
        sa.Column("attended", sa.Boolean, nullable=False),
        sa.Column("minutes_attended", sa.Float, nullable=False),
        sa.Column("questions_asked", sa.Integer, nullable=False),
        sa.Column("polls_answered", sa.Integer, nullable=False),
        sa.Column("feedback_submitted", sa.Boolean, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("source_file", sa.String(512), nullable=False),
        sa.Column("source_row", sa.Integer, nullable=False),
        sa.Column("rows_folded", sa.Integer, nullable=False),
        sa.Column("customer_id", sa.String(128)),
        sa.Column("match_method", sa.String(32)),
        sa.Column("match_confidence", sa.Float),
        sa.Column("matched_contact", sa.String(512)),
    ]


def _open_only() -> dict[str, object]:
    """The partial-index predicate of "unique while open", for both dialects."""
    where = sa.text("status = 'open'")
    return {"sqlite_where": where, "postgresql_where": where}


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("upload_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("file_name", sa.String(512), nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("archive_path", sa.String(1024)),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("platform", sa.String(32)),
        sa.Column("reason", sa.Text),
        sa.Column("rows_read", sa.Integer),
        sa.Column("rows_kept", sa.Integer),
        sa.Column("rows_excluded", sa.Integer),
        sa.Column("rows_quarantined", sa.Integer),
        sa.Column("records", sa.Integer),
        sa.Column("ledger", sa.Text),
    )
    op.create_table(
        "upload_records",
        sa.Column("upload_id", sa.Integer, sa.ForeignKey("uploads.upload_id"), nullable=False),
        *_record_columns(),
        sa.UniqueConstraint("upload_id", "event_id", "attendee_key", name="uq_upload_record"),
    )
    op.create_index("ix_upload_records_upload_id", "upload_records", ["upload_id"])
    op.create_table(
        "row_issues",
        sa.Column("upload_id", sa.Integer, sa.ForeignKey("uploads.upload_id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source_row", sa.Integer, nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("raw", sa.Text),
    )
    op.create_index("ix_row_issues_upload_id", "row_issues", ["upload_id"])
    op.create_table(
        "attendance",
        *_record_columns(),
        sa.PrimaryKeyConstraint("event_id", "attendee_key", name="pk_attendance"),
    )
    op.create_table(
        "engagement_scores",
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("score", sa.Float),
        sa.Column("band", sa.String(16), nullable=False),
        sa.Column("trend", sa.String(24)),
        sa.Column("components", sa.Text, nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("as_of", "customer_id", name="pk_engagement_scores"),
    )
    op.create_table(
        "advocacy_opportunities",
        sa.Column("opportunity_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("customer_name", sa.String(512)),
        sa.Column("opportunity_type", sa.String(32), nullable=False),
        sa.Column("champion_name", sa.String(512)),
        sa.Column("champion_email", sa.String(512)),
        sa.Column("notes", sa.Text),
        sa.Column("next_task", sa.Text),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("score", sa.Float),
        sa.Column("as_of", sa.Date),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("uq_advocacy_open_customer", "advocacy_opportunities", ["customer_id"], unique=True,
                    **_open_only())
    op.create_table(
        "invitations",
        sa.Column("invitation_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_name", sa.String(512), nullable=False),
        sa.Column("event_date", sa.Date),
        sa.Column("event_type", sa.String(32)),
        sa.Column("customer_id", sa.String(128)),
        sa.Column("customer_name", sa.String(512)),
        sa.Column("contact_name", sa.String(512)),
        sa.Column("contact_email", sa.String(512), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("message_id", sa.String(512)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("converted_at", sa.DateTime(timezone=True)),
        sa.Column("converted_event_id", sa.String(128)),
        sa.UniqueConstraint("event_name", "contact_email", name="uq_invitation_event_contact"),
    )
    op.create_table(
        "suppressions",
        sa.Column("email", sa.String(512), primary_key=True),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("source", sa.String(512)),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "risk_signals",
        sa.Column("signal_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("customer_name", sa.String(512)),
        sa.Column("cause", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
    )
    op.create_index("uq_risk_signal_open_cause", "risk_signals", ["customer_id", "cause"], unique=True,
                    **_open_only())
    op.create_table(
        "outreach_tasks",
        sa.Column("task_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("customer_name", sa.String(512)),
        sa.Column("csm_owner", sa.String(256)),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("suggested_action", sa.Text, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("uq_outreach_open_customer", "outreach_tasks", ["customer_id"], unique=True, **_open_only())
    op.create_table(
        "customer_health",
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


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
