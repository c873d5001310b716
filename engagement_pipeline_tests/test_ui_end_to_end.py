"""The running product: `dagster dev` picks up dropped exports with no click, serves the report, survives
restarts and a run killed half-way. Once on the embedded SQLite instance and warehouse, once on PostgreSQL.

Each backend gets one `dagster dev` (in its own process group, with a temporary Dagster home, data folder and
warehouse; the group is always ended, even when a test fails). Both are started, and given the same two exports
dropped at the same instant, side by side: most of that time is spent waiting on sensor intervals. The tests
then run per backend in the order written, each building on the state the previous one left: the runs and the
warehouse after the drop, the figures against an independent run, the page in headless Chromium, a
re-processing run killed inside its warehouse transaction and re-executed, and a restart that changes nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engagement_pipeline import warehouse as wh
from engagement_pipeline.cli import install_instance_config
from engagement_pipeline.config import Settings
from engagement_pipeline.inbox import sha256_of

from .conftest import fresh_postgres_database

REPO = Path(__file__).resolve().parent.parent
DAGSTER = Path(sys.executable).with_name("dagster")
CHROMIUM = Path("/usr/bin/chromium")
# Flags that work on a closed network: no sandbox (root in CI), no GPU, nothing phoning home.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
IN_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = ("sqlite", "postgres")
ACTIVE = {"QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"}
HAND_COUNTED_RECORDS = {"375319667 - Attendee Report.csv": 43, "85240563680 - Attendee Report.csv": 45}
LOCATION = {"repositoryName": "__repository__", "repositoryLocationName": "engagement_pipeline"}

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _graphql(port: int, query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    if body.get("errors"):
        raise AssertionError(f"GraphQL errors: {body['errors']}")
    return body["data"]


RUNS = """{ runsOrError { ... on Runs { results {
  runId jobName status startTime endTime tags { key value } } } } }"""
RUN_LOG_MESSAGES = """query ($runId: ID!) { logsForRun(runId: $runId) {
  ... on EventConnection { events { __typename ... on MessageEvent { message } } } } }"""
MATERIALIZATIONS = """query ($path: [String!]!, $limit: Int) { assetOrError(assetKey: {path: $path}) { ... on Asset {
  assetMaterializations(limit: $limit) { runId partition metadataEntries { label
    ... on TextMetadataEntry { text } ... on IntMetadataEntry { intRepr } ... on FloatMetadataEntry { floatValue }
    ... on BoolMetadataEntry { boolValue } ... on MarkdownMetadataEntry { mdStr }
    ... on JsonMetadataEntry { jsonString } ... on PathMetadataEntry { path } } } } } }"""
SENSOR_TICKS = """query ($selector: SensorSelector!) { sensorOrError(sensorSelector: $selector) {
  ... on Sensor { sensorState { ticks(limit: 20) { status timestamp runIds skipReason } } } } }"""
LAUNCH = """mutation ($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
  ... on RunConfigValidationInvalid { errors { message } } } }"""


def _entry_value(entry: dict) -> Any:
    for key in ("text", "floatValue", "boolValue", "mdStr", "path"):
        if key in entry:
            return entry[key]
    if "intRepr" in entry:
        return int(entry["intRepr"])
    if "jsonString" in entry:
        return json.loads(entry["jsonString"])
    return None


@dataclass
class RunningProduct:
    """One `dagster dev` on a temporary home and data folder; stopped and started again by the restart test."""

    backend: str
    home: Path
    data: Path
    warehouse_url: str
    env: dict[str, str]
    log_path: Path
    port: int = 0
    process: subprocess.Popen | None = None
    expected_failures: set[str] = field(default_factory=set)

    # -- process ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        self.launch()
        self.wait_until_up()

    def launch(self) -> None:
        self.port = _free_port()
        with self.log_path.open("a") as log:
            log.write(f"\n===== test: starting dagster dev on port {self.port} =====\n")
            log.flush()
            self.process = subprocess.Popen(
                [str(DAGSTER), "dev", "-w", "workspace.yaml", "-p", str(self.port), "-h", "127.0.0.1"],
                cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                # A shell that starts pytest in the background ignores SIGINT, and dagster dev maps SIGTERM
                # onto SIGINT's handler: restore the default so that stopping it works from anywhere.
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
            )

    def wait_until_up(self, timeout: float = 120) -> None:
        assert self.process is not None
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                _graphql(self.port, "{ version }")
                return
            except OSError:
                if self.process.poll() is not None:
                    raise AssertionError(f"dagster dev exited at start:\n{self.log_tail()}") from None
                time.sleep(0.5)
        raise AssertionError(f"dagster dev did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Ends the whole process group. SIGTERM goes to `dagster dev` alone first: it shuts its services down
        in order, whereas a code server terminated under it is restarted by it. Then the group: SIGTERM, and
        SIGKILL for whatever is left after a few seconds."""
        process, self.process = self.process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=25)
        for sig, grace in ((signal.SIGTERM, 5), (signal.SIGKILL, 0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            deadline = time.time() + grace
            while time.time() < deadline and _group_alive(process.pid):
                time.sleep(0.2)
        process.wait(timeout=10)

    def log_tail(self, chars: int = 4000) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text[-chars:]

    # -- reading the instance through GraphQL ------------------------------------------------------------------
    def graphql(self, query: str, **variables: Any) -> dict:
        return _graphql(self.port, query, variables)

    def runs(self) -> list[dict]:
        runs = self.graphql(RUNS)["runsOrError"]["results"]
        for run in runs:
            run["tags"] = {t["key"]: t["value"] for t in run["tags"]}
        return sorted(runs, key=lambda r: r["startTime"] or float("inf"))

    def materializations(self, asset: str, limit: int | None = None) -> list[dict]:
        found = self.graphql(MATERIALIZATIONS, path=[asset], limit=limit)["assetOrError"]
        events = found.get("assetMaterializations", []) if found else []
        return [{"runId": e["runId"], "partition": e["partition"],
                 "metadata": {m["label"]: _entry_value(m) for m in e["metadataEntries"]}} for e in events]

    def latest_metadata(self, asset: str) -> dict[str, Any]:
        events = self.materializations(asset, limit=1)
        assert events, f"{asset} was never materialised"
        return events[0]["metadata"]

    def sensor_ticks(self, sensor: str) -> list[dict]:
        found = self.graphql(SENSOR_TICKS, selector={**LOCATION, "sensorName": sensor})["sensorOrError"]
        return found["sensorState"]["ticks"]

    def run_pid(self, run_id: str) -> int | None:
        events = self.graphql(RUN_LOG_MESSAGES, runId=run_id)["logsForRun"].get("events", [])
        for event in events:
            match = re.search(r"Started process for run \(pid: (\d+)\)", event.get("message") or "")
            if match:
                return int(match.group(1))
        return None

    # -- waiting -------------------------------------------------------------------------------------------------
    def wait_for(self, predicate: Callable[[], Any], timeout: float, what: str) -> Any:
        deadline = time.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            failed = [r["runId"] for r in self.runs()
                      if r["status"] == "FAILURE" and r["runId"] not in self.expected_failures]
            if failed:
                raise AssertionError(f"runs failed while waiting for {what}: {failed}\n{self.log_tail()}")
            if time.time() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; runs: "
                                     f"{[(r['jobName'], r['runId'], r['status']) for r in self.runs()]}\n"
                                     f"{self.log_tail()}")
            time.sleep(1)

    def wait_until_settled(self, timeout: float = 240) -> list[dict]:
        """No run queued or in progress, and the last ingestion run succeeded (it re-scores in the same run) or
        a successful re-score started after it ended."""

        def settled() -> list[dict] | None:
            runs = self.runs()
            if any(r["status"] in ACTIVE for r in runs):
                return None
            ingested = sorted((r for r in runs if r["jobName"] == "ingest_upload_job"),
                              key=lambda r: r["endTime"] or 0)
            if not ingested:
                return None
            if ingested[-1]["status"] == "SUCCESS":
                return runs
            rescored = [r for r in runs if r["jobName"] == "engagement_job" and r["status"] == "SUCCESS"
                        and r["startTime"] >= (ingested[-1]["endTime"] or 0)]
            return runs if rescored else None

        return self.wait_for(settled, timeout, "ingestion and the re-score after it to finish")


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


# -- the warehouse, read directly ------------------------------------------------------------------------------


def warehouse_state(url: str) -> dict[str, Any]:
    """Everything ingestion wrote, keyed by file name (upload ids may differ between runs), plus the checks
    that must hold after any run, finished or killed: no duplicates, no orphans, ledgers that add up."""
    engine = wh.make_engine(url)
    try:
        with engine.connect() as conn:
            uploads = [dict(r) for r in conn.execute(sa.select(
                wh.uploads.c.file_name, wh.uploads.c.sha256, wh.uploads.c.status, wh.uploads.c.platform,
                wh.uploads.c.rows_read, wh.uploads.c.rows_kept, wh.uploads.c.rows_excluded,
                wh.uploads.c.rows_quarantined, wh.uploads.c.records,
            ).order_by(wh.uploads.c.file_name)).mappings()]
            records = dict(conn.execute(
                sa.select(wh.uploads.c.file_name, sa.func.count())
                .join(wh.upload_records, wh.upload_records.c.upload_id == wh.uploads.c.upload_id)
                .group_by(wh.uploads.c.file_name)).all())
            issues = dict(conn.execute(
                sa.select(wh.uploads.c.file_name, sa.func.count())
                .join(wh.row_issues, wh.row_issues.c.upload_id == wh.uploads.c.upload_id)
                .group_by(wh.uploads.c.file_name)).all())
            key = (wh.upload_records.c.upload_id, wh.upload_records.c.event_id, wh.upload_records.c.attendee_key)
            duplicates = conn.execute(sa.select(*key, sa.func.count()).group_by(*key)
                                      .having(sa.func.count() > 1)).all()
            known = sa.select(wh.uploads.c.upload_id)
            orphans = conn.execute(sa.select(sa.func.count()).select_from(wh.upload_records)
                                   .where(wh.upload_records.c.upload_id.not_in(known))).scalar_one()
            orphans += conn.execute(sa.select(sa.func.count()).select_from(wh.row_issues)
                                    .where(wh.row_issues.c.upload_id.not_in(known))).scalar_one()
            attendance = conn.execute(sa.select(sa.func.count()).select_from(wh.attendance)).scalar_one()
            attendance_keys = conn.execute(sa.select(sa.func.count()).select_from(
                sa.select(wh.attendance.c.event_id, wh.attendance.c.attendee_key).distinct().subquery()
            )).scalar_one()
            attended = conn.execute(sa.select(sa.func.count()).select_from(wh.attendance)
                                    .where(wh.attendance.c.attended.is_(True))).scalar_one()
            scores = conn.execute(sa.select(sa.func.count()).select_from(wh.engagement_scores)).scalar_one()
    finally:
        engine.dispose()
    return {"uploads": uploads, "records": records, "issues": issues, "duplicates": duplicates,
            "orphans": orphans, "attendance": attendance, "attendance_keys": attendance_keys,
            "attended": attended, "scores": scores}


def assert_consistent(state: dict[str, Any]) -> None:
    assert state["duplicates"] == [], f"duplicate upload records: {state['duplicates']}"
    assert state["orphans"] == 0, "upload records or row issues without their upload"
    assert state["attendance"] == state["attendance_keys"], "attendance holds a (event, attendee) twice"
    assert len({u["sha256"] for u in state["uploads"]}) == len(state["uploads"]), "one sha256 stored twice"
    for upload in state["uploads"]:
        name, stored = upload["file_name"], state["records"].get(upload["file_name"], 0)
        if upload["status"] == "accepted":
            assert stored == upload["records"], f"{name}: ledger says {upload['records']}, {stored} stored"
            assert upload["rows_read"] == (upload["rows_kept"] + upload["rows_excluded"]
                                           + upload["rows_quarantined"]), f"{name}: ledger does not balance"
        else:  # registered but never finished ("received"), or rejected: nothing of it may be counted
            assert stored == 0 and state["issues"].get(name, 0) == 0, f"{name} ({upload['status']}) has rows"


# -- fixtures --------------------------------------------------------------------------------------------------


def _pick_webinars(demo_dir: Path) -> list[Path]:
    return sorted((demo_dir / "inbox").glob("*Attendee Report.csv"))[:2]


def _drop(sources: list[Path], inbox: Path, staging: Path, age_seconds: float = 60) -> None:
    """Copies into a staging folder beside the inbox, then renames all at once (an atomic move each), the way
    a file manager drops a selection. Backdated like a downloaded file, so the sensor's settle delay passes."""
    staging.mkdir(parents=True, exist_ok=True)
    stamp = time.time() - age_seconds
    staged = []
    for source in sources:
        target = staging / source.name
        shutil.copyfile(source, target)
        os.utime(target, (stamp, stamp))
        staged.append(target)
    for path in staged:
        os.replace(path, inbox / path.name)


@dataclass(frozen=True)
class FirstDrop:
    files: list[Path]
    runs: list[dict]
    state: dict[str, Any]
    report: str


@contextlib.contextmanager
def _product(backend: str, root: Path, demo_dir: Path) -> Iterator[RunningProduct]:
    """A temporary home, data folder and warehouse for `dagster dev` (not started yet; stopped on exit). On
    PostgreSQL both the Dagster instance (deploy/dagster-postgres.yaml through DAGSTER_PG_URL) and the
    warehouse live in fresh databases, dropped afterwards."""
    data = root / "data"
    for folder in ("crm", "events"):
        shutil.copytree(demo_dir / folder, data / folder)
    (data / "inbox").mkdir()
    home = root / "dagster_home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENGAGEMENT_", "DAGSTER_"))}
    env["ENGAGEMENT_DATA_DIR"] = str(data)
    with contextlib.ExitStack() as stack:
        if backend == "postgres":
            env["DAGSTER_PG_URL"] = stack.enter_context(fresh_postgres_database("engagement_e2e_dagster"))
            warehouse_url = stack.enter_context(fresh_postgres_database("engagement_e2e_warehouse"))
        else:
            warehouse_url = f"sqlite:///{data / 'warehouse.sqlite'}"
        install_instance_config(home, use_postgres=backend == "postgres")
        env.update(DAGSTER_HOME=str(home), ENGAGEMENT_DB_URL=warehouse_url)
        running = RunningProduct(backend, home, data, warehouse_url, env, root / "dagster.log")
        try:
            yield running
        finally:
            running.stop()


