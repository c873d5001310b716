"""Entry point: one uploaded export -> ParsedUpload, with the platform detected from content.

The file name is never trusted (users rename files, archives rename them by hash); each platform module
scores how well the table looks like its export and the single best score wins. Anything unexpected while
parsing becomes a RejectedFile so the person who dropped the file gets a sentence, not a stack trace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import ModuleType

from engagement_pipeline.ingest import eventbrite, generic_sheet, hopin, zoom_meeting, zoom_webinar
from engagement_pipeline.ingest import mappings as mapped
from engagement_pipeline.ingest.collector import Collector
from engagement_pipeline.ingest.mappings import (
    LoadedMapping,
    UnrecognisedFile,
    load_mappings,
    mapping_for,
    parse_with_mapping,
    suggest_mapping,
)
from engagement_pipeline.ingest.overrides import EventOverride
from engagement_pipeline.ingest.reader import Table, read_table
from engagement_pipeline.ingest.result import ParsedUpload, RejectedFile

# Adding a platform = adding a module with NAME, LABEL, IDENTIFIED_BY, DEFAULT_TYPE, identify(), parse().
PLATFORM_MODULES: tuple[ModuleType, ...] = (zoom_webinar, zoom_meeting, eventbrite, hopin, generic_sheet)
DEFAULT_MAX_BYTES = 50 * 1024 * 1024


def recognised_platforms() -> str:
    return "; ".join(f"{m.LABEL} ({m.IDENTIFIED_BY})" for m in PLATFORM_MODULES)


def _detect(table: Table, name: str) -> ModuleType:
    scores = sorted(((m.identify(table), i) for i, m in enumerate(PLATFORM_MODULES)), reverse=True)
    best, index = scores[0]
    tied = len(scores) > 1 and scores[1][0] == best
    if best <= 0 or tied:
        first = next((r for r in table.rows if any(r)), [])
        what = "matches several platforms equally" if best > 0 else "is not a recognised attendance export"
        raise RejectedFile(f"{name} {what}.", expected=f"one of: {recognised_platforms()}",
                           found=f"first header row: {', '.join(first) or '(none)'}")
    return PLATFORM_MODULES[index]


def with_recognised_sheet(table: Table) -> Table:
    """The first sheet of a workbook any module recognises (the first sheet when none or when it is a CSV)."""
    if not table.other_sheets or any(m.identify(table) > 0 for m in PLATFORM_MODULES):
        return table
    for rows in table.other_sheets.values():
        candidate = replace(table, rows=rows, other_sheets={})
        if any(m.identify(candidate) > 0 for m in PLATFORM_MODULES):
            return candidate
    return table


def detect_platform(path: Path) -> str:
    """'zoom_webinar' | 'zoom_meeting' | 'hopin' | 'eventbrite', from the file's content; or RejectedFile."""
    return _detect(with_recognised_sheet(read_table(path, max_bytes=DEFAULT_MAX_BYTES)), path.name).NAME


def parse_export(
    path: Path,
    *,
    source_name: str | None = None,
    overrides: Sequence[EventOverride] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
    mappings: Sequence[LoadedMapping] | None = None,
) -> ParsedUpload:
    """Reads, detects and parses one export; records are validated against CanonicalAttendance.
    A file whose header layout has a column mapping is read through it (`mappings`; None: those saved in the
    data folder's `mappings/`, so every caller honours them); an unrecognised one is rejected with a suggested
    mapping (`UnrecognisedFile.skeleton`)."""
    name = source_name or path.name
    if mappings is None:
        from engagement_pipeline.config import Settings

        mappings = load_mappings(Settings.from_env().mappings_dir)
    try:
        table = with_recognised_sheet(read_table(path, max_bytes=max_bytes, display_name=name))
        mapping = mapping_for(table, mappings, name)
        if mapping is not None:
            module = mapped
        else:
            try:
                module = _detect(table, name)
            except RejectedFile as err:
                raise UnrecognisedFile(err, suggest_mapping(table, name), name) from None
        collector = Collector(platform=module.NAME, source_file=name, default_type=module.DEFAULT_TYPE)
        if table.encoding not in ("utf-8", "utf-8-sig", "xlsx"):
            collector.notes.append(f"read as {table.encoding}")
        if mapping is not None:
            parse_with_mapping(table, mapping, collector)
        else:
            module.parse(table, collector)
        if collector.rows_read == 0:
            raise RejectedFile(f"{name} has headers but no data rows ({module.LABEL}).",
                               expected="at least one attendee row under the header", found="header rows only")
        return collector.finish(list(overrides))
    except RejectedFile:
        raise
    except Exception as err:  # never let a stack trace reach the person who dropped the file
        raise RejectedFile(
            f"{name} could not be processed because of an unexpected problem in its content.",
            expected=f"an unmodified export from one of: {recognised_platforms()}",
            found=f"{type(err).__name__}: {err}",
        ) from err
