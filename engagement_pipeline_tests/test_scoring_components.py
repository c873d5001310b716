"""Each engagement component on tiny hand-computed inputs (SCORING_ANCHORS.md §3 formulas)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from engagement_pipeline.config import ConfigError, ScoringConfig
from engagement_pipeline.scoring import components as comp

DEPTH_WEIGHTS = {"time_weight": 0.40, "question_weight": 0.25, "poll_weight": 0.15, "feedback_weight": 0.20}


@pytest.mark.parametrize(("days", "expected"), [(0, 1.0), (60, 0.5), (120, 0.25), (30, 2 ** -0.5)])
def test_recency_halves_every_half_life(days: float, expected: float) -> None:
    assert comp.recency(pd.Series([days]), 60.0).iloc[0] == pytest.approx(expected)


def test_recency_is_zero_when_never_attended() -> None:
    assert comp.recency(pd.Series([float("nan")]), 60.0).iloc[0] == 0.0


def test_frequency_shrinks_toward_the_pooled_rate() -> None:
    # Pooled μ = (1 + 6 + 0) / (1 + 10 + 5) = 7/16 = 0.4375; α0 = 0.4375·4 = 1.75, α0 + β0 = 4.
    attended = pd.Series([1, 6, 0, 0], index=list("ABCD"))
    held = pd.Series([1, 10, 5, 0], index=list("ABCD"))
    got = comp.frequency(attended, held, prior_strength=4.0)
    assert got["A"] == pytest.approx((1 + 1.75) / (1 + 4))  # 0.55: one of one is not a 1.0
    assert got["B"] == pytest.approx((6 + 1.75) / (10 + 4))  # 0.553571
    assert got["C"] == 0.0  # offered, not taken: no credit from the prior
    assert math.isnan(got["D"])  # nothing held: undefined


def test_frequency_without_prior_is_the_raw_share() -> None:
    got = comp.frequency(pd.Series([3]), pd.Series([4]), prior_strength=0.0)
    assert got.iloc[0] == pytest.approx(0.75)


def test_diversity_is_entropy_over_types_offered() -> None:
    # Two of three offered types, shares 1/2 and 1/2: H = ln 2, D = ln2/ln3 = 0.6309; n = 2 -> ×2/(2+2).
    counts = pd.DataFrame({"webinar": [1, 3, 0, 2], "training": [1, 0, 0, 0]}, index=list("ABCD"))
    offered = pd.Series([3, 3, 3, 1], index=list("ABCD"))
    raw = comp.diversity(counts, offered, shrink_events=0.0)
    assert raw["A"] == pytest.approx(math.log(2) / math.log(3))
    assert raw["A"] == pytest.approx(0.6309, abs=1e-4)
    shrunk = comp.diversity(counts, offered, shrink_events=2.0)
    assert shrunk["A"] == pytest.approx(0.6309298 * 2 / 4)  # 0.3155
    assert shrunk["B"] == 0.0  # one type of three offered: no variety (Pielou over S would say 1.0)
    assert shrunk["C"] == 0.0  # nothing attended
    assert math.isnan(shrunk["D"])  # K = 1: not applicable


def _records(**overrides: list) -> pd.DataFrame:
    base = {"minutes_attended": [30.0], "event_length": [60.0], "questions_asked": [1], "polls_answered": [0],
            "event_polls": [0], "event_questions": [3], "event_feedback": [1], "feedback_submitted": [True],
            "role": ["attendee"]}
    base.update(overrides)
    return pd.DataFrame(base)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        # half the session, asked, feedback; no poll was run so polls drop out: (.4·.5 + .25 + .2)/.85
        ({}, (0.2 + 0.25 + 0.2) / 0.85),
        # full session, answered a poll at an event that ran polls, nothing else: (.4 + .15)/1
        ({"minutes_attended": [75.0], "questions_asked": [0], "polls_answered": [2], "event_polls": [3],
          "feedback_submitted": [False]}, 0.55),
        # length unknown (0): time drops out: (.25 + .2)/(.25 + .2) = 1
        ({"event_length": [0.0]}, 1.0),
        # polls were run but this person answered none: (.2 + .25 + 0 + .2)/1
        ({"event_polls": [2]}, 0.65),
        # a Zoom webinar: nobody's questions or feedback recorded there, so only time counts: .4·1/.4
        ({"minutes_attended": [60.0], "questions_asked": [0], "feedback_submitted": [False],
          "event_questions": [0], "event_feedback": [0]}, 1.0),
        # same event, half the session: time alone decides, 0.5
        ({"questions_asked": [0], "feedback_submitted": [False], "event_questions": [0], "event_feedback": [0]},
         0.5),
        # a speaker is fully engaged whatever the other fields say
        ({"minutes_attended": [0.0], "questions_asked": [0], "feedback_submitted": [False],
          "role": ["speaker"]}, 1.0),
    ],
)
def test_record_depth(overrides: dict, expected: float) -> None:
    assert comp.record_depth(_records(**overrides), **DEPTH_WEIGHTS).iloc[0] == pytest.approx(expected)


def test_depth_is_a_shrunk_mean() -> None:
    # Pooled mean d̄ = (2.0 + 0.5) / (2 + 1) = 0.8333; A: (2 + 4·0.8333)/(2 + 4) = 0.8889.
    got = comp.depth(pd.Series([2.0, 0.5, 0.0]), pd.Series([2, 1, 0]), prior_strength=4.0)
    assert got.iloc[0] == pytest.approx((2.0 + 4 * 2.5 / 3) / 6)
    assert got.iloc[1] == pytest.approx((0.5 + 4 * 2.5 / 3) / 5)
    assert math.isnan(got.iloc[2])  # no attended record: depth not applicable


def test_consistency_is_the_share_of_active_months_attended() -> None:
    got = comp.consistency(pd.Series([3, 0, 0]), pd.Series([4, 4, 0]))
    assert got.iloc[0] == pytest.approx(0.75)
    assert got.iloc[1] == 0.0
    assert math.isnan(got.iloc[2])


def test_depth_sub_weights_are_validated() -> None:
    with pytest.raises(ConfigError, match="depth"):
        ScoringConfig(depth_time_weight=0.5)
    assert ScoringConfig(depth_time_weight=0.55, depth_poll_weight=0.0).depth_time_weight == 0.55


def test_any_person_rate_combines_each_persons_share() -> None:
    # A: two people at half and a quarter of 8 events: 1 − (1 − 0.5)(1 − 0.25) = 0.625. B: one person at 3 of 6.
    # C: nobody came. A rate of 1 is held just below 1 so one perfect attender stays finite.
    per_person = pd.Series([4.0, 2.0, 3.0, 5.0], index=pd.MultiIndex.from_tuples(
        [("A", "a1"), ("A", "a2"), ("B", "b1"), ("D", "d1")]))
    held = pd.Series([8.0, 6.0, 5.0, 5.0], index=list("ABCD"))
    got = comp.any_person_rate(per_person, held)
    assert got["A"] == pytest.approx(0.625)
    assert got["B"] == pytest.approx(0.5)
    assert got["C"] == 0.0
    assert got["D"] == pytest.approx(0.999)
    assert comp.any_person_rate(pd.Series(dtype=float), held).tolist() == [0.0] * 4


def test_back_again_needs_at_most_as_many_attended_as_events_looked_at() -> None:
    assert ScoringConfig(trend_recovered_attended=0).trend_recovered_of == 3  # 0 turns the check off
    with pytest.raises(ConfigError, match="trend_recovered_attended"):
        ScoringConfig(trend_recovered_attended=4, trend_recovered_of=3)
