"""Long values kept in full on every backend, and the decision about which re-export of an event won.

- Names, emails, companies, event names and file names become TEXT. SQLite never enforced VARCHAR(512), but
  PostgreSQL did, so one 600-character cell failed a whole upload on PostgreSQL only (StringDataRightTruncation).
  Keys stay bounded by the ingest (`ledger.MAX_KEY_BYTES`), not by the column type.
- `uploads.export_status` / `export_reason`: for each upload, whether its records are the ones in use for its
  event(s) (`in_use`), were replaced by a later export (`superseded`), are held because the export shrank
  by more than the allowed share (`held`, waiting for `engagement-pipeline confirm-export`), or were ignored
  because the file is damaged and smaller than the export in use (`ignored`); `shrink_confirmed` records a
  person's confirmation of a held shrink.

Revision ID: 0003_long_values_and_exports
Revises: 0002_lookup_indexes
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_long_values_and_exports"
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
            if table == "uploads":
                batch.add_column(sa.Column("export_status", sa.String(16)))
                batch.add_column(sa.Column("export_reason", sa.Text()))
                batch.add_column(sa.Column("shrink_confirmed", sa.Boolean(), nullable=False,
                                           server_default=sa.false()))


def downgrade() -> None:
    for table, columns in TEXT_COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            if table == "uploads":
                batch.drop_column("shrink_confirmed")
                batch.drop_column("export_reason")
                batch.drop_column("export_status")
            for column in columns:
                batch.alter_column(column, type_=sa.String(OLD_LENGTH.get(column, 512)), existing_type=sa.Text())