@pytest.fixture(scope="module")
def products(tmp_path_factory: pytest.TempPathFactory,
             demo_dir: Path) -> Iterator[dict[str, tuple[RunningProduct, FirstDrop] | str]]:
    """Both backends' `dagster dev`, started side by side, each given the same two Zoom webinar exports dropped
    into its inbox at the same instant, and waited on until ingested and re-scored. Most of that time is spent
    waiting for sensor intervals, so doing both at once saves about a minute. A backend that cannot run here
    (no PostgreSQL on a laptop) is kept as the reason its tests skip."""
    files = _pick_webinars(demo_dir)
    with contextlib.ExitStack() as stack:
        found: dict[str, RunningProduct | str] = {}
        for backend in BACKENDS:
            try:
                found[backend] = stack.enter_context(
                    _product(backend, tmp_path_factory.mktemp(f"running_{backend}"), demo_dir))
            except pytest.skip.Exception as skipped:
                found[backend] = str(skipped)
        running = [p for p in found.values() if isinstance(p, RunningProduct)]
        for product in running:
            product.launch()
        for product in running:
            product.wait_until_up()
            # Dismisses the first-visit "join the community" dialog, which would cover the page in screenshots.
            product.graphql("mutation { setNuxSeen }")
            _drop(files, product.data / "inbox", product.data / "staging")
        ready: dict[str, tuple[RunningProduct, FirstDrop] | str] = {}
        for backend, product in found.items():
            if isinstance(product, str):
                ready[backend] = product
                continue
            runs = product.wait_until_settled()
            report = product.latest_metadata("engagement_report")["report"]
            ready[backend] = (product, FirstDrop(files, runs, warehouse_state(product.warehouse_url), report))
        yield ready


