"""Webex Meetings attendance report (the host's "export attendance report").

Confidence LOW-MED (PLATFORMS.md §8): Control Hub documents every export as tab-delimited UTF-16 LE (the
reader handles that and plain CSV alike); the attendance report lists the meeting's name, number and start,
then one row per join with name, email, join and leave time, duration (`46 mins`), connection type and role.
No verified public sample exists, so columns are matched by name with aliases, the summary is read as
key/value rows above the table or as per-row meeting columns, and `Connection Type` (which no other supported
platform writes) is the distinctive marker. Rejoins repeat the person and are folded; phone callers without an
email are identified by name. Host and cohost rows are excluded and give the organiser's domain.
"""

from __future__ import annotations

from datetime import datetime

import pandera.pandas as pa
from pandera.typing import Series

from engagement_pipeline.ingest.collector import Collector, Kept
from engagement_pipeline.ingest.common import (
    DURATION_CELL,
    NO_FIT,
    Fit,
    check_filled,
    clean,
    engagement,
    fill_event_date,
    fit,
    header_rows,
    locate,
    norm_header,
    parse_datetime,
    parse_minutes,
    require,
    section,
)
from engagement_pipeline.ingest.reader import Table

NAME = "webex"
LABEL = "Webex meeting attendance report"
IDENTIFIED_BY = ("a participants header with 'Join Time', 'Leave Time', 'Duration' and 'Connection Type', and the "
                 "meeting's name or number above it (or on every row)")
DEFAULT_TYPE = "other"
HAS_DURATIONS = True

FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("name", "participant name", "attendee name", "display name", "participant"),
    "email": ("email", "attendee email", "participant email", "email address"),
    "join_time": ("join time", "joined", "join date/time"),
    "leave_time": ("leave time", "left", "leave date/time"),
    "minutes": ("duration", "attendance duration", "duration (mins)", "duration (minutes)", "attendee duration",
                "attendance duration (mins)"),
    "role": ("role", "participant role", "attendee role", "attendee type"),
    "company": ("company", "company name", "organization", "organisation"),
    "meeting_name": ("meeting name", "meeting topic", "topic"),
    "meeting_start": ("meeting start time", "start time", "meeting start"),
}
SUMMARY_KEYS = {"name": ("meeting name", "meeting topic", "topic", "meeting title"),
                "start": ("start time", "meeting start time", "start date", "date"),
                "number": ("meeting number", "meeting id")}
HOST_ROLES = {"host", "cohost", "co-host", "alternate host"}
SPEAKER_ROLES = {"presenter", "panelist", "panellist"}


class WebexRows(pa.DataFrameModel):
    """One join row of a Webex attendance report after header normalisation (blank = column absent)."""

    name: Series[str]
    email: Series[str] = pa.Field(str_matches=r"^([^@\s]+@[^@\s]+\.[^@\s]+|)$")
    join_time: Series[str]
    leave_time: Series[str]
    minutes: Series[str] = pa.Field(str_matches=DURATION_CELL)
    role: Series[str]
    company: Series[str]
    meeting_name: Series[str]
    meeting_start: Series[str]

    class Config:
        name = "webex_rows"
        strict = False


def _header(table: Table) -> tuple[int, set[str]] | None:
    return next(((i, cells) for i, cells in header_rows(table) if "connection type" in cells), None)


def _summary(table: Table, end: int) -> dict[str, str]:
    values: dict[str, str] = {}
    for row in table.rows[:end]:
        if len(row) >= 2:
            key = norm_header(row[0]).rstrip(":").strip()
            for field, aliases in SUMMARY_KEYS.items():
                if key in aliases and field not in values and row[1].strip():
                    values[field] = row[1]
    return values


def identify(table: Table) -> Fit:
    """Strong when the participants header has join, leave, duration and connection type columns and the
    meeting is named above the table or on every row."""
    found = _header(table)
    if found is None:
        return NO_FIT
    index, cells = found
    summary = _summary(table, index)
    has_times = bool(cells & set(FIELDS["join_time"]) and cells & set(FIELDS["leave_time"])
                     and cells & set(FIELDS["minutes"]))
    meeting = bool(summary.get("name") or summary.get("number") or cells & set(FIELDS["meeting_name"]))
    return fit({"'Connection Type'": True, "'Join Time', 'Leave Time' and 'Duration'": has_times,
                "the meeting's name or number": meeting})


def parse(table: Table, col: Collector) -> None:
    found_header = _header(table)
    if found_header is None:
        return
    header_index = found_header[0]
    summary = _summary(table, header_index)
    try:
        start = parse_datetime(summary.get("start", ""))
    except ValueError:
        col.notes.append(f"meeting start {summary.get('start')!r} is not a date; use events/overrides.csv")
        start = None
    sec = section(table, header_index)
    found = locate(sec, FIELDS)
    require(found, [("name", "email"), ("minutes",)], "Webex attendance report", sec, FIELDS)
    check_filled(sec, found, {"minutes": parse_minutes}, "Webex attendance report")
    joins: list[datetime | None] = []
    for source_row, raw, v in col.rows(sec, found, WebexRows):
        email, name = clean(v["email"]), clean(v["name"])
        role = norm_header(v["role"])
        if role in HOST_ROLES:
            col.exclude(source_row, "host", f"meeting {role} {name or email}", raw)
            if email:
                col.organisers.append(email)
            continue
        try:
            minutes = parse_minutes(v["minutes"])
            joined = parse_datetime(v["join_time"])
            row_start = parse_datetime(v["meeting_start"]) if v["meeting_start"].strip() else None
            questions, polls, feedback = engagement(v)
        except ValueError as err:
            col.quarantine(source_row, "bad_value", str(err), raw)
            continue
        joins.append(joined)
        event_date: datetime | None = row_start or start
        col.keep(Kept(source_row=source_row, raw=raw, event_name=clean(v["meeting_name"]) or clean(
            summary.get("name", "")), event_date=event_date, email=email, name=name, company=clean(v["company"]),
            attended=minutes > 0 or joined is not None, minutes=minutes, questions=questions, polls=polls,
            feedback=feedback, role="speaker" if role in SPEAKER_ROLES else "attendee"))
    fill_event_date(col.kept, col.notes, joins, "the participants' join times")
