"""The action tables as the Dagster assets use them: each `store_*`/`load_*` is one transaction of its own.

The assets (defs/actions/assets.py) call these and never open the engine, as the engagement assets call
`warehouse.store_*`/`load_*`; the SQL itself stays in `risks`, `health`, `conversion` and `tables`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy.engine import Engine

from engagement_pipeline.warehouse.action_tables import advocacy_opportunities, invitations, read_table
from engagement_pipeline.warehouse.store import write_lock

from . import conversion, health, risks
from .report import uplift_table


def load_advocacy_opportunities(engine: Engine) -> tuple[pd.DataFrame, dict[str, float | int | None]]:
    """Every advocacy opportunity, and the advocacy conversion rate over them."""
    with engine.connect() as conn:
        return read_table(conn, advocacy_opportunities), conversion.advocacy_conversion(conn)


def load_invitations(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return read_table(conn, invitations)


@dataclass(frozen=True)
class SignalSync:
    open_signals: pd.DataFrame  # with `created_now`: opened by this sync
    counts: dict[str, int]


def store_risk_signals(engine: Engine, causes: pd.DataFrame, as_of: date) -> SignalSync:
    """One open signal per (customer, cause), resolved when the cause is gone; which ones this call opened."""
    with engine.begin() as conn:
        write_lock(conn)  # before `before`: a concurrent run's signals must not be reported as opened by this one
        before = set(risks.open_signals(conn)["signal_id"])
        counts = risks.sync_risk_signals(conn, causes, as_of)
        frame = risks.open_signals(conn)
    frame["created_now"] = ~frame["signal_id"].isin(before)
    return SignalSync(frame, counts)


def store_outreach_tasks(engine: Engine, engagement_risks: pd.DataFrame, contacts: pd.DataFrame,
                         as_of: date) -> tuple[int, pd.DataFrame]:
    """(tasks created, every open task)."""
    with engine.begin() as conn:
        created = risks.sync_outreach_tasks(conn, engagement_risks, contacts, as_of)
        return created, risks.open_tasks(conn)


def store_health(engine: Engine, as_of: date, blended: pd.DataFrame) -> int:
    with engine.begin() as conn:
        return health.store_health(conn, as_of, blended)


@dataclass(frozen=True)
class Conversion:
    newly_converted: int
    invitations: pd.DataFrame  # per event and "All events"
    advocacy: dict[str, float | int | None]
    uplift: pd.DataFrame


def store_conversions(engine: Engine, attendance: pd.DataFrame, advocacy_candidates: pd.DataFrame) -> Conversion:
    """Marks invitations converted by the attendance, then reads every conversion figure in the same transaction."""
    with engine.begin() as conn:
        marked = conversion.mark_conversions(conn, attendance)
        table = conversion.invitation_conversion(conn, attendance)
        advocacy = conversion.advocacy_conversion(conn)
        lift = uplift_table(conn, attendance, conversion.advocacy_outcomes(conn, advocacy_candidates, attendance))
    return Conversion(marked, table, advocacy, lift)
