"""`uploads.records_version`, a random token written with every write of an upload's records; and
`ix_upload_records_upload_id` dropped.

The process that stores an upload's records keeps them as the warehouse would read them back
(`warehouse.kept_records`) and reuses them in the same run only while the upload still carries the version it
wrote, instead of reading every record back. Existing uploads get no version (NULL): their records are read
as before until they are stored again. Anything that changes an upload's stored records must set a new
version or clear it.

The index on `upload_records.upload_id` alone is redundant: the unique constraint `uq_upload_record` leads with
`upload_id` and serves every look-up by upload (delete on re-store, the records of some uploads), and keeping
both cost ~13% of inserting the records.

Revision ID: 0005_records_version
Revises: 0004_invitation_outbox
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_records_version"
down_revision: str | None = "0004_invitation_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.add_column(sa.Column("records_version", sa.String(32)))
    op.drop_index("ix_upload_records_upload_id", table_name="upload_records", if_exists=True)


def downgrade() -> None:
    op.create_index("ix_upload_records_upload_id", "upload_records", ["upload_id"])
    with op.batch_alter_table("uploads") as batch:
        batch.drop_column("records_version")
