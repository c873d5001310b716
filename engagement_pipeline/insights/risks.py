"""Engagement risks: customers whose attendance shows a *tested* decline, ordered by the ARR at stake.

Only the trend module's 'declining' state (a rate-ratio test of the current vs the previous window) counts;
a lower score alone is not a risk signal, because recency decays for everyone between events. The reason is
a sentence a CSM can read aloud on a call, built only from the trend's own figures.
"""

from __future__ import annotations

import math

import pandas as pd

from engagement_pipeline.config import ScoringConfig

RISK_COLUMNS: tuple[str, ...] = (
    "customer_id", "customer_name", "score", "band", "events_current", "events_previous", "events_missed",
    "rate_ratio", "p_value", "csm_owner", "arr", "reason",
)


def format_p(p: float) -> str:
    """p-values as people read them: 'p=0.05', 'p=0.012', 'p<0.001'."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "p not tested"
    return "p<0.001" if p < 0.001 else f"p={p:.2g}"


def _events(n: int) -> str:
    return f"{n} event" if n == 1 else f"{n} events"


def risk_reason(events_current: int, events_previous: int, p_value: float, events_missed: int,
                window_months: int = 6, held_current: int | None = None, held_previous: int | None = None) -> str:
    """The risk sentence, e.g. 'attended 2 of 9 events in the last 6 months vs 8 of 9 in the 6 before
    (p=0.05); missed the last 4 events in a row'. The events held are quoted because the test compares
    attendance *rates*: 3 of 3 after 6 of 12 is not a decline, though 3 is fewer than 6."""
    if held_current is not None and held_previous is not None:
        text = (f"attended {events_current} of {_events(held_current)} in the last {window_months} months vs "
                f"{events_previous} of {held_previous} in the {window_months} before ({format_p(p_value)})")
    else:
        text = (f"attended {_events(events_current)} in the last {window_months} months vs {events_previous} "
                f"in the {window_months} before ({format_p(p_value)})")
    if events_missed == 1:
        text += "; missed the last event"
    elif events_missed > 1:
        text += f"; missed the last {events_missed} events in a row"
    return text


def engagement_risks(scores: pd.DataFrame, trends: pd.DataFrame, customers: pd.DataFrame,
                     trend_window_days: int | None = None) -> pd.DataFrame:
    """Declining customers with score, CRM owner and ARR; largest ARR first, then lowest score."""
    window = trend_window_days or ScoringConfig().trend_window_days
    months = max(1, round(window / 30.44))
    declining = trends.loc[trends["trend"] == "declining"]
    if declining.empty:
        return pd.DataFrame(columns=list(RISK_COLUMNS))
    crm = customers[["customer_id", "name", "csm_owner", "arr"]]
    merged = (
        declining.drop(columns=["last_attended"], errors="ignore")
        .merge(scores[["customer_id", "customer_name", "score", "band"]], on="customer_id", how="left")
        .merge(crm, on="customer_id", how="left")
    )
    merged["customer_name"] = merged["customer_name"].fillna(merged["name"])
    for column in ("events_current", "events_previous", "events_missed"):
        merged[column] = merged[column].fillna(0).astype(int)
    has_held = {"held_current", "held_previous"} <= set(merged.columns)
    merged["reason"] = [
        risk_reason(r.events_current, r.events_previous, r.p_value, r.events_missed, months,
                    int(r.held_current) if has_held else None, int(r.held_previous) if has_held else None)
        for r in merged.itertuples()
    ]
    merged = merged.sort_values(["arr", "score", "customer_name"], ascending=[False, True, True],
                                na_position="last", ignore_index=True)
    return merged[list(RISK_COLUMNS)]
