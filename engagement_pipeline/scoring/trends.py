"""Rising / stable / declining engagement, from an exact test rather than "score now vs score before".

Counts x1, x0 are the distinct events a customer attended in the current trend window (as_of − T, as_of]
and the previous one (as_of − 2T, as_of − T]; e1, e0 the events held for it in each (since customer_since).
Under "same attendance rate", `x1 | x0 + x1 ~ Binomial(x0 + x1, e1 / (e0 + e1))` (the conditional test for a
ratio of two rates, SCORING_ANCHORS.md §3.7). The one-sided p-value in the observed direction says how
surprising the change is. A sign flip of a noisy score (Gainsight's arrow) is what users call misleading;
with few events we say 'insufficient_data' instead of guessing.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from engagement_pipeline.config import ScoringConfig
from engagement_pipeline.scoring.composite import (
    DEFAULT_CONFIG,
    as_of_day,
    attended_rows,
    customer_frame,
    event_table,
    held_since,
)

TREND_COLUMNS: tuple[str, ...] = (
    "customer_id", "trend", "events_current", "events_previous", "held_current", "held_previous",
    "rate_ratio", "p_value", "events_missed", "last_attended",
)


def rate_ratio_test(x1: pd.Series, e1: pd.Series, x0: pd.Series, e0: pd.Series) -> pd.DataFrame:
    """Rate ratio `(x1/e1)/(x0/e0)` and the one-sided exact conditional binomial p-value.

    Same numbers as `scipy.stats.binomtest(x1, x0 + x1, e1/(e0 + e1), alternative=...)` with 'less' when
    the current rate is lower and 'greater' otherwise, computed with the vectorised binomial cdf/sf so that
    thousands of customers need no Python loop. rate_ratio is +inf when x0 = 0 < x1 and NaN when a window
    held nothing or nothing was attended in either; p_value is NaN when a window held nothing or x0+x1 = 0.
    """
    from scipy.stats import binom  # imported here: scipy.stats is ~1.4 s of every run's code-location import

    x1, e1, x0, e0 = (s.astype(float) for s in (x1, e1, x0, e0))
    n = x0 + x1
    defined = (e0 > 0) & (e1 > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = ((x1 / e1) / (x0 / e0)).where(defined & (n > 0))
        p_null = (e1 / (e0 + e1)).where(defined)
    lower = x1 * e0 < x0 * e1
    p_less = binom.cdf(x1, n, p_null)
    p_greater = binom.sf(x1 - 1, n, p_null)
    p_value = pd.Series(np.where(lower, p_less, p_greater), index=x1.index).clip(upper=1.0)
    return pd.DataFrame({"rate_ratio": ratio, "p_value": p_value.where(defined & (n > 0))})


def classify(x1: pd.Series, e1: pd.Series, x0: pd.Series, e0: pd.Series, rate_ratio: pd.Series,
             p_value: pd.Series, min_events: int, alpha: float) -> pd.Series:
    """insufficient_data: x0+x1 < min_events or a window held no event; else a tested direction or stable."""
    insufficient = (x0 + x1 < min_events) | (e0 <= 0) | (e1 <= 0)
    significant = p_value < alpha
    trend = np.select(
        [insufficient, significant & (rate_ratio < 1), significant & (rate_ratio > 1)],
        ["insufficient_data", "declining", "rising"],
        default="stable",
    )
    return pd.Series(trend, index=x1.index)


def engagement_trends(attendance: pd.DataFrame, events: pd.DataFrame, customers: pd.DataFrame,
                      as_of: date | pd.Timestamp | str, config: ScoringConfig = DEFAULT_CONFIG) -> pd.DataFrame:
    """One row per CRM customer: trend, window counts, rate ratio, p-value, events missed in a row."""
    day = as_of_day(as_of)
    cust = customer_frame(customers)
    idx = cust.index
    span = pd.Timedelta(days=config.trend_window_days)
    table = event_table(events, attendance, day)
    current = table["event_day"] > day - span
    previous = (table["event_day"] > day - 2 * span) & ~current
    e1 = held_since(table.loc[current, "event_day"], cust["since"])
    e0 = held_since(table.loc[previous, "event_day"], cust["since"])

    distinct = attended_rows(attendance, table, cust).drop_duplicates(["customer_id", "event_id"])
    in_current = distinct["event_day"] > day - span
    in_previous = (distinct["event_day"] > day - 2 * span) & ~in_current
    x1 = distinct.loc[in_current].groupby("customer_id").size().reindex(idx, fill_value=0)
    x0 = distinct.loc[in_previous].groupby("customer_id").size().reindex(idx, fill_value=0)
    last = distinct.groupby("customer_id")["event_day"].max().reindex(idx)

    # Missed in a row: events held after the last attended day (or since customer_since if never attended).
    after = pd.concat([cust["since"], last + pd.Timedelta(days=1)], axis=1).max(axis=1)
    missed = held_since(table["event_day"], after)

    tested = rate_ratio_test(x1, e1, x0, e0)
    trend = classify(x1, e1, x0, e0, tested["rate_ratio"], tested["p_value"], config.trend_min_events,
                     config.trend_alpha)
    out = pd.DataFrame({
        "customer_id": idx, "trend": trend, "events_current": x1, "events_previous": x0,
        "held_current": e1, "held_previous": e0, "rate_ratio": tested["rate_ratio"],
        "p_value": tested["p_value"], "events_missed": missed, "last_attended": last,
    }, index=idx)
    return out[list(TREND_COLUMNS)].reset_index(drop=True)
