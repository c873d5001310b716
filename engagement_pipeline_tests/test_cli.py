"""The terminal: `demo`, then `score --json` on its inbox gives the product's figures; `customer` explains one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # the installed command in subprocesses: `demo`, then the demo scored per backend

CLI = Path(sys.executable).with_name("engagement-pipeline")


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, env={**os.environ, **env},
                          timeout=300)


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory, module_db_url: str) -> tuple[Path, dict, dict[str, str]]:
    """The demo written and scored by the CLI once per backend, and the environment the later commands read."""
    out = tmp_path_factory.mktemp("cli") / "demo"
    made = _cli("demo", "--anchor", "2026-11-02", "--out", str(out), env={})
    assert made.returncode == 0, made.stderr
    assert "567 attendance records, 234 people, 78 customers, 18 events" in made.stdout
    env = {"ENGAGEMENT_DATA_DIR": str(out), "ENGAGEMENT_DB_URL": module_db_url}
    files = sorted(str(p) for p in (out / "inbox").iterdir())
    result = _cli("score", *files, "--as-of", "2026-11-02", "--json", env=env)
    assert result.returncode == 0, result.stderr
    return out, json.loads(result.stdout), env


def test_demo_then_score_json_gives_the_products_figures(scored: tuple[Path, dict, dict[str, str]]) -> None:
    _, doc, _ = scored
    assert doc["summary"]["headline"] == "Found 567 attendance records for 234 users across 18 events"
    assert doc["as_of"] == "2026-11-02"
    assert len(doc["files"]) == 19 and all(f["balanced"] for f in doc["files"])
    assert sum(f["rows_read"] for f in doc["files"]) == sum(
        f["rows_kept"] + f["rows_excluded"] + f["rows_quarantined"] for f in doc["files"])
    assert len(doc["scores"]) == 82 and len(doc["advocacy_candidates"]) == 8 and len(doc["risks"]) == 5
    assert {r["match_method"] for r in doc["attendance"]} >= {"contact_email", "domain", "company_name", "unmatched"}


def test_score_prints_the_markdown_report(scored: tuple[Path, dict, dict[str, str]]) -> None:
    out, _, env = scored
    files = sorted(str(p) for p in (out / "inbox").glob("*Attendee Report.csv"))[:1]
    result = _cli("score", *files, "--as-of", "2026-11-02", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# Customer engagement report — as of 2026-11-02")
    assert "Found 567 attendance records for 234 users across 18 events." in result.stdout  # the same warehouse


def test_customer_prints_the_breakdown_and_history(scored: tuple[Path, dict, dict[str, str]]) -> None:
    _, doc, env = scored
    top = min(doc["scores"], key=lambda s: s["rank"])
    result = _cli("customer", top["customer_name"], env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"# {top['customer_name']} ({top['customer_id']})")
    assert f"Score {top['score']:.1f} (High) as of 2026-11-02" in result.stdout
    assert "| frequency |" in result.stdout and "## Attendance history" in result.stdout
    missing = _cli("customer", "No Such Company", env=env)
    assert missing.returncode == 1 and "No customer matches 'No Such Company'." in missing.stderr


def test_a_rejected_file_exits_non_zero_with_the_reason(
    tmp_path: Path, scored: tuple[Path, dict, dict[str, str]]
) -> None:
    out, _, env = scored
    bad = tmp_path / "notes.csv"
    bad.write_text("foo,bar\n1,2\n")
    result = _cli("score", str(bad), env=env)
    assert result.returncode == 2
    assert "Rejected notes.csv:" in result.stderr and "not a recognised attendance export" in result.stderr
    assert "Traceback" not in result.stderr
    assert (out / "rejected" / "notes.csv.error.txt").exists()
