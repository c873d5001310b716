"""Every fixture export (and the hostile ones) parses to exactly the upload its golden file records.

Why: platform modules are being rewritten from row-by-row to column-wise parsing (issue 11), and the promise
is *identical* output: the same records, the same excluded and quarantined rows with the same reasons,
details and raw cells, the same notes and ledger. The golden files were written by the row-by-row code before
a module was converted; a conversion that changes anything a user would see fails here, row by row.

Regenerate (only when a change of output is intended, and say so in the commit):
    .venv/bin/python -m engagement_pipeline_tests.test_ingest_golden --write
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from engagement_pipeline.ingest.mappings import load_mappings
from engagement_pipeline.ingest.overrides import EventOverride
from engagement_pipeline.ingest.parse import parse_export
from engagement_pipeline.ingest.result import RejectedFile

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = FIXTURES / "golden"
INPUTS = sorted([*(FIXTURES / "exports").iterdir(), *(FIXTURES / "hostile").iterdir()])
# Files that name no event: the override a person would add, so their rows are parsed too.
OVERRIDES = [EventOverride("google_meet*.csv", "Design Review", "training", date(2025, 3, 4)),
             EventOverride("eventbrite_en_gb.csv", "Partner Day", None, date(2025, 6, 1)),
             EventOverride("teams_attendance_list.csv", "Weekly Sync", None, None),
             EventOverride("goto_legacy_hostile.csv", None, None, date(2025, 3, 4))]


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value.item() if hasattr(value, "item") else value


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in frame.astype(object).to_dict("records")]


def outcome(path: Path) -> dict[str, Any]:
    """What a user sees of one parse: records, ledger rows, notes, counts; or the rejection."""
    try:
        upload = parse_export(path, overrides=OVERRIDES, mappings=load_mappings(FIXTURES / "mappings"))
    except RejectedFile as err:
        return {"rejected": type(err).__name__, "explanation": err.explanation()}
    return {
        "platform": upload.platform, "records": _rows(upload.records), "dtypes": upload.records.dtypes.astype(str)
        .to_dict(), "excluded": _rows(upload.excluded), "quarantined": _rows(upload.quarantined),
        "notes": list(upload.notes), "ledger": {k: _plain(v) for k, v in upload.ledger.items()},
        "organiser_emails": list(upload.organiser_emails),
    }


def _golden(path: Path) -> Path:
    return GOLDEN / f"{path.name}.json"


@pytest.mark.parametrize("path", INPUTS, ids=[p.name for p in INPUTS])
def test_export_parses_to_its_golden_upload(path: Path) -> None:
    expected = json.loads(_golden(path).read_text(encoding="utf-8"))
    got = json.loads(json.dumps(outcome(path), default=str))
    for key in expected:  # key by key, so a failure names what changed
        assert got.get(key) == expected[key], f"{path.name}: {key} differs"
    assert set(got) == set(expected)


def test_hostile_fixtures_exercise_every_ledger_outcome() -> None:
    reasons = set()
    for path in (FIXTURES / "hostile").iterdir():
        found = outcome(path)
        reasons |= {row["reason"] for row in found.get("excluded", []) + found.get("quarantined", [])}
    assert {"duplicate", "bad_email", "bad_value", "no_identity", "bot", "cancelled"} <= reasons


if __name__ == "__main__" and "--write" in sys.argv:
    GOLDEN.mkdir(exist_ok=True)
    for source in INPUTS:
        _golden(source).write_text(json.dumps(outcome(source), default=str, indent=1, ensure_ascii=False) + "\n",
                                   encoding="utf-8")
        print(f"wrote {_golden(source).relative_to(FIXTURES.parent)}")
