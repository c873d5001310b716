"""Alembic migrations of the warehouse, shipped inside the package so an installed pipeline can upgrade itself.

Run them through `engagement_pipeline.warehouse.schema.upgrade_warehouse` (or `engagement-pipeline migrate`);
there is no alembic.ini. To add a revision: copy the newest file in `versions/`, set `down_revision` to its `revision`,
write explicit `op.*` calls, change the SQLAlchemy models to match, and let
`test_migrations.py::test_the_migrations_and_the_models_agree` confirm both describe the same schema.
"""
