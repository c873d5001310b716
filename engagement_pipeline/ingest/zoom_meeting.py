"""Zoom meeting participants export (Usage report -> Participants), all variants of PLATFORMS.md §2.

Confidence HIGH/MED. Variants: 2020 meeting-data block + blank line + table (per join/leave, or the
"unique users" table with Total Duration); 2023 flat layout where every row repeats the meeting columns
(so `User Email`/`Duration (Minutes)` appear twice: the meeting's come before `Name (Original Name)`);
2024+ lowercase headers with `Host` = `Name (email)`; Japanese UI headers. The meeting host is excluded.
A meeting has no registration, so everyone present counts as registered and attended.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from engagement_pipeline.ingest.canonical import make_attendee_key
from engagement_pipeline.ingest.collector import Collector
from engagement_pipeline.ingest.common import (
    NO_FIT,
    Fit,
    Section,
    clean,
    clean_cells,
    either_cells,
    engagement_cells,
    fit,
    identity_keys,
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

NAME = "zoom_meeting"
LABEL = "Zoom meeting participants export"
IDENTIFIED_BY = "a 'Name (Original Name)' column with 'User Email'/'Email' and a 'Duration (Minutes)' column"
DEFAULT_TYPE = "other"
HAS_DURATIONS = True

NAME_HEADERS = ("name (original name)", "名前 (元の名前)")
FIELDS: dict[str, tuple[str, ...]] = {
    "name": NAME_HEADERS,
    "email": ("user email", "email", "ユーザーメール"),
    "minutes": ("duration (minutes)", "total duration (minutes)", "所要時間(分)"),
    "waiting": ("in waiting room",),
    "company": ("company", "organization", "organisation"),
}
META: dict[str, tuple[str, ...]] = {
    "topic": ("topic",),
    "start": ("start time",),
    "host_email": ("host email", "user email"),
    "host": ("host", "host name", "user name"),
}


class ZoomMeetingRows(pa.DataFrameModel):
    """One participant row after header normalisation (blank = column absent)."""

    name: Series[str]
    email: Series[str] = pa.Field(str_matches=r"^([^@\s]+@[^@\s]+\.[^@\s]+|)$")
    minutes: Series[str] = pa.Field(str_matches=r"(?i)^(\d+(\.\d+)?|--|)$")
    waiting: Series[str] = pa.Field(str_matches=r"(?i)^(yes|no|)$")
    company: Series[str]

    class Config:
        name = "zoom_meeting_rows"
        strict = False


def _table_header(table: Table) -> int | None:
    for index in range(min(len(table.rows), 40)):
        if normalised_cells(table, index) & set(NAME_HEADERS):  # each row normalised once per table
            return index
    return None


def identify(table: Table) -> Fit:
    """Strong for a participants header: 'Name (Original Name)' with an email and a 'Duration (Minutes)' column."""
    index = _table_header(table)
    if index is None:
        return NO_FIT
    headers = {norm_header(c) for c in table.rows[index]}
    return fit({"'Name (Original Name)'": True, "'User Email'/'Email'": bool(headers & set(FIELDS["email"])),
                "'Duration (Minutes)'": bool(headers & set(FIELDS["minutes"]))})


def _meeting(cells: dict[str, str]) -> tuple[str | None, datetime | None, set[str]]:
    """Topic, start and the host's identity keys from the meeting columns."""
    topic = clean(cells.get("topic", ""))
    try:
        start = parse_datetime(cells.get("start", ""))
    except ValueError:
        start = None
    keys: set[str] = set()
    host = cells.get("host", "")
    inner = re.fullmatch(r"(.*?)\s*\(([^()\s]+@[^()\s]+)\)", host)
    host_name, host_email = (inner[1], inner[2]) if inner else (host, cells.get("host_email", ""))
    for key in (make_attendee_key(clean(host_email), None), make_attendee_key(None, clean(host_name))):
        if key:
            keys.add(key)
    return topic, start, keys


def _block(table: Table, header_index: int) -> dict[str, str]:
    """The meeting-data block above the participants table (2020 and 2024+ layouts)."""
    for index in range(header_index):
        headers = [norm_header(c) for c in table.rows[index]]
        if "topic" in headers:
            values = next((r for r in table.rows[index + 1:header_index] if not is_blank(r)), [])
            cells = dict(zip(headers, values, strict=False))
            return {field: next((cells[a] for a in aliases if a in cells), "") for field, aliases in META.items()}
    return {}