@pytest.fixture(scope="module", params=BACKENDS)
def product(request: pytest.FixtureRequest, products: dict) -> RunningProduct:
    if isinstance(products[request.param], str):
        pytest.skip(products[request.param])
    return products[request.param][0]


@pytest.fixture(scope="module")
def first_drop(product: RunningProduct, products: dict) -> FirstDrop:
    """The two exports dropped at once into this backend's inbox, with the runs and warehouse right after."""
    return products[product.backend][1]


@pytest.fixture(scope="module")
def reference(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The same two files through the same assets in-process (the CLI's path), in a separate folder and
    warehouse: the figures the running product must show."""
    from engagement_pipeline.defs.runner import run_pipeline

    root = tmp_path_factory.mktemp("reference")
    for folder in ("crm", "events"):
        shutil.copytree(demo_dir / folder, root / folder)
    settings = Settings.from_env({"ENGAGEMENT_DATA_DIR": str(root)})
    run = run_pipeline(_pick_webinars(demo_dir), settings=settings)
    return {"run": run, "state": warehouse_state(settings.db_url)}


def _sections(markdown: str) -> dict[str, str]:
    """The report by `## ` section; in the upload ledger, rows sorted and without the upload id, which
    depends on which of two concurrent runs registered first."""
    parts = re.split(r"^#{2,3} ", markdown, flags=re.M)  # the ledger is a `### ` part of the appendix
    sections = {"": parts[0]}
    for part in parts[1:]:
        title, _, body = part.partition("\n")
        if title.startswith("Uploads"):
            rows = [line.split("|", 2)[-1] for line in body.strip().splitlines() if line.startswith("|")]
            body = "\n".join(sorted(rows))
        sections[title] = body
    return sections


# -- tests -----------------------------------------------------------------------------------------------------


def test_two_exports_dropped_at_once_are_ingested_and_rescored_in_one_run(
    product: RunningProduct, first_drop: FirstDrop
) -> None:
    names = sorted(p.name for p in first_drop.files)
    [run] = [r for r in first_drop.runs if r["jobName"] == "ingest_upload_job"]
    assert run["status"] == "SUCCESS" and run["tags"]["dagster/sensor_name"] == "inbox_sensor"
    assert sorted(json.loads(run["tags"]["engagement/batch"])) == names, "one run for both files"
    assert (run["tags"]["dagster/asset_partition_range_start"], run["tags"]["dagster/asset_partition_range_end"]) \
        == (names[0], names[1])
    assert not [r for r in first_drop.runs if r["jobName"] == "engagement_job"], "the run re-scored itself"
    assert {e["partition"] for e in product.materializations("stored_attendance")} == set(names)
    assert [e["runId"] for e in product.materializations("engagement_report")] == [run["runId"]]

    assert list((product.data / "inbox").iterdir()) == []
    archive = product.data / "archive"
    archived = sorted(p.relative_to(archive).as_posix() for p in archive.glob("*/*"))
    assert archived == sorted(f"{sha256_of(p)}/{p.name}" for p in first_drop.files)

    state = first_drop.state
    assert_consistent(state)
    assert [(u["file_name"], u["sha256"], u["status"]) for u in state["uploads"]] == [
        (p.name, sha256_of(p), "accepted") for p in sorted(first_drop.files, key=lambda p: p.name)
    ]
    assert list((product.data / "reports").glob("engagement_report_*.xlsx"))


def test_graphql_figures_match_an_independent_run_of_the_same_files(
    product: RunningProduct, first_drop: FirstDrop, reference: dict[str, Any]
) -> None:
    expected = reference["run"].outputs
    attendance = expected["attendance"]
    attended = attendance[attendance["attended"]]
    ref_state = reference["state"]

    # The warehouse the product wrote holds what the in-process run wrote, file by file.
    for key in ("uploads", "records", "issues", "attendance", "attended", "scores"):
        assert first_drop.state[key] == ref_state[key], key

    # Per file, as the UI shows each partition's latest materialisation.
    per_file = {e["partition"]: e["metadata"] for e in product.materializations("stored_attendance")}
    assert {name: meta["records"] for name, meta in per_file.items()} == ref_state["records"]
    assert all(meta["ledger_balanced"] for meta in per_file.values())

    meta = product.latest_metadata("attendance")
    assert meta["records"] == len(attendance) == ref_state["attendance"]
    assert meta["attended_records"] == len(attended)
    assert meta["people"] == attended["attendee_key"].nunique()
    assert meta["events"] == attendance["event_id"].nunique() == 2
    assert meta["matched_records"] == attendance["customer_id"].notna().sum()
    assert product.latest_metadata("engagement_scores")["customers"] == len(expected["engagement_scores"])
    ledger = product.latest_metadata("upload_ledger")
    assert (ledger["uploads"], ledger["accepted"], ledger["rejected"]) == (2, 2, 0)
    assert ledger["every_ledger_balances"] is True

    report = product.latest_metadata("engagement_report")
    headline = (f"Found {len(attended)} attendance records for {attended['attendee_key'].nunique()} users "
                f"across 2 events")
    assert report["headline"] == headline
    # Counted by hand in the two CSVs (demo seed 7, anchor 2026-11-02): 43 and 44 registered attendees, plus one
    # customer panelist in the second; 35 + 37 attended, 8 + 8 no-shows; internal hosts and panelists excluded.
    assert first_drop.state["records"] == HAND_COUNTED_RECORDS
    assert report["headline"] == "Found 72 attendance records for 65 users across 2 events"
    assert "no-shows (registered, did not attend): 16" in report["report"]  # the appendix
    assert report["markdown_path"].endswith(".md") and Path(report["markdown_path"]).is_file()
    # The whole report, section by section: leaderboard scores, advocacy, risks, invitations, what changed.
    assert _sections(report["report"]) == _sections(reference["run"].report_markdown)


def _launch_chromium(playwright: Any, profile: Path) -> Any:
    return playwright.chromium.launch_persistent_context(
        str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
        viewport={"width": 1400, "height": 1000},
    )


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


def test_report_asset_page_renders_in_headless_chromium(
    product: RunningProduct, first_drop: FirstDrop, tmp_path: Path
) -> None:
    missing = None if CHROMIUM.exists() else f"{CHROMIUM} is missing (`.ci/run` installs Debian's chromium)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = missing or "the playwright package is missing (pip install -e '.[dev]')"
    if missing:
        if IN_CI:
            pytest.fail(missing)
        pytest.skip(missing)

    headline = product.latest_metadata("engagement_report")["headline"]
    page_png = tmp_path / f"engagement_report_{product.backend}_asset_page.png"
    report_png = tmp_path / f"engagement_report_{product.backend}_report.png"
    url = f"http://127.0.0.1:{product.port}/assets/engagement_report"
    with sync_playwright() as playwright:
        browser = _launch_chromium(playwright, tmp_path / "chromium-profile")
        try:
            page = browser.new_page()
            page.set_default_timeout(60_000)
            page.goto(url, wait_until="domcontentloaded")
            # The overview tab lists the latest materialisation's metadata: the headline is its text entry.
            page.get_by_text(headline, exact=True).first.wait_for()
            page.get_by_text("Latest materialization").first.wait_for()
            with contextlib.suppress(Exception):
                page.wait_for_load_state("networkidle", timeout=10_000)
            page.screenshot(path=str(page_png))
            # "[Show Markdown]" opens the report itself, rendered.
            page.get_by_text("[Show Markdown]").first.click()
            dialog = page.get_by_role("dialog")
            title = dialog.get_by_role("heading", name=re.compile(r"^Customer engagement report"))
            title.wait_for()
            dialog.get_by_role("heading", name=re.compile(r"^(Top 10 customers|Leaderboard)$")).wait_for()
            title.scroll_into_view_if_needed()
            text = dialog.inner_text()
            page.screenshot(path=str(report_png))
        finally:
            browser.close()

    assert f"{headline}." in text
    assert "Uploads and row accounting" in text
    for name in (p.name for p in first_drop.files):
        assert name in text
    for png in (page_png, report_png):
        width, height = _png_size(png)
        assert (width, height) == (1400, 1000) and png.stat().st_size > 30_000, f"{png} looks empty"
        if os.environ.get("ENGAGEMENT_SCREENSHOT_DIR"):
            target = Path(os.environ["ENGAGEMENT_SCREENSHOT_DIR"])
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(png, target / png.name)


@contextlib.contextmanager
def _warehouse_writer_frozen(product: RunningProduct, sha256: str) -> Iterator[Callable[[], bool]]:
    """Holds a lock that lets a run that re-processes this upload write its rows but not commit them, and
    yields a probe telling whether a writer is now stuck inside that transaction.

    SQLite (rollback journal): an open read transaction keeps a SHARED lock, so the writer gets as far as
    COMMIT, which needs EXCLUSIVE, and waits there (busy timeout 30 s); a journal with pages in it and a second
    connection that cannot take the write lock show it. PostgreSQL: the upload's row locked FOR NO KEY UPDATE
    lets the writer delete and insert the upload's records (foreign-key checks take KEY SHARE) and stops it at
    `UPDATE uploads`, which pg_stat_activity shows waiting on the lock.
    """
    if product.backend == "sqlite":
        path = product.warehouse_url.removeprefix("sqlite:///")
        holder = sqlite3.connect(path, isolation_level=None)
        probe = sqlite3.connect(path, isolation_level=None, timeout=0)
        try:
            assert holder.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
            holder.execute("BEGIN")
            holder.execute("SELECT count(*) FROM uploads").fetchone()

            def writer_stuck() -> bool:
                # A hot journal means pages were changed: the run's start-up schema check also takes the write
                # lock for a moment, but changes nothing.
                try:
                    if Path(path + "-journal").stat().st_size == 0:
                        return False
                    probe.execute("BEGIN IMMEDIATE")
                except FileNotFoundError:
                    return False
                except sqlite3.OperationalError:
                    return True
                probe.execute("ROLLBACK")
                return False

            yield writer_stuck
        finally:
            if holder.in_transaction:
                holder.execute("ROLLBACK")
            holder.close()
            probe.close()
        return
    engine = sa.create_engine(product.warehouse_url)
    try:
        with engine.connect() as holder, engine.connect() as watcher:
            holder.execute(sa.select(wh.uploads.c.upload_id).where(wh.uploads.c.sha256 == sha256)
                           .with_for_update(key_share=True)).one()
            watcher.execution_options(isolation_level="AUTOCOMMIT")

            def writer_stuck() -> bool:
                waiting = watcher.execute(sa.text(
                    "SELECT query FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")).scalars().all()
                return any(q.lstrip().upper().startswith("UPDATE UPLOADS") for q in waiting)

            try:
                yield writer_stuck
            finally:
                holder.rollback()
    finally:
        engine.dispose()


def test_a_run_killed_inside_its_warehouse_transaction_leaves_it_consistent_and_its_rerun_completes(
    product: RunningProduct, first_drop: FirstDrop
) -> None:
    victim = first_drop.files[0]
    before = warehouse_state(product.warehouse_url)
    known_runs = {r["runId"] for r in product.runs()}
    journal = Path(product.warehouse_url.removeprefix("sqlite:///") + "-journal")  # SQLite only

    with _warehouse_writer_frozen(product, sha256_of(victim)) as writer_stuck:
        # The same bytes dropped again (a fresh copy): the sensor requests a run that replaces the upload's rows.
        _drop([victim], product.data / "inbox", product.data / "staging", age_seconds=30)
        product.wait_for(writer_stuck, 120, "the re-processing run to be stuck inside its warehouse transaction")
        run = next(r for r in product.runs() if r["runId"] not in known_runs)
        assert run["jobName"] == "ingest_upload_job" and run["tags"]["dagster/partition"] == victim.name
        time.sleep(1)  # the writer is waiting on the lock with every row written: let it settle there
        pid = product.run_pid(run["runId"])
        assert pid, f"no pid logged for run {run['runId']}"
        product.expected_failures.add(run["runId"])
        os.kill(pid, signal.SIGKILL)
        if product.backend == "sqlite":
            assert journal.exists() and journal.stat().st_size > 0, "the run was killed before it wrote anything"

    after_kill = warehouse_state(product.warehouse_url)
    assert_consistent(after_kill)
    assert after_kill == before, "a killed run changed the warehouse"
    product.wait_for(lambda: product.graphql('query ($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }',
                                             id=run["runId"])["runOrError"]["status"] == "FAILURE",
                     60, "Dagster to mark the killed run as failed")

    # The daemon re-executes a run whose worker crashed (run_retries in dagster.yaml); nobody has to click. The
    # file left the inbox when the run archived it; the re-execution reads the archived copy.
    def retried() -> str | None:
        child = [r for r in product.runs() if r["tags"].get("dagster/parent_run_id") == run["runId"]]
        return child[0]["runId"] if child else None

    rerun_id = product.wait_for(retried, 180, "the daemon to re-execute the crashed run")
    runs = product.wait_until_settled()
    by_id = {r["runId"]: r for r in runs}
    assert by_id[rerun_id]["status"] == "SUCCESS"
    assert by_id[rerun_id]["tags"]["dagster/partition"] == victim.name
    assert [r["runId"] for r in runs if r["jobName"] == "ingest_upload_job" and r["runId"] not in known_runs] == [
        run["runId"], rerun_id], "no other ingestion run was started"

    after_rerun = warehouse_state(product.warehouse_url)
    assert_consistent(after_rerun)
    assert after_rerun == first_drop.state, "the re-run must leave exactly what a clean run leaves"
    assert product.latest_metadata("engagement_report")["report"] == first_drop.report
    assert list((product.data / "inbox").iterdir()) == []


def test_restarting_dagster_dev_reprocesses_nothing(product: RunningProduct, first_drop: FirstDrop) -> None:
    runs_before = [(r["runId"], r["status"]) for r in product.runs()]
    state_before = warehouse_state(product.warehouse_url)
    archive_before = sorted(p.name for p in (product.data / "archive").rglob("*"))

    restarted_at = time.time()
    product.stop()
    product.start()

    def two_evaluations_each() -> dict[str, list[dict]] | None:
        # A tick still being evaluated (STARTED) is not an evaluation yet: count finished ones only.
        ticks = {s: [t for t in product.sensor_ticks(s)
                     if t["timestamp"] > restarted_at and t["status"] != "STARTED"]
                 for s in ("inbox_sensor", "rescore_after_ingest_sensor")}
        return ticks if all(len(t) >= 2 for t in ticks.values()) else None

    ticks = product.wait_for(two_evaluations_each, 150, "two evaluations of each sensor after the restart")
    for sensor, evaluated in ticks.items():
        assert all(t["status"] == "SKIPPED" and not t["runIds"] for t in evaluated), (sensor, evaluated)
    assert [(r["runId"], r["status"]) for r in product.runs()] == runs_before, "a run was started after restart"
    assert warehouse_state(product.warehouse_url) == state_before
    assert sorted(p.name for p in (product.data / "archive").rglob("*")) == archive_before


def _launch_and_wait(product: RunningProduct, job: str, op: str, config: dict[str, Any]) -> str:
    """What a CSM does in the UI: the job's Launchpad with its config, then Launch Run."""
    params = {"selector": {**LOCATION, "jobName": job}, "runConfigData": {"ops": {op: {"config": config}}}}
    launched = product.graphql(LAUNCH, params=params)["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    status = product.wait_for(lambda: next((r["status"] for r in product.runs() if r["runId"] == run_id
                                            and r["status"] not in ACTIVE), None), 180, f"{job} to finish")
    assert status == "SUCCESS", product.log_tail()
    return run_id


