"""`engagement_trends`: recent absence against the customer's own past and the population's (issue 9).

Hand-computed pieces (the beta-binomial tail, the CUSUM steps, the method-of-moments prior) and the
behaviour on small histories: a regular who stops is declining; a steady customer is not; a customer that
never attended has nothing to decline from; an occasional customer missing a few is not news.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import betabinom

from engagement_pipeline.config import ScoringConfig
from engagement_pipeline.scoring import absence_test, engagement_trends, population_prior
from engagement_pipeline.scoring.trends import _attended_matrix, _per_distinct, bernoulli_cusum, recovered

AS_OF = "2024-12-31"
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


def test_a_regular_who_stops_is_declining_with_its_evidence() -> None:
    # 8 of 9 before, then c0, c1 and nothing since: 7 events missed in a row.
    row = _trends().loc["DEC"]
    assert row["trend"] == "declining"
    assert row["events_missed"] == 7  # c2 … c8
    assert row["last_attended"] == DATES["c1"]
    assert row["events_current"] < row["expected_current"] / 2
    assert row["p_value"] < ScoringConfig().trend_alpha or row["evidence"] == "cusum"
    assert (row["usual_type"], row["usual_type_missed"]) == ("webinar", 7)
    assert (row["people"], row["people_lapsed"]) == (2, 2)  # dec1 and dec2 both gone since July


def test_steady_attendance_is_stable() -> None:
    assert _trends().loc["STAB", "trend"] == "stable"


def test_two_then_seven_is_rising() -> None:
    assert _trends().loc["RISE", "trend"] == "rising"


def test_never_attended_is_not_a_decline() -> None:
    # NEVER joined 2024-10-01: c4 (10-03) … c8 (12-22) were held for it; its c7 registration is no attendance.
    row = _trends().loc["NEVER"]
    assert row["trend"] != "declining"
    assert (row["held_current"], row["events_missed"]) == (5, 5)
    assert pd.isna(row["last_attended"])


def test_one_and_one_is_not_declining() -> None:
    row = _trends().loc["INS"]
    assert row["trend"] in ("stable", "insufficient_data")
    assert row["events_missed"] == 0  # attended the latest event


def test_a_new_customer_attending_is_not_declining() -> None:
    assert _trends().loc["NEW", "trend"] != "declining"


def _small(attended: tuple[int, ...], current_held: int) -> pd.Series:
    """Issue 9's low-attendance customer: the `attended` of 16 events, then 0 of `current_held`; 30 peers at 50%."""
    days = pd.date_range("2024-01-03", periods=16 + current_held, freq="11D")
    events = pd.DataFrame({"event_id": [f"e{i}" for i in range(len(days))], "event_type": "webinar",
                           "event_date": days, "duration_minutes": 60.0})
    rows = [{"event_id": f"e{i}", "event_type": "webinar", "event_date": days[i], "attendee_key": "s@x.com",
             "customer_id": "SMALL", "attended": True} for i in attended]
    rows += [{"event_id": f"e{i}", "event_type": "webinar", "event_date": days[i], "attendee_key": f"p{c}@y.com",
              "customer_id": f"P{c}", "attended": True} for c in range(30) for i in range(len(days)) if (i + c) % 2]
    ids = ["SMALL", *(f"P{c}" for c in range(30))]
    customers = pd.DataFrame({"customer_id": ids, "name": ids, "customer_since": pd.Timestamp("2023-01-01")})
    return engagement_trends(pd.DataFrame(rows), events, customers, days[-1]).set_index("customer_id").loc["SMALL"]


@pytest.mark.parametrize(("attended", "current_held"), [((2, 8, 14), 16), ((1, 5, 9, 13), 12)])
def test_low_attendance_customer_that_stops_is_judged(attended: tuple[int, ...], current_held: int) -> None:
    # 3 of 16 then 0 of 16; 4 of 16 then 0 of 12: the old 182-day rate-ratio test said 'insufficient data'
    # and 'stable' for these (issue 9).
    row = _small(attended, current_held)
    assert row["trend"] == "declining"
    assert row["events_missed"] >= current_held


def test_an_occasional_customer_missing_a_few_is_not_news() -> None:
    assert _small((5, 10, 15), 4)["trend"] != "declining"  # 3 of 16, then 4 missed


