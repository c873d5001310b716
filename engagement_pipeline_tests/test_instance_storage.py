"""The embedded instance's event log with kept-open connections (`engagement_pipeline/launcher/storage.py`, the
`instance_class` of dagster.yaml): what one instance writes another reads, the UI's live watch of a run sees
each event as it is written (it lands in the `-wal` file first), and wiping works with the connections open."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import dagster as dg
from dagster._core.test_utils import create_run_for_test

from engagement_pipeline.launcher.storage import EngagementInstance, KeptOpenSqliteEventLogStorage

REPO = Path(__file__).resolve().parent.parent


def _home(tmp_path: Path) -> str:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(REPO / "dagster.yaml", home / "dagster.yaml")
    return str(home)


def test_the_repos_instance_keeps_its_event_log_open_and_another_instance_reads_and_watches_it(
        tmp_path: Path) -> None:
    home = _home(tmp_path)
    with dg.DagsterInstance.from_config(home) as writer, dg.DagsterInstance.from_config(home) as reader:
        assert isinstance(writer, EngagementInstance)
        assert isinstance(writer.event_log_storage, KeptOpenSqliteEventLogStorage)
        run = create_run_for_test(writer, job_name="watched")
        writer.report_engine_event("before the watch", run)
        seen: list[str] = []
        reader.watch_event_logs(run.run_id, None, lambda entry, _cursor: seen.append(entry.message))
        for i in range(3):
            writer.report_engine_event(f"live {i}", run)
            time.sleep(0.2)
        deadline = time.time() + 10
        while len(seen) < 4 and time.time() < deadline:
            time.sleep(0.1)
        assert seen == ["before the watch", "live 0", "live 1", "live 2"]
        assert [e.message for e in reader.all_logs(run.run_id)][-3:] == ["live 0", "live 1", "live 2"]
        writer.wipe()
        assert reader.all_logs(run.run_id) == [] and writer.all_logs(run.run_id) == []
