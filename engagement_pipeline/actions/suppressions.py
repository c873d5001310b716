"""The suppression list: addresses that get no invitation again (unsubscribed, bounced, complained, added by hand).

Its own module because two sides write it: the invitation run reads it as a hard gate, the unsubscribe endpoint
and `engagement-pipeline suppress` add to it; kept in invitations.py it made invitations <-> unsubscribe a circle.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engagement_pipeline.warehouse.action_tables import suppressions
from engagement_pipeline.warehouse.store import write_lock

from .mailer import valid_email
from .outbox import utc_now

SUPPRESSION_REASONS = frozenset({"unsubscribed", "bounced", "complaint", "manual"})


def suppressed(conn: Connection) -> dict[str, str]:
    return {r.email: r.reason for r in conn.execute(sa.select(suppressions.c.email, suppressions.c.reason))}


def add_suppressions(conn: Connection, entries: pd.DataFrame, source: str) -> int:
    """Upserts (email, reason) rows; returns how many addresses are new on the list."""
    write_lock(conn)
    known = suppressed(conn)
    added = 0
    for email, reason in zip(entries["email"], entries["reason"], strict=True):
        email = str(email).strip().lower()
        if not valid_email(email):
            continue
        if email in known:
            conn.execute(suppressions.update().where(suppressions.c.email == email)
                         .values(reason=reason, source=source))
        else:
            conn.execute(suppressions.insert().values(email=email, reason=reason, source=source, added_at=utc_now()))
            known[email] = reason
            added += 1
    return added


def read_suppression_file(path: Path) -> pd.DataFrame:
    """A CSV with an `email` column (and optionally `reason`), or a plain list of addresses, one a line."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, header=None)
    first = [str(c).strip().lower() for c in raw.iloc[0]] if len(raw) else []
    if "email" in first:
        frame = raw.iloc[1:].set_axis(first, axis=1)
    else:
        frame = raw.iloc[:, :2].set_axis(["email", "reason"][: min(2, raw.shape[1])], axis=1)
    frame = frame.reindex(columns=["email", "reason"]).fillna("")
    frame["email"] = frame["email"].str.strip().str.lower()
    frame["reason"] = frame["reason"].str.strip().str.lower()
    bad = sorted(set(frame["reason"]) - SUPPRESSION_REASONS - {""})
    if bad:
        raise ValueError(f"{path.name}: unknown reason(s) {', '.join(bad)}; use one of "
                         f"{', '.join(sorted(SUPPRESSION_REASONS))}")
    frame["reason"] = frame["reason"].replace("", "unsubscribed")
    return frame.loc[frame["email"] != ""].reset_index(drop=True)
