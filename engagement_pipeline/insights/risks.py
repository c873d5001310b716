"""Engagement risks: customers whose attendance shows a *tested* decline, ordered by the ARR at stake.

Only the trend module's 'declining' state (recent absence judged against the customer's own past and the
population's, scoring/trends.py) counts; a lower score alone is not a risk signal, because recency decays for
everyone between events. The reason is a sentence a CSM can read aloud on a call, built only from the
trend's own figures: "missed the last 6 events in a row, including 4 webinars it would usually attend;
attended 1 of 9 events since 12 June where about 5 were expected from its past; 2 of its 3 people have not
attended since June".
"""

from __future__ import annotations

import math
from datetime import date

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


def _date(value: object) -> str:
    day = pd.Timestamp(value)
    return f"{day.day} {day:%B}"


def _type_words(event_type: str, n: int) -> str:
    words = {"webinar": "webinar", "training": "training", "user_group": "user group", "conference": "conference",
             "other": "event"}.get(event_type, event_type.replace("_", " "))
    return f"{n} {words}" if n == 1 else f"{n} {words}s" if not words.endswith("s") else f"{n} {words}"


def chance_words(p: float) -> str:
    """The p-value as a CSM would say it: 'a drop this large happens by chance about 1 time in 40'."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return ""
    if p < 0.001:
        return "a drop this large would happen by chance less than 1 time in 1,000"
    odds = max(2, round(1 / p))
    odds = int(float(f"{odds:.2g}"))  # two significant figures: 1 in 296 reads as 1 in 300
    return f"a drop this large would happen by chance about 1 time in {odds:,}"


def decline_reason(row: object) -> str:
    """The plain-words reason for one declining trend row (columns of scoring.trends.TREND_COLUMNS)."""
    parts = []
    missed = int(getattr(row, "events_missed", 0) or 0)
    usual, usual_missed = getattr(row, "usual_type", None), int(getattr(row, "usual_type_missed", 0) or 0)
    if missed >= 2:
        text = f"missed the last {missed} events in a row"
        if isinstance(usual, str) and usual_missed >= 2:
            text += f", including {_type_words(usual, usual_missed)} it would usually attend"
        parts.append(text)
    held, got = int(row.held_current), int(row.events_current)
    expected = getattr(row, "expected_current", float("nan"))
    window = int(getattr(row, "window_days", 0) or 0)
    if held > 0 and expected == expected:
        start = pd.Timestamp(row.as_of) - pd.Timedelta(days=window) if hasattr(row, "as_of") and window else None
        span = f"since {_date(start)}" if start is not None else f"in the last {max(1, round(window / 7))} weeks"
        parts.append(f"attended {got} of {_events(held)} {span} where about {expected:.0f} were expected from "
                     f"its past ({row.events_previous} of {row.held_previous} before)")
    people, lapsed = int(getattr(row, "people", 0) or 0), int(getattr(row, "people_lapsed", 0) or 0)
    if people and lapsed:
        since = getattr(row, "people_lapsed_since", None)
        when = f" since {pd.Timestamp(since):%B}" if since is not None and pd.notna(since) else ""
        if people == 1:
            parts.append(f"its only person has not attended{when}")
        elif lapsed == people:
            parts.append(f"none of its {people} people has attended{when}")
        else:
            verb = "has" if lapsed == 1 else "have"  # "1 of its 3 people has", "2 of its 3 people have"
            parts.append(f"{lapsed} of its {people} people {verb} not attended{when}")
    chance = chance_words(row.p_value)
    if chance:
        parts.append(chance)
    return "; ".join(parts)


def trend_words(row: object, min_events: int = 4) -> str:
    """A stable, rising or untested trend in the same plain words as a decline's reason, from the trend
    row's own figures: 'attended 5 of 9 events in the last 16 weeks where about 5 were expected from its past
    (12 of 20 before): about as often as before'."""
    trend = getattr(row, "trend", None) or "insufficient_data"
    if trend == "declining":
        return decline_reason(row)
    held, got = int(getattr(row, "held_current", 0) or 0), int(getattr(row, "events_current", 0) or 0)
    held_before = int(getattr(row, "held_previous", 0) or 0)
    got_before = int(getattr(row, "events_previous", 0) or 0)
    weeks = max(1, round(int(getattr(row, "window_days", 0) or 0) / 7))
    if trend == "insufficient_data":
        return (f"too little history to judge a trend yet: {_events(held + held_before)} held for it in the "
                f"last {weeks} weeks and the months before, at least {min_events} are needed")
    expected = getattr(row, "expected_current", float("nan"))
    text = f"attended {got} of {_events(held)} in the last {weeks} weeks"
    if expected == expected and expected is not None:
        text += f" where about {expected:.0f} were expected from its past ({got_before} of {held_before} before)"
    return text + (": coming more often than before" if trend == "rising" else ": about as often as before")


def engagement_risks(scores: pd.DataFrame, trends: pd.DataFrame, customers: pd.DataFrame,
                     trend_window_days: int | None = None, as_of: date | None = None) -> pd.DataFrame:
    """Declining customers with score, CRM owner and ARR; largest ARR first, then lowest score.

    `as_of`: the run's scoring date (the pipeline passes it); without it, the date the scores carry."""
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
    if "expected_current" in merged.columns:
        if as_of is None:
            as_of = scores["as_of"].iloc[0] if "as_of" in scores.columns and len(scores) else None
        dated = merged.assign(as_of=as_of) if as_of is not None else merged
        merged["reason"] = [decline_reason(r) for r in dated.itertuples()]
    else:  # trends from before the absence test (stored history): the old sentence
        merged["reason"] = [
            risk_reason(r.events_current, r.events_previous, r.p_value, r.events_missed, months,
                        int(r.held_current) if has_held else None, int(r.held_previous) if has_held else None)
            for r in merged.itertuples()
        ]
    merged = merged.sort_values(["arr", "score", "customer_name"], ascending=[False, True, True],
                                na_position="last", ignore_index=True)
    return merged[list(RISK_COLUMNS)]