def parse(table: Table, col: Collector) -> None:
    header_index = _table_header(table)
    if header_index is None:
        return
    sec = section(table, header_index)
    name_col = sec.col(*NAME_HEADERS) or 0
    found = locate(sec, FIELDS, start=name_col)  # participant columns sit after the name in the flat layout
    require(found, [("email", "name")], "Zoom participants table", sec, FIELDS)
    flat = {f: sec.col(*aliases) for f, aliases in META.items()}
    flat = {f: i for f, i in flat.items() if i is not None and i < name_col}
    block = _meeting(_block(table, header_index)) if not flat else None
    if block and block[0] is None:
        col.notes.append("no meeting topic found above the participants table")
    _parse_rows(col, sec, found, block, flat)


def _parse_rows(col: Collector, sec: Section, found: dict[str, int | None],
                block: tuple[str | None, datetime | None, set[str]] | None, flat: dict[str, int]) -> None:
    """The participants' rows, column-wise on arrays (a frame, then a Series per column and step, was most of
    parsing an export): the host and the waiting room excluded, rows of an undated meeting or with an
    unreadable value quarantined, the rest kept."""
    source_rows, cells = col.frame_cells(sec, found, ZoomMeetingRows)
    email, name = clean_cells(cells["email"]), clean_cells(cells["name"])
    who = either_cells(name, email)
    keys = identity_keys(email, name)
    keep = np.ones(len(source_rows), dtype=bool)
    if block:  # one meeting for every row: its topic and start as single values
        topic, start, hosts_of_block = block
        is_host = np.array([key in hosts_of_block for key in keys], dtype=bool)
    else:  # the flat layout: each row carries its meeting's columns, read once per distinct meeting
        by_row = dict(sec.rows)
        meetings = pd.Series([_flat_meeting(tuple((f, by_row[r][i]) for f, i in flat.items() if i < len(by_row[r])))
                              for r in source_rows.tolist()], dtype=object)
        # as pandas' map infers them (a column of datetimes becomes datetime64), as the frame path kept them
        topic, start = meetings.map(lambda m: m[0]).to_numpy(), meetings.map(lambda m: m[1]).to_numpy()
        is_host = np.array([key in m[2] for key, m in zip(keys, meetings, strict=True)], dtype=bool)
        undated = pd.isna(start)
        col.quarantine_marked(source_rows, undated, "bad_date", "meeting start time missing or not a date")
        keep &= ~undated
    hosts = keep & is_host
    col.organisers.extend(email[hosts & ~pd.isna(email)])
    col.exclude_marked(source_rows, hosts, "host", [f"meeting host {w}" for w in who[hosts]])
    keep &= ~is_host
    waiting = keep & np.fromiter(map(bool, parse_cell_array(cells["waiting"], parse_flag)[0]), dtype=bool,
                                 count=len(source_rows))
    col.exclude_marked(source_rows, waiting, "waiting_room", [f"{w} was in the waiting room" for w in who[waiting]])
    keep &= ~waiting
    minutes, minutes_error = parse_cell_array(cells["minutes"], parse_minutes)
    questions, polls, feedback, engagement_error = engagement_cells(cells, len(source_rows))
    value_error = either_cells(minutes_error, engagement_error)
    unreadable = keep & ~pd.isna(value_error)
    col.quarantine_marked(source_rows, unreadable, "bad_value", value_error[unreadable])
    keep &= ~unreadable
    col.keep_columns(source_rows[keep], {
        "event_name": topic if block else topic[keep], "event_date": start if block else start[keep],
        "email": email[keep], "name": name[keep], "company": clean_cells(cells["company"][keep]),
        "minutes": minutes[keep].astype(float), "questions": questions[keep], "polls": polls[keep],
        "feedback": feedback[keep],
    })


@lru_cache(maxsize=1_024)
def _flat_meeting(cells: tuple[tuple[str, str], ...]) -> tuple[str | None, datetime | None, set[str]]:
    return _meeting(dict(cells))
