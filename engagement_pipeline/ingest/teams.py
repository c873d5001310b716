"""Microsoft Teams attendance report: the sectioned report (2021+) and the older flat attendance list.

Confidence HIGH for the sectioned layout (PLATFORMS.md §3: a real UTF-16 LE, tab-separated webinar report),
MED for the flat `Full Name / User Action / Timestamp` list (several public parsers agree). The reader decodes
UTF-16 and sniffs the tab; this module finds the `1. Summary` / `2. Participants` / `3. In-Meeting Activities`
rows by content (English and Portuguese labels). `2. Participants` is already one row per person with the
total `In-Meeting Duration` (`1h 2m 3s`), so In-Meeting Activities is not needed for minutes. Organisers and
co-organisers are excluded as hosts (and give the organiser's domain); presenters are kept as speakers.
"""

from __future__ import annotations

import re
from datetime import datetime

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from engagement_pipeline.ingest.collector import Collector, Kept
from engagement_pipeline.ingest.common import (
    DURATION_CELL,
    Fit,
    best_fit,
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
    normalised_cells,
    parse_cells,
    parse_dates,
    parse_datetime,
    parse_minutes,
    require,
    section,
)
from engagement_pipeline.ingest.reader import Table

NAME = "teams"
LABEL = "Microsoft Teams attendance report"
IDENTIFIED_BY = ("section rows '1. Summary' and '2. Participants' with a 'Name, First Join, Last Leave, "
                 "In-Meeting Duration' header; or the older 'Full Name, User Action, Timestamp' list")
DEFAULT_TYPE = "other"
HAS_DURATIONS = True

_SECTION = re.compile(r"^(\d)\.\s*(.+)$")
SUMMARY = {"summary", "resumo", "zusammenfassung", "resumen"}
PARTICIPANTS = {"participants", "participantes", "teilnehmer"}
ACTIVITIES = {"in-meeting activities", "atividades na reunião", "aktivitäten in der besprechung"}
FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("name", "nome", "full name"),
    "first_join": ("first join", "primeiro ingresso", "join time"),
    "minutes": ("in-meeting duration", "duração na reunião", "duration", "attendance duration"),
    "email": ("email", "participant id (upn)", "id do participante (upn)", "registration email"),
    "upn": ("participant id (upn)", "id do participante (upn)"),
    "registration_email": ("registration email",),
    "role": ("role", "função"),
}
SUMMARY_KEYS = {"title": ("meeting title", "título da reunião", "title"),
                "start": ("start time", "meeting start time", "hora de início", "first join")}
HOST_ROLES = {"organizer", "organiser", "co-organizer", "co-organiser", "organizador", "coorganizador"}
SPEAKER_ROLES = {"presenter", "apresentador"}
FLAT = ("full name", "user action", "timestamp")
_GUEST = re.compile(r"\s*\((?:external|guest|unverified|externo|convidado)\)\s*$", re.IGNORECASE)


class TeamsParticipantRows(pa.DataFrameModel):
    """One row of `2. Participants` after header normalisation (blank = column absent)."""

    name: Series[str]
    first_join: Series[str]
    minutes: Series[str] = pa.Field(str_matches=DURATION_CELL)
    email: Series[str]
    upn: Series[str]
    registration_email: Series[str]
    role: Series[str]

    class Config:
        name = "teams_participant_rows"
        strict = False


class TeamsActionRows(pa.DataFrameModel):
    """One row of the older flat attendance list."""

    name: Series[str] = pa.Field(str_length={"min_value": 1})
    action: Series[str] = pa.Field(str_matches=r"(?i)^(joined|left|joined before)$")
    timestamp: Series[str]

    class Config:
        name = "teams_action_rows"
        strict = False