def test_advocacy_and_invitations_launched_from_the_ui_act_once(product: RunningProduct, demo_dir: Path) -> None:
    """Issue 3 from the UI: the explicit action jobs, launched with config; a second launch changes nothing.

    Two webinars make no advocacy candidate, so the rest of the demo year is first scored into the same
    warehouse from the terminal (`score`'s path), as a CSM with a year of exports would have it."""
    from engagement_pipeline.defs.runner import run_pipeline

    rest = sorted(set((demo_dir / "inbox").iterdir()) - set(_pick_webinars(demo_dir)))
    settings = Settings.from_env({"ENGAGEMENT_DATA_DIR": str(product.data), "ENGAGEMENT_DB_URL": product.warehouse_url})
    scored = run_pipeline(rest, settings=settings)
    # Issue 9: the demo's rising customers now score High too (recency-weighted activity) and join the
    # candidates below the three planned advocates, who stay the top three by score. Which of C074 and C075
    # comes second depends on the day the demo is generated and scored (they can tie to a tenth), so the
    # three are compared as a set; the opportunities below are ordered by customer id.
    assert set(scored.outputs["advocacy_candidates"]["customer_id"][:3]) == {"C030", "C074", "C075"}

    advocacy = {"top_n": 3}
    _launch_and_wait(product, "create_advocacy_opportunities_job", "create_advocacy_opportunities", advocacy)
    _launch_and_wait(product, "create_advocacy_opportunities_job", "create_advocacy_opportunities", advocacy)
    webinar = "Data Quality at Scale Webinar"  # the next webinar after today in the demo catalogue
    invite = {"event": webinar, "top_n": 2, "holdout_share": 0.0, "dry_run": False}  # both must be sent
    _launch_and_wait(product, "send_event_invitations_job", "send_event_invitations", invite)
    _launch_and_wait(product, "send_event_invitations_job", "send_event_invitations", invite)

    engine = sa.create_engine(product.warehouse_url)
    try:
        with engine.connect() as conn:
            opportunities = conn.execute(sa.text(
                "SELECT customer_id, status FROM advocacy_opportunities ORDER BY customer_id")).all()
            invitations = conn.execute(sa.text(
                "SELECT contact_email, status FROM invitations WHERE event_name = :e"), {"e": webinar}).all()
    finally:
        engine.dispose()
    assert [tuple(o) for o in opportunities] == [("C030", "open"), ("C074", "open"), ("C075", "open")]
    assert [i.status for i in invitations] == ["sent", "sent"], invitations
    outbox = sorted((product.data / "outbox").rglob("*.eml"))
    assert len(outbox) == 2
    assert {i.contact_email.lower() for i in invitations} == {_recipient(p) for p in outbox}
    assert product.materializations("advocacy_opportunities", limit=1), "the action is visible on its asset"
    assert product.materializations("invitations", limit=1)


def _recipient(eml: Path) -> str:
    from email import message_from_bytes, policy

    return message_from_bytes(eml.read_bytes(), policy=policy.default)["To"].addresses[0].addr_spec.lower()
