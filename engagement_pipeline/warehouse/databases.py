"""Creates a missing PostgreSQL database on first start, so switching to PostgreSQL is two variables.

Only the database itself: its schema is the migrations' job (warehouse) or Dagster's (instance). A
server that refuses (no CREATEDB right, wrong password) leaves the error to the caller, unchanged.

A plain `postgresql://` URL (what every hosting provider hands out) names no driver, and SQLAlchemy 2.1 reads
it as psycopg 3, which is not installed. `sqlalchemy_url` names psycopg2 instead: the driver already installed
for dagster-postgres, so one PostgreSQL driver serves both the warehouse and Dagster's storage, rather than
adding psycopg[binary] (a second driver and ~4 MB of libpq wheels) for the same job.
"""

from __future__ import annotations


def sqlalchemy_url(url: str) -> str:
    """`postgresql://…` and `postgres://…` -> `postgresql+psycopg2://…`; any URL naming a driver is unchanged."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg2://" + url[len(plain):]
    return url


def ensure_database(url: str) -> bool:
    """True when the PostgreSQL database in `url` did not exist and was created; SQLite and others: False."""
    import sqlalchemy as sa  # here, not at the top: config.py imports this module for `sqlalchemy_url`
    from sqlalchemy.engine import make_url

    target = make_url(sqlalchemy_url(url))
    if target.get_backend_name() != "postgresql" or not target.database:
        return False
    engine = sa.create_engine(target)
    try:
        with engine.connect():
            return False
    except sa.exc.OperationalError as err:
        if "does not exist" not in str(err):
            raise
    finally:
        engine.dispose()
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            quoted = admin.dialect.identifier_preparer.quote_identifier(target.database)
            conn.execute(sa.text(f"CREATE DATABASE {quoted}"))
    finally:
        admin.dispose()
    return True