def _sections(table: Table) -> dict[str, int]:
    """Kind ('summary' | 'participants' | 'activities') -> row index of its numbered section row."""
    found: dict[str, int] = {}
    for index, _, cell in table.lone_cells():
        match = _SECTION.match(norm_header(cell))
        if not match:
            continue
        label = match[2]
        kind = ("summary" if label in SUMMARY else "participants" if label in PARTICIPANTS
                else "activities" if label in ACTIVITIES else None)
        if kind and kind not in found:
            found[kind] = index
    return found


def _participants_header(table: Table, start: int = 0) -> int | None:
    for index in range(start, min(len(table.rows), start + 200)):
        if not _may_be_participants_header(table.rows[index]):
            continue
        cells = normalised_cells(table, index)
        if cells & {"name", "nome"} and cells & {"in-meeting duration", "duração na reunião"}:
            return index
    return None


def _may_be_participants_header(row: list[str]) -> bool:
    """False only for a row that cannot be the participants header: an ASCII row (where `norm_header` is
    lower-casing and collapsing whitespace) whose lowered text lacks `name`/`nome` or `in-meeting`. Asked of the
    200 rows `identify` looks at in every file, so data rows are passed over without normalising each cell."""
    text = "\x00".join(row)
    if not text.isascii():
        return True
    text = text.lower()
    return ("name" in text or "nome" in text) and "in-meeting" in text


def _flat_header(table: Table) -> int | None:
    return next((i for i, cells in header_rows(table, 10) if "user action" in cells), None)


def identify(table: Table) -> Fit:
    """Strong when both section rows and the participants header are present, or all three flat-list headers."""
    sections = _sections(table)
    report = fit({"'1. Summary'": "summary" in sections, "'2. Participants'": "participants" in sections,
                  "a 'Name, First Join, In-Meeting Duration' header": _participants_header(table) is not None})
    flat_index = _flat_header(table)
    flat_cells = {norm_header(c) for c in table.rows[flat_index]} if flat_index is not None else set()
    flat = fit({f"'{h.title()}'": h in flat_cells for h in FLAT}, anchor="'User Action'")
    return best_fit(report, flat)


def _summary(table: Table, start: int, end: int) -> dict[str, str]:
    """Key/value rows of `1. Summary` (first cell a label, second its value)."""
    values: dict[str, str] = {}
    for row in table.rows[start + 1:end]:
        if len(row) >= 2:
            key = norm_header(row[0])
            for field, aliases in SUMMARY_KEYS.items():
                if key in aliases and field not in values:
                    values[field] = row[1]
    return values


def parse(table: Table, col: Collector) -> None:
    sections = _sections(table)
    if "participants" not in sections and _flat_header(table) is not None:
        _parse_flat(table, col)
        return
    start = sections.get("participants", 0)
    header_index = _participants_header(table, start)
    if header_index is None:
        return
    summary = _summary(table, sections.get("summary", -1), start) if "summary" in sections else {}
    title = clean(summary.get("title", ""))
    try:
        event_date = parse_datetime(summary.get("start", ""))
    except ValueError:
        col.notes.append(f"meeting start time {summary.get('start')!r} is not a date; use events/overrides.csv")
        event_date = None
    stop = [i for k, i in sections.items() if k != "participants"]
    sec = section(table, header_index, stop)
    found = locate(sec, FIELDS)
    require(found, [("name", "email"), ("minutes",)], "Teams participants section", sec, FIELDS)
    check_filled(sec, found, {"minutes": parse_minutes}, "Teams participants section")
    rows = col.frame(sec, found, TeamsParticipantRows, scope="participants")
    name = parse_cells(rows["name"], lambda cell: clean(_GUEST.sub("", cell)))[0]
    email = either(either(clean_column(rows["email"]), clean_column(rows["upn"])),
                   clean_column(rows["registration_email"]))
    email = parse_cells(email, lambda e: e if e and "@" in e else None)[0]
    role = rows["role"].map(norm_header)
    is_host = role.isin(HOST_ROLES)
    col.organisers.extend(email[rows.index[is_host.to_numpy()]].dropna())
    rows = col.exclude_where(rows, is_host, "host", lambda hit: (
        f"meeting {r.lower()} {w}" for r, w in zip(hit["role"], either(name, email)[hit.index], strict=True)))
    minutes, minutes_error = parse_cells(rows["minutes"], parse_minutes)
    joined, joined_error = parse_dates(rows["first_join"])
    questions, polls, feedback, engagement_error = engagement_columns(rows)
    value_error = first_error(minutes_error, joined_error, engagement_error)
    rows = col.quarantine_where(rows, value_error.notna(), "bad_value", lambda hit: value_error[hit.index])
    minutes, joined = minutes[rows.index].astype(float), joined[rows.index]
    # No start in the summary: the most common day of the first joins (rows that keep then quarantines or
    # excludes count too, as they did row by row), noted when a row is kept with it.
    day = mode_date(list(joined.dropna())) if event_date is None else None
    kept = col.keep_frame(pd.DataFrame({
        "event_name": title, "event_date": event_date or day, "email": email, "name": name,
        "attended": (minutes > 0) | joined.notna(), "minutes": minutes, "questions": questions, "polls": polls,
        "feedback": feedback, "role": role[rows.index].isin(SPEAKER_ROLES).map({True: "speaker", False: "attendee"}),
    }, index=rows.index))
    if day is not None and len(kept):
        col.notes.append(f"event date {day.date()} taken from the participants' first join times")


