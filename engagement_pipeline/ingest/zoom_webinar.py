"""Zoom webinar "Attendee Report": one file holding a summary table and Host/Panelist/Attendee/Other sections.

Confidence HIGH (PLATFORMS.md §1a/§1b). Sections are found by their marker rows, never by position, because
sections can be missing, the 2020 layout ends marker rows with one comma and the 2025 layout pads every row
to the widest one, and registration questions add columns anywhere. Event = Topic on Actual Start Time.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from engagement_pipeline.ingest.collector import Collector
from engagement_pipeline.ingest.common import (
    Fit,
    Section,
    clean,
    clean_cells,
    either_cells,
    engagement_cells,
    fit,
    full_name_cells,
    is_blank,
    locate,
    norm_header,
    normalised_cells,
    parse_cell_array,
    parse_datetime,
    parse_flag,
    parse_minutes,
    require,
    section,
)
from engagement_pipeline.ingest.reader import Table

NAME = "zoom_webinar"
LABEL = "Zoom webinar Attendee Report"
IDENTIFIED_BY = "a summary header with 'Topic' and 'Webinar ID', and section rows such as 'Attendee Details'"
DEFAULT_TYPE = "webinar"
HAS_DURATIONS = True

SECTIONS = {"host details": "host", "panelist details": "panelist", "attendee details": "attendee",
            "other attended": "other"}
FIELDS: dict[str, tuple[str, ...]] = {
    "attended": ("attended",),
    "user_name": ("user name (original name)", "user name", "name (original name)", "name"),
    "first_name": ("first name",),
    "last_name": ("last name",),
    "email": ("email", "user email", "email address"),
    "minutes": ("time in session (minutes)", "in session duration (minutes)", "duration (minutes)"),
    "company": ("organization", "organisation", "company", "company name"),
}
_FLAG = r"(?i)^(yes|no|)$"
_MINUTES = r"(?i)^(\d+(\.\d+)?|--|na|)$"


class ZoomWebinarRows(pa.DataFrameModel):
    """One section row of a Zoom webinar report after header normalisation (blank = column absent)."""

    attended: Series[str] = pa.Field(str_matches=_FLAG)
    user_name: Series[str]
    first_name: Series[str]
    last_name: Series[str]
    email: Series[str] = pa.Field(str_matches=r"(?i)^([^@\s]+@[^@\s]+\.[^@\s]+|--|na|)$")
    minutes: Series[str] = pa.Field(str_matches=_MINUTES)
    company: Series[str]

    class Config:
        name = "zoom_webinar_rows"
        strict = False


def _markers(table: Table) -> list[tuple[int, str]]:
    return [(i, SECTIONS[norm_header(r[0])]) for i, r in enumerate(table.rows)
            if len(r) == 1 and norm_header(r[0]) in SECTIONS]


def _summary(table: Table) -> tuple[int, list[str]] | None:
    for index in range(min(len(table.rows), 40)):
        cells = normalised_cells(table, index)  # each row normalised once per table, whichever module asks
        if "topic" in cells and "webinar id" in cells:
            return index, [norm_header(c) for c in table.rows[index]]
    return None


def identify(table: Table) -> Fit:
    """Strong when both the summary ('Topic' + 'Webinar ID', which GoTo's 'Webinar Name' summary lacks) and a
    section row ('Attendee Details', 'Host Details'...) are present; one of them is a loose fit."""
    return fit({"a summary with 'Topic' and 'Webinar ID'": _summary(table) is not None,
                "section rows such as 'Attendee Details'": bool(_markers(table))})


def _event(table: Table, col: Collector) -> tuple[str | None, datetime | None]:
    found = _summary(table)
    if not found:
        return None, None
    index, headers = found
    values = next((r for r in table.rows[index + 1:] if not is_blank(r)), [])
    cell = dict(zip(headers, values, strict=False))
    topic = clean(cell.get("topic", ""))
    raw_start = cell.get("actual start time") or cell.get("start time") or cell.get("scheduled time") or ""
    try:
        start = parse_datetime(raw_start)
    except ValueError:
        col.notes.append(f"webinar start time {raw_start!r} is not a date; use events/overrides.csv")
        start = None
    return topic, start


def parse(table: Table, col: Collector) -> None:
    """Classifies every section row into the collector (hosts excluded, panelists kept, no-shows kept)."""
    event_name, event_date = _event(table, col)
    markers = _markers(table)
    starts = [i for i, _ in markers]
    host_keys: set[str] = set()
    for marker_index, kind in markers:
        header_index = next((i for i in range(marker_index + 1, len(table.rows)) if not is_blank(table.rows[i])),
                            None)
        if header_index is None or header_index in starts:
            continue  # an empty section: marker followed by the next marker or the end
        sec = section(table, header_index, starts)
        found = locate(sec, FIELDS)
        require(found, [("email", "user_name", "first_name")], f"Zoom '{kind}' section", sec, FIELDS)
        _parse_section(col, sec, found, kind, host_keys, event_name, event_date)


def _parse_section(col: Collector, sec: Section, found: dict[str, int | None], kind: str, host_keys: set[str],
                   event_name: str | None, event_date: datetime | None) -> None:
    """One section's rows, column-wise on arrays (a Zoom report is mostly small sections, and a frame plus a Series
    per column and step was most of parsing one): hosts (and anyone with a host's identity) excluded, rows with
    an unreadable value quarantined, the rest kept."""
    source_rows, cells = col.frame_cells(sec, found, ZoomWebinarRows, scope=kind)
    email = clean_cells(cells["email"])
    name = either_cells(clean_cells(cells["user_name"]), full_name_cells(cells["first_name"], cells["last_name"]))
    is_host = col.exclude_host_cells(source_rows, email, name, host_keys, host_section=kind == "host",
                                     label="webinar host")
    if is_host is not None and is_host.any():
        guests = ~is_host
        source_rows, email, name = source_rows[guests], email[guests], name[guests]
        cells = {field: values[guests] for field, values in cells.items()}
    flags = parse_cell_array(cells["attended"], parse_flag)[0]
    minutes, minutes_error = parse_cell_array(cells["minutes"], parse_minutes)
    questions, polls, feedback, engagement_error = engagement_cells(cells, len(source_rows))
    value_error = either_cells(minutes_error, engagement_error)
    unreadable = ~pd.isna(value_error)
    col.quarantine_marked(source_rows, unreadable, "bad_value", value_error[unreadable])
    company = clean_cells(cells["company"])
    if unreadable.any():
        kept = ~unreadable
        source_rows, email, name, company = (values[kept] for values in (source_rows, email, name, company))
        flags, minutes, questions, polls, feedback = (v[kept] for v in (flags, minutes, questions, polls, feedback))
    # A flag says whether they attended, else minutes (or a role) do.
    minutes_kept = minutes.astype(float)
    attended = np.where(pd.isna(flags), (minutes_kept > 0) | (kind != "attendee"), flags).astype(bool)
    col.keep_columns(source_rows, {
        "event_name": event_name, "event_date": event_date, "email": email, "name": name, "company": company,
        "registered": kind != "other", "attended": attended, "minutes": np.where(attended, minutes_kept, 0.0),
        "questions": questions, "polls": polls, "feedback": feedback,
        "role": "panelist" if kind == "panelist" else "attendee",
    })
