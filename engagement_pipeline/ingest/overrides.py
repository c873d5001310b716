"""User corrections for event identity: `events/overrides.csv` (`file,event_name,event_type,event_date`).

Some exports carry no event name or date (Eventbrite attendee reports, localised Zoom participant lists),
and inferred event types are sometimes wrong. A line whose `file` glob matches the uploaded file's name
replaces what the file says, so a CSM can fix an upload without editing it.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from engagement_pipeline.ingest.canonical import EVENT_TYPES
from engagement_pipeline.ingest.result import RejectedFile

COLUMNS: tuple[str, ...] = ("file", "event_name", "event_type", "event_date")


@dataclass(frozen=True)
class EventOverride:
    """Replaces the event name/type/date of files whose name matches `file_glob` (None = keep the file's)."""

    file_glob: str
    event_name: str | None
    event_type: str | None
    event_date: date | None

    def matches(self, file_name: str) -> bool:
        return fnmatch.fnmatchcase(file_name.lower(), self.file_glob.lower())


def load_overrides(path: Path) -> list[EventOverride]:
    """Reads the overrides CSV; a missing file means no overrides; a bad line raises a readable ValueError."""
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        headers = [h.strip().lower() for h in reader.fieldnames or []]
        if "file" not in headers:
            raise ValueError(f"{path}: the first line must be the header {','.join(COLUMNS)}; found {headers}")
        overrides = []
        for line_no, row in enumerate(reader, start=2):
            cells = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if isinstance(v, str)}
            if not any(cells.values()) or cells.get("file", "").startswith("#"):
                continue
            overrides.append(_parse_line(path, line_no, cells))
    return overrides


def _parse_line(path: Path, line_no: int, cells: dict[str, str]) -> EventOverride:
    where = f"{path} line {line_no}"
    glob = cells.get("file", "")
    if not glob:
        raise ValueError(f"{where}: the 'file' column is empty; give the file name or a pattern like 'Attendees-*.csv'")
    event_type = cells.get("event_type", "").lower() or None
    if event_type and event_type not in EVENT_TYPES:
        raise ValueError(f"{where}: event_type {event_type!r} is not one of {', '.join(EVENT_TYPES)}")
    raw_date = cells.get("event_date", "")
    event_date = None
    if raw_date:
        try:
            event_date = datetime.strptime(raw_date, "%Y-%m-%d").date()
        except ValueError:
            raise ValueError(f"{where}: event_date {raw_date!r} must be written YYYY-MM-DD") from None
    name = cells.get("event_name", "") or None
    if not (name or event_type or event_date):
        raise ValueError(f"{where}: give at least one of event_name, event_type, event_date for {glob!r}")
    return EventOverride(glob, name, event_type, event_date)


def merged_override(overrides: Sequence[EventOverride], file_name: str) -> EventOverride | None:
    """All overrides matching the file, merged field by field; the first line that sets a field wins."""
    matching = [o for o in overrides if o.matches(file_name)]
    if not matching:
        return None
    return EventOverride(
        file_glob=", ".join(o.file_glob for o in matching),
        event_name=next((o.event_name for o in matching if o.event_name), None),
        event_type=next((o.event_type for o in matching if o.event_type), None),
        event_date=next((o.event_date for o in matching if o.event_date), None),
    )


# ---- Event identity without a second trip -------------------------------------------------------------------

class WaitingForEventDetails(RejectedFile):
    """Not a rejection: the rows are usable but the file does not say which event (name or date) it is for.

    The upload is held (archived, not counted, not moved to `rejected/`) until a line in `events/overrides.csv`
    (or `score FILE --event-name … --event-type … --event-date …`) names the event; the held file is then
    processed without being dropped again. The message carries the exact line to add, pre-filled with
    whatever the file (or its name) did tell."""

    def __init__(self, file_name: str, *, event_name: str | None, event_date: date | None,
                 event_type: str | None, notes: Sequence[str] = ()) -> None:
        self.file_name = file_name
        missing = [what for what, value in (("name", event_name), ("date", event_date)) if not value]
        line = override_line(file_name, event_name or "<event name>", event_type or "<webinar|user_group|"
                             "training|conference|other>", event_date.isoformat() if event_date else "<YYYY-MM-DD>")
        flags = " ".join(f"--event-{k} {v}" for k, v in (
            ("name", f'"{event_name}"' if event_name else '"<event name>"'),
            ("type", event_type or "<type>"),
            ("date", event_date.isoformat() if event_date else "<YYYY-MM-DD>")))
        self.suggested_line = line
        super().__init__(
            f"Could not tell which event {file_name} is for (the file does not give the event's "
            f"{' or '.join(missing)}): it is waiting for event details, kept (archived, not counted) and processed "
            "as soon as the event is named; no need to drop it again.",
            expected=f"add this line to events/overrides.csv (header file,event_name,event_type,event_date): {line}"
                     f" -- or run: engagement-pipeline score {file_name} {flags}",
            found="; ".join(["no event name/date columns or values", *notes]),
        )


