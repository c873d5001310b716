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

from engagement_pipeline.config import ScoringConfig


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


class Scoring(ConfigurableResourceFactory[ScoringRun], ScoringConfig):
    """Scoring date (`as_of`, YYYY-MM-DD; empty: the day the run was requested) and the parameters, which are
    `config.ScoringConfig`'s own fields (inherited, declared once), checked when the resource is built."""

    as_of: str = ""

    def create_resource(self, context: dg.InitResourceContext) -> ScoringRun:
        day = requested_on(context)
        try:
            as_of = date.fromisoformat(self.as_of) if self.as_of else day
        except ValueError as err:
            raise dg.Failure(description=f"Scoring date {self.as_of!r} is not YYYY-MM-DD") from err
        return ScoringRun(as_of=as_of, config=self.parameters(), requested_on=day)
