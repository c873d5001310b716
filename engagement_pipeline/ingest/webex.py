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

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from engagement_pipeline.ingest.collector import Collector
from engagement_pipeline.ingest.common import (
    DURATION_CELL,
    NO_FIT,
    Fit,
    check_filled,
    clean,
    clean_column,
    either,
    engagement_columns,
    first_error,
    fit,
    header_rows,
    locate,
    mode_date,
    norm_header,
    parse_cells,
    parse_dates,
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
    rows = col.frame(sec, found, WebexRows)
    email, name = clean_column(rows["email"]), clean_column(rows["name"])
    role = rows["role"].map(norm_header)
    is_host = role.isin(HOST_ROLES)
    col.organisers.extend(email[rows.index[is_host.to_numpy()]].dropna())
    rows = col.exclude_where(rows, is_host, "host", lambda hit: (
        f"meeting {r} {w}" for r, w in zip(role[hit.index], either(name, email)[hit.index], strict=True)))
    minutes, minutes_error = parse_cells(rows["minutes"], parse_minutes)
    joined, joined_error = parse_dates(rows["join_time"])
    row_start, start_error = parse_dates(rows["meeting_start"])
    questions, polls, feedback, engagement_error = engagement_columns(rows)
    value_error = first_error(minutes_error, joined_error, start_error, engagement_error)
    rows = col.quarantine_where(rows, value_error.notna(), "bad_value", lambda hit: value_error[hit.index])
    at = rows.index
    minutes, joined = minutes[at].astype(float), joined[at]
    event_date = either(row_start[at], pd.Series([start] * len(at), index=at, dtype=object))
    # Rows without a meeting start: the most common day of the join times (rows that keep then quarantines or
    # excludes count too, as they did row by row), noted when a kept row takes it.
    day = mode_date(list(joined.dropna()))
    undated = event_date.isna()
    if day is not None:
        event_date = event_date.where(~undated, day)
    summary_name = pd.Series([clean(summary.get("name", ""))] * len(at), index=at, dtype=object)
    kept = col.keep_frame(pd.DataFrame({
        "event_name": either(clean_column(rows["meeting_name"]), summary_name), "event_date": event_date,
        "email": email, "name": name, "company": clean_column(rows["company"]),
        "attended": (minutes > 0) | joined.notna(), "minutes": minutes, "questions": questions, "polls": polls,
        "feedback": feedback, "role": role[at].isin(SPEAKER_ROLES).map({True: "speaker", False: "attendee"}),
    }, index=at))
    if day is not None and undated[kept].any():
        col.notes.append(f"event date {day.date()} taken from the participants' join times")
