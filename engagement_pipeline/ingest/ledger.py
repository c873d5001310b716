"""Keeps the per-upload ledger balanced when records move after parsing.

Internal staff are found only after matching (it needs the configured domains), so their records move
from kept to excluded here; a record folded from several join/leave rows moves all of its rows.
A record whose identity is too long to be a key (a 3,000-character "name") moves to quarantine: the
warehouse indexes the key, and PostgreSQL refuses index entries over ~2.7 kB where SQLite accepts them, so
one hostile cell would otherwise fail the whole upload on one backend only.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from engagement_pipeline.ingest.result import ParsedUpload

# Bytes of UTF-8 an attendee key may hold: well under PostgreSQL's btree entry limit (2,704 bytes) together
# with the other key columns; real emails stop at 254 characters.
MAX_KEY_BYTES = 1_024


def quarantine_oversized_keys(parsed: ParsedUpload, max_bytes: int = MAX_KEY_BYTES) -> ParsedUpload:
    """Moves records whose attendee key (email or name) is longer than `max_bytes` to quarantine."""
    if parsed.records.empty:
        return parsed
    keys = parsed.records["attendee_key"].to_numpy(dtype=object)
    if set(map(type, keys)) == {str} and max(map(len, keys)) * 4 <= max_bytes:  # the check below, in C
        return parsed
    lengths = parsed.records["attendee_key"].str.len()
    if lengths.notna().all() and lengths.max() * 4 <= max_bytes:  # UTF-8 holds at most 4 bytes a character
        return parsed
    too_long = parsed.records["attendee_key"].map(lambda k: len(str(k).encode("utf-8")) > max_bytes)
    if not too_long.any():
        return parsed
    bad = parsed.records.loc[too_long]
    moved = pd.DataFrame(
        {
            "source_row": bad["source_row"].astype("int64").to_numpy(),
            "reason": "value_too_long",
            "detail": [f"email or name of {len(str(k))} characters is too long to identify a person "
                       f"(at most {max_bytes} bytes)" for k in bad["attendee_key"]],
            "rows": bad["rows_folded"].astype("int64").to_numpy(),
            "raw": [{"email": str(e)[:200] if e else None, "name": str(n)[:200] if n else None}
                    for e, n in zip(bad["attendee_email"], bad["attendee_name"], strict=True)],
        }
    )
    quarantined = pd.concat([parsed.quarantined, moved], ignore_index=True) if len(parsed.quarantined) else moved
    folded_rows = int(bad["rows_folded"].sum())
    return replace(
        parsed,
        records=parsed.records.loc[~too_long].reset_index(drop=True),
        quarantined=quarantined,
        rows_kept=parsed.rows_kept - folded_rows,
        notes=[*parsed.notes, f"{len(moved)} records with an over-long email or name quarantined"],
    )


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
    folded_rows = int(internal["rows_folded"].sum())
    excluded = pd.concat([parsed.excluded, moved], ignore_index=True) if len(parsed.excluded) else moved
    return replace(
        parsed,
        records=_without(parsed.records, internal),
        excluded=excluded,
        rows_kept=parsed.rows_kept - folded_rows,
        notes=[*parsed.notes, f"{len(moved)} organiser-internal records ({folded_rows} rows) excluded"],
    )


def _without(records: pd.DataFrame, internal: pd.DataFrame) -> pd.DataFrame:
    """`records` less every row whose (event, attendee key) is one of `internal`'s, renumbered from 0.

    The exact pair test runs only on the rows whose key `isin` finds among the internal keys (isin equates
    whatever `==` does, and NaN with NaN too, so it never misses a pair); a tuple per record of the upload
    and a boolean `.loc` were most of moving staff out of a large upload."""
    internal_keys = set(zip(internal["event_id"], internal["attendee_key"], strict=True))
    keys = records["attendee_key"].to_numpy(dtype=object)
    events = records["event_id"].to_numpy(dtype=object)
    keep = np.ones(len(records), dtype=bool)
    for i in np.flatnonzero(pd.Series(keys, dtype=object).isin(internal["attendee_key"].to_numpy(dtype=object))):
        keep[i] = (events[i], keys[i]) not in internal_keys
    return rows_at(records, np.flatnonzero(keep))


def rows_at(frame: pd.DataFrame, positions: np.ndarray) -> pd.DataFrame:
    """The rows of `frame` at `positions` (ascending, distinct), renumbered from 0. When they are one run of rows
    (staff are the first record of an upload, so the rest is one run) a slice, not a take of every column (a
    take and renumbering was ~0.45 ms an upload, a slice ~0.2)."""
    if len(positions) and positions[-1] - positions[0] + 1 == len(positions):
        return frame.iloc[positions[0]:positions[-1] + 1].reset_index(drop=True)
    return frame.iloc[positions].reset_index(drop=True)
