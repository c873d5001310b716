"""User corrections for event identity: `events/overrides.csv` (`file,event_name,event_type,event_date`).

Some exports carry no event name or date (Eventbrite attendee reports, localised Zoom participant lists),
and inferred event types are sometimes wrong. A line whose `file` glob matches the uploaded file's name
replaces what the file says, so a CSM can fix an upload without editing it.
"""

from __future__ import annotations

import csv
import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from engagement_pipeline.canonical import EVENT_TYPES

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
