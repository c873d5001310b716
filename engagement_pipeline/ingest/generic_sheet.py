"""Generic attendance sheets: the CSM's own spreadsheet, one row per person per event, many events per file.

The columns the requirement names (customer, user, event, event type, date, attendance status) in any of the
everyday spellings: `Customer, User, Email, Event, Event Type, Date, Attendance Status`, the literal lower-case
words with the email in `user`, or a CRM export's `Account Name, Contact Name, Contact Email, ... Present/Absent`
with Excel serial dates. Headers are compared with case, spaces and punctuation removed.

The customer column is match evidence only: it becomes the record's `company`, and the matching cascade still
decides (a known contact's email or a corporate email domain outranks whatever the sheet says).
When a platform's own module also fits (an Eventbrite organisation export has an event, a date and a status
column too), the platform's module wins (`parse._detect`).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import lru_cache

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from engagement_pipeline.ingest.canonical import EVENT_TYPES, infer_event_type
from engagement_pipeline.ingest.collector import Collector
from engagement_pipeline.ingest.common import (
    NO_FIT,
    Fit,
    Section,
    clean_column,
    engagement_columns,
    first_error,
    full_names,
    is_blank,
    is_missing,
    parse_cells,
    parse_datetime,
    parse_minutes,
)
from engagement_pipeline.ingest.reader import Table

NAME = "generic_sheet"
LABEL = "Attendance sheet"
IDENTIFIED_BY = ("one row per person and event with columns for the event, its date, the attendance status and "
                 "the person (email, or a user/contact column)")
DEFAULT_TYPE = "other"

# Canonical field -> header spellings, compared after `header_key` (lower case, letters and digits only).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "company": ("customer", "account", "company", "organisation", "organization", "customer name", "account name",
                "company name", "organisation name", "organization name", "org"),
    "email": ("email", "email address", "e-mail", "contact email", "attendee email", "user email", "work email",
              "customer email"),
    "name": ("user", "attendee", "name", "contact", "contact name", "attendee name", "user name", "full name",
             "participant", "participant name"),
    "first_name": ("first name", "given name"),
    "last_name": ("last name", "surname", "family name"),
    "event_name": ("event", "event name", "session", "session name", "event title", "session title", "webinar"),
    "event_type": ("event type", "type", "format", "session type", "event format"),
    "event_date": ("date", "event date", "start", "start date", "session date", "start time", "event start"),
    "status": ("attendance status", "status", "attended", "attendance", "attendee status", "participation"),
    "minutes": ("minutes", "minutes attended", "duration", "duration minutes", "time in session", "attended minutes"),
    "questions": ("questions", "questions asked"),
    "polls": ("polls", "polls answered"),
    "feedback": ("feedback", "feedback submitted", "survey submitted"),
}

ATTENDED = frozenset({"attended", "present", "checked in", "checkedin", "yes", "y", "true", "1", "attending",
                      "joined", "showed", "showed up", "participated"})
NOT_ATTENDED = frozenset({"registered", "no show", "noshow", "absent", "no", "n", "false", "0", "not attended",
                          "did not attend", "invited", "missed"})
EXCLUDED = frozenset({"cancelled", "canceled", "declined", "withdrawn", "refunded"})

TYPE_WORDS: dict[str, str] = {
    "webinar": "webinar", "webcast": "webinar", "usergroup": "user_group", "meetup": "user_group",
    "community": "user_group", "training": "training", "workshop": "training", "course": "training",
    "conference": "conference", "summit": "conference", "other": "other",
}

EXCEL_EPOCH = datetime(1899, 12, 30)  # Excel's day 0 (the 1900 leap-year bug included)
EXCEL_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")  # 10000-99999: 1927-2173
DAY_FIRST = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{2}|\d{4})(?:[ T].*)?$")
EVERYDAY_FORMATS: tuple[str, ...] = (
    "%d %B %Y", "%d %b %Y", "%d-%b-%Y", "%d-%b-%y", "%d %b %y", "%B %d %Y", "%b %d %Y", "%a %d %B %Y",
    "%A %d %B %Y", "%A, %B %d, %Y", "%a, %b %d, %Y", "%Y%m%d",
)


class GenericSheetRows(pa.DataFrameModel):
    """One person-at-event row after header matching (blank = column absent)."""

    company: Series[str]
    email: Series[str] = pa.Field(str_matches=r"^([^@\s]+@[^@\s]+\.[^@\s]+|)$")
    name: Series[str]
    event_name: Series[str]
    event_type: Series[str]
    event_date: Series[str]
    status: Series[str]

    class Config:
        name = "generic_sheet_rows"
        strict = False


@lru_cache(maxsize=8_192)
def header_key(text: str) -> str:
    """`Attendance Status`, `attendance_status`, ` ATTENDANCE-status ` -> `attendancestatus`."""
    return _key_of(text)


def _key_of(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", text.replace("\ufeff", "").lower())


_KEYS = {field: tuple(header_key(s) for s in spellings) for field, spellings in SYNONYMS.items()}


def match_headers(headers: list[str]) -> dict[str, int | None]:
    """Column index per field; each column serves one field, the more specific spelling first."""
    positions: dict[str, list[int]] = {}  # key -> its columns, in order: one lookup per spelling, not a scan
    for i, h in enumerate(headers):
        positions.setdefault(header_key(h), []).append(i)
    found: dict[str, int | None] = dict.fromkeys(SYNONYMS)
    taken: set[int] = set()
    # Fields with specific spellings claim their columns first, so `Contact Email` is the email, not the contact.
    for field in ("email", "event_type", "event_date", "event_name", "status", "company", "first_name",
                  "last_name", "minutes", "questions", "polls", "feedback", "name"):
        for key in _KEYS[field]:
            index = next((i for i in positions.get(key, ()) if i not in taken), None)
            if index is not None:
                found[field] = index
                taken.add(index)
                break
    return found


def _usable(found: dict[str, int | None]) -> bool:
    person = any(found[f] is not None for f in ("email", "name", "first_name"))
    return person and found["event_name"] is not None and found["status"] is not None


def _may_be_header(row: list[str]) -> bool:
    """False only for a row `_usable` cannot accept: a status and an event column each need one of their keys
    in the row's text as `header_key` writes it (it drops and lowers character by character, so a cell's key is
    part of the whole row's). One pass over the row instead of a cached key per cell: `identify` asks this of
    the first 20 rows of every file, whose data cells fill the cache for nothing."""
    text = _key_of("".join(row))
    return any(key in text for key in _KEYS["status"]) and any(key in text for key in _KEYS["event_name"])


def find_header(rows: list[list[str]]) -> tuple[int, dict[str, int | None]] | None:
    """The first row (of the first 20) whose headers give a person, an event and a status column."""
    for index, row in enumerate(rows[:20]):
        if len([c for c in row if c]) < 3 or not _may_be_header(row):
            continue
        found = match_headers(row)
        if _usable(found):
            return index, found
    return None


def identify(table: Table) -> Fit:
    """A strong fit when one header row has a person, an event and a status column (the date may come from
    overrides.csv); no fit otherwise, never a loose one. `parse._detect` lets any platform module that also
    fits strongly win, so an export carrying these columns is still read by its platform's module."""
    return Fit(1.0) if find_header(table.rows) is not None else NO_FIT


