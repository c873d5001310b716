"""The actions' part of the engagement report: open risks and tasks, health, conversion measures."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from engagement_pipeline import warehouse as wh

from . import uplift
from .conversion import advocacy_conversion, holdout_outcomes, invitation_conversion
from .health import health_history, health_update_sentence
from .risks import open_signals, open_tasks

__all__ = ["actions_report_sections", "health_update_sentence", "report_sections", "uplift_report"]

UPLIFT_TITLE = "Did invitations raise attendance? (randomised holdout)"
UPLIFT_ATTR = "uplift"  # conversion_summary.attrs[...]: the uplift table travels with the conversion table
ADVOCACY_ATTR = "advocacy"  # conversion_summary.attrs[...]: the advocacy conversion figures, for the report


def uplift_table(conn: sa.Connection, attendance: pd.DataFrame, advocacy: tuple | None = None) -> pd.DataFrame:
    """Per invited event and pooled, plus the observational advocacy row when `advocacy` outcomes are given."""
    table = uplift.attendance_uplift(holdout_outcomes(conn, attendance))
    if advocacy is not None:
        table = pd.concat([table, pd.DataFrame([uplift.advocacy_association(*advocacy)])], ignore_index=True)
    return table


def uplift_report(engine: Engine, attendance: pd.DataFrame | None = None) -> tuple[str, dict[str, float]]:
    """A small Markdown section answering "did invitations raise attendance?" and its numeric metrics."""
    with engine.connect() as conn:
        if attendance is None:
            attendance = pd.DataFrame(conn.execute(sa.select(wh.attendance)).mappings().all())
        table = uplift.attendance_uplift(holdout_outcomes(conn, attendance))
    return uplift.markdown_section(table), uplift.metrics(table)


def _uplift_display(table: pd.DataFrame) -> pd.DataFrame:
    if table is None or table.empty:
        return pd.DataFrame()
    shown = table[["event", "invited", "invited_attended", "held_out", "held_out_attended", "uplift", "uplift_low",
                   "uplift_high", "verdict"]]
    return shown.rename(columns={"event": "Event", "invited": "Invited", "invited_attended": "Attended (invited)",
                                 "held_out": "Held out", "held_out_attended": "Attended (held out)",
                                 "uplift": "Uplift", "uplift_low": "95% low", "uplift_high": "95% high",
                                 "verdict": "Verdict"})


def report_sections(signals: pd.DataFrame, tasks: pd.DataFrame, health: pd.DataFrame, conversion: pd.DataFrame,
                    advocacy: dict) -> list[tuple[str, pd.DataFrame]]:
    """(title, table) pairs to append to the report, in reading order; empty tables are left out.

    `health` is one scoring date's blended health; the others are what the tracking assets produce."""
    signals = signals[["customer_name", "cause", "detail", "as_of"]].rename(
        columns={"customer_name": "Customer", "cause": "Cause", "detail": "Detail", "as_of": "Since"})
    tasks = tasks[["customer_name", "csm_owner", "due_date", "suggested_action"]].rename(
        columns={"customer_name": "Customer", "csm_owner": "CSM", "due_date": "Due",
                 "suggested_action": "Suggested action"})
    if len(health):
        health = health[["customer_name", "usage_health", "engagement_score", "health_score"]].sort_values(
            "health_score", ignore_index=True).rename(
            columns={"customer_name": "Customer", "usage_health": "Usage health",
                     "engagement_score": "Engagement score", "health_score": "Health score"})
    sections = [
        ("Open risk signals", signals),
        ("Outreach tasks", tasks),
        ("Customer health (lowest first)", health),
        ("Invitation → attendance conversion", conversion),
        (UPLIFT_TITLE, _uplift_display(conversion.attrs.get(UPLIFT_ATTR))),
        ("Advocacy conversion", pd.DataFrame([advocacy]) if advocacy["opportunities"] else pd.DataFrame()),
    ]
    return [(title, frame) for title, frame in sections if len(frame)]


def actions_report_sections(engine: Engine) -> list[tuple[str, pd.DataFrame]]:
    """The same sections read back from the warehouse alone (the latest health date), outside a Dagster run."""
    with engine.connect() as conn:
        attendance = pd.DataFrame(conn.execute(sa.select(wh.attendance)).mappings().all())
        signals = open_signals(conn)
        tasks = open_tasks(conn)
        health = health_history(conn)
        conversion = invitation_conversion(conn, attendance) if len(attendance) else pd.DataFrame()
        if len(attendance):
            conversion.attrs[UPLIFT_ATTR] = uplift_table(conn, attendance)
        advocacy = advocacy_conversion(conn)
    if len(health):
        health = health.loc[health["as_of"] == health["as_of"].max()]
    return report_sections(signals, tasks, health, conversion, advocacy)
