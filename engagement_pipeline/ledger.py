"""Keeps the per-upload ledger balanced when matching excludes organiser-internal people.

Internal staff are found only after matching (it needs the configured domains), so their records move
from kept to excluded here; a record folded from several join/leave rows moves all of its rows.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from engagement_pipeline.ingest.result import ParsedUpload


def exclude_internal(parsed: ParsedUpload, internal: pd.DataFrame) -> ParsedUpload:
    if internal.empty:
        return parsed
    moved = pd.DataFrame(
        {
            "source_row": internal["source_row"].astype("int64").to_numpy(),
            "reason": "internal",
            "detail": [
                f"organiser-internal address ({n} source row{'s' if n != 1 else ''})"
                for n in internal["rows_folded"].astype(int)
            ],
            "rows": internal["rows_folded"].astype("int64").to_numpy(),
            "raw": [
                {"email": e, "name": n} for e, n in zip(internal["attendee_email"], internal["attendee_name"],
                                                        strict=True)
            ],
        }
    )
    internal_keys = set(zip(internal["event_id"], internal["attendee_key"], strict=True))
    keep = [
        (e, k) not in internal_keys
        for e, k in zip(parsed.records["event_id"], parsed.records["attendee_key"], strict=True)
    ]
    folded_rows = int(internal["rows_folded"].sum())
    excluded = pd.concat([parsed.excluded, moved], ignore_index=True) if len(parsed.excluded) else moved
    return replace(
        parsed,
        records=parsed.records.loc[keep].reset_index(drop=True),
        excluded=excluded,
        rows_kept=parsed.rows_kept - folded_rows,
        notes=[*parsed.notes, f"{len(moved)} organiser-internal records ({folded_rows} rows) excluded"],
    )
