"""`score_customers` on a small hand-computed history: statuses, re-normalised weights, as-of, rank."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from engagement_pipeline.config import COMPONENTS, ScoringConfig
from engagement_pipeline.scoring import score_customers

AS_OF = "2024-05-01"
# Four webinars (K = 1: diversity not applicable), 60 minutes each, one per month Jan–Apr 2024;
# w5 is after AS_OF and must never count when scoring as of AS_OF.
EVENTS = pd.DataFrame({
    "event_id": ["w1", "w2", "w3", "w4", "w5"],
    "event_name": ["W1", "W2", "W3", "W4", "W5"],
    "event_type": ["webinar"] * 5,
    "event_date": pd.to_datetime(["2024-01-15", "2024-02-15", "2024-03-02", "2024-04-15", "2024-06-01"]),
    "duration_minutes": [60.0] * 5,
})


def _row(event: str, customer: str | None, person: str, minutes: float = 60.0, questions: int = 0,
         feedback: bool = False, attended: bool = True, role: str = "attendee") -> dict:
    day = EVENTS.set_index("event_id").loc[event, "event_date"]
    return {"event_id": event, "event_name": event.upper(), "event_type": "webinar", "event_date": day,
            "attendee_key": person, "customer_id": customer, "attended": attended, "registered": True,
            "minutes_attended": minutes if attended else 0.0, "questions_asked": questions,
            "polls_answered": 0, "feedback_submitted": feedback, "role": role}


ROWS = [
    _row("w1", "A", "a1@acme.com"),
    _row("w3", "A", "a1@acme.com", minutes=30, questions=1),
    *[_row(e, "B", "b1@beta.com", feedback=True) for e in ("w1", "w2", "w4")],
    _row("w2", "C", "c1@cee.com", attended=False),  # registered, never came
    _row("w2", None, "someone@gmail.com"),  # unmatched: ignored
    _row("w2", "ZZZ", "x@unknown.com"),  # not a CRM customer: ignored
    _row("w5", "C", "c1@cee.com"),  # after AS_OF
]
CUSTOMERS = pd.DataFrame({
    "customer_id": ["A", "B", "C", "D"],
    "name": ["Acme", "Beta", "Cee", "Dee"],
    "customer_since": pd.to_datetime(["2023-01-01", "2023-01-01", "2023-01-01", "2024-04-20"]),
})
CONTACTS = pd.DataFrame({"customer_id": ["A", "B"], "email": ["a1@acme.com", "b1@beta.com"],
                         "name": ["A1", "B1"], "is_champion": [True, False]})


def _score(rows: list[dict] = ROWS, as_of: str = AS_OF, config: ScoringConfig | None = None,
           customers: pd.DataFrame = CUSTOMERS) -> pd.DataFrame:
    scores = score_customers(pd.DataFrame(rows), EVENTS, customers, CONTACTS, as_of, config or ScoringConfig())
    return scores.set_index("customer_id", drop=False)


# Hand computation for A (default config; issue 9: activity is recency-weighted, half-life h = 50 days):
#   event weights 2^(-age/50) as of 2024-05-01: w1 (107 d), w2 (76 d), w3 (60 d), w4 (16 d).
#   held (weighted) H = w1 + w2 + w3 + w4 for A, B, C; D (since 2024-04-20) has none.
#   pooled μ = (A: w1 + w3, B: w1 + w2 + w4, C: 0) / 3H. The 4 prior pseudo-events are "of average age":
#   scaled by A's mean event weight H/4, so frequency A = (w1 + w3 + H·μ)/(H + H)
#   recency A: last attended 2024-03-02, 60 days before 2024-05-01 -> 2^(-60/90) (90-day half-life)
#   A has one person, so frequency's person-share estimate 1 − (1 − r) is its plain event share
#   diversity: K = 1 -> not applicable, its 0.20 re-distributed over 0.80
#   depth records (no polls anywhere; questions recorded only at w3, feedback at w1, w2, w4):
#     A w1 = (.4·1)/(.4 + .2) = 0.666667; A w3 = (.4·.5 + .25)/(.4 + .25) = 0.692308; B ×3 = (.4 + .2)/.6 = 1
#     weighted mean shrunk to the weighted pooled mean with m = 4 pseudo-records of A's mean weight (w1 + w3)/2
#   consistency A: attended Jan and Mar; each month weighs its event's weight -> (w1 + w3)/H
W1, W2, W3, W4 = (2 ** (-age / 50) for age in (107, 76, 60, 16))
RECENCY_A = 2 ** (-60 / 90)
H = W1 + W2 + W3 + W4
MU = (W1 + W3 + W1 + W2 + W4) / (3 * H)
FREQ_A = (W1 + W3 + H * MU) / (H + H)
A_DEPTH_SUM = W1 * 0.4 / 0.6 + W3 * 0.45 / 0.65
POOLED_DEPTH = (A_DEPTH_SUM + W1 + W2 + W4) / (W1 + W3 + W1 + W2 + W4)
DEPTH_A = (A_DEPTH_SUM + 2 * (W1 + W3) * POOLED_DEPTH) / (W1 + W3 + 2 * (W1 + W3))
CONSISTENCY_A = (W1 + W3) / H
SCORE_A = 100 * (0.3 * FREQ_A + 0.25 * RECENCY_A + 0.15 * DEPTH_A + 0.1 * CONSISTENCY_A) / 0.8


def test_hand_computed_components_and_renormalised_score() -> None:
    a = _score().loc["A"]
    assert a["frequency"] == pytest.approx(FREQ_A, abs=1e-4)
    assert a["recency"] == pytest.approx(RECENCY_A, abs=1e-4)
    assert a["depth"] == pytest.approx(DEPTH_A, abs=1e-4)
    assert a["consistency"] == pytest.approx(CONSISTENCY_A, abs=1e-4)
    assert math.isnan(a["diversity"]) and a["diversity_status"] == "not_applicable"
    assert a["score"] == round(SCORE_A, 1)
    assert a["band"] == "Medium"
    assert (a["events_attended"], a["events_held"], a["users"], a["attendances"], a["questions"]) == (
        2, 4, 1, 2, 1)
    assert a["last_attended"] == pd.Timestamp("2024-03-02") and a["days_since_last"] == 60
    # Cost of each applicable component = weight share·(1 − s): frequency's .375·(1 − f) is the largest.
    assert a["weakest_component"] == "frequency"


def test_zero_attendance_is_zero_not_missing() -> None:
    c = _score().loc["C"]
    assert c["score"] == 0.0 and c["band"] == "Low"
    for name in ("frequency", "recency", "consistency"):
        assert c[name] == 0.0 and c[f"{name}_status"] == "zero"
    assert c["depth_status"] == "not_applicable" and math.isnan(c["depth"])
    assert c["diversity_status"] == "not_applicable"  # K = 1 here
    assert c["events_held"] == 4 and c["events_attended"] == 0 and pd.isna(c["last_attended"])


def test_no_events_held_since_customer_since_is_not_scored() -> None:
    d = _score().loc["D"]
    assert math.isnan(d["score"]) and d["band"] == "Not scored"
    assert all(d[f"{c}_status"] == "not_applicable" for c in COMPONENTS)
    assert d["events_held"] == 0 and d["rank"] == 4


def test_as_of_ignores_later_attendance_and_events() -> None:
    earlier = _score()
    without_later = _score(rows=ROWS[:-1])
    pd.testing.assert_frame_equal(earlier, without_later)
    later = _score(as_of="2024-06-30").loc["C"]
    assert later["events_attended"] == 1 and later["events_held"] == 5 and later["frequency_status"] == "scored"


def test_contributions_sum_to_the_score() -> None:
    scores = _score()
    contrib = scores[[f"contrib_{c}" for c in COMPONENTS]]
    scored = scores["score"].notna()
    assert (contrib[scored].sum(axis=1) - scores.loc[scored, "score"]).abs().max() < 1e-9
    # Largest-remainder rounding to 0.1 may add one unit to a part: within 0.1 of the exact contribution.
    assert contrib.loc["A", "contrib_frequency"] == pytest.approx(100 * 0.3 * FREQ_A / 0.8, abs=0.1)
    assert math.isnan(contrib.loc["A", "contrib_diversity"])


def test_custom_weights_are_used() -> None:
    weights = {"frequency": 0.5, "recency": 0.5, "diversity": 0.0, "depth": 0.0, "consistency": 0.0}
    a = _score(config=ScoringConfig(weights=weights)).loc["A"]
    assert a["score"] == round(100 * (0.5 * FREQ_A + 0.5 * RECENCY_A), 1)


def test_customer_since_limits_events_held() -> None:
    customers = CUSTOMERS.assign(customer_since=pd.to_datetime(["2023-01-01", "2024-03-01", "2023-01-01",
                                                                "2024-04-20"]))
    b = _score(customers=customers).loc["B"]
    # B joined on 2024-03-01: only w3 and w4 were held for it; its w1 and w2 attendance does not count.
    assert (b["events_held"], b["events_attended"]) == (2, 1)


def test_rank_orders_by_score_then_name_with_unscored_last() -> None:
    twins = [*ROWS, *[_row(e, "E", "e1@eee.com", feedback=True) for e in ("w1", "w2", "w4")]]
    customers = pd.concat([CUSTOMERS, pd.DataFrame({"customer_id": ["E"], "name": ["Alpha"],
                                                    "customer_since": [pd.Timestamp("2023-01-01")]})])
    scores = _score(rows=twins, customers=customers)
    assert scores.loc["E", "score"] == scores.loc["B", "score"]
    assert scores.sort_values("rank")["customer_name"].tolist() == ["Alpha", "Beta", "Acme", "Cee", "Dee"]
    assert scores.loc["A", "score"] < scores.loc["B", "score"]
    assert sorted(scores["rank"]) == [1, 2, 3, 4, 5]


def test_diversity_counts_types_offered() -> None:
    events = pd.concat([EVENTS, pd.DataFrame({
        "event_id": ["t1", "u1"], "event_name": ["T1", "U1"], "event_type": ["training", "user_group"],
        "event_date": pd.to_datetime(["2024-04-01", "2024-04-02"]), "duration_minutes": [60.0, 60.0]})])
    training = {**_row("w1", "A", "a2@acme.com"), "event_id": "t1", "event_type": "training",
                "event_date": pd.Timestamp("2024-04-01")}
    scores = score_customers(pd.DataFrame([*ROWS, training]), events, CUSTOMERS, CONTACTS, AS_OF)
    a = scores.set_index("customer_id").loc["A"]
    # Attended events: webinars w1, w3 + training t1 (30 days old) of K = 3 offered; recency-weighted shares,
    # effective n = w1 + w3 + wt, shrunk by n/(n + 2·mean weight of the 6 events held for A).
    wt, wu = 2 ** (-30 / 50), 2 ** (-29 / 50)
    n = W1 + W3 + wt
    shares = ((W1 + W3) / n, wt / n)
    h = -sum(p * math.log(p) for p in shares)
    k0 = 2 * (H + wt + wu) / 6
    assert a["diversity"] == pytest.approx(h / math.log(3) * n / (n + k0), abs=1e-4)
    assert a["diversity_status"] == "scored"


def test_empty_history_scores_nobody_and_does_not_fail() -> None:
    empty = pd.DataFrame(columns=list(_row("w1", "A", "a").keys()))
    no_since = CUSTOMERS.assign(customer_since=pd.NaT)  # unknown customer_since: every event counts
    scores = score_customers(empty, EVENTS.iloc[:0], no_since, CONTACTS, AS_OF).set_index("customer_id")
    assert scores["band"].eq("Not scored").all() and scores["events_held"].eq(0).all()
    held = score_customers(empty, EVENTS, no_since, CONTACTS, AS_OF).set_index("customer_id")
    assert held["events_held"].eq(4).all() and held["score"].eq(0.0).all()


def test_a_customer_that_stopped_scores_below_one_that_kept_coming() -> None:
    # Same number of events attended in the year; E came in Jan-Feb only, F in Mar-Apr: recency-weighted
    # activity puts F ahead on frequency and consistency, not only on recency (issue 9).
    rows = [_row("w1", "A", "e1@e.com"), _row("w2", "A", "e1@e.com"), _row("w3", "B", "f1@f.com"),
            _row("w4", "B", "f1@f.com")]
    scores = _score(rows=rows)
    assert scores.loc["B", "frequency"] > scores.loc["A", "frequency"]
    assert scores.loc["B", "consistency"] > scores.loc["A", "consistency"]
    assert scores.loc["B", "score"] > scores.loc["A", "score"]


def test_frequency_from_each_persons_share_or_from_the_event_share() -> None:
    # A second person of A at w2 and w4: A's people came to all 4 events, each person to half of them.
    rows = [*ROWS, _row("w2", "A", "a2@acme.com"), _row("w4", "A", "a2@acme.com")]
    people = _score(rows=rows).loc["A", "frequency"]
    events = _score(rows=rows, config=ScoringConfig(frequency_from_people=False)).loc["A", "frequency"]
    a1, a2 = (W1 + W3) / H, (W2 + W4) / H  # each person's weighted share of the events held
    assert 1 - (1 - a1) * (1 - a2) < 1.0  # the people estimate: below the event share of 4 of 4
    assert people < events
