"""Eventbrite attendee reports: the classic report (`Order #`/`Order no.`, `Attendee Status`) and the new
sentence-case one (`Order ID`, `Attendee email`, `Event name`, `Event start date`).

Confidence HIGH for the classic header, MED for the sentence-case one (PLATFORMS.md §4). One row is one
ticket: the same buyer email on several tickets folds into one record. `Checked In` means attended,
`Attending` is a registered no-show, `Not Attending`/refunded/cancelled rows are excluded. Per-row event
columns (organisation-level exports) are honoured, otherwise events/overrides.csv must name the event.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from engagement_pipeline.ingest.collector import Collector
from engagement_pipeline.ingest.common import (
    NO_FIT,
    Fit,
    Section,
    clean_cells,
    either_cells,
    engagement_cells,
    first_cells,
    fit,
    full_name_cells,
    header_rows,
    locate,
    norm_header,
    normalised_cells,
    parse_cell_array,
    parse_datetime,
    parse_flag,
    require,
    section,
)
from engagement_pipeline.ingest.reader import Table
from engagement_pipeline.ingest.result import RejectedFile

NAME = "eventbrite"
LABEL = "Eventbrite attendee report"
IDENTIFIED_BY = "an order column ('Order #', 'Order no.' or 'Order ID') with an email and attendee/ticket columns"
DEFAULT_TYPE = "other"

ORDER = ("order #", "order no.", "order id", "order number")
FIELDS: dict[str, tuple[str, ...]] = {
    "first_name": ("first name", "attendee first name"),
    "last_name": ("last name", "surname", "attendee last name"),
    "email": ("email", "attendee email", "email address"),
    "status": ("attendee status", "status", "check-in status", "checkin status"),
    "checked_in": ("checked in", "check-in date", "checked in date", "check in date"),
    "order_type": ("order type", "payment status"),
    "company": ("company", "attendee company", "organisation", "organization", "company name"),
    "event_name": ("event name",),
    "event_date": ("event date", "event start date", "event start"),
}
ATTENDED = {"checked in", "checked-in", "attended"}
REGISTERED = {"attending", "registered", "not checked in", ""}
CANCELLED = {"not attending", "refunded", "cancelled", "canceled", "deleted", "transferred", "voided"}


class EventbriteRows(pa.DataFrameModel):
    """One ticket row after header normalisation (blank = column absent)."""

    first_name: Series[str]
    last_name: Series[str]
    email: Series[str] = pa.Field(str_matches=r"^([^@\s]+@[^@\s]+\.[^@\s]+|)$")
    status: Series[str]
    checked_in: Series[str]
    order_type: Series[str]
    company: Series[str]
    event_name: Series[str]
    event_date: Series[str]

    class Config:
        name = "eventbrite_rows"
        strict = False


def _header(table: Table) -> int | None:
    for index in range(min(len(table.rows), 20)):
        headers = normalised_cells(table, index)  # each row normalised once per table
        if headers & set(ORDER) and headers & {*FIELDS["email"], "buyer email"}:
            return index
    return None


def identify(table: Table) -> Fit:
    """Strong for an order column plus an email column in one header row; an order column alone is loose. (The
    Orders export, with only 'Buyer email', fits strongly and parse() then says it has no attendance.)"""
    for _, cells in header_rows(table, 20):
        if cells & set(ORDER):
            return fit({"an order column": True,
                        "an 'Email' column": bool(cells & {*FIELDS["email"], "buyer email"})})
    return NO_FIT


@lru_cache(maxsize=1_024)
def _status(status: str, payment: str, checked: str) -> str:
    """'attended' | 'registered' | 'cancelled' | 'unknown' from the status, check-in and payment columns."""
    status = status.strip().lower()
    payment = payment.strip().lower()
    if status in CANCELLED or ("refunded" in payment and "partially" not in payment):
        return "cancelled"
    checked = checked.strip()
    if status in ATTENDED or (checked and parse_flag(checked) is not False):
        return "attended"
    return "registered" if status in REGISTERED else "unknown"


def parse(table: Table, col: Collector) -> None:
    header_index = _header(table)
    if header_index is None:
        return
    sec = section(table, header_index)
    found = locate(sec, FIELDS)
    if found["status"] is None and found["checked_in"] is None:
        raise RejectedFile(
            "This Eventbrite file has no attendee status or check-in column, so attendance cannot be told "
            "(it may be an Orders or Sales export).",
            expected="the Attendee report with 'Attendee Status' (or a check-in column)",
            found=", ".join(sec.original))
    require(found, [("email",)], "Eventbrite report", sec, FIELDS)
    _parse_rows(col, sec, found)


def _parse_rows(col: Collector, sec: Section, found: dict[str, int | None]) -> None:
    """The ticket rows, column-wise on arrays (a frame, then a Series per column and step, was most of parsing a
    report): a TOTALS footer and cancelled tickets excluded, unknown statuses and unreadable values quarantined."""
    source_rows, cells = col.frame_cells(sec, found, EventbriteRows)
    status = np.empty(len(source_rows), dtype=object)
    status[:] = [_status(*row) for row in zip(cells["status"], cells["order_type"], cells["checked_in"], strict=True)]
    event_date, date_error = parse_cell_array(cells["event_date"], parse_datetime)
    questions, polls, feedback, engagement_error = engagement_cells(cells, len(source_rows))
    error = either_cells(date_error, engagement_error)
    keep = np.array([norm_header(cell) != "totals" for cell in first_cells(sec, source_rows)], dtype=bool)
    col.exclude_marked(source_rows, ~keep, "summary_row", "TOTALS footer row")
    cancelled = keep & (status == "cancelled")
    col.exclude_marked(source_rows, cancelled, "cancelled",
                       [f"ticket status {s or o!r}" for s, o in zip(cells["status"][cancelled],
                                                                    cells["order_type"][cancelled], strict=True)])
    keep &= ~cancelled
    unknown = keep & (status == "unknown")
    col.quarantine_marked(source_rows, unknown, "bad_value",
                          [f"unrecognised attendee status {s!r}" for s in cells["status"][unknown]])
    keep &= ~unknown
    erroneous = keep & ~pd.isna(error)
    dated = np.array([e is not None and "date" in e for e in error], dtype=bool)
    col.quarantine_marked(source_rows, erroneous & dated, "bad_date", error[erroneous & dated])
    col.quarantine_marked(source_rows, erroneous & ~dated, "bad_value", error[erroneous & ~dated])
    keep &= ~erroneous
    col.keep_columns(source_rows[keep], {
        "event_name": clean_cells(cells["event_name"][keep]), "event_date": event_date[keep],
        "email": clean_cells(cells["email"][keep]),
        "name": full_name_cells(cells["first_name"][keep], cells["last_name"][keep]),
        "company": clean_cells(cells["company"][keep]), "attended": status[keep] == "attended", "minutes": 0.0,
        "questions": questions[keep], "polls": polls[keep], "feedback": feedback[keep],
    })
