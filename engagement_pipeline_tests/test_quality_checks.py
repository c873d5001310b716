"""Great Expectations rules on attendance and scores, alone and as Dagster asset checks in a real run."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from engagement_pipeline.config import COMPONENTS, DEFAULT_WEIGHTS
from engagement_pipeline.defs import ENGAGEMENT_ASSETS
from engagement_pipeline.defs.engagement import checks
from engagement_pipeline.defs.engagement.assets import events_held
from engagement_pipeline.defs.resources import Scoring, default_resources
from engagement_pipeline.quality import expectations as ex

from .conftest import DEMO_ANCHOR, ScoredDemo

RUN_DATE = date(2026, 11, 2)


def good_attendance() -> pd.DataFrame:
    return pd.DataFrame({
        "event_id": ["2026-10-01-webinar", "2026-10-01-webinar", "2026-10-08-training"],
        "attendee_key": ["ana@acme.com", "name:bo li", "ana@acme.com"],
        "attendee_email": ["ana@acme.com", None, "ana@acme.com"],
        "event_date": pd.to_datetime(["2026-10-01", "2026-10-01", "2026-10-08"]),
        "attended": [True, False, True],
        "minutes_attended": [42.0, 0.0, 55.5],
    })


def good_scores() -> pd.DataFrame:
    frame = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "score": [88.0, 12.5, float("nan")]})
    for c in COMPONENTS:
        frame[c] = [1.0, 0.0, float("nan")]
    return frame


def test_good_frames_pass_every_rule() -> None:
    attendance = ex.validate_attendance(good_attendance(), RUN_DATE)
    scores = ex.validate_scores(good_scores())
    weights = ex.validate_weights(DEFAULT_WEIGHTS)
    for result in (attendance, scores, weights):
        assert result.success, result.rules
    assert {r.unexpected_count for r in attendance.rules.values()} == {0}
    assert set(attendance.rules) == {r.name for r in ex.attendance_rules(RUN_DATE)}


def test_bad_attendance_fails_with_the_right_counts() -> None:
    frame = good_attendance()
    frame.loc[0, "attendee_email"] = "ana(at)acme"  # bad email
    frame.loc[1, "minutes_attended"] = 7.0  # a no-show with minutes
    frame.loc[2, "minutes_attended"] = -3.0  # negative
    frame = pd.concat([frame, frame.iloc[[2]]], ignore_index=True)  # duplicate event+attendee
    frame.loc[3, "minutes_attended"] = 1.0
    frame.loc[3, "event_date"] = pd.Timestamp("2026-12-25")  # after run date + 1 day
    result = ex.validate_attendance(frame, RUN_DATE)
    assert not result.success
    counts = {name: r.unexpected_count for name, r in result.rules.items()}
    assert counts == {"email_format": 1, "event_date_in_range": 1, "minutes_not_negative": 1,
                      "no_minutes_unless_attended": 1, "one_row_per_event_attendee": 2}
    assert result["email_format"].unexpected_values == ["ana(at)acme"]
    assert result["minutes_not_negative"].unexpected_values == [-3.0]
    assert result["event_date_in_range"].metadata()["unexpected_values"] == ["2026-12-25T00:00:00"]


def test_dates_before_2000_and_the_day_after_the_run() -> None:
    frame = good_attendance()
    frame["event_date"] = pd.to_datetime(["1999-12-31", "2026-11-03", "2000-01-01"])
    result = ex.validate_attendance(frame, RUN_DATE)
    assert result["event_date_in_range"].unexpected_count == 1  # run date + 1 day is still fine


def test_bad_scores_fail_with_the_right_counts() -> None:
    frame = good_scores()
    frame.loc[1, "score"] = 120.0
    frame.loc[0, "depth"] = 1.5
    frame = pd.concat([frame, frame.iloc[[0]]], ignore_index=True)
    result = ex.validate_scores(frame)
    assert not result.success
    assert result["score_in_range"].unexpected_count == 1
    assert result["score_in_range"].unexpected_values == [120.0]
    assert result["one_score_per_customer"].unexpected_count == 2
    assert result["depth_in_range"].unexpected_count == 2  # the row and its duplicate
    assert result["frequency_in_range"].success


def test_weights_not_summing_to_one_fail() -> None:
    result = ex.validate_weights({**DEFAULT_WEIGHTS, "frequency": 0.5})
    assert not result.success
    assert result["weights_sum_to_one"].observed == pytest.approx(1.2)


def test_empty_frames_pass() -> None:
    assert ex.validate_attendance(good_attendance().iloc[0:0], RUN_DATE).success
    assert ex.validate_scores(good_scores().iloc[0:0]).success


def test_blocking_check_failure_stops_downstream_assets_in_the_same_run(tmp_path: Path) -> None:
    bad = good_attendance()
    bad.loc[2, "minutes_attended"] = -3.0

    @dg.asset(name="attendance", group_name="engagement")
    def stub_attendance() -> pd.DataFrame:
        return bad

    result = dg.materialize([stub_attendance, events_held, checks.attendance_quality],
                            resources={"scoring": Scoring(as_of=RUN_DATE.isoformat())}, raise_on_error=False)
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not evaluations[checks.ATTENDANCE_MINUTES_CHECK].passed
    assert evaluations[checks.ATTENDANCE_MINUTES_CHECK].metadata["unexpected_count"].value == 1
    assert evaluations[checks.ATTENDANCE_EMAIL_CHECK].passed
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "attendance" in materialized
    assert "events_held" not in materialized


def test_checks_run_and_pass_in_a_materialize_of_the_engagement_assets(scored_demo: ScoredDemo) -> None:
    """The engagement assets again, with their checks, on this test's copy of the scored demo's warehouse."""
    result = dg.materialize(
        [*ENGAGEMENT_ASSETS, *checks.ASSET_CHECKS], resources=default_resources(scored_demo.settings),
        run_config={"resources": {"scoring": {"config": {"as_of": DEMO_ANCHOR.isoformat()}}}},
    )
    assert result.success
    evaluations = {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}
    expected = {("attendance", n) for n in (checks.ATTENDANCE_EMAIL_CHECK, checks.ATTENDANCE_DATE_CHECK,
                                            checks.ATTENDANCE_MINUTES_CHECK, checks.ATTENDANCE_UNIQUE_CHECK,
                                            checks.ATTENDANCE_MINUTES_ATTENDED_CHECK)}
    expected |= {("engagement_scores", n) for n in (checks.SCORES_UNIQUE_CHECK, checks.SCORES_RANGE_CHECK,
                                                    checks.SCORES_WEIGHTS_CHECK, *checks.COMPONENT_RANGE_CHECKS)}
    assert set(evaluations) == expected
    failed = {k: e.metadata for k, e in evaluations.items() if not e.passed}
    assert failed == {}
    records = evaluations[("attendance", checks.ATTENDANCE_UNIQUE_CHECK)].metadata["checked"].value
    assert records == len(result.output_for_node("attendance")) > 0
    weights = evaluations[("engagement_scores", checks.SCORES_WEIGHTS_CHECK)].metadata["observed"].value
    assert weights == pytest.approx(1.0)


def test_check_specs_block_where_a_failure_makes_downstream_wrong() -> None:
    specs = {s.name: s for c in checks.ASSET_CHECKS for s in c.check_specs}
    assert specs[checks.ATTENDANCE_UNIQUE_CHECK].blocking
    assert specs[checks.SCORES_RANGE_CHECK].blocking
    assert specs[checks.ATTENDANCE_MINUTES_CHECK].blocking
    assert not specs[checks.ATTENDANCE_EMAIL_CHECK].blocking