def _parse_flat(table: Table, col: Collector) -> None:
    """`Full Name / User Action / Timestamp`: Joined/Left pairs summed per person; an open join lasts until the
    last timestamp in the file (the list is downloaded during or at the end of the meeting)."""
    header_index = _flat_header(table)
    if header_index is None:
        return
    sec = section(table, header_index)
    found = {"name": sec.col("full name"), "action": sec.col("user action"), "timestamp": sec.col("timestamp")}
    require(found, [("name",), ("action",), ("timestamp",)], "Teams attendance list", sec,
            {"name": ("full name",), "action": ("user action",), "timestamp": ("timestamp",)})
    check_filled(sec, found, {"timestamp": parse_datetime}, "Teams attendance list")
    events: list[tuple[int, dict[str, str], str, str, datetime]] = []
    for source_row, raw, v in col.rows(sec, found, TeamsActionRows):
        try:
            stamp = parse_datetime(v["timestamp"])
        except ValueError as err:
            col.quarantine(source_row, "bad_date", str(err), raw)
            continue
        if stamp is None:
            col.quarantine(source_row, "bad_date", "timestamp missing", raw)
            continue
        events.append((source_row, raw, v["name"].strip(), v["action"].strip().lower(), stamp))
    if not events:
        return
    end = max(e[4] for e in events)
    open_since: dict[str, datetime] = {}
    minutes: dict[str, float] = {}
    for _, _, name, action, stamp in sorted(events, key=lambda e: e[4]):
        if action.startswith("joined"):
            open_since.setdefault(name, stamp)
        elif name in open_since:
            minutes[name] = minutes.get(name, 0.0) + (stamp - open_since.pop(name)).total_seconds() / 60
    for name, since in open_since.items():
        minutes[name] = minutes.get(name, 0.0) + (end - since).total_seconds() / 60
    day = min(e[4] for e in events).replace(hour=0, minute=0, second=0)
    col.notes.append(f"Teams attendance list: event date {day.date()} from the earliest timestamp; minutes from "
                     "Joined/Left pairs (an open join counts until the last timestamp)")
    credited: set[str] = set()
    for source_row, raw, name, _, _ in events:
        first = name not in credited
        credited.add(name)
        col.keep(Kept(source_row=source_row, raw=raw, event_name=None, event_date=day, email=None,
                      name=clean(_GUEST.sub("", name)), minutes=minutes.get(name, 0.0) if first else 0.0))
