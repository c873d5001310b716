"""GoTo Webinar (GoToWebinar) attendee report: a webinar summary, then Organizer/Panelist/Attendee sections.

Confidence: HIGH for the 2012 layout (PLATFORMS.md §6: `General Information` key/value preamble with spacer
columns, a `Session Details` section, `In Session Duration* (minutes) ` with a trailing space and decimal
minutes); LOW for the current layout, reconstructed from the issue's description and GoTo's help pages
(`Attendee Details` section, `Attended` Yes/No, `Interest Rating`, `Time in Session` written `34 minutes` or
`1 hour 2 minutes`). Durations are parsed with the shared unit-aware parser: this file was once detected as a
Zoom webinar and imported with every duration 0, which parse.py now refuses for any platform with durations.
Organizer rows are excluded as hosts and name the organiser's domain; panelists are kept as panelists.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from engagement_pipeline.ingest.collector import Collector
from engagement_pipeline.ingest.common import (
    DURATION_CELL,
    Fit,
    Section,
    check_filled,
    clean,
    clean_column,
    engagement_columns,
    first_error,
    fit,
    full_names,
    header_rows,
    is_blank,
    is_missing,
    locate,
    norm_header,
    parse_cells,
    parse_datetime,
    parse_flag,
    parse_minutes,
    require,
    section,
)
from engagement_pipeline.ingest.reader import Table

NAME = "goto_webinar"
LABEL = "GoTo Webinar attendee report"
IDENTIFIED_BY = ("a webinar summary ('Webinar Name' / 'GoToWebinar'), an 'Attendee Details' or 'Session Details' "
                 "section with 'Attended' and 'Interest Rating', and a 'Time in Session' column")
DEFAULT_TYPE = "webinar"
HAS_DURATIONS = True

SECTIONS = {"organizer details": "host", "organiser details": "host", "co-organizer details": "host",
            "panelist details": "panelist", "attendee details": "attendee", "session details": "attendee",
            "attendees": "attendee"}
SUMMARY_HINTS = {"webinar name", "gotowebinar", "general information", "webinar id"}
MINUTES = ("time in session", "in session duration* (minutes)", "in session duration (minutes)",
           "in session duration", "time in session (minutes)")
FIELDS: dict[str, tuple[str, ...]] = {
    "attended": ("attended",),
    "first_name": ("first name",),
    "last_name": ("last name",),
    "email": ("email", "email address"),
    "minutes": MINUTES,
    "join_time": ("join time",),
    "company": ("organization", "organisation", "company"),
}
SUMMARY_KEYS = {"name": ("webinar name", "webinar title", "title"),
                "start": ("actual start date/time", "actual start time", "start date/time", "start time",
                          "scheduled start date/time")}


class GoToWebinarRows(pa.DataFrameModel):
    """One section row of a GoTo Webinar attendee report after header normalisation (blank = column absent)."""

    attended: Series[str] = pa.Field(str_matches=r"(?i)^(yes|no|)$")
    first_name: Series[str]
    last_name: Series[str]
    email: Series[str] = pa.Field(str_matches=r"(?i)^([^@\s]+@[^@\s]+\.[^@\s]+|--|)$")
    minutes: Series[str] = pa.Field(str_matches=DURATION_CELL)
    join_time: Series[str]
    company: Series[str]

    class Config:
        name = "goto_webinar_rows"
        strict = False


def _markers(table: Table) -> list[tuple[int, str]]:
    return [(i, SECTIONS[norm_header(cell)]) for i, column, cell in table.lone_cells()
            if column == 0 and norm_header(cell) in SECTIONS]


def identify(table: Table) -> Fit:
    """Strong when the summary, a section row, the 'Attended' + 'Interest Rating' header and a GoTo
    'Time in Session' column are all present."""
    rows = header_rows(table)
    preamble = set().union(*(cells for _, cells in rows[:15])) if rows else set()
    header = next((cells for _, cells in rows if "attended" in cells and "interest rating" in cells), set())
    return fit({"a webinar summary ('Webinar Name' or 'GoToWebinar')": bool(preamble & SUMMARY_HINTS),
                "a section row 'Attendee Details' or 'Session Details'": bool(_markers(table)),
                "an 'Attended' + 'Interest Rating' header": bool(header),
                "a 'Time in Session' column": bool(header & set(MINUTES))})


def _summary(table: Table, end: int) -> dict[str, str]:
    """Values of the summary keys above the first section: either under the key (the header/value rows the
    current report writes, and the spaced 2012 preamble) or right of a `Key:` cell."""
    values: dict[str, str] = {}
    rows = table.rows[:end]
    for index, row in enumerate(rows):
        below = next((r for r in rows[index + 1:] if not is_blank(r)), [])
        for column, cell in enumerate(row):
            key = norm_header(cell).rstrip(":").strip()
            for field, aliases in SUMMARY_KEYS.items():
                if key not in aliases or field in values:
                    continue
                right = row[column + 1].strip() if column + 1 < len(row) else ""
                if cell.strip().endswith(":") and right:
                    values[field] = right
                elif column < len(below) and below[column].strip():
                    values[field] = below[column]
    return values


def _event(table: Table, col: Collector, end: int) -> tuple[str | None, datetime | None]:
    summary = _summary(table, end)
    raw_start = summary.get("start", "")
    try:
        start = parse_datetime(raw_start)
    except ValueError:
        col.notes.append(f"webinar start {raw_start!r} is not a date; use events/overrides.csv")
        start = None
    return clean(summary.get("name", "")), start


def parse(table: Table, col: Collector) -> None:
    markers = _markers(table)
    if not markers:
        return
    starts = [i for i, _ in markers]
    event_name, event_date = _event(table, col, starts[0])
    host_keys: set[str] = set()
    for marker_index, kind in markers:
        header_index = next((i for i in range(marker_index + 1, len(table.rows)) if not is_blank(table.rows[i])),
                            None)
        if header_index is None or header_index in starts:
            continue
        sec = section(table, header_index, starts)
        found = locate(sec, FIELDS)
        what = f"GoTo Webinar '{kind}' section"
        require(found, [("email", "first_name"), ("attended",)], what, sec, FIELDS)
        if kind == "attendee":
            require(found, [("minutes",)], what, sec, FIELDS)
            if any(parse_flag(cells[found["attended"]]) for _, cells in sec.rows
                   if found["attended"] is not None and found["attended"] < len(cells)):
                check_filled(sec, found, {"minutes": parse_minutes}, what)
        _parse_section(col, sec, found, kind, host_keys, event_name, event_date)


def _parse_section(col: Collector, sec: Section, found: dict[str, int | None], kind: str, host_keys: set[str],
                   event_name: str | None, event_date: datetime | None) -> None:
    """One section's rows, column-wise: organizers (and anyone with an organizer's identity) excluded."""
    rows = col.frame(sec, found, GoToWebinarRows, scope=kind)
    email = clean_column(rows["email"])
    name = full_names(rows["first_name"], rows["last_name"])
    rows = col.exclude_hosts(rows, email, name, host_keys, host_section=kind == "host", label="webinar organizer")
    # 2012 reports hold the question text in the questions column, not a count: any text counts as one.
    asked = {a: a if is_missing(a) or a.strip().isdigit() else "1" for a in dict.fromkeys(rows["questions"])}
    rows = rows.assign(questions=[asked[a] for a in rows["questions"]])
    minutes, minutes_error = parse_cells(rows["minutes"], parse_minutes)
    questions, polls, feedback, engagement_error = engagement_columns(rows)
    value_error = first_error(minutes_error, engagement_error)
    rows = col.quarantine_where(rows, value_error.notna(), "bad_value", lambda hit: value_error[hit.index])
    minutes = minutes[rows.index].astype(float)
    flag = parse_cells(rows["attended"], parse_flag)[0]
    attended = flag.where(flag.notna(), minutes > 0).astype(bool)
    col.keep_frame(pd.DataFrame({
        "event_name": event_name, "event_date": event_date, "email": email, "name": name,
        "company": clean_column(rows["company"]), "attended": attended, "minutes": minutes.where(attended, 0.0),
        "questions": questions, "polls": polls, "feedback": feedback,
        "role": "panelist" if kind == "panelist" else "attendee",
    }, index=rows.index))
