"""Google Meet attendance report (Workspace editions), downloaded from its Google Sheet as CSV or XLSX.

Confidence MED (PLATFORMS.md §8): `First name, Last name, Email, Duration, Time joined, Time exited`, one row
per participant, durations like `1 hr 2 min`, phone participants without email. The sheet carries no meeting
title and, depending on the edition, only clock times: the event date is taken from `Time joined` when it holds
a date (noted in the ledger), and the name must come from events/overrides.csv. When a role column is present,
organiser rows are excluded and name the organiser's domain.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from engagement_pipeline.ingest.collector import Collector
from engagement_pipeline.ingest.common import (
    DURATION_CELL,
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
    parse_cells,
    parse_datetime,
    parse_minutes,
    require,
    section,
)
from engagement_pipeline.ingest.reader import Table

NAME = "google_meet"
LABEL = "Google Meet attendance report"
IDENTIFIED_BY = "a header with 'Email', 'Duration', 'Time joined' and 'Time exited'"
DEFAULT_TYPE = "other"
HAS_DURATIONS = True

FIELDS: dict[str, tuple[str, ...]] = {
    "first_name": ("first name",),
    "last_name": ("last name",),
    "name": ("participant name", "name", "full name", "display name"),
    "email": ("email", "participant email", "email address"),
    "minutes": ("duration", "attendance duration", "time in call"),
    "joined": ("time joined", "joined", "first seen"),
    "exited": ("time exited", "exited", "last seen"),
    "role": ("role", "participant role"),
}
HOST_ROLES = {"organizer", "organiser", "host", "co-host", "cohost", "meeting organizer"}


class GoogleMeetRows(pa.DataFrameModel):
    """One participant row after header normalisation (blank = column absent)."""

    first_name: Series[str]
    last_name: Series[str]
    name: Series[str]
    email: Series[str] = pa.Field(str_matches=r"^([^@\s]+@[^@\s]+\.[^@\s]+|)$")
    minutes: Series[str] = pa.Field(str_matches=DURATION_CELL)
    joined: Series[str]
    exited: Series[str]
    role: Series[str]

    class Config:
        name = "google_meet_rows"
        strict = False


def _header(table: Table) -> tuple[int, set[str]] | None:
    return next(((i, cells) for i, cells in header_rows(table, 20) if "time exited" in cells), None)


def identify(table: Table) -> Fit:
    """Strong for 'Time exited' with 'Time joined', 'Duration' and an email column in one header row."""
    found = _header(table)
    if found is None:
        return NO_FIT
    cells = found[1]
    return fit({"'Time exited'": True, "'Time joined'": "time joined" in cells, "'Duration'": "duration" in cells,
                "'Email'": bool(cells & set(FIELDS["email"]))})


def _moment(cell: str) -> datetime | None:
    """A join time as a datetime when it holds a date; clock-only values (`10:02 AM`) give None."""
    try:
        return parse_datetime(cell)
    except ValueError:
        return None


def parse(table: Table, col: Collector) -> None:
    found_header = _header(table)
    if found_header is None:
        return
    sec = section(table, found_header[0])
    found = locate(sec, FIELDS)
    require(found, [("email", "first_name", "name"), ("minutes",)], "Google Meet attendance report", sec, FIELDS)
    check_filled(sec, found, {"minutes": parse_minutes}, "Google Meet attendance report")
    rows = col.frame(sec, found, GoogleMeetRows)
    email = clean_column(rows["email"])
    name = either(clean_column(rows["name"]), full_names(rows["first_name"], rows["last_name"]))
    is_host = rows["role"].map(norm_header).isin(HOST_ROLES)
    col.organisers.extend(email[rows.index[is_host.to_numpy()]].dropna())
    rows = col.exclude_where(rows, is_host, "host",
                             lambda hit: (f"meeting organiser {w}" for w in either(name, email)[hit.index]))
    minutes, minutes_error = parse_cells(rows["minutes"], parse_minutes)
    questions, polls, feedback, engagement_error = engagement_columns(rows)
    value_error = first_error(minutes_error, engagement_error)
    rows = col.quarantine_where(rows, value_error.notna(), "bad_value", lambda hit: value_error[hit.index])
    minutes = minutes[rows.index].astype(float)
    # The event date, when the sheet has one: the most common day of the join times (rows that keep then
    # quarantines or excludes count too, as they did row by row).
    day = mode_date(list(parse_cells(rows["joined"], _moment)[0].dropna()))
    kept = col.keep_frame(pd.DataFrame({
        "event_name": None, "event_date": day, "email": email, "name": name,
        "attended": (minutes > 0) | (rows["joined"].str.strip() != ""), "minutes": minutes,
        "questions": questions, "polls": polls, "feedback": feedback,
    }, index=rows.index))
    if len(kept) and day is not None:
        col.notes.append(f"event date {day.date()} taken from the participants' 'Time joined'")
