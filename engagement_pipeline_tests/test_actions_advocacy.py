"""Advocacy opportunities on the demo population: the CLI runs the job, twice creates nothing new."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from engagement_pipeline.actions.advocacy import load_opportunities
from engagement_pipeline.actions.conversion import advocacy_conversion
from engagement_pipeline.cli import main
from engagement_pipeline.warehouse import make_engine
from engagement_pipeline.warehouse.action_tables import advocacy_opportunities

from .conftest import ScoredDemo


@pytest.fixture(scope="module")
def scored(module_scored_demo: ScoredDemo) -> dict[str, str]:
    """The demo scored once per backend (this module's own copy); the environment the CLI reads."""
    return module_scored_demo.env


def test_top_3_creates_three_opportunities_and_a_second_launch_creates_nothing(scored: dict[str, str]) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["advocacy", "--top", "3"], env=scored)
    assert first.exit_code == 0, first.output
    assert "3 created, 0 already there." in first.output
    assert "Jamal Ortega (jamal.ortega@tangofoods.co.uk)" in first.output
    second = runner.invoke(main, ["advocacy", "--top", "3"], env=scored)
    assert "0 created, 3 already there." in second.output
    engine = make_engine(scored["ENGAGEMENT_DB_URL"])
    opportunities = load_opportunities(engine).sort_values("opportunity_id")
    assert opportunities["customer_id"].tolist() == ["C030", "C075", "C074"]
    assert opportunities["status"].tolist() == ["open"] * 3
    assert opportunities["opportunity_type"].tolist() == ["speaking"] * 3
    tango = opportunities.iloc[0]
    assert tango["champion_name"] == "Jamal Ortega"
    assert tango["notes"].startswith("engagement score 81 (stable); spoke at ")
    assert "ARR $" in tango["notes"]
    assert tango["next_task"] == "Contact Jamal Ortega: invite to speak at an upcoming event"

    # status from the CLI and from a file; advocacy conversion = won / all opportunities
    assert runner.invoke(main, ["advocacy-status", "C030", "won"], env=scored).exit_code == 0
    status_file = Path(scored["ENGAGEMENT_DATA_DIR"]) / "advocacy_status.csv"
    status_file.write_text("customer_id,status\nC075,lost\n")
    imported = runner.invoke(main, ["advocacy-status", "--file", str(status_file)], env=scored)
    assert imported.exit_code == 0 and "lost" in imported.output
    with engine.connect() as conn:
        assert advocacy_conversion(conn) == {"opportunities": 3, "open": 1, "won": 1, "lost": 1,
                                             "conversion_rate": 0.333}
    # a just-closed opportunity is not asked again (cool-down), the open one is not duplicated
    third = runner.invoke(main, ["advocacy", "--top", "3"], env=scored)
    assert "0 created, 3 already there." in third.output
    bad = runner.invoke(main, ["advocacy-status", "C999", "won"], env=scored)
    assert bad.exit_code == 1 and "no advocacy opportunity for 'C999'" in bad.output
    with engine.begin() as conn:
        conn.execute(sa.delete(advocacy_opportunities))
    engine.dispose()


def test_named_customers_must_be_candidates(scored: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["advocacy", "--customer", "C001"], env=scored)
    assert result.exit_code == 1
    assert "not advocacy candidates: c001" in result.output


def test_invite_dry_run_prints_the_table_and_one_preview(scored: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["invite", "--event", "Dashboards and Automation", "--top", "2",
                                       "--dry-run", "--holdout", "0"], env=scored)
    assert result.exit_code == 0, result.output
    assert "Tango Foods Ltd" in result.output and "bruno.nakamura@tangofoods.co.uk" in result.output
    assert "2 dry_run (dry run: nothing sent or recorded)" in result.output
    assert "Subject: You're Invited: Dashboards and Automation Webinar" in result.output
    assert "Based on your interest in dashboards and automation" in result.output
    assert not (Path(scored["ENGAGEMENT_DATA_DIR"]) / "outbox").exists()


def test_actions_say_to_score_first_on_an_empty_warehouse(tmp_path: Path, db_url: str) -> None:
    env = {"ENGAGEMENT_DATA_DIR": str(tmp_path), "ENGAGEMENT_DB_URL": db_url}
    result = CliRunner().invoke(main, ["advocacy", "--top", "3"], env=env)
    assert result.exit_code == 1
    assert "run `engagement-pipeline score ...` first" in result.output


def test_the_action_jobs_are_registered_and_never_launched_by_a_sensor_or_the_schedule() -> None:
    from engagement_pipeline.defs import defs as load_defs

    defs = load_defs()
    for name in ("create_advocacy_opportunities_job", "send_event_invitations_job"):
        assert defs.resolve_job_def(name) is not None
    automated = {defs.resolve_sensor_def(s).job_name for s in ("inbox_sensor", "rescore_after_ingest_sensor")}
    automated.add(defs.resolve_schedule_def("weekly_rescore_schedule").job_name)
    assert automated.isdisjoint({"create_advocacy_opportunities_job", "send_event_invitations_job"})
    graph = defs.resolve_asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()
              if graph.get(key).group_name in ("actions", "actions_tracking")}
    assert groups == {"advocacy_opportunities": "actions", "invitations": "actions",
                      "risk_signals": "actions_tracking", "outreach_tasks": "actions_tracking",
                      "customer_health": "actions_tracking", "conversion_summary": "actions_tracking"}
