"""Risk signals and outreach tasks for declining customers, de-duplicated across runs.

Causes read from `engagement_risks` (a tested decline only): `declining_attendance` always, `missed_events`
when the customer missed the last 2+ events in a row, `low_engagement` when the score is in the Low band.
A customer has at most one open signal per cause and one open outreach task (partial unique indexes); a
signal whose cause is gone at a later scoring date is resolved, so the list stays what is true now.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engagement_pipeline.warehouse.action_tables import outreach_tasks, read_table, risk_signals
from engagement_pipeline.warehouse.store import write_lock

CAUSE_COLUMNS: tuple[str, ...] = ("customer_id", "customer_name", "cause", "detail")


def _now() -> datetime:
    return datetime.now(UTC)


def risk_causes(risks: pd.DataFrame) -> pd.DataFrame:
    """One row per (declining customer, cause) with the sentence a CSM reads."""
    rows = []
    for r in risks.itertuples():
        rows.append((r.customer_id, r.customer_name, "declining_attendance", r.reason))
        if int(r.events_missed or 0) >= 2:
            rows.append((r.customer_id, r.customer_name, "missed_events",
                         f"missed the last {int(r.events_missed)} events in a row"))
        if r.band == "Low":
            rows.append((r.customer_id, r.customer_name, "low_engagement",
                         f"engagement score {r.score:.0f} is in the Low band"))
    return pd.DataFrame(rows, columns=list(CAUSE_COLUMNS))


def sync_risk_signals(conn: Connection, causes: pd.DataFrame, as_of: date) -> dict[str, int]:
    """Opens missing signals, resolves open ones whose cause is gone (if not from a later date)."""
    write_lock(conn)  # read-then-insert: a concurrent run must see this one's signals, not open them again
    t = risk_signals
    open_rows = conn.execute(sa.select(t.c.signal_id, t.c.customer_id, t.c.cause, t.c.as_of)
                             .where(t.c.status == "open")).all()
    current = {(c, k) for c, k in zip(causes["customer_id"], causes["cause"], strict=True)}
    existing = {(r.customer_id, r.cause) for r in open_rows}
    created = 0
    for row in causes.itertuples():
        if (row.customer_id, row.cause) not in existing:
            conn.execute(t.insert().values(customer_id=row.customer_id, customer_name=row.customer_name,
                                           cause=row.cause, detail=row.detail, status="open", as_of=as_of,
                                           created_at=_now()))
            existing.add((row.customer_id, row.cause))
            created += 1
    gone = [r.signal_id for r in open_rows if (r.customer_id, r.cause) not in current and r.as_of <= as_of]
    if gone:
        conn.execute(t.update().where(t.c.signal_id.in_(gone)).values(status="resolved", resolved_at=_now()))
    return {"created": created, "resolved": len(gone), "open": len(existing) - len(gone)}


def suggested_action(causes: list[str], risk: pd.Series, champion: str | None) -> str:
    who = champion or "the main contact"
    parts = [f"Call {who} to review their goals: {risk['reason']}"]
    if "missed_events" in causes or "declining_attendance" in causes:
        parts.append("invite them personally to the next event on their topics")
    if "low_engagement" in causes:
        parts.append("offer a hands-on training session")
    return "; ".join(parts) + "."


def sync_outreach_tasks(conn: Connection, risks: pd.DataFrame, contacts: pd.DataFrame, as_of: date,
                        due_days: int = 7) -> int:
    """An open outreach task for the CSM owner of every customer with open signals and no open task."""
    write_lock(conn)
    signals = conn.execute(sa.select(risk_signals.c.customer_id, risk_signals.c.cause)
                           .where(risk_signals.c.status == "open")).all()
    by_customer: dict[str, list[str]] = {}
    for s in signals:
        by_customer.setdefault(s.customer_id, []).append(s.cause)
    has_task = set(conn.execute(sa.select(outreach_tasks.c.customer_id)
                                .where(outreach_tasks.c.status == "open")).scalars())
    champions = contacts.loc[contacts["is_champion"].fillna(False).astype(bool)].sort_values("name")
    champion_of = champions.drop_duplicates("customer_id").set_index("customer_id")["name"].to_dict()
    created = 0
    for _, risk in risks.iterrows():
        cid = risk["customer_id"]
        if cid in has_task or cid not in by_customer:
            continue
        conn.execute(outreach_tasks.insert().values(
            customer_id=cid, customer_name=risk["customer_name"],
            csm_owner=risk["csm_owner"] if pd.notna(risk["csm_owner"]) else None,
            due_date=as_of + timedelta(days=due_days),
            suggested_action=suggested_action(sorted(by_customer[cid]), risk, champion_of.get(cid)),
            status="open", as_of=as_of, created_at=_now()))
        has_task.add(cid)
        created += 1
    return created


def open_signals(conn: Connection) -> pd.DataFrame:
    return read_table(conn, risk_signals, risk_signals.c.status == "open")


def open_tasks(conn: Connection) -> pd.DataFrame:
    return read_table(conn, outreach_tasks, outreach_tasks.c.status == "open")
