"""Creates a missing PostgreSQL database on first start, so switching to PostgreSQL is two variables.

Only the database itself: its schema is the migrations' job (warehouse) or Dagster's (instance). A
server that refuses (no CREATEDB right, wrong password) leaves the error to the caller, unchanged.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import make_url


def ensure_database(url: str) -> bool:
    """True when the PostgreSQL database in `url` did not exist and was created; SQLite and others: False."""
    target = make_url(url)
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
