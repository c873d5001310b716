"""The running product: `dagster dev` picks up dropped exports with no click and shows the report.

Starts the real webserver and daemon on a free port with a temporary Dagster home and data folder (in
their own process group, ended as a group), drops demo exports into the inbox, waits for the sensor's runs
and the re-score, then reads materialisations and the report's metadata through the GraphQL API.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DAGSTER = Path(sys.executable).with_name("dagster")

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        return json.loads(response.read())["data"]


RUNS = "{ runsOrError { ... on Runs { results { runId jobName status tags { key value } } } } }"
REPORT = """{ assetOrError(assetKey: {path: ["engagement_report"]}) { ... on Asset {
  assetMaterializations(limit: 1) { runId metadataEntries { label
    ... on MarkdownMetadataEntry { mdStr } ... on TextMetadataEntry { text } } } } } }"""
MATERIALIZED = """{ assetNodes { assetKey { path } assetMaterializations(limit: 1) { runId } } }"""


@pytest.fixture
def running_dagster(tmp_path: Path, demo_dir: Path) -> Iterator[tuple[int, Path]]:
    data = tmp_path / "data"
    shutil.copytree(demo_dir / "crm", data / "crm")
    shutil.copytree(demo_dir / "events", data / "events")
    (data / "inbox").mkdir(parents=True)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO / "dagster.yaml", home / "dagster.yaml")
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "ENGAGEMENT_DATA_DIR": str(data),
           "ENGAGEMENT_DB_URL": f"sqlite:///{data / 'warehouse.sqlite'}"}
    log = (tmp_path / "dagster.log").open("w")
    process = subprocess.Popen(
        [str(DAGSTER), "dev", "-w", "workspace.yaml", "-p", str(port), "-h", "127.0.0.1"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                graphql(port, "{ version }")
                break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError((tmp_path / "dagster.log").read_text()[-3000:]) from None
                time.sleep(1)
        else:
            raise RuntimeError("dagster dev did not answer within 120 s")
        yield port, data
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def test_dropped_exports_are_processed_with_no_click_and_the_report_is_served(
    running_dagster: tuple[int, Path], demo_dir: Path
) -> None:
    port, data = running_dagster
    webinars = sorted((demo_dir / "inbox").glob("*Attendee Report*"))[:2]
    for source in webinars:
        shutil.copyfile(source, data / "inbox" / source.name)

    def settled() -> list[dict] | None:
        runs = graphql(port, RUNS)["runsOrError"]["results"]
        ingest = [r for r in runs if r["jobName"] == "ingest_upload_job"]
        rescore = [r for r in runs if r["jobName"] == "engagement_job"]
        if len(ingest) == len(webinars) and all(r["status"] == "SUCCESS" for r in ingest) and any(
            r["status"] == "SUCCESS" for r in rescore
        ):
            return runs
        failed = [r for r in runs if r["status"] == "FAILURE"]
        assert not failed, f"runs failed: {failed}"
        return None

    runs = _wait_for(settled, 300, "the sensor's ingestion runs and the re-score")
    partitions = sorted(t["value"] for r in runs for t in r["tags"] if t["key"] == "dagster/partition")
    assert partitions == sorted(p.name for p in webinars)
    assert sorted(p.name for p in (data / "archive").glob("*/*")) == sorted(p.name for p in webinars)
    assert list((data / "inbox").iterdir()) == []

    materialized = {tuple(a["assetKey"]["path"]) for a in graphql(port, MATERIALIZED)["assetNodes"]
                    if a["assetMaterializations"]}
    assert {("engagement_scores",), ("engagement_trends",), ("advocacy_candidates",),
            ("invitation_recommendations",), ("engagement_report",)} <= materialized

    entries = graphql(port, REPORT)["assetOrError"]["assetMaterializations"][0]["metadataEntries"]
    by_label = {e["label"]: e for e in entries}
    report = by_label["report"]["mdStr"]
    assert report.startswith("# ")
    assert "Found " in by_label["headline"]["text"] and " across 2 events" in by_label["headline"]["text"]
    assert "## Leaderboard" in report
    assert list((data / "reports").glob("engagement_report_*.xlsx"))