def parse_event_type(text: str, event_name: str | None) -> str | None:
    """`Webinar`, `user group`, `User_Group`, `Workshop` -> a canonical type; blank -> from the event name."""
    key = header_key(text)
    if key:
        for word, event_type in TYPE_WORDS.items():
            if word in key:
                return event_type
        folded = re.sub(r"[\s-]+", "_", text.strip().lower())
        if folded in EVENT_TYPES:
            return folded
        return infer_event_type(text, "other")
    return None  # the collector infers it from the event name


def day_first_column(values: list[str]) -> bool:
    """True when a column's numeric dates are day-first (some first number above 12, none second above 12)."""
    first = second = False
    for value in values:
        match = DAY_FIRST.match(value.strip())
        if match:
            first |= int(match[1]) > 12
            second |= int(match[2]) > 12
    return first and not second


def parse_sheet_date(cell: str, *, day_first: bool = False) -> datetime | None:
    """Excel serials (`46095`), ISO, US and (column-wise) day-first numeric dates, `14 March 2026`, `14-Mar-26`."""
    text = re.sub(r"\s+", " ", cell.strip())
    if is_missing(text):
        return None
    if EXCEL_SERIAL.match(text):
        return EXCEL_EPOCH + timedelta(days=float(text))
    match = DAY_FIRST.match(text)
    if match and day_first:
        year = int(match[3]) + (2000 if len(match[3]) == 2 else 0)
        return datetime(year, int(match[2]), int(match[1]))
    try:
        return parse_datetime(text)
    except ValueError:
        pass
    plain = text.replace(",", "").replace("  ", " ")
    plain = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", plain)
    for fmt in EVERYDAY_FORMATS:
        try:
            return datetime.strptime(plain if "," not in fmt else text, fmt)
        except ValueError:
            continue
    raise ValueError(f"unrecognised date {cell!r}")


def attendance_of(status: str) -> str:
    """'attended' | 'registered' | 'excluded' | 'unknown' from an attendance status cell."""
    text = re.sub(r"[\s_-]+", " ", status.strip().lower()).strip()
    if text in ATTENDED or text.replace(" ", "") in ATTENDED:
        return "attended"
    if text in NOT_ATTENDED or text.replace(" ", "") in NOT_ATTENDED:
        return "registered"
    if text in EXCLUDED:
        return "excluded"
    return "unknown"


