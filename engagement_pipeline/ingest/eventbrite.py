"""Eventbrite attendee reports: the classic report (`Order #`/`Order no.`, `Attendee Status`) and the new
sentence-case one (`Order ID`, `Attendee email`, `Event name`, `Event start date`).

Confidence HIGH for the classic header, MED for the sentence-case one (PLATFORMS.md §4). One row is one
ticket: the same buyer email on several tickets folds into one record. `Checked In` means attended,
`Attending` is a registered no-show, `Not Attending`/refunded/cancelled rows are excluded. Per-row event
columns (organisation-level exports) are honoured, otherwise events/overrides.csv must name the event.
"""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series

from engagement_pipeline.ingest.collector import Collector, Kept
from engagement_pipeline.ingest.common import (
    NO_FIT,
    Fit,
    clean,
    engagement,
    fit,
    header_rows,
    locate,
    norm_header,
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
    for index, row in enumerate(table.rows[:20]):
        headers = {norm_header(c) for c in row}
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


def _status(values: dict[str, str]) -> str:
    """'attended' | 'registered' | 'cancelled' | 'unknown' from the status, check-in and payment columns."""
    status = values["status"].strip().lower()
    payment = values["order_type"].strip().lower()
    if status in CANCELLED or ("refunded" in payment and "partially" not in payment):
        return "cancelled"
    checked = values["checked_in"].strip()
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
    for source_row, raw, v in col.rows(sec, found, EventbriteRows):
        if norm_header(next(iter(raw.values()), "")) == "totals":
            col.exclude(source_row, "summary_row", "TOTALS footer row", raw)
            continue
        status = _status(v)
        if status == "cancelled":
            col.exclude(source_row, "cancelled", f"ticket status {v['status'] or v['order_type']!r}", raw)
            continue
        if status == "unknown":
            col.quarantine(source_row, "bad_value", f"unrecognised attendee status {v['status']!r}", raw)
            continue
        try:
            event_date = parse_datetime(v["event_date"])
            questions, polls, feedback = engagement(v)
        except ValueError as err:
            col.quarantine(source_row, "bad_date" if "date" in str(err) else "bad_value", str(err), raw)
            continue
        col.keep(Kept(
            source_row=source_row, raw=raw, event_name=clean(v["event_name"]), event_date=event_date,
            email=clean(v["email"]), name=clean(f"{v['first_name']} {v['last_name']}"),
            company=clean(v["company"]), attended=status == "attended", minutes=0.0, questions=questions,
            polls=polls, feedback=feedback,
        ))
