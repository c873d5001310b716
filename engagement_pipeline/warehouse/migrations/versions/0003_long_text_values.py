"""Long values kept in full on every backend.

Names, emails, companies, event names and file names become TEXT. SQLite never enforced VARCHAR(512), but
PostgreSQL did, so one 600-character cell failed a whole upload on PostgreSQL only (StringDataRightTruncation).
Keys stay bounded by the ingest (`ledger.MAX_KEY_BYTES`), not by the column type. Only types change, so the
revision keeps every row as it is.

Revision ID: 0003_long_text_values
Revises: 0002_lookup_indexes
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_long_text_values"
down_revision: str | None = "0002_lookup_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT_COLUMNS: dict[str, tuple[str, ...]] = {
    "uploads": ("file_name", "archive_path"),
    "upload_records": ("event_name", "attendee_key", "attendee_email", "attendee_name", "company", "source_file",
                       "matched_contact"),
    "attendance": ("event_name", "attendee_key", "attendee_email", "attendee_name", "company", "source_file",
                   "matched_contact"),
}
OLD_LENGTH = {"archive_path": 1024}


def upgrade() -> None:
    for table, columns in TEXT_COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, type_=sa.Text(), existing_type=sa.String(OLD_LENGTH.get(column, 512)))


def downgrade() -> None:
    for table, columns in TEXT_COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, type_=sa.String(OLD_LENGTH.get(column, 512)), existing_type=sa.Text())
