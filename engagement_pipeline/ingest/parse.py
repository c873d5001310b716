"""Entry point: one uploaded export -> ParsedUpload, with the platform detected from content.

The file name is never trusted (users rename files, archives rename them by hash); each platform module
returns a Fit (the share of its required markers found). Exactly one strong fit is imported; a file that fits
two platforms strongly, or any platform only loosely, is rejected with the candidates named, because a wrong
guess (a GoTo report read as Zoom, with every duration 0) is worse than asking. Anything unexpected while
parsing becomes a RejectedFile so the person who dropped the file gets a sentence, not a stack trace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import ModuleType

from engagement_pipeline.ingest import (
    eventbrite,
    generic_sheet,
    google_meet,
    goto_webinar,
    hopin,
    luma,
    teams,
    webex,
    zoom_meeting,
    zoom_webinar,
)
from engagement_pipeline.ingest import mappings as mapped
from engagement_pipeline.ingest.collector import Collector
from engagement_pipeline.ingest.common import NO_FIT, Fit
from engagement_pipeline.ingest.ledger import quarantine_oversized_keys
from engagement_pipeline.ingest.mappings import (
    LoadedMapping,
    UnrecognisedFile,
    load_mappings,
    mapping_for,
    parse_with_mapping,
    suggest_mapping,
)
from engagement_pipeline.ingest.overrides import EventOverride
from engagement_pipeline.ingest.reader import DEFAULT_LIMITS, ReadLimits, Table, read_table
from engagement_pipeline.ingest.result import ParsedUpload, RejectedFile

# Adding a platform = adding a module with NAME, LABEL, IDENTIFIED_BY, DEFAULT_TYPE, identify() -> Fit, parse()
# (and HAS_DURATIONS = True when its export carries time in session), then one line here.
PLATFORM_MODULES: tuple[ModuleType, ...] = (
    zoom_webinar,
    zoom_meeting,
    eventbrite,
    hopin,
    teams,
    luma,
    goto_webinar,
    webex,
    google_meet,
    generic_sheet,  # the CSM's own sheet; yields to any platform module that also fits (_detect)
)
DEFAULT_MAX_BYTES = 50 * 1024 * 1024


def recognised_platforms() -> str:
    return "; ".join(f"{m.LABEL} ({m.IDENTIFIED_BY})" for m in PLATFORM_MODULES)


def _first_header(table: Table) -> str:
    first = next((r for r in table.rows if any(r)), [])
    return f"first header row: {', '.join(first) or '(none)'}"


def _as_fit(value: Fit | float) -> Fit:
    """A module still returning the old numeric score (> 0 = recognised) counts as a strong fit, so a module
    written against the old interface keeps working until it returns a Fit with its markers."""
    if isinstance(value, Fit):
        return value
    return Fit(1.0) if value > 0 else NO_FIT


def _detect(table: Table, name: str) -> ModuleType:
    fits = [(m, _as_fit(m.identify(table))) for m in PLATFORM_MODULES]
    strong = [m for m, f in fits if f.strong]
    if len(strong) > 1 and generic_sheet in strong:  # a platform's own module knows its export better
        strong.remove(generic_sheet)
    if len(strong) == 1:
        return strong[0]
    if len(strong) > 1:
        labels = " and ".join(m.LABEL for m in strong)
        raise RejectedFile(f"{name} fits more than one platform ({labels}), so it was not imported as either.",
                           expected="an unmodified export from exactly one platform; or a column mapping",
                           found=_first_header(table))
    loose = sorted(((f.confidence, m.LABEL, f.missing) for m, f in fits if f.loose), reverse=True)
    if loose:
        candidates = "; ".join(f"{label} ({confidence:.0%} of its markers; missing {', '.join(missing)})"
                               for confidence, label, missing in loose)
        raise RejectedFile(f"{name} looks only partly like a known export, so it was not imported as a guess: "
                           f"{candidates}.",
                           expected=f"every marker of one of: {recognised_platforms()}",
                           found=_first_header(table))
    raise RejectedFile(f"{name} is not a recognised attendance export.",
                       expected=f"one of: {recognised_platforms()}", found=_first_header(table))


def _check_durations(module: ModuleType, upload: ParsedUpload, name: str) -> None:
    """A platform that records time in session never yields attendees who all spent 0 minutes: that is a
    column read wrongly (the GoTo-as-Zoom failure), so the file is rejected instead of imported as zeros."""
    if not getattr(module, "HAS_DURATIONS", False):
        return
    records = upload.records
    if not len(records):
        return
    attended = records["attended"].to_numpy(dtype=bool) & (records["role"].to_numpy(dtype=object) == "attendee")
    if attended.any() and not (records["minutes_attended"].to_numpy()[attended] > 0).any():
        raise RejectedFile(f"{name} was read as a {module.LABEL}, but every attendee has 0 minutes in session.",
                           expected="time in session for the people who attended",
                           found=f"{int(attended.sum())} attendees, all with 0 minutes")


def with_recognised_sheet(table: Table) -> Table:
    """The first sheet of a workbook any module recognises (the first sheet when none or when it is a CSV)."""
    if not table.other_sheets or any(_as_fit(m.identify(table)).strong for m in PLATFORM_MODULES):
        return table
    for rows in table.other_sheets.values():
        candidate = replace(table, rows=rows, other_sheets={}, spans=[(i + 1, i + 1) for i in range(len(rows))],
                            physical_lines=len(rows))
        if any(_as_fit(m.identify(candidate)).strong for m in PLATFORM_MODULES):
            return candidate
    return table


def detect_platform(path: Path) -> str:
    """The platform NAME (`zoom_webinar`, `teams`, `goto_webinar`, ...) from the file's content; or RejectedFile."""
    return _detect(with_recognised_sheet(read_table(path, max_bytes=DEFAULT_MAX_BYTES)), path.name).NAME


def _quarantine_damaged(table: Table, collector: Collector) -> None:
    """Every damaged physical line is one quarantined row of the ledger, with the line's text as its raw value."""
    for damage in table.damaged:
        collector.rows_read += 1
        collector.quarantine(damage.record, damage.reason, damage.detail, {"line": str(damage.line),
                                                                           "text": damage.text})
    if table.damaged:
        collector.notes.append(f"{len(table.damaged)} damaged lines quarantined "
                               f"({', '.join(sorted({d.reason for d in table.damaged}))})")


def parse_export(
    path: Path,
    *,
    source_name: str | None = None,
    overrides: Sequence[EventOverride] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
    limits: ReadLimits = DEFAULT_LIMITS,
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
        table = with_recognised_sheet(read_table(path, max_bytes=max_bytes, display_name=name, limits=limits))
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
            damaged = f"; {len(table.damaged)} damaged lines" if table.damaged else ""
            raise RejectedFile(f"{name} has headers but no data rows ({module.LABEL}).",
                               expected="at least one attendee row under the header",
                               found=f"header rows only{damaged}")
        _quarantine_damaged(table, collector)
        upload = collector.finish(list(overrides))
        _check_durations(module, upload, name)
        return quarantine_oversized_keys(replace(upload, lines=table.line_counts()))
    except RejectedFile:
        raise
    except Exception as err:  # never let a stack trace reach the person who dropped the file
        raise RejectedFile(
            f"{name} could not be processed because of an unexpected problem in its content.",
            expected=f"an unmodified export from one of: {recognised_platforms()}",
            found=f"{type(err).__name__}: {err}",
        ) from err
