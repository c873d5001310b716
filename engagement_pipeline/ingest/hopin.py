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
    for index, row in enumerate(table.rows[:20]):
        headers = {norm_header(c) for c in row}
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
    for source_row, raw, v in col.rows(sec, found, HopinRows):
        name = clean(v["name"]) or clean(f"{v['first_name']} {v['last_name']}")
        ticket = v["ticket"].strip().lower()
        if any(word in ticket for word in ("organiser", "organizer", "host")):
            col.exclude(source_row, "host", f"organiser ticket {v['ticket']!r}", raw)
            continue
        if any(word in ticket for word in ("cancel", "refund")):
            col.exclude(source_row, "cancelled", f"ticket {v['ticket']!r}", raw)
            continue
        try:
            minutes = parse_minutes(v["minutes"])
            questions, polls, feedback = engagement(v)
        except ValueError as err:
            col.quarantine(source_row, "bad_value", str(err), raw)
            continue
        try:
            event_date = parse_datetime(v["event_date"])
        except ValueError as err:
            col.quarantine(source_row, "bad_date", str(err), raw)
            continue
        flag = parse_flag(v["attended"])
        attended = minutes > 0 if flag is None else flag
        col.keep(Kept(
            source_row=source_row, raw=raw, event_name=clean(v["event_name"]), event_date=event_date,
            email=clean(v["email"]), name=name, company=clean(v["company"]), attended=attended,
            minutes=minutes if attended else 0.0, questions=questions, polls=polls, feedback=feedback,
            role="speaker" if "speaker" in ticket else "attendee",
        ))
