"""What each platform fixture must yield: shared by the per-platform tests and the detection tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from engagement_pipeline.ingest.result import ParsedUpload

EXPORTS = Path(__file__).parent / "fixtures" / "exports"
LUMA_FILE = "Customer Summit - Guests - 2025-03-13-09-17-47.csv"


def summary(parsed: ParsedUpload) -> dict[str, object]:
    """Attended / no-show counts, total minutes and roles of a parsed upload, for one-line assertions."""
    records: pd.DataFrame = parsed.records
    return {
        "attended": int(records["attended"].sum()),
        "no_show": int((~records["attended"]).sum()),
        "minutes": round(float(records["minutes_attended"].sum()), 2),
        "roles": records["role"].value_counts().sort_index().to_dict(),
        "excluded": parsed.ledger["excluded_by_reason"],
        "balanced": parsed.ledger["balanced"],
    }


def minutes_by_key(parsed: ParsedUpload) -> dict[str, float]:
    return {k: round(float(m), 2) for k, m in zip(parsed.records["attendee_key"],
                                                  parsed.records["minutes_attended"], strict=True)}
