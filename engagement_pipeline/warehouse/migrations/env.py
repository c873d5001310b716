"""Alembic's environment: runs on the connection `engagement_pipeline.warehouse.schema` hands over, in its transaction.

There is no URL and no offline mode on purpose: the caller has already taken the lock that serialises concurrent
upgrades, and the migrations must run in that same transaction for the lock to mean anything.
"""

from __future__ import annotations

from alembic import context

from engagement_pipeline.warehouse import metadata  # the package registers every table, the actions' too

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("Run the warehouse migrations through engagement_pipeline.warehouse.schema.upgrade_warehouse "
                       "(or `engagement-pipeline migrate`), which passes the connection in.")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite can alter little in place; batch mode copies the table, so a future ALTER works on both backends.
    render_as_batch=True,
    compare_type=True,
)

with context.begin_transaction():
    context.run_migrations()
