"""Issue 13 seen as a CSM sees it: the report asset page and the invitation Launchpad in `dagster dev`, in
headless Chromium, and the metadata the UI plots read back from the Dagster instance.

The demo year is scored in-process into a Dagster home (the CLI's path, as of the demo's anchor), then one
`dagster dev` serves that home. Screenshots are kept as artefacts (ENGAGEMENT_SCREENSHOT_DIR, else the test's
tmp folder) and asserted on their text. Slow: it starts `dagster dev` and Chromium.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from engagement_pipeline.cli import install_instance_config
from engagement_pipeline.config import Settings

from .conftest import DEMO_ANCHOR
from .test_ui_end_to_end import CHROMIUM, IN_CI, LOCATION, RunningProduct, _launch_chromium

pytestmark = pytest.mark.slow
REPORT_LINE_BOUND = 200  # the demo report (81 customers, 6 upcoming events) stays one readable page
# A top-10 customer renamed in the CRM as an attacker would name a company in an upload.
HOSTILE_NAME = "Ember [x](https://evil) ![x](https://evil/p.png) <img src=x onerror=alert(1)> www.evil.io"
LAUNCH_DRY_RUN = """mutation ($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
  ... on RunConfigValidationInvalid { errors { message } } } }"""
RUN_STATUS = """query ($runId: ID!) { runOrError(runId: $runId) { ... on Run { status } } }"""
STEP_OUTPUT_METADATA = """query ($runId: ID!) { logsForRun(runId: $runId) { ... on EventConnection { events {
  __typename ... on ExecutionStepOutputEvent { metadataEntries { label
    ... on MarkdownMetadataEntry { mdStr } ... on IntMetadataEntry { intRepr } ... on TextMetadataEntry { text } } }
  } } } }"""


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory, demo_dir: Path) -> dict[str, Any]:
    """The demo year scored as of its anchor into a fresh Dagster home and warehouse."""
    from engagement_pipeline.defs.runner import run_pipeline

    root = tmp_path_factory.mktemp("glance")
    data = root / "data"
    for folder in ("crm", "events"):
        shutil.copytree(demo_dir / folder, data / folder)
    (data / "inbox").mkdir()
    customers = data / "crm" / "customers.csv"
    customers.write_text(customers.read_text(encoding="utf-8").replace("Ember Systems AG", f'"{HOSTILE_NAME}"'),
                         encoding="utf-8")
    home = root / "dagster_home"
    install_instance_config(home, use_postgres=False)
    warehouse_url = f"sqlite:///{data / 'warehouse.sqlite'}"
    settings = Settings.from_env({"ENGAGEMENT_DATA_DIR": str(data), "ENGAGEMENT_DB_URL": warehouse_url})
    # The uploads through an ephemeral instance (19 ingest runs in a persistent one cost minutes), then one
    # scoring run into the home `dagster dev` serves.
    run_pipeline(sorted((demo_dir / "inbox").iterdir()), settings=settings, as_of=DEMO_ANCHOR)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run = run_pipeline([], settings=settings, as_of=DEMO_ANCHOR, instance=instance)
        latest = {key: instance.get_latest_materialization_event(dg.AssetKey(key)).asset_materialization.metadata
                  for key in ("engagement_report", "engagement_scores", "engagement_risks", "attendance",
                              "invitation_recommendations", "unmatched_attendees")}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENGAGEMENT_", "DAGSTER_"))}
    env.update(ENGAGEMENT_DATA_DIR=str(data), ENGAGEMENT_DB_URL=warehouse_url, DAGSTER_HOME=str(home))
    return {"root": root, "data": data, "home": home, "env": env, "run": run, "metadata": latest,
            "warehouse_url": warehouse_url}


def test_metadata_types_read_back_from_the_instance(scored: dict[str, Any]) -> None:
    meta = scored["metadata"]
    report = meta["engagement_report"]
    assert isinstance(report["report"], dg.MarkdownMetadataValue)
    for key in ("leaderboard", "risks", "recommendations"):
        assert isinstance(report[key], dg.TableMetadataValue), key
        assert [c.name for c in report[key].schema.columns], key
    for key in ("mean_score", "arr_at_risk", "unmatched_share"):
        assert isinstance(report[key], dg.FloatMetadataValue), key
    for key in ("declining_customers", "customers_high", "customers_low", "report_lines"):
        assert isinstance(report[key], dg.IntMetadataValue), key
    assert report["declining_customers"].value == 5 and report["arr_at_risk"].value > 0
    assert report["report_lines"].value <= REPORT_LINE_BOUND
    for asset in ("engagement_scores", "engagement_risks", "attendance", "invitation_recommendations"):
        assert isinstance(meta[asset]["dagster/column_schema"], dg.TableSchemaMetadataValue), asset
        assert isinstance(meta[asset]["dagster/row_count"], dg.IntMetadataValue), asset
    assert meta["engagement_scores"]["dagster/row_count"].value == 82
    assert isinstance(meta["engagement_scores"]["mean_score"], dg.FloatMetadataValue)
    # Previews keep no address: the demo's emails are masked wherever they are shown in the event log.
    email = re.compile(r"[a-z0-9._-]{2,}@[a-z0-9-]+\.[a-z.]+")
    for asset in ("attendance", "unmatched_attendees", "invitation_recommendations"):
        shown = str(meta[asset]["preview"].value).replace("\\", "")  # as rendered: no Markdown escapes
        assert "***@" in shown and not email.search(shown), asset
    records = meta["invitation_recommendations"]["recommendations_table"].value.records
    assert all("***@" in r.data["contact_email"] for r in records)
    assert "Hugo Silva" not in str(meta["attendance"]["preview"].value)  # people's names as initials


def test_per_owner_reports_and_the_line_bound(scored: dict[str, Any]) -> None:
    main = Path(scored["run"].outputs["report_paths"]["markdown_path"])
    assert len(main.read_text(encoding="utf-8").splitlines()) <= REPORT_LINE_BOUND
    owners = sorted((main.parent / "by_owner").glob(f"{main.stem}_*.md"))
    assert len(owners) >= 5
    hannah = (main.parent / "by_owner" / f"{main.stem}_hannah-price.md").read_text(encoding="utf-8")
    assert "Hannah Price's customers" in hannah and "Verdant Logistics S.A." in hannah
    assert "Jasper Energy B.V." not in hannah.split("## Technical appendix")[0]  # Diego Alvarez's customer


def _skip_without_browser() -> None:
    missing = None if CHROMIUM.exists() else f"{CHROMIUM} is missing (`.ci/run` installs Debian's chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = missing or "the playwright package is missing (pip install -e '.[dev]')"
    if missing:
        if IN_CI:
            pytest.fail(missing)
        pytest.skip(missing)


def _keep(png: Path) -> None:
    if os.environ.get("ENGAGEMENT_SCREENSHOT_DIR"):
        target = Path(os.environ["ENGAGEMENT_SCREENSHOT_DIR"])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, target / png.name)


def test_report_page_and_invitation_launchpad_in_headless_chromium(scored: dict[str, Any], tmp_path: Path) -> None:
    _skip_without_browser()
    from playwright.sync_api import sync_playwright

    product = RunningProduct("sqlite", scored["home"], scored["data"], scored["warehouse_url"], scored["env"],
                             scored["root"] / "dagster.log")
    try:
        product.start()
        product.graphql("mutation { setNuxSeen }")
        report_png, launchpad_png = tmp_path / "glance_report.png", tmp_path / "glance_launchpad.png"
        with sync_playwright() as playwright:
            browser = _launch_chromium(playwright, tmp_path / "chromium-profile")
            try:
                page = browser.new_page()
                page.set_default_timeout(60_000)
                page.goto(f"http://127.0.0.1:{product.port}/assets/engagement_report", wait_until="domcontentloaded")
                page.get_by_text("[Show Markdown]").first.click()
                dialog = page.get_by_role("dialog")
                dialog.get_by_role("heading", name="Needs action").wait_for()
                text = dialog.inner_text()
                images = dialog.locator("img").evaluate_all(
                    "els => els.map(e => [e.getAttribute('src') || '', e.naturalWidth])")
                links = dialog.locator("a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
                title = dialog.get_by_role("heading", name=re.compile(r"^Customer engagement report"))
                title.scroll_into_view_if_needed()
                page.screenshot(path=str(report_png))
                page.goto(f"http://127.0.0.1:{product.port}/locations/{LOCATION['repositoryLocationName']}/jobs/"
                          "send_event_invitations_job/playground", wait_until="domcontentloaded")
                page.get_by_text("dry_run").first.wait_for()
                with contextlib.suppress(Exception):
                    page.wait_for_load_state("networkidle", timeout=10_000)
                launchpad = page.inner_text("body")
                page.screenshot(path=str(launchpad_png))
            finally:
                browser.close()
        for png in (report_png, launchpad_png):
            _keep(png)

        # The first screen is what needs action; the statistics wait in the appendix.
        assert text.index("Needs action") < text.index("Top 10 customers") < text.index("Technical appendix")
        body = text.split("Technical appendix")[0]
        assert not re.search(r"\bp\s*[=<]\s*0|p-value", body)
        assert "Jasper Energy B.V." in body and "241,000" in body  # the largest ARR declining
        # The charts are data: URIs the UI's Markdown renders (a decoded SVG has a width).
        drawn = [w for src, w in images if src.startswith("data:image/svg+xml")]
        assert len(drawn) >= 10 and all(w > 0 for w in drawn), images[:3]
        # The hostile name reads as text: no link, no remote image, no HTML, nothing autolinked.
        assert links == [], links
        assert all(src.startswith("data:image/svg+xml") for src, _ in images), [s[:40] for s, _ in images]
        assert HOSTILE_NAME in text.replace("\u2060", "")
        # The Launchpad: a dry run by default, the event from the catalogue, no SMTP or warehouse to edit.
        assert re.search(r"dry_run:\s*true", launchpad), launchpad[:2000]
        assert "smtp" not in launchpad.lower() and "ENGAGEMENT_DB_URL" not in launchpad

        # A dry run launched with the defaults records who would get what, masked.
        params = {"selector": {**LOCATION, "jobName": "send_event_invitations_job"}, "runConfigData": {}}
        launched = product.graphql(LAUNCH_DRY_RUN, params=params)["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        run_id = launched["run"]["runId"]
        status = product.wait_for(lambda: (s := product.graphql(RUN_STATUS, runId=run_id)["runOrError"]["status"])
                                  not in ("QUEUED", "NOT_STARTED", "STARTING", "STARTED") and s, 180, "the dry run")
        assert status == "SUCCESS", product.log_tail()
        events = product.graphql(STEP_OUTPUT_METADATA, runId=run_id)["logsForRun"]["events"]
        entries = {m["label"]: m for e in events if e["__typename"] == "ExecutionStepOutputEvent"
                   for m in e["metadataEntries"]}
        assert int(entries["would_send"]["intRepr"]) > 0
        recipients = entries["recipients"]["mdStr"].replace("\\", "")  # as rendered
        assert "***@" in recipients and "dry_run" in recipients
        assert "Subject:" in entries["email_preview"]["mdStr"] and "<unsubscribe link>" in entries[
            "email_preview"]["mdStr"]
        assert not list((scored["data"] / "outbox").rglob("*.eml")) if (scored["data"] / "outbox").exists() else True
    finally:
        product.stop()
