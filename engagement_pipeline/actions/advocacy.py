"""Advocacy opportunities: the CSM's ask, created from the advocacy candidates, tracked to won or lost.

One open opportunity per customer (a partial unique index), so launching the job twice creates nothing new;
a won or lost opportunity is history, and a later launch may open a new one. The type is the first of the
candidate's suggested acts that is an opportunity type (a low-effort "online review" becomes "reference").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from engagement_pipeline.warehouse.action_tables import advocacy_opportunities, read_table
from engagement_pipeline.warehouse.store import write_lock

OPPORTUNITY_TYPES: tuple[str, ...] = ("case study", "reference", "advisory board", "speaking")
STATUSES: tuple[str, ...] = ("open", "won", "lost")
RESULT_COLUMNS: tuple[str, ...] = ("opportunity_id", "customer_id", "customer_name", "opportunity_type",
                                   "champion", "notes", "next_task", "status", "created")
_NEXT_TASK = {
    "case study": "propose a case study and agree on a draft interview date",
    "reference": "ask to be a reference for one prospect call this quarter",
    "advisory board": "invite to the customer advisory board",
    "speaking": "invite to speak at an upcoming event",
}


def _now() -> datetime:
    return datetime.now(UTC)


def opportunity_type(suggested: Sequence[str]) -> str:
    return next((t for t in suggested if t in OPPORTUNITY_TYPES), "reference")


def choose_candidates(candidates: pd.DataFrame, top_n: int | None = 3, customers: Sequence[str] = ()) -> pd.DataFrame:
    """The named customers (ids or names, which must be candidates), else the top N by score."""
    if customers:
        wanted = [c.strip().lower() for c in customers]
        ids, names = candidates["customer_id"].str.lower(), candidates["customer_name"].str.lower()
        unknown = [c for c in wanted if not ((ids == c) | (names == c)).any()]
        if unknown:
            raise ValueError(f"not advocacy candidates: {', '.join(unknown)} (candidates score >= 70 and are "
                             "not declining)")
        return candidates.loc[ids.isin(wanted) | names.isin(wanted)].reset_index(drop=True)
    return candidates.head(top_n if top_n else len(candidates)).reset_index(drop=True)


def opportunity_values(candidate: pd.Series, arr: float | None, as_of: date) -> dict:
    kind = opportunity_type(list(candidate["suggested_types"]))
    notes = [f"engagement score {candidate['score']:.0f} ({candidate['trend']})"]
    if candidate.get("notable_text"):
        notes.append(str(candidate["notable_text"]))
    if arr is not None and pd.notna(arr):
        notes.append(f"ARR ${arr:,.0f}")
    who = candidate.get("champion_name") or "the champion"
    return {
        "customer_id": candidate["customer_id"], "customer_name": candidate["customer_name"],
        "opportunity_type": kind, "champion_name": candidate.get("champion_name"),
        "champion_email": candidate.get("champion_email"), "notes": "; ".join(notes),
        "next_task": f"Contact {who}: {_NEXT_TASK[kind]}", "status": "open",
        "score": float(candidate["score"]), "as_of": as_of,
    }


def create_opportunities(engine: Engine, chosen: pd.DataFrame, customers: pd.DataFrame, as_of: date,
                         cooldown_days: int = 90) -> pd.DataFrame:
    """One open opportunity per chosen customer unless it has an open one, or one closed (won or lost) in
    the last `cooldown_days` (no ask fatigue); says which were created."""
    cutoff = _now() - timedelta(days=cooldown_days)
    arr = dict(zip(customers["customer_id"], customers["arr"], strict=False)) if "arr" in customers else {}
    out = []
    with engine.begin() as conn:
        write_lock(conn)  # one open opportunity per customer even when two runs choose it at once
        for _, candidate in chosen.iterrows():
            existing = conn.execute(
                sa.select(advocacy_opportunities)
                .where(advocacy_opportunities.c.customer_id == candidate["customer_id"])
                .order_by(advocacy_opportunities.c.opportunity_id.desc())).mappings().first()
            updated = existing and existing["updated_at"]
            recent = updated is not None and (updated if updated.tzinfo else updated.replace(tzinfo=UTC)) >= cutoff
            if existing and (existing["status"] == "open" or recent):
                row, created = dict(existing), False
            else:
                values = opportunity_values(candidate, arr.get(candidate["customer_id"]), as_of)
                now = _now()
                new_id = conn.execute(advocacy_opportunities.insert().values(
                    created_at=now, updated_at=now, **values)).inserted_primary_key[0]
                row, created = {**values, "opportunity_id": int(new_id)}, True
            champion = row.get("champion_name") or ""
            if row.get("champion_email"):
                champion = f"{champion} ({row['champion_email']})"
            out.append({**{k: row.get(k) for k in RESULT_COLUMNS}, "champion": champion, "created": created})
    return pd.DataFrame.from_records(out, columns=list(RESULT_COLUMNS))


def update_status(engine: Engine, key: str, status: str) -> int:
    """Sets the status of opportunity `key` (an id) or of the customer's latest opportunity (id or name)."""
    status = status.strip().lower()
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    t = advocacy_opportunities
    with engine.begin() as conn:
        write_lock(conn)
        if str(key).strip().isdigit():
            target = conn.execute(sa.select(t.c.opportunity_id).where(t.c.opportunity_id == int(key))).scalar()
        else:
            k = str(key).strip().lower()
            target = conn.execute(
                sa.select(t.c.opportunity_id)
                .where((sa.func.lower(t.c.customer_id) == k) | (sa.func.lower(t.c.customer_name) == k))
                .order_by((t.c.status == "open").desc(), t.c.opportunity_id.desc())).scalar()
        if target is None:
            raise ValueError(f"no advocacy opportunity for {key!r}")
        conn.execute(t.update().where(t.c.opportunity_id == target).values(status=status, updated_at=_now()))
    return int(target)


def import_status_file(engine: Engine, path: Path) -> list[tuple[int, str]]:
    """A CSV with `status` and `opportunity_id` or `customer_id` (or `customer`): every row applied."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.columns = [c.strip().lower() for c in frame.columns]
    key = next((c for c in ("opportunity_id", "customer_id", "customer", "customer_name") if c in frame), None)
    if key is None or "status" not in frame:
        raise ValueError(f"{path.name}: needs a status column and opportunity_id or customer_id; "
                         f"found {', '.join(frame.columns)}")
    return [(update_status(engine, row[key], row["status"]), row["status"].strip().lower())
            for _, row in frame.iterrows()]


def load_opportunities(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return read_table(conn, advocacy_opportunities)
