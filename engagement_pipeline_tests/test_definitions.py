"""The code location loads: every asset, check, job, sensor and schedule resolves."""

from __future__ import annotations

from datetime import datetime

import dagster as dg

from engagement_pipeline.defs import build_definitions
from engagement_pipeline.defs import defs as load_defs


def test_definitions_load_and_resolve() -> None:
    defs = load_defs()
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {
        "attendance_upload", "validated_attendance", "stored_attendance", "crm", "attendance", "events_held",
        "unmatched_attendees", "engagement_scores", "engagement_trends", "event_summary", "advocacy_candidates",
        "engagement_risks", "upcoming_events", "invitation_recommendations", "upload_ledger", "quarantined_rows",
        "engagement_report",
    } <= keys
    for job in ("ingest_upload_job", "engagement_job"):
        assert defs.resolve_job_def(job) is not None
    assert defs.resolve_sensor_def("inbox_sensor").default_status == dg.DefaultSensorStatus.RUNNING
    assert defs.resolve_sensor_def("rescore_after_ingest_sensor").default_status == dg.DefaultSensorStatus.RUNNING
    schedule = defs.resolve_schedule_def("weekly_rescore_schedule")
    assert schedule.cron_schedule == "0 6 * * 1"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_the_ingestion_job_covers_the_per_file_assets_and_the_rescore() -> None:
    """One run per batch of files ingests them and re-scores (a run costs seconds before any work starts)."""
    defs_ = build_definitions()
    job = defs_.resolve_job_def("ingest_upload_job")
    assert job.partitions_def is not None and job.partitions_def.name == "uploads"
    ingest = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    rescore = {k.to_user_string() for k in defs_.resolve_job_def("engagement_job").asset_layer.executable_asset_keys}
    assert ingest == {"attendance_upload", "validated_attendance", "stored_attendance"} | rescore


def test_the_weekly_schedule_rescores_as_of_its_own_date() -> None:
    schedule = build_definitions().resolve_schedule_def("weekly_rescore_schedule")
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 11, 23, 6))
    request = next(iter(schedule.evaluate_tick(context).run_requests))
    assert request.run_config == {"resources": {"scoring": {"config": {"as_of": "2026-11-23"}}}}
    assert request.run_key == "weekly-2026-11-23"


def test_the_rescore_updates_the_tracking_but_never_sends_anything() -> None:
    """Sensors and the schedule launch only these two jobs; emails and opportunities need a person."""
    for name in ("engagement_job", "ingest_upload_job"):  # the ingestion job re-scores in the same run
        nodes = set(build_definitions().resolve_job_def(name).graph.node_dict)
        assert {"risk_signals", "outreach_tasks", "customer_health", "conversion_summary", "advocacy_opportunities",
                "invitations", "engagement_report"} <= nodes
        assert not {"create_advocacy_opportunities", "send_event_invitations"} & nodes
    defs = load_defs()
    launched = {s.job_name for s in defs.sensors} | {s.job_name for s in defs.schedules}
    assert launched == {"ingest_upload_job", "engagement_job"}
