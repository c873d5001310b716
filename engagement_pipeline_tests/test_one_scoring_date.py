"""One scoring date per run: fixed when the run is requested, passed down as a `date`, never re-derived.

A run whose configured date is later than the data's last event stores its scores under that date and its report
says that date; assets of one run that was requested without a date all see the same day, even if the clock
moves during the run.
"""

import shutil
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa

from engagement_pipeline import warehouse as wh
from engagement_pipeline.config import Settings
from engagement_pipeline.defs.engagement import resources as scoring_resources
from engagement_pipeline.defs.engagement.resources import Scoring, ScoringRun, scoring_run_config
from engagement_pipeline.defs.runner import run_pipeline

from .conftest import DEMO_ANCHOR

LATER = DEMO_ANCHOR + timedelta(days=40)  # no demo event is dated after the anchor


@pytest.mark.slow  # the pipeline on three demo files
def test_a_run_configured_for_a_day_stores_and_reports_that_day(tmp_path: Path, demo_dir: Path, db_url: str) -> None:
    data = tmp_path / "data"
    for folder in ("crm", "events"):
        shutil.copytree(demo_dir / folder, data / folder)
    settings = Settings.from_env({"ENGAGEMENT_DATA_DIR": str(data), "ENGAGEMENT_DB_URL": db_url})
    files = sorted((demo_dir / "inbox").iterdir())[:3]

    run = run_pipeline(files, settings=settings, as_of=LATER)

    last_event = pd.Timestamp(run.outputs["attendance"]["event_date"].max()).date()
    assert last_event < LATER
    engine = wh.make_engine(settings.db_url)
    with engine.connect() as conn:
        stored = {pd.Timestamp(d).date() for d in conn.execute(sa.select(wh.engagement_scores.c.as_of)).scalars()}
    engine.dispose()
    assert stored == {LATER}
    assert set(run.outputs["engagement_scores"]["as_of"].map(lambda d: pd.Timestamp(d).date())) == {LATER}
    assert Path(run.outputs["report_paths"]["markdown_path"]).name == f"engagement_report_{LATER.isoformat()}.md"
    assert LATER.isoformat() in run.report_markdown.splitlines()[0]


class _MovingClock(date):
    """`date.today()` a day later on every call: a run that reads the clock twice would see two days."""

    calls = 0

    @classmethod
    def today(cls) -> "date":
        cls.calls += 1
        return date(2030, 1, 1) + timedelta(days=cls.calls)


def test_every_asset_of_a_run_sees_the_day_it_was_requested(monkeypatch) -> None:
    monkeypatch.setattr(scoring_resources, "date", _MovingClock)
    seen: list[date] = []

    @dg.asset
    def first(scoring: dg.ResourceParam[ScoringRun]) -> None:
        seen.extend([scoring.as_of, scoring.as_of])

    @dg.asset(deps=[first])
    def second(scoring: dg.ResourceParam[ScoringRun]) -> None:
        seen.append(scoring.as_of)

    with dg.instance_for_test() as instance:
        result = dg.materialize([first, second], resources={"scoring": Scoring()}, instance=instance)
        created = instance.get_run_record_by_id(result.run_id).create_timestamp.astimezone().date()
    assert result.success
    assert seen == [created, created, created]
    assert _MovingClock.calls == 0, "the run's day comes from its request, not from the clock"


def test_a_configured_day_wins_and_the_run_config_says_it_the_same_way_everywhere() -> None:
    assert scoring_run_config(LATER) == {"resources": {"scoring": {"config": {"as_of": LATER.isoformat()}}}}
    seen: list[date] = []

    @dg.asset
    def dated(scoring: dg.ResourceParam[ScoringRun]) -> None:
        seen.append(scoring.as_of)

    assert dg.materialize([dated], resources={"scoring": Scoring()}, run_config=scoring_run_config(LATER)).success
    assert seen == [LATER]
