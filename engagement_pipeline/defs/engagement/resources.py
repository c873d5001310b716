"""The `scoring` resource: one scoring date per run, fixed when the run is requested, and the parameters.

Whoever requests a run puts its date in the run config (`scoring_run_config`): the inbox and held-uploads
sensors the day of their tick, the weekly schedule its scheduled day, the CLI `--as-of` or today. A run requested
without one (a click in the UI) gets the day it was created, read once when the resource is set up. Assets
receive a `ScoringRun`: `as_of` is a `date`, the same for every asset and check of the run, and nothing below
calls the clock again or recovers the date from the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import dagster as dg

# Documented ("ConfigurableResourceFactory": assets receive what `create_resource` returns), not re-exported at the
# top level in dagster 1.13.
from dagster._config.pythonic_config import ConfigurableResourceFactory
from pydantic import Field

from engagement_pipeline.config import DEFAULT_WEIGHTS, ConfigError, ScoringConfig


@dataclass(frozen=True)
class ScoringRun:
    """What one run scores with: its date and the validated parameters."""

    as_of: date
    config: ScoringConfig
    requested_on: date  # the day the run was requested; event dates after it are in the future


def scoring_run_config(as_of: date) -> dict[str, Any]:
    """The run config that fixes a run's scoring date (what a sensor, the schedule or the CLI sends)."""
    return {"resources": {"scoring": {"config": {"as_of": as_of.isoformat()}}}}


def requested_on(context: dg.InitResourceContext | None) -> date:
    """The local day the run was created (one value for every step, in any process); today outside a run."""
    run_id = getattr(context, "run_id", None) if context is not None else None
    instance = getattr(context, "instance", None) if context is not None else None
    record = instance.get_run_record_by_id(run_id) if run_id and instance is not None else None
    return record.create_timestamp.astimezone().date() if record is not None else date.today()


class Scoring(ConfigurableResourceFactory[ScoringRun]):
    """Scoring date (`as_of`, YYYY-MM-DD; empty: the day the run was requested) and parameters, validated once
    when the run starts. Parameters mean what `config.ScoringConfig` says; they are passed to it as they are."""

    as_of: str = ""
    weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    window_days: int = 365
    recency_half_life_days: float = 60.0
    activity_half_life_days: float = 90.0
    trend_window_days: int = 182
    trend_recent_days: int = 56
    trend_baseline_days: int = 273
    trend_alpha: float = 0.005
    trend_min_drop: float = 0.5
    trend_drop_ratio: float = 0.35
    trend_cusum_threshold: float = 3.5
    trend_baseline_quantile: float = 0.2
    trend_rising_alpha: float = 0.05
    trend_min_events: int = 4
    prior_strength: float = 4.0
    diversity_shrink_events: float = 2.0
    depth_time_weight: float = 0.40
    depth_question_weight: float = 0.25
    depth_poll_weight: float = 0.15
    depth_feedback_weight: float = 0.20

    def config(self) -> ScoringConfig:
        try:
            return ScoringConfig(**self.model_dump(exclude={"as_of"}))
        except ConfigError as err:
            raise dg.Failure(description=f"Scoring configuration is invalid: {err}") from err

    def create_resource(self, context: dg.InitResourceContext) -> ScoringRun:
        day = requested_on(context)
        try:
            as_of = date.fromisoformat(self.as_of) if self.as_of else day
        except ValueError as err:
            raise dg.Failure(description=f"Scoring date {self.as_of!r} is not YYYY-MM-DD") from err
        return ScoringRun(as_of=as_of, config=self.config(), requested_on=day)
