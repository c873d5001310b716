"""Hopin people/attendee export. Confidence LOW: no verified Hopin column list exists (PLATFORMS.md §7).

So this mapping is lenient and alias-driven: it needs an email column plus at least two Hopin-flavoured
headers, and reads whatever attendance and engagement columns it finds. The layout our demo writes is
`Name,First name,Last name,Email,Headline,Company,Job title,Ticket type,Registered at,Attended,
Time in event (minutes),Questions asked,Polls answered,Chat messages,Feedback submitted,Event,Event start`.
Extend the alias lists below when a real export shows other names. `Ticket type` Speaker -> speaker role.
"""

from __future__ import annotations

import re

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
    fit,
    full_name_cells,
    header_rows,
    locate,
    normalised_cells,
    parse_cell_array,
    parse_datetime,
    parse_flag,
    parse_minutes,
    require,
    section,
)
from engagement_pipeline.ingest.reader import Table

NAME = "hopin"
LABEL = "Hopin attendee export"
IDENTIFIED_BY = ("an 'Email' column plus two or more of 'Headline', 'Ticket type', 'Time in event (minutes)', "
                 "'Registered at', 'Chat messages'")
DEFAULT_TYPE = "other"
HAS_DURATIONS = False  # the time column is optional in this lenient mapping

EMAIL = ("email", "email address", "attendee email")
HOPIN_HINTS = frozenset({"headline", "ticket type", "time in event (minutes)", "time in event", "registered at",
                         "chat messages", "polls answered", "questions asked", "event start", "minutes attended",
                         "time spent", "time spent (minutes)", "feedback submitted", "magic link"})
FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("name", "full name", "attendee name"),
    "first_name": ("first name", "firstname"),
    "last_name": ("last name", "lastname", "surname"),
    "email": EMAIL,
    "company": ("company", "organisation", "organization", "company name"),
    "ticket": ("ticket type", "ticket", "ticket name", "role"),
    "attended": ("attended", "checked in", "attendance", "joined"),
    "minutes": ("time in event (minutes)", "minutes attended", "time spent (minutes)", "time spent",
                "time in event", "minutes in event"),
    "event_name": ("event", "event name"),
    "event_date": ("event start", "event date", "event start date", "event start time"),
}


class HopinRows(pa.DataFrameModel):
    """One person row after header normalisation (blank = column absent)."""

    name: Series[str]
    first_name: Series[str]
    last_name: Series[str]
    email: Series[str] = pa.Field(str_matches=r"^([^@\s]+@[^@\s]+\.[^@\s]+|)$")
    company: Series[str]
    ticket: Series[str]
    attended: Series[str]
    minutes: Series[str]
    event_name: Series[str]
    event_date: Series[str]

    class Config:
        name = "hopin_rows"
        strict = False


def _header(table: Table) -> tuple[int, int] | None:
    """(row index, number of Hopin hints) of the first row with an email column and >= 2 hints."""
    for index in range(min(len(table.rows), 20)):
        headers = normalised_cells(table, index)  # each row normalised once per table
        hints = len(headers & HOPIN_HINTS)
        if headers & set(EMAIL) and hints >= 2:
            return index, hints
    return None


def identify(table: Table) -> Fit:
    """Strong for an email column with two or more Hopin-flavoured headers; one such header is a loose fit."""
    found = _header(table)
    if found:
        return fit({"an 'Email' column": True, "two Hopin columns": True})
    for _, cells in header_rows(table, 20):
        if cells & set(EMAIL) and cells & HOPIN_HINTS:
            return fit({"an 'Email' column": True, "two Hopin columns": False})
    return NO_FIT


def parse(table: Table, col: Collector) -> None:
    found_header = _header(table)
    if found_header is None:
        return
    sec = section(table, found_header[0])
    found = locate(sec, FIELDS)
    require(found, [("email",)], "Hopin export", sec, FIELDS)
    _parse_rows(col, sec, found)


def _parse_rows(col: Collector, sec: Section, found: dict[str, int | None]) -> None:
    """The people rows, column-wise on arrays (a frame, then a Series per column and step, was most of parsing an
    export): organiser and cancelled tickets excluded, unreadable values and dates quarantined."""
    source_rows, cells = col.frame_cells(sec, found, HopinRows)
    tickets = cells["ticket"]
    ticket = {text: text.strip().lower() for text in set(tickets)}  # each distinct ticket type once
    organiser = {text for text, lowered in ticket.items() if re.search("organiser|organizer|host", lowered)}
    cancelled = {text for text, lowered in ticket.items() if re.search("cancel|refund", lowered)}
    speaker = {text for text, lowered in ticket.items() if "speaker" in lowered}
    names = either_cells(clean_cells(cells["name"]), full_name_cells(cells["first_name"], cells["last_name"]))
    minutes, minutes_error = parse_cell_array(cells["minutes"], parse_minutes)
    questions, polls, feedback, engagement_error = engagement_cells(cells, len(source_rows))
    value_error = either_cells(minutes_error, engagement_error)
    event_date, date_error = parse_cell_array(cells["event_date"], parse_datetime)
    flags = parse_cell_array(cells["attended"], parse_flag)[0]
    hosts = np.fromiter(map(organiser.__contains__, tickets), dtype=bool, count=len(tickets))
    col.exclude_marked(source_rows, hosts, "host", [f"organiser ticket {t!r}" for t in tickets[hosts]])
    keep = ~hosts
    dropped = keep & np.fromiter(map(cancelled.__contains__, tickets), dtype=bool, count=len(tickets))
    col.exclude_marked(source_rows, dropped, "cancelled", [f"ticket {t!r}" for t in tickets[dropped]])
    keep &= ~dropped
    unreadable = keep & ~pd.isna(value_error)
    col.quarantine_marked(source_rows, unreadable, "bad_value", value_error[unreadable])
    keep &= ~unreadable
    undated = keep & ~pd.isna(date_error)
    col.quarantine_marked(source_rows, undated, "bad_date", date_error[undated])
    keep &= ~undated
    minutes = minutes[keep].astype(float)
    attended = np.where(pd.isna(flags[keep]), minutes > 0, flags[keep]).astype(bool)
    roles = np.empty(int(keep.sum()), dtype=object)
    roles[:] = ["speaker" if t in speaker else "attendee" for t in tickets[keep]]
    col.keep_columns(source_rows[keep], {
        "event_name": clean_cells(cells["event_name"][keep]), "event_date": event_date[keep],
        "email": clean_cells(cells["email"][keep]), "name": names[keep], "company": clean_cells(cells["company"][keep]),
        "attended": attended, "minutes": np.where(attended, minutes, 0.0), "questions": questions[keep],
        "polls": polls[keep], "feedback": feedback[keep], "role": roles,
    })
