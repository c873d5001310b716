"""Great Expectations 1.x suites for canonical attendance and engagement scores, run on a pandas frame.

Kept free of Dagster so the rules read as a list and can be tested alone; `defs/engagement/checks.py` turns each
rule into an asset check. GX takes seconds to import and draws progress bars, so it is imported only when
a validation runs, with its analytics and bars switched off. Each rule is a `Rule` (a name, the GX
expectation class and its arguments); `validate` returns plain results, never GX objects.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd

from engagement_pipeline.config import COMPONENTS

EMAIL_REGEX = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"  # the rule CanonicalAttendance uses
EARLIEST_EVENT = datetime(2000, 1, 1)
SAMPLE_SIZE = 5


@dataclass(frozen=True)
class Rule:
    """One expectation: `name` is what a check reports, `expectation` a class in great_expectations.expectations."""

    name: str
    expectation: str
    kwargs: dict[str, Any]


@dataclass(frozen=True)
class RuleResult:
    name: str
    success: bool
    checked: int
    unexpected_count: int
    unexpected_values: list[Any] = field(default_factory=list)
    observed: Any = None
    error: str | None = None

    def metadata(self) -> dict[str, Any]:
        """Plain values for a Dagster check's metadata (counts, a few offending values, GX's error)."""
        out: dict[str, Any] = {"checked": self.checked, "unexpected_count": self.unexpected_count,
                               "unexpected_values": [_plain(v) for v in self.unexpected_values]}
        if self.observed is not None:
            out["observed"] = _plain(self.observed)
        if self.error:
            out["error"] = self.error
        return out


@dataclass(frozen=True)
class ValidationResult:
    success: bool
    rules: dict[str, RuleResult]

    def __getitem__(self, name: str) -> RuleResult:
        return self.rules[name]


def attendance_rules(run_date: date) -> list[Rule]:
    """Canonical attendance: address format, plausible dates, minutes only when attended, no duplicates."""
    latest = datetime.combine(run_date + timedelta(days=1), datetime.min.time())
    return [
        Rule("email_format", "ExpectColumnValuesToMatchRegex", {"column": "attendee_email", "regex": EMAIL_REGEX}),
        Rule("event_date_in_range", "ExpectColumnValuesToBeBetween",
             {"column": "event_date", "min_value": EARLIEST_EVENT, "max_value": latest}),
        Rule("minutes_not_negative", "ExpectColumnValuesToBeBetween", {"column": "minutes_attended", "min_value": 0}),
        Rule("no_minutes_unless_attended", "ExpectColumnValuesToBeBetween",
             {"column": "minutes_attended", "min_value": 0, "max_value": 0,
              "row_condition": "attended == False", "condition_parser": "pandas"}),
        Rule("one_row_per_event_attendee", "ExpectCompoundColumnsToBeUnique",
             {"column_list": ["event_id", "attendee_key"]}),
    ]


def score_rules() -> list[Rule]:
    """Engagement scores: one row per customer, score 0–100 and components 0–1 (null = not scored)."""
    return [
        Rule("one_score_per_customer", "ExpectColumnValuesToBeUnique", {"column": "customer_id"}),
        Rule("score_in_range", "ExpectColumnValuesToBeBetween", {"column": "score", "min_value": 0, "max_value": 100}),
        *(Rule(f"{c}_in_range", "ExpectColumnValuesToBeBetween", {"column": c, "min_value": 0, "max_value": 1})
          for c in COMPONENTS),
    ]


def weight_rules(tolerance: float = 1e-6) -> list[Rule]:
    """The scoring weights (a frame with a `weight` column) sum to 1."""
    return [Rule("weights_sum_to_one", "ExpectColumnSumToBeBetween",
                 {"column": "weight", "min_value": 1 - tolerance, "max_value": 1 + tolerance})]


def validate_attendance(frame: pd.DataFrame, run_date: date) -> ValidationResult:
    prepared = frame.copy()
    if len(prepared):
        prepared["event_date"] = pd.to_datetime(prepared["event_date"]).astype("datetime64[ns]")
        prepared["attended"] = prepared["attended"].astype(bool)
        prepared["minutes_attended"] = pd.to_numeric(prepared["minutes_attended"], errors="coerce")
    return validate(prepared, attendance_rules(run_date), suite_name="attendance")


def validate_scores(frame: pd.DataFrame) -> ValidationResult:
    prepared = frame.copy()
    for column in ("score", *COMPONENTS):
        if column in prepared:
            prepared[column] = pd.to_numeric(prepared[column], errors="coerce").astype("float64")
    return validate(prepared, score_rules(), suite_name="engagement_scores")


def validate_weights(weights: dict[str, float]) -> ValidationResult:
    frame = pd.DataFrame({"component": list(weights), "weight": [float(w) for w in weights.values()]})
    return validate(frame, weight_rules(), suite_name="scoring_weights")


def validate(frame: pd.DataFrame, rules: Sequence[Rule], *, suite_name: str) -> ValidationResult:
    """Runs `rules` as one GX suite on `frame` in an ephemeral context. A rule whose column is missing fails
    with an error rather than raising; an empty frame passes every rule."""
    if frame.empty:
        return ValidationResult(True, {r.name: RuleResult(r.name, True, 0, 0) for r in rules})
    gx, gxe = _gx()
    context = gx.get_context(mode="ephemeral")
    _quiet(context)
    batch = (context.data_sources.add_pandas(f"{suite_name}_source").add_dataframe_asset(suite_name)
             .add_batch_definition_whole_dataframe("whole_frame").get_batch(batch_parameters={"dataframe": frame}))
    suite = gx.ExpectationSuite(name=suite_name)
    for rule in rules:
        suite.add_expectation(getattr(gxe, rule.expectation)(**rule.kwargs, meta={"rule": rule.name}))
    outcome = batch.validate(suite, result_format={"result_format": "SUMMARY",
                                                   "partial_unexpected_count": SAMPLE_SIZE})
    results: dict[str, RuleResult] = {}
    for item in outcome.results:
        name = item.expectation_config.meta["rule"]
        result = item.result or {}
        error = None
        if item.exception_info and item.exception_info.get("raised_exception"):
            error = str(item.exception_info.get("exception_message"))
        elif item.exception_info and not item.success and "unexpected_count" not in result and \
                "observed_value" not in result:
            error = "; ".join(str(v.get("exception_message")) for v in item.exception_info.values()
                              if isinstance(v, dict))
        unexpected = result.get("partial_unexpected_list") or []
        results[name] = RuleResult(
            name=name, success=bool(item.success), checked=int(result.get("element_count") or len(frame)),
            unexpected_count=int(result.get("unexpected_count") or 0), unexpected_values=list(unexpected),
            observed=result.get("observed_value"), error=error,
        )
    return ValidationResult(all(r.success for r in results.values()), results)


def _gx() -> tuple[Any, Any]:
    os.environ["GX_ANALYTICS_ENABLED"] = "False"  # before the import: GX reads it once
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx, gxe


def _quiet(context: Any) -> None:
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)


def _plain(value: Any) -> Any:
    """JSON-friendly: timestamps as ISO text, numpy scalars as Python numbers, dict rows kept."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value
