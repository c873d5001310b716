"""Data-quality asset checks on canonical attendance and on scores, registered in `defs/__init__.py`.

The rules live in `quality/expectations.py` (Great Expectations 1.x); here each rule becomes one named
check so the UI shows which rule failed, how many rows and a few offending values. Checks whose failure
would make downstream assets wrong (duplicates, negative minutes, out-of-range scores, bad weights) are
blocking: within the same run the dependent assets are not materialised.
"""

from collections.abc import Iterator
from datetime import date

import dagster as dg
import pandas as pd

from engagement_pipeline.config import COMPONENTS
from engagement_pipeline.quality import expectations as ex

from .assets import attendance, engagement_scores
from .resources import ScoringRun

ATTENDANCE_EMAIL_CHECK = "email_format"
ATTENDANCE_DATE_CHECK = "event_date_in_range"
ATTENDANCE_MINUTES_CHECK = "minutes_not_negative"
ATTENDANCE_MINUTES_ATTENDED_CHECK = "no_minutes_unless_attended"
ATTENDANCE_UNIQUE_CHECK = "one_row_per_event_attendee"
SCORES_UNIQUE_CHECK = "one_score_per_customer"
SCORES_RANGE_CHECK = "score_in_range"
SCORES_WEIGHTS_CHECK = "weights_sum_to_one"
COMPONENT_RANGE_CHECKS = tuple(f"{c}_in_range" for c in COMPONENTS)
ATTENDANCE_KEY = attendance.key  # the check functions' parameters shadow the asset names
SCORES_KEY = engagement_scores.key

_ATTENDANCE = {
    ATTENDANCE_EMAIL_CHECK: (False, "Attendee emails look like addresses (blank allowed)."),
    ATTENDANCE_DATE_CHECK: (False, "Event dates are not before 2000 and not after the run date + 1 day."),
    ATTENDANCE_MINUTES_CHECK: (True, "Minutes attended are never negative."),
    ATTENDANCE_MINUTES_ATTENDED_CHECK: (True, "Nobody who did not attend has minutes."),
    ATTENDANCE_UNIQUE_CHECK: (True, "One row per event and attendee."),
}
_SCORES = {
    SCORES_UNIQUE_CHECK: (True, "One score per customer."),
    SCORES_RANGE_CHECK: (True, "Scores are within 0–100 (or not scored)."),
    **{name: (True, f"The {c} component is within 0–1 (or not applicable).")
       for name, c in zip(COMPONENT_RANGE_CHECKS, COMPONENTS, strict=True)},
    SCORES_WEIGHTS_CHECK: (True, "The scoring weights in the `scoring` resource sum to 1."),
}


def run_date(scoring: ScoringRun) -> date:
    """The later of the day the run was requested and its scoring date, so a run that scores a simulated
    future stays consistent; both fixed once per run (`engagement/resources.py`)."""
    return max(scoring.requested_on, scoring.as_of)


def _results(asset: dg.AssetKey, validation: ex.ValidationResult) -> Iterator[dg.AssetCheckResult]:
    for name, result in validation.rules.items():
        yield dg.AssetCheckResult(
            check_name=name, asset_key=asset, passed=result.success,
            severity=dg.AssetCheckSeverity.ERROR if _blocking(name) else dg.AssetCheckSeverity.WARN,
            metadata={k: dg.MetadataValue.json(v) if isinstance(v, list | dict) else v
                      for k, v in result.metadata().items()},
        )


def _blocking(name: str) -> bool:
    return {**_ATTENDANCE, **_SCORES}[name][0]


def _specs(asset: dg.AssetsDefinition, rules: dict[str, tuple[bool, str]]) -> list[dg.AssetCheckSpec]:
    """One check per rule on `asset`: (blocking, description) as the rule tables above say."""
    return [dg.AssetCheckSpec(name, asset=asset, blocking=blocking, description=text)
            for name, (blocking, text) in rules.items()]


@dg.multi_asset_check(specs=_specs(attendance, _ATTENDANCE), can_subset=False)
def attendance_quality(attendance: pd.DataFrame, scoring: dg.ResourceParam[ScoringRun]
                       ) -> Iterator[dg.AssetCheckResult]:
    """Great Expectations rules on the merged attendance history."""
    yield from _results(ATTENDANCE_KEY, ex.validate_attendance(attendance, run_date(scoring)))


@dg.multi_asset_check(specs=_specs(engagement_scores, _SCORES), can_subset=False)
def engagement_scores_quality(engagement_scores: pd.DataFrame, scoring: dg.ResourceParam[ScoringRun]
                              ) -> Iterator[dg.AssetCheckResult]:
    """Great Expectations rules on the scores, plus the weights they were computed with."""
    scores = ex.validate_scores(engagement_scores)
    weights = ex.validate_weights(dict(scoring.config.weights))
    yield from _results(SCORES_KEY, ex.ValidationResult(scores.success and weights.success,
                                                 {**scores.rules, **weights.rules}))


ASSET_CHECKS: list = [attendance_quality, engagement_scores_quality]