def test_absence_tail_is_the_beta_binomial_of_the_baseline_posterior() -> None:
    got = absence_test(pd.Series([1]), pd.Series([9]), pd.Series([6]), pd.Series([10]), (2.0, 3.0)).iloc[0]
    assert got["p_lower"] == pytest.approx(betabinom.cdf(1, 9, 8, 7))
    assert got["p_upper"] == pytest.approx(betabinom.sf(0, 9, 8, 7))
    assert got["expected"] == pytest.approx(9 * 8 / 15)


def test_cusum_steps_by_hand() -> None:
    # p0 = .8, p1 = .28: a miss adds ln(.72/.2) = 1.2809, an attendance adds ln(.35) = -1.0498, floored at 0.
    attended = np.array([[True, False, False, False], [False, True, False, False]])
    held = np.ones_like(attended)
    stat, begin = bernoulli_cusum(attended, held, np.array([0.8, 0.8]), 0.35)
    assert stat[0] == pytest.approx(3 * math.log(0.72 / 0.2))
    assert begin[0] == 1  # the run above zero began at the first miss
    assert stat[1] == pytest.approx(math.log(0.72 / 0.2) + math.log(0.35) + 2 * math.log(0.72 / 0.2))
    assert begin[1] == 0


def test_population_prior_by_the_method_of_moments() -> None:
    attended = pd.Series([2, 5, 8, 4, 6, 3])
    held = pd.Series([10] * 6)
    a, b = population_prior(attended, held)
    rates = attended / held
    mu = rates.mean()
    between = rates.var(ddof=1) - (rates * (1 - rates) / held).mean()
    strength = mu * (1 - mu) / between - 1
    assert (a, b) == pytest.approx((mu * strength, (1 - mu) * strength))


def test_population_prior_falls_back_for_few_customers() -> None:
    a, b = population_prior(pd.Series([3, 1]), pd.Series([10, 10]))
    assert (a, b) == pytest.approx((0.2 * 2, 0.8 * 2))


def _history(attended: dict[str, list[int]], n_events: int, start: str = "2024-01-03", step: int = 11,
             peers: int = 30) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    """Events every `step` days; `attended` maps a person of customer X to the event numbers they came to;
    `peers` customers of one person each attend every other event (the population the prior is fitted on)."""
    days = pd.date_range(start, periods=n_events, freq=f"{step}D")
    events = pd.DataFrame({"event_id": [f"e{i}" for i in range(n_events)], "event_type": "webinar",
                           "event_date": days, "duration_minutes": 60.0})
    rows = [{"event_id": f"e{i}", "event_type": "webinar", "event_date": days[i], "attendee_key": person,
             "customer_id": "X", "attended": True} for person, numbers in attended.items() for i in numbers]
    rows += [{"event_id": f"e{i}", "event_type": "webinar", "event_date": days[i], "attendee_key": f"p{c}@y.com",
              "customer_id": f"P{c}", "attended": True} for c in range(peers) for i in range(n_events) if (i + c) % 2]
    ids = ["X", *(f"P{c}" for c in range(peers))]
    customers = pd.DataFrame({"customer_id": ids, "name": ids, "customer_since": pd.Timestamp("2020-01-01")})
    return pd.DataFrame(rows), events, customers, days[-1]


def test_thirteen_of_seventeen_then_seven_missed_is_declining() -> None:
    # Issue 9's regular: 13 of its first 17 events, then the 7 since all missed.
    came = [i for i in range(17) if i not in (2, 6, 10, 14)]
    row = engagement_trends(*_history({"a@x.com": came}, 24)).set_index("customer_id").loc["X"]
    assert row["trend"] == "declining"
    assert row["events_missed"] == 7
    assert row["usual_type_missed"] == 7


def test_three_regulars_thinning_to_one_is_declining_before_events_are_missed() -> None:
    # Three people each at every event for 30 events; then only one of them, at every other event: the account
    # still "attended" 5 of the last 10, but its people filled 5 of 30 places where about 28 were expected.
    people = {f"{n}@x.com": list(range(30)) for n in "abc"}
    people["a@x.com"] += list(range(30, 40, 2))
    row = engagement_trends(*_history(people, 40)).set_index("customer_id").loc["X"]
    assert row["trend"] == "declining"
    assert row["evidence"].startswith("people_")
    assert row["events_missed"] <= 1
    assert (row["people"], row["people_lapsed"]) == (3, 2)


def test_one_person_coming_every_other_time_is_not_the_people_look() -> None:
    # One person at every other event throughout: the account look needs >= 2 people seen in the baseline.
    row = engagement_trends(*_history({"a@x.com": list(range(0, 40, 2))}, 40)).set_index("customer_id").loc["X"]
    assert row["trend"] == "stable"


