"""The whole asset graph on the demo data: the product's figures and the generator's known truth.

The demo population is built with known behaviour (customers whose engagement rises, declines or stays
stable, advocates, people on personal addresses, prospects); the pipeline, which never sees that truth,
must find it again from the export files alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engagement_pipeline.config import Settings
from engagement_pipeline.defs.runner import PipelineRun, run_pipeline
from engagement_pipeline.report.json_output import pipeline_json

from .conftest import DEMO_ANCHOR, ScoredDemo


@pytest.fixture(scope="module")
def demo_run(module_scored_demo: ScoredDemo) -> tuple[PipelineRun, Settings, dict]:
    """The demo's 19 files scored as of its anchor (once per session and backend; this module's own copy)."""
    truth = json.loads((module_scored_demo.data / "demo_truth.json").read_text())
    return module_scored_demo.run, module_scored_demo.settings, truth


def test_upload_summary_has_the_products_figures(demo_run) -> None:
    run, settings, _ = demo_run
    summary = pipeline_json(run, settings)["summary"]
    assert summary["headline"] == "Found 567 attendance records for 234 users across 18 events"
    assert (summary["records"], summary["people"], summary["events"], summary["customers"]) == (567, 234, 18, 78)
    assert summary["event_types"] == {"webinar": 8, "user_group": 4, "training": 4, "conference": 2}
    assert summary["no_shows"] == 104


def test_every_file_is_accepted_and_every_ledger_balances(demo_run) -> None:
    run, settings, _ = demo_run
    files = pipeline_json(run, settings)["files"]
    assert len(files) == 19
    assert {f["platform"] for f in files} == {"zoom_webinar", "zoom_meeting", "eventbrite", "hopin"}
    for f in files:
        assert f["status"] == "accepted", f
        assert f["rows_read"] == f["rows_kept"] + f["rows_excluded"] + f["rows_quarantined"], f
        assert f["balanced"] is True
    excluded = {}
    for f in files:
        for reason, n in f["excluded_by_reason"].items():
            excluded[reason] = excluded.get(reason, 0) + n
    assert {"host", "internal", "waiting_room", "bot", "cancelled"} <= set(excluded)


def test_trends_recover_the_generated_rising_declining_stable_and_new_customers(demo_run) -> None:
    run, _, truth = demo_run
    trends = run.outputs["engagement_trends"].set_index("customer_id")["trend"]
    # Issue 9's absence test (docs/methods.md) flags no customer outside the planned decliners, and 4 of the
    # 5: the fifth missed "only" its last 5 events after 8 of 9 (chance about 1 in 20), not enough at the
    # strict level chosen on the simulation for precision.
    declining = set(trends[trends == "declining"].index)
    assert declining <= set(truth["declining"]) and len(declining) >= 4
    assert sorted(trends[trends == "rising"].index) == sorted(truth["rising"])
    assert set(trends[truth["stable"]]) == {"stable"}
    # New customers are judged against the population prior once 4 events were held for them; none declines.
    assert set(trends[truth["new"]]) <= {"insufficient_data", "stable"}


def test_declining_customers_are_risks_with_a_tested_reason(demo_run) -> None:
    run, _, truth = demo_run
    risks = run.outputs["engagement_risks"]
    assert set(risks["customer_id"]) <= set(truth["declining"]) and len(risks) >= 4
    # The reason is plain words from the trend's own figures (issue 9).
    for reason in risks["reason"]:
        assert reason.startswith("missed the last ") and "events in a row" in reason
        assert "were expected from its past" in reason and "a drop this large would happen by chance" in reason


def test_advocates_are_the_top_of_the_leaderboard_and_the_advocacy_candidates(demo_run) -> None:
    run, _, truth = demo_run
    scores = run.outputs["engagement_scores"].set_index("customer_id")
    top3 = scores.sort_values("rank").index[:3]
    assert sorted(top3) == sorted(truth["advocacy"])
    assert (scores.loc[truth["advocacy"], "band"] == "High").all()
    assert (scores.loc[truth["advocacy"], "events_attended"] == 18).all()
    candidates = run.outputs["advocacy_candidates"]
    # The planned advocates, plus (issue 9) the rising customers whose recency-weighted scores are now High:
    # they came to most recent events, so the score follows them now rather than a year's average.
    assert set(truth["advocacy"]) <= set(candidates["customer_id"])
    # And one steady customer: Vantage Systems (C024, 72.5), whose three people come in turns, so the
    # person-share frequency credits it with more of the events than one person would have reached.
    assert set(candidates["customer_id"]) - set(truth["advocacy"]) - set(truth["rising"]) == {"C024"}
    candidates = candidates.loc[candidates["customer_id"].isin(truth["advocacy"])]
    for notable, types in zip(candidates["notable_text"], candidates["suggested_types"], strict=True):
        assert "spoke at" in notable and "questions" in notable
        assert "speaking" in types
    assert candidates["notable_text"].str.contains("the most of any customer").sum() == 1


def test_scores_are_explainable_and_within_range(demo_run) -> None:
    run, _, _ = demo_run
    scores = run.outputs["engagement_scores"]
    scored = scores[scores["score"].notna()]
    assert scored["score"].between(0, 100).all()
    contributions = scored[[f"contrib_{c}" for c in ("frequency", "recency", "diversity", "depth", "consistency")]]
    assert (contributions.sum(axis=1, min_count=1).round(1) == scored["score"].round(1)).all()
    assert scores["customer_id"].is_unique and len(scores) == 82  # every CRM customer, scored or not
    assert set(scores.loc[scores["score"].isna(), "band"]) <= {"Not scored"}


def test_personal_addresses_match_by_company_and_prospects_stay_unmatched(demo_run) -> None:
    run, _, truth = demo_run
    attendance = run.outputs["attendance"]
    by_email = attendance.drop_duplicates("attendee_key").set_index("attendee_key")
    for email, customer_id in truth["personal_address_people"].items():
        assert by_email.loc[email, "customer_id"] == customer_id, email
    company_matched = by_email.loc[list(truth["personal_address_people"]), "match_method"]
    assert {"company_name", "company_fuzzy"} <= set(company_matched)
    for email in truth["prospect_people"]:
        assert by_email.loc[email, "match_method"] == "unmatched"
    assert set(truth["prospect_people"]) <= set(run.outputs["unmatched_attendees"]["attendee_key"])
    assert not attendance["attendee_key"].str.endswith("@northwind-analytics.com").any()


def test_the_hybrid_event_from_two_platforms_is_one_event(demo_run) -> None:
    run, _, truth = demo_run
    events = run.outputs["events_held"]
    merged = events[events["event_name"] == truth["merged_event"]["name"]]
    assert len(merged) == 1
    assert str(merged["event_date"].iloc[0].date()) == truth["merged_event"]["date"]


def test_every_upcoming_event_gets_grounded_recommendations(demo_run) -> None:
    run, _, _ = demo_run
    upcoming = run.outputs["upcoming_events"]
    recs = run.outputs["invitation_recommendations"]
    assert set(recs["event_name"]) == set(upcoming["event_name"])
    assert not recs.duplicated(["event_name", "contact_email"]).any()
    assert recs["reason"].str.len().gt(10).all()
    assert recs["reason"].str.contains(r"attended \d+ events? on").any()


def test_report_files_are_written_and_the_json_document_is_complete(demo_run) -> None:
    run, settings, _ = demo_run
    doc = pipeline_json(run, settings)
    assert {"summary", "files", "attendance", "unmatched_attendees", "scores", "trends", "advocacy_candidates",
            "risks", "recommendations"} <= set(doc)
    assert len([r for r in doc["attendance"] if r["attended"]]) == 567
    row = next(r for r in doc["attendance"] if r["customer_id"])
    assert {"customer_id", "match_method", "match_confidence", "event_id", "attendee_email"} <= set(row)
    json.dumps(doc)  # serialisable as it is
    markdown = Path(doc["report_paths"]["markdown_path"])
    assert markdown.read_text().startswith(f"# Customer engagement report — as of {DEMO_ANCHOR.isoformat()}")
    assert Path(doc["report_paths"]["excel_path"]).stat().st_size > 5000


def test_dropping_the_same_files_again_adds_nothing(demo_run) -> None:
    run, settings, _ = demo_run
    inbox = settings.inbox_dir
    again = run_pipeline(sorted(inbox.iterdir())[:3], settings=settings, as_of=DEMO_ANCHOR)
    assert [u["first_seen"] for u in again.uploads] == [False, False, False]
    assert len(again.outputs["attendance"]) == len(run.outputs["attendance"])
    assert int(again.outputs["attendance"]["attended"].sum()) == 567
