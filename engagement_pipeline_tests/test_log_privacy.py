"""Attendee emails never reach the logs at INFO: not Python logging, not Dagster's event log messages.

Emails stay in the data (warehouse, asset values) where access is controlled; logs get shipped, pasted into
tickets and kept for months.
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

import dagster as dg
import pytest

from engagement_pipeline.config import Settings
from engagement_pipeline.defs import ENGAGEMENT_ASSETS, INGEST_ASSETS
from engagement_pipeline.defs.ingest.partitions import upload_partitions_def
from engagement_pipeline.defs.resources import Inbox, default_resources

from .conftest import DEMO_ANCHOR

EMAIL = re.compile(r"[^@\s,;:<>()\"']+@[^@\s,;:<>()\"']+\.[a-z]{2,}", re.IGNORECASE)
SOURCE = Path(__file__).parents[1] / "engagement_pipeline"


def _messages(instance: dg.DagsterInstance) -> list[str]:
    out = []
    for run in instance.get_runs():
        for entry in instance.all_logs(run.run_id):
            out.append(entry.user_message or "")
            if entry.dagster_event is not None and entry.dagster_event.message:
                out.append(entry.dagster_event.message)
    return out


@pytest.mark.slow  # ingests and scores a file through Dagster, logs captured
def test_no_attendee_email_in_logs_at_info(tmp_path: Path, demo_dir: Path, db_url: str,
                                           caplog: pytest.LogCaptureFixture) -> None:
    data = tmp_path / "data"
    for folder in ("crm", "events"):
        shutil.copytree(demo_dir / folder, data / folder)
    inbox = data / "inbox"
    inbox.mkdir()
    webinar = next(p for p in sorted((demo_dir / "inbox").iterdir()) if p.name.endswith("Attendee Report.csv"))
    shutil.copy(webinar, inbox / webinar.name)
    # A rejected file whose first row is attendee data: the reason is logged, the row must not be.
    (inbox / "bad.csv").write_text("leaked.person@granitemedia.com,Leaked Person\n", encoding="utf-8")
    settings = Settings.from_env({"ENGAGEMENT_DATA_DIR": str(data), "ENGAGEMENT_DB_URL": db_url})
    resources = {**default_resources(settings), "inbox": Inbox(directory=str(inbox), consume=False)}
    info = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
    caplog.set_level(logging.INFO)
    emails: set[str] = {"leaked.person@granitemedia.com"}
    with dg.instance_for_test() as instance:
        for name in (webinar.name, "bad.csv"):
            instance.add_dynamic_partitions(upload_partitions_def.name, [name])
            result = dg.materialize(INGEST_ASSETS, partition_key=name, instance=instance, resources=resources,
                                    run_config=info)
            parsed = result.output_for_node("validated_attendance")
            if parsed is not None:
                emails |= set(parsed.records["attendee_email"].dropna())
        dg.materialize(ENGAGEMENT_ASSETS, instance=instance, resources=resources,
                       run_config={**info, "resources": {"scoring": {"config": {"as_of": DEMO_ANCHOR.isoformat()}}}})
        messages = _messages(instance)
    assert len(emails) > 10
    logged = "\n".join([*messages, *(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)])
    assert "Rejected bad.csv" in logged  # the logs were captured
    leaked = sorted(e for e in emails if e.lower() in logged.lower())
    assert leaked == []


def test_no_log_call_in_the_package_formats_an_email_or_attendee_name() -> None:
    """A static guard: log calls never interpolate attendee fields."""
    pattern = re.compile(r"(?:log|logger|logging)\.(?:info|warning|error|debug|critical)\((.*)")
    offending = []
    for path in SOURCE.rglob("*.py"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = pattern.search(line)
            if match and re.search(r"email|attendee_name|attendee_key|\braw\b", match.group(1)):
                offending.append(f"{path.relative_to(SOURCE)}:{number}: {line.strip()}")
    assert offending == []
