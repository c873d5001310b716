"""Luma (lu.ma / luma.com) guest list CSV: one row per guest, check-in as the attendance signal.

Confidence HIGH (PLATFORMS.md §5: a real export with a UTF-8 BOM). Columns are matched by name because
their order moves between releases (`custom_source` before or after `checked_in_at`; `api_id` renamed
`guest_id`). `approval_status=approved` with a blank `checked_in_at` is a registered no-show; a filled
`checked_in_at` is attended whatever the status; `declined`, `pending_approval`, `invited` and `waitlist`
guests never held a confirmed place and are excluded. There are no durations. The file carries no event
name or date: the name comes from Luma's download name `<EVENT> - Guests - <exported at>.csv` and the date
from the check-in times (both noted in the ledger), otherwise events/overrides.csv must supply them.
"""

from __future__ import annotations

import re

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from engagement_pipeline.ingest.collector import Collector
from engagement_pipeline.ingest.common import (
    NO_FIT,
    Fit,
    check_filled,
    clean_column,
    either,
    engagement_columns,
    first_error,
    fit,
    full_names,
    header_rows,
    locate,
    mode_date,
    norm_header,
    parse_dates,
    require,
    section,
)
from engagement_pipeline.ingest.reader import Table

NAME = "luma"
LABEL = "Luma guest list"
IDENTIFIED_BY = "a header with 'approval_status', 'checked_in_at', 'email' and 'api_id'/'guest_id'"
DEFAULT_TYPE = "other"
HAS_DURATIONS = False

FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("name",),
    "first_name": ("first_name",),
    "last_name": ("last_name",),
    "email": ("email",),
    "status": ("approval_status",),
    "checked_in_at": ("checked_in_at",),
    "created_at": ("created_at",),
    "company": ("company", "organization", "organisation", "company name", "what company do you work for?"),
}
REGISTERED = {"approved"}
NOT_CONFIRMED = {"declined", "pending_approval", "invited", "waitlist", "rejected", "cancelled", "canceled"}
_FILE_NAME = re.compile(r"^(?P<event>.+?) - Guests - \d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}(?: \(\d+\))?\.(?:csv|xlsx)$",
                        re.IGNORECASE)
_ISO = r"(\d{4}-\d{2}-\d{2}[T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?|)"


class LumaRows(pa.DataFrameModel):
    """One guest row after header normalisation (blank = column absent)."""

    name: Series[str]
    first_name: Series[str]
    last_name: Series[str]
    email: Series[str] = pa.Field(str_matches=r"^([^@\s]+@[^@\s]+\.[^@\s]+|)$")
    status: Series[str] = pa.Field(str_matches=r"(?i)^[a-z_]*$")
    checked_in_at: Series[str] = pa.Field(str_matches=rf"^{_ISO}$")
    created_at: Series[str]
    company: Series[str]

    class Config:
        name = "luma_rows"
        strict = False


def _header(table: Table) -> tuple[int, set[str]] | None:
    return next(((i, cells) for i, cells in header_rows(table, 10) if "approval_status" in cells), None)


def identify(table: Table) -> Fit:
    """Strong when the guest header has approval_status, checked_in_at, email and a guest id column."""
    found = _header(table)
    if found is None:
        return NO_FIT
    cells = found[1]
    return fit({"'approval_status'": True, "'checked_in_at'": "checked_in_at" in cells, "'email'": "email" in cells,
                "'api_id' or 'guest_id'": bool(cells & {"api_id", "guest_id"})})


def parse(table: Table, col: Collector) -> None:
    found_header = _header(table)
    if found_header is None:
        return
    sec = section(table, found_header[0])
    found = locate(sec, FIELDS)
    require(found, [("email",), ("status",), ("checked_in_at",)], "Luma guest list", sec, FIELDS)
    check_filled(sec, found, {"status": str}, "Luma guest list")
    event_name = _event_name(col)
    rows = col.frame(sec, found, LumaRows)
    status = rows["status"].str.strip().str.lower()
    checked_in, date_error = parse_dates(rows["checked_in_at"])
    questions, polls, feedback, engagement_error = engagement_columns(rows)
    value_error = first_error(date_error, engagement_error)
    rows = col.quarantine_where(rows, value_error.notna(), "bad_value", lambda hit: value_error[hit.index])
    absent = checked_in.isna()
    rows = col.exclude_where(rows, absent & status.isin(NOT_CONFIRMED), "cancelled",
                             lambda hit: (f"guest not confirmed (approval_status {s!r})" for s in status[hit.index]))
    rows = col.quarantine_where(rows, absent & ~status.isin(REGISTERED), "bad_value",
                                lambda hit: (f"unrecognised approval_status {s!r}" for s in status[hit.index]))
    # The event date, when the file has none: the most common day of these guests' check-ins (rows that keep
    # then quarantines or excludes count too, as they did row by row).
    day = mode_date(list(checked_in[rows.index].dropna()))
    kept = col.keep_frame(pd.DataFrame({
        "event_name": event_name, "event_date": day, "email": clean_column(rows["email"]),
        "name": either(clean_column(rows["name"]), full_names(rows["first_name"], rows["last_name"])),
        "company": clean_column(rows["company"]), "attended": checked_in[rows.index].notna(),
        "questions": questions, "polls": polls, "feedback": feedback,
    }, index=rows.index))
    if len(kept) and day is not None:
        col.notes.append(f"event date {day.date()} taken from the guests' check-in times (UTC)")


def _event_name(col: Collector) -> str | None:
    match = _FILE_NAME.match(col.source_file.rsplit("/", 1)[-1])
    if not match:
        return None
    name = norm_header(match["event"]) and match["event"].strip()
    col.notes.append(f"event name {name!r} taken from Luma's file name")
    return name
