"""Hopin people/attendee export. Confidence LOW: no verified Hopin column list exists (PLATFORMS.md §7).

So this mapping is lenient and alias-driven: it needs an email column plus at least two Hopin-flavoured
headers, and reads whatever attendance and engagement columns it finds. The layout our demo writes is
`Name,First name,Last name,Email,Headline,Company,Job title,Ticket type,Registered at,Attended,
Time in event (minutes),Questions asked,Polls answered,Chat messages,Feedback submitted,Event,Event start`.
Extend the alias lists below when a real export shows other names. `Ticket type` Speaker -> speaker role.
"""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series

from engagement_pipeline.ingest.collector import Collector
from engagement_pipeline.ingest.common import (
    NO_FIT,
    Fit,
    clean_column,
    engagement_columns,
    first_error,
    fit,
    full_names,
    header_rows,
    locate,
    normalised_cells,
    parse_cells,
    parse_dates,
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
    rows = col.frame(sec, found, HopinRows)
    ticket = rows["ticket"].str.strip().str.lower()
    names = clean_column(rows["name"])
    names = names.where(names.notna(), full_names(rows["first_name"], rows["last_name"]))
    minutes, minutes_error = parse_cells(rows["minutes"], parse_minutes)
    questions, polls, feedback, engagement_error = engagement_columns(rows)
    value_error = first_error(minutes_error, engagement_error)
    event_date, date_error = parse_dates(rows["event_date"])
    flag = parse_cells(rows["attended"], parse_flag)[0]
    ticket_text = lambda hit: (repr(t) for t in hit["ticket"])  # noqa: E731
    rows = col.exclude_where(rows, ticket.str.contains("organiser|organizer|host"), "host",
                             lambda hit: (f"organiser ticket {t}" for t in ticket_text(hit)))
    rows = col.exclude_where(rows, ticket.str.contains("cancel|refund"), "cancelled",
                             lambda hit: (f"ticket {t}" for t in ticket_text(hit)))
    rows = col.quarantine_where(rows, value_error.notna(), "bad_value", lambda hit: value_error[hit.index])
    rows = col.quarantine_where(rows, date_error.notna(), "bad_date", lambda hit: date_error[hit.index])
    minutes = minutes[rows.index].astype(float)
    attended = flag[rows.index].where(flag[rows.index].notna(), minutes > 0).astype(bool)
    col.keep_columns(rows.index, {
        "event_name": clean_column(rows["event_name"]), "event_date": event_date, "email": clean_column(rows["email"]),
        "name": names, "company": clean_column(rows["company"]), "attended": attended,
        "minutes": minutes.where(attended, 0.0), "questions": questions, "polls": polls, "feedback": feedback,
        "role": ticket.str.contains("speaker", regex=False).map({True: "speaker", False: "attendee"}),
    })