def _section(rows: list[list[str]], header_index: int, table: Table) -> Section:
    original = rows[header_index]
    body = [(table.row_number(i), rows[i]) for i in range(header_index + 1, len(rows)) if not is_blank(rows[i])]
    return Section([header_key(h) for h in original], list(original), body)


def parse(table: Table, col: Collector) -> None:
    found_header = find_header(table.rows)
    if found_header is None:
        return
    header_index, found = found_header
    sec = _section(table.rows, header_index, table)
    if found["event_date"] is None:
        col.notes.append("attendance sheet without a date column: the event date comes from overrides.csv, "
                         "the file name or the CLI")
    parse_rows(sec, found, col, GenericSheetRows)


def parse_rows(sec: Section, found: dict[str, int | None], col: Collector, model: type[pa.DataFrameModel],
               *, attended_values: frozenset[str] = frozenset(), absent_values: frozenset[str] = frozenset(),
               fixed: dict[str, str] | None = None) -> None:
    """Classifies every row of a person-per-event table; shared by the generic sheet and column mappings.
    `fixed` gives whole-file values (event name/type/date) for fields the table has no column for."""
    fixed = fixed or {}
    date_values = [cells[found["event_date"]] for _, cells in sec.rows
                   if found["event_date"] is not None and found["event_date"] < len(cells)]
    day_first = day_first_column(date_values)
    if day_first:
        col.notes.append("dates read day-first (DD/MM/YYYY), as some dates in the file have a day above 12")
    rows = col.frame(sec, found, model)
    for key, value in fixed.items():  # a whole-file value fills the column where the table leaves it blank
        rows[key] = rows[key].where(rows[key] != "", value) if key in rows.columns else value

    def cell(name: str) -> pd.Series:  # a field's cells in the rows still in play; blank when absent
        return rows[name] if name in rows.columns else pd.Series("", index=rows.index, dtype=object)

    status_text = cell("status")
    if found.get("status") is None and "status" not in fixed:
        status = pd.Series("attended", index=rows.index, dtype=object)  # a list of participants: all took part
    else:
        status = parse_cells(status_text, lambda text: (
            "attended" if text.strip().lower() in attended_values else
            "registered" if text.strip().lower() in absent_values else attendance_of(text)))[0]
    rows = col.exclude_where(rows, status == "excluded", "cancelled",
                             lambda hit: (f"attendance status {t!r}" for t in status_text[hit.index]))
    rows = col.quarantine_where(rows, status == "unknown", "bad_value",
                                lambda hit: (f"unrecognised attendance status {t!r}" for t in status_text[hit.index]))
    attended = (status[rows.index] == "attended").to_numpy()
    event_date, date_error = parse_cells(cell("event_date"), lambda c: parse_sheet_date(c, day_first=day_first))
    minutes, minutes_error = parse_cells(cell("minutes").where(attended, ""), parse_minutes)
    questions, polls, feedback, engagement_error = engagement_columns(rows)
    error = first_error(date_error, minutes_error, engagement_error)
    dated = error.map(lambda e: "date" in e, na_action="ignore").fillna(False).astype(bool)
    rows = col.quarantine_where(rows, dated, "bad_date", lambda hit: error[hit.index])
    rows = col.quarantine_where(rows, error.notna() & ~dated, "bad_value", lambda hit: error[hit.index])
    at = rows.index
    email, name = clean_column(cell("email"))[at], clean_column(cell("name"))[at]
    first, last = cell("first_name")[at], cell("last_name")[at]
    split = name.isna() & ((first != "") | (last != ""))
    name = name.where(~split, full_names(first, last))
    in_name = email.isna() & name.map(lambda n: "@" in n and " " not in n, na_action="ignore").fillna(False)
    email, name = email.where(~in_name, name), name.where(~in_name, None)  # the `user` column holds the email
    event_name = clean_column(cell("event_name"))[at]
    types: dict[tuple[str, str | None], str | None] = {}
    for pair in zip(cell("event_type")[at], event_name, strict=True):
        if pair not in types:
            types[pair] = parse_event_type(*pair)
    col.keep_frame(pd.DataFrame({
        "event_name": event_name, "event_date": event_date[at], "email": email, "name": name,
        "company": clean_column(cell("company"))[at], "attended": status[at] == "attended",
        "minutes": minutes[at].astype(float), "questions": questions, "polls": polls, "feedback": feedback,
        "event_type": [types[pair] for pair in zip(cell("event_type")[at], event_name, strict=True)],
    }, index=at))