def override_line(file_name: str, event_name: str, event_type: str, event_date: str) -> str:
    """One overrides.csv line, quoted where a cell needs it."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([file_name, event_name, event_type, event_date])
    return buffer.getvalue()


_FILE_NAME_DATE = re.compile(r"(?<!\d)(20\d\d)(-?)(\d\d)\2(\d\d)(?!\d)")
# Columns saying when a person was at the event (never when they ordered or registered, which comes earlier).
_PRESENCE_WORDS = ("check", "join", "arriv", "attended at", "entered", "first seen", "start")
_NOT_PRESENCE_WORDS = ("order", "regist", "creat", "purchas", "updated", "birth", "paid")


def date_in_file_name(file_name: str) -> date | None:
    """`webinar-2026-03-14.csv`, `export_20260314.xlsx` -> 2026-03-14; None when absent or not a real date."""
    for match in _FILE_NAME_DATE.finditer(file_name):
        try:
            return date(int(match[1]), int(match[3]), int(match[4]))
        except ValueError:
            continue
    return None


def presence_dates(raws: Sequence[dict[str, str]]) -> set[date]:
    """The calendar days found in check-in/join columns of the kept rows."""
    from engagement_pipeline.ingest.common import parse_datetime

    days: set[date] = set()
    for raw in raws:
        for header, cell in raw.items():
            key = header.lower()
            if not cell or not any(w in key for w in _PRESENCE_WORDS) or any(w in key for w in _NOT_PRESENCE_WORDS):
                continue
            try:
                parsed = parse_datetime(cell)
            except ValueError:
                continue
            if parsed is not None:
                days.add(parsed.date())
    return days


def infer_event_date(raws: Sequence[dict[str, str]], file_name: str) -> tuple[date | None, str]:
    """The event date when it can be told safely, and the sentence saying how (for the upload's ledger):
    every check-in/join time in the file on one day, or a date in the file name; never when the two disagree
    or the file's times span several days."""
    days = presence_dates(raws)
    named = date_in_file_name(file_name)
    if len(days) > 1:
        span = f"{min(days).isoformat()} to {max(days).isoformat()}"
        return None, f"event date not inferred: check-in/join times in the file span {span}"
    inside = next(iter(days), None)
    if inside and named and inside != named:
        return None, (f"event date not inferred: the file's check-in/join times are on {inside.isoformat()} but "
                      f"its name says {named.isoformat()}")
    if inside:
        return inside, f"event date {inside.isoformat()} inferred: every check-in/join time in the file is on that day"
    if named:
        return named, f"event date {named.isoformat()} inferred from the file name {file_name!r}"
    return None, ""


def record_override(path: Path, override: EventOverride) -> str:
    """Writes `override` as the first line of overrides.csv (first line wins), replacing earlier lines for
    exactly the same file pattern; other lines are kept as they are. Returns the line written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    kept: list[list[str]] = []
    if path.exists():
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
        kept = [r for r in rows[1:] if not (r and r[0].strip().lower() == override.file_glob.lower())]
    line = [override.file_glob, override.event_name or "", override.event_type or "",
            override.event_date.isoformat() if override.event_date else ""]
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerows([list(COLUMNS), line, *kept])
    temporary.replace(path)
    return override_line(*line)


def with_inferred_date(override: EventOverride | None, kept: Sequence[tuple[date | None, dict[str, str]]],
                       file_name: str) -> tuple[EventOverride | None, str]:
    """When no row has an event date and no override gives one, the date inferred from the file (see
    `infer_event_date`) as an override, plus the ledger note; otherwise `override` unchanged."""
    if not kept or (override and override.event_date) or any(day is not None for day, _ in kept):
        return override, ""
    day, note = infer_event_date([raw for _, raw in kept], file_name)
    if day is None:
        return override, note
    base = override or EventOverride(file_name, None, None, None)
    return EventOverride(base.file_glob, base.event_name, base.event_type, day), note
