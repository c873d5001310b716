"""`engagement-pipeline customer NAME`: one customer's latest score, its components and history."""

from __future__ import annotations

import json

import pandas as pd
import sqlalchemy as sa

from engagement_pipeline import warehouse as wh
from engagement_pipeline.config import COMPONENTS, Settings
from engagement_pipeline.matching.crm import load_crm


class CustomerNotFound(LookupError):
    pass


def find_customer(customers: pd.DataFrame, query: str) -> pd.Series:
    """By id, exact name, or a unique case-insensitive part of the name."""
    q = query.strip().lower()
    by_id = customers[customers["customer_id"].str.lower() == q]
    if len(by_id) == 1:
        return by_id.iloc[0]
    names = customers["name"].str.lower()
    exact = customers[names == q]
    if len(exact) == 1:
        return exact.iloc[0]
    partial = customers[names.str.contains(q, regex=False)]
    if len(partial) == 1:
        return partial.iloc[0]
    if len(partial) > 1:
        options = ", ".join(partial["name"].head(8))
        raise CustomerNotFound(f"{query!r} matches several customers: {options}")
    raise CustomerNotFound(f"No customer matches {query!r}.")


def render_customer(query: str, settings: Settings) -> str:
    crm = load_crm(settings.crm_dir)
    customer = find_customer(crm.customers, query)
    cid = customer["customer_id"]
    engine = wh.make_engine(settings.db_url)
    try:
        with engine.connect() as conn:
            history = wh.load_score_history(conn, cid)
            attended = pd.DataFrame(
                conn.execute(
                    sa.select(wh.attendance).where(wh.attendance.c.customer_id == cid)
                    .order_by(wh.attendance.c.event_date)
                ).mappings().all()
            )
    finally:
        engine.dispose()
    lines = [f"# {customer['name']} ({cid})", "",
             f"CSM: {customer['csm_owner']} · ARR: {customer['arr']:,.0f} · usage health: "
             f"{customer['usage_health']:.0f} · customer since {pd.Timestamp(customer['customer_since']).date()}",
             ""]
    if history.empty:
        lines.append("Not scored yet: run the pipeline (make run, or engagement-pipeline score FILE...).")
    else:
        latest = history.iloc[-1]
        parts = json.loads(latest["components"])
        score = "not scored" if pd.isna(latest["score"]) else f"{latest['score']:.1f}"
        lines += [f"Score {score} ({latest['band']}) as of {latest['as_of']}, trend: {latest['trend'] or 'n/a'}",
                  "", "| component | value | status | points |", "|---|---|---|---|"]
        for name in COMPONENTS:
            value = parts.get(name)
            shown = "n/a" if value is None else f"{value:.2f}"
            points = parts.get(f"contrib_{name}")
            lines.append(f"| {name} | {shown} | {parts.get(f'{name}_status', '')} | "
                         f"{'' if points is None else f'{points:.1f}'} |")
        lines += ["", f"Weakest component: {parts.get('weakest_component', 'n/a')}. "
                  f"Events attended {parts.get('events_attended')} of {parts.get('events_held')} held; "
                  f"{parts.get('users')} people."]
        if len(history) > 1:
            lines += ["", "Score history: " + ", ".join(
                f"{r.as_of}: {'n/a' if pd.isna(r.score) else f'{r.score:.1f}'}" for r in history.itertuples())]
    lines += ["", "## Attendance history", ""]
    if attended.empty:
        lines.append("No attendance recorded.")
    else:
        lines += ["| date | event | type | person | attended | minutes | role |", "|---|---|---|---|---|---|---|"]
        for r in attended.itertuples():
            who = r.attendee_name or r.attendee_email or r.attendee_key
            lines.append(f"| {pd.Timestamp(r.event_date).date()} | {r.event_name} | {r.event_type} | {who} | "
                         f"{'yes' if r.attended else 'no-show'} | {r.minutes_attended:.0f} | {r.role} |")
    return "\n".join(lines)