def test_a_lull_in_the_same_weeks_last_year_is_seasonal_not_a_decline() -> None:
    # Weekly events for two years; the customer comes to all of them except weeks 27-35 of each year (a summer
    # lull). As of week 35 of the second year it has missed 9 in a row, exactly as a year ago: not news.
    lull = {w for year in (0, 52) for w in range(year + 26, year + 35)}
    came = [i for i in range(87) if i not in lull]
    data = _history({"a@x.com": came}, 87, start="2023-01-04", step=7)
    assert engagement_trends(*data).set_index("customer_id").loc["X", "trend"] != "declining"
    # The same customer without last year's lull (it came all of last summer) is declining.
    came_then = [i for i in range(87) if i not in lull or i < 52]
    data = _history({"a@x.com": came_then}, 87, start="2023-01-04", step=7)
    assert engagement_trends(*data).set_index("customer_id").loc["X", "trend"] == "declining"


def test_a_baseline_of_three_events_is_too_little_to_decline_from() -> None:
    # A customer first seen at the 3 events of its first month (since = then), then 8 missed: its "past" is
    # three events, less than trend_min_events, so the beta-binomial looks do not judge it.
    attendance, events, customers, day = _history({"a@x.com": [0, 1, 2]}, 11, step=10)
    customers.loc[customers["customer_id"] == "X", "customer_since"] = pd.Timestamp("2024-01-01")
    row = engagement_trends(attendance, events, customers, day, ScoringConfig(trend_cusum_threshold=99)
                            ).set_index("customer_id").loc["X"]
    assert row["trend"] != "declining"


def test_absence_test_per_distinct_row_is_bit_for_bit_scipys_elementwise_result() -> None:
    x = pd.Series([0, 2, 2, 5, 0, 2, 7])
    n = np.array([4, 6, 6, 9, 0, 6, 7])
    a, b = pd.Series([1.5, 2.0, 2.0, 3.5, 1.0, 2.0, 9.0]), pd.Series([2.5, 4.0, 4.0, 1.0, 1.0, 4.0, 0.5])
    for fn in (betabinom.cdf, betabinom.sf):
        expected = fn(x, n, a, b)
        got = _per_distinct(fn, x, n, a, b)
        assert np.array_equal(got, expected, equal_nan=True) and got.dtype == expected.dtype


def test_attended_matrix_marks_each_customers_events_also_with_a_repeated_event_id() -> None:
    customers = pd.Index(["C1", "C2", "C3"])
    att_c, att_e = pd.Series(["C1", "C3", "C3", "C9"]), pd.Series(["e2", "e1", "e2", "e1"])
    assert _attended_matrix(customers, pd.Series(["e1", "e2", "e3"]), att_c, att_e).tolist() == [
        [False, True, False], [False, False, False], [True, True, False]]
    assert _attended_matrix(customers, pd.Series(["e1", "e1"]), att_c, att_e).tolist() == [
        [False, False], [False, False], [True, True]]


def test_came_to_two_of_the_last_three_is_recovered() -> None:
    # Customers × events in date order; a False in `held` is an event before the customer's since.
    attended = np.array([[1, 1, 0, 0, 0, 0, 1, 0, 1],   # 2 of the last 3: back
                         [1, 1, 1, 1, 1, 0, 0, 0, 1],   # 1 of the last 3: not back
                         [0, 0, 0, 0, 0, 0, 0, 1, 1]], dtype=bool)  # 2 of 2 held: too few held to say
    held = np.ones_like(attended)
    held[2, :7] = False
    assert recovered(attended, held, 2, 3).tolist() == [True, False, False]
    assert recovered(attended, held, 0, 3).tolist() == [False, False, False]  # 0: the check is off


def test_one_attendance_then_silence_is_no_streak_to_decline_from() -> None:
    # Came once (event 12 of 30), then 17 missed. The streak's baseline ends on that attendance, so it always
    # holds one success; without it there is no past rate (it read as 1 of 13, and the silence as a decline).
    data = _history({"a@x.com": [12]}, 30, step=10)
    config = ScoringConfig(trend_cusum_threshold=99, trend_people_alpha=0)
    assert engagement_trends(*data, config).set_index("customer_id").loc["X", "trend"] != "declining"
    twice = _history({"a@x.com": [11, 12]}, 30, step=10)  # two in a row, then 17 missed: 1 of 12 before
    row = engagement_trends(*twice, config).set_index("customer_id").loc["X"]
    assert (row["trend"], row["evidence"], row["events_previous"]) == ("declining", "streak", 1)
