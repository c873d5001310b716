"""`engagement_trends`: the exact rate-ratio test on hand-computed cases, and events missed in a row."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from scipy.stats import binomtest

from engagement_pipeline.config import ScoringConfig
from engagement_pipeline.scoring import engagement_trends, rate_ratio_test

AS_OF = "2024-12-31"
# trend_window_days = 182: current = (2024-07-02, 2024-12-31], previous = (2024-01-01, 2024-07-02].
# Nine events in each half, 20 days apart: p0 2024-01-15 … p8 2024-06-23, c0 2024-07-15 … c8 2024-12-22.
PREVIOUS = [f"p{i}" for i in range(9)]
CURRENT = [f"c{i}" for i in range(9)]
DATES = {
    **{e: pd.Timestamp("2024-01-15") + pd.Timedelta(days=20 * i) for i, e in enumerate(PREVIOUS)},
    **{e: pd.Timestamp("2024-07-15") + pd.Timedelta(days=20 * i) for i, e in enumerate(CURRENT)},
}
EVENTS = pd.DataFrame({"event_id": list(DATES), "event_name": list(DATES), "event_type": "webinar",
                       "event_date": list(DATES.values()), "duration_minutes": 60.0})
ATTENDED = {
    "DEC": PREVIOUS[:8] + CURRENT[:2],  # 8 of 9, then 2 of 9
    "RISE": PREVIOUS[:2] + CURRENT[:7],  # 2 of 9, then 7 of 9
    "STAB": PREVIOUS[:4] + CURRENT[:4],  # 4 and 4
    "INS": PREVIOUS[:1] + CURRENT[8:],  # 1 and 1
    "NEW": CURRENT[:6],  # joined 2024-07-10: nothing held for it in the previous window
    "NEVER": [],
}
SINCE = {"NEW": "2024-07-10", "NEVER": "2024-10-01"}


def _attendance() -> pd.DataFrame:
    rows = [{"event_id": e, "event_name": e, "event_type": "webinar", "event_date": DATES[e],
             "attendee_key": f"{c.lower()}1@x.com", "customer_id": c, "attended": True, "registered": True,
             "minutes_attended": 60.0, "questions_asked": 0, "polls_answered": 0,
             "feedback_submitted": False, "role": "attendee"}
            for c, events in ATTENDED.items() for e in events]
    second_person = {**rows[0], "attendee_key": "dec2@x.com"}  # two people at one event: still one event
    no_show = {**rows[0], "attendee_key": "never1@x.com", "customer_id": "NEVER", "event_id": "c7",
               "event_date": DATES["c7"], "attended": False, "minutes_attended": 0.0}
    return pd.DataFrame([*rows, second_person, no_show])


def _trends(config: ScoringConfig | None = None) -> pd.DataFrame:
    customers = pd.DataFrame({"customer_id": list(ATTENDED), "name": list(ATTENDED),
                              "customer_since": [pd.Timestamp(SINCE.get(c, "2023-01-01")) for c in ATTENDED]})
    trends = engagement_trends(_attendance(), EVENTS, customers, AS_OF, config or ScoringConfig())
    return trends.set_index("customer_id")


def test_eight_of_nine_then_two_of_nine_is_declining() -> None:
    # x1 = 2 | n = 10 ~ Binomial(10, 9/18 = 0.5); one-sided 'less':
    # P(X <= 2) = (C(10,0) + C(10,1) + C(10,2)) / 2^10 = (1 + 10 + 45)/1024 = 56/1024 = 0.0546875 < 0.10.
    row = _trends().loc["DEC"]
    assert (row["events_previous"], row["events_current"], row["held_previous"], row["held_current"]) == (
        8, 2, 9, 9)
    assert row["rate_ratio"] == pytest.approx((2 / 9) / (8 / 9))  # 0.25
    assert row["p_value"] == pytest.approx(56 / 1024)
    assert row["trend"] == "declining"
    assert row["events_missed"] == 7  # c2 … c8
    assert row["last_attended"] == DATES["c1"]


def test_two_then_seven_is_rising() -> None:
    # 'greater': P(X >= 7 | n = 9, p = .5) = (C(9,7) + C(9,8) + C(9,9))/2^9 = (36 + 9 + 1)/512 = 0.0898 < 0.10.
    row = _trends().loc["RISE"]
    assert row["p_value"] == pytest.approx(46 / 512)
    assert row["rate_ratio"] == pytest.approx(3.5)
    assert row["trend"] == "rising"
    assert row["events_missed"] == 2


def test_four_and_four_is_stable() -> None:
    # Rate ratio 1: P(X >= 4 | n = 8, p = .5) = (70 + 56 + 28 + 8 + 1)/256 = 163/256.
    row = _trends().loc["STAB"]
    assert row["rate_ratio"] == pytest.approx(1.0)
    assert row["p_value"] == pytest.approx(163 / 256)
    assert row["trend"] == "stable"


def test_one_and_one_is_insufficient() -> None:
    row = _trends().loc["INS"]
    assert row["events_previous"] + row["events_current"] == 2 < ScoringConfig().trend_min_events
    assert row["trend"] == "insufficient_data"
    assert row["events_missed"] == 0  # attended the latest event


def test_a_window_without_events_is_insufficient_whatever_the_count() -> None:
    row = _trends().loc["NEW"]
    assert (row["held_previous"], row["held_current"], row["events_current"]) == (0, 9, 6)
    assert math.isnan(row["rate_ratio"]) and math.isnan(row["p_value"])
    assert row["trend"] == "insufficient_data"


def test_events_missed_counts_only_events_since_customer_since() -> None:
    # NEVER joined 2024-10-01: c4 (10-03) … c8 (12-22) were held for it; its c7 registration is no attendance.
    row = _trends().loc["NEVER"]
    assert (row["held_current"], row["events_missed"]) == (5, 5)
    assert pd.isna(row["last_attended"])


def test_alpha_from_config_decides_significance() -> None:
    strict = _trends(ScoringConfig(trend_alpha=0.05))
    assert strict.loc["DEC", "trend"] == "stable"  # p = 0.0547 is not < 0.05
    assert strict.loc["RISE", "trend"] == "stable"


@pytest.mark.parametrize(("x1", "e1", "x0", "e0"), [(2, 9, 8, 9), (7, 9, 2, 9), (3, 5, 1, 12), (0, 4, 6, 6)])
def test_vectorised_p_value_matches_scipy_binomtest(x1: int, e1: int, x0: int, e0: int) -> None:
    got = rate_ratio_test(*(pd.Series([v]) for v in (x1, e1, x0, e0))).iloc[0]
    side = "less" if x1 * e0 < x0 * e1 else "greater"
    assert got["p_value"] == pytest.approx(binomtest(x1, x0 + x1, e1 / (e0 + e1), alternative=side).pvalue)


def test_rate_ratio_is_infinite_when_nothing_was_attended_before() -> None:
    got = rate_ratio_test(pd.Series([5]), pd.Series([9]), pd.Series([0]), pd.Series([9])).iloc[0]
    assert got["rate_ratio"] == math.inf and got["p_value"] == pytest.approx(0.5 ** 5)
