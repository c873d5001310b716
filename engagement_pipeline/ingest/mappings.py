"""Column mappings: any attendance table no module recognises becomes readable with one small YAML file.

When a file is not recognised, its rejection comes with a pre-filled mapping of its headers onto the canonical
fields (best guesses filled in, the rest marked `# TODO`), written beside `<name>.error.txt` as
`<name>.mapping.yaml`. The user checks it, saves it in `data/mappings/`, and from then on every file with the
same header layout (the *signature*: its headers, normalised and sorted) is read through it: by the sensor,
the CLI and any caller of `parse_export`. A mapping that cannot be used fails with one clear sentence
(unknown field, missing required field, a header that is not in the file), never with a stack trace.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from engagement_pipeline.ingest.canonical import EVENT_TYPES
from engagement_pipeline.ingest.collector import Collector
from engagement_pipeline.ingest.common import Section, is_blank
from engagement_pipeline.ingest.generic_sheet import GenericSheetRows, header_key, match_headers, parse_rows
from engagement_pipeline.ingest.reader import Table
from engagement_pipeline.ingest.result import RejectedFile

NAME = "mapped"
LABEL = "Column-mapped table"
DEFAULT_TYPE = "other"
FIELDS: dict[str, str] = {  # canonical field -> what it means, shown in the skeleton
    "email": "the person's email address",
    "name": "the person's full name (or use first_name and last_name)",
    "first_name": "first name, when the name is split",
    "last_name": "last name, when the name is split",
    "company": "the customer / company / account (match evidence only)",
    "event_name": "the event's name",
    "event_type": "webinar, user group, training, conference... (blank: inferred from the name)",
    "event_date": "the event's date",
    "status": "attendance status (attended/present/yes vs registered/absent/no; cancelled/declined excluded)",
    "minutes": "minutes attended",
    "questions": "number of questions asked",
    "polls": "number of polls answered",
    "feedback": "survey / feedback submitted",
}
EVENT_KEYS: tuple[str, ...] = ("event_name", "event_type", "event_date")
TOP_KEYS = frozenset({"signature", "source", "headers", "columns", "event", "attended_values", "absent_values"})
# Guesses for headers no exact synonym caught: words they contain, tried field by field in this order.
HINTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("email", ("mail",)),
    ("minutes", ("minute", "duration", "mins", "time in", "length")),
    ("status", ("status", "attend", "present", "show", "checked", "check in")),
    ("event_type", ("type", "format", "kind", "category")),
    ("event_date", ("date", "when", "day", "start")),
    ("event_name", ("event", "session", "webinar", "meeting", "title", "topic", "course")),
    ("company", ("company", "org", "firm", "account", "customer", "employer", "business")),
    ("first_name", ("first", "given")),
    ("last_name", ("last", "surname", "family")),
    ("name", ("participant", "attendee", "person", "name", "guest", "user", "contact", "who")),
)
_SIGNATURE_LINE = re.compile(r"^signature:\s*['\"]?([0-9a-f]{12})", re.MULTILINE)


class MappingError(ValueError):
    """A mapping file that cannot be used; the message names the file and what to change."""


@dataclass(frozen=True)
class ColumnMapping:
    """A validated mapping: canonical field -> header, whole-file event values, extra status words."""

    path: str
    signature: str
    columns: dict[str, str]
    event: dict[str, str] = field(default_factory=dict)
    attended_values: frozenset[str] = frozenset()
    absent_values: frozenset[str] = frozenset()


@dataclass(frozen=True)
class LoadedMapping:
    """One file of `data/mappings/`: its signature and the mapping, or the error that makes it unusable."""

    path: str
    signature: str | None
    mapping: ColumnMapping | None = None
    error: str | None = None


def header_row(rows: list[list[str]]) -> int | None:
    """The first of the first 20 rows with at least two non-empty cells: the header a mapping refers to."""
    for index, row in enumerate(rows[:20]):
        if len([c for c in row if c.strip()]) >= 2:
            return index
    return None


def header_signature(headers: Sequence[str]) -> str:
    """12 hex digits identifying a header layout, whatever the columns' order, case, spacing or punctuation."""
    keys = sorted(header_key(h) for h in headers if header_key(h))
    return hashlib.sha256("|".join(keys).encode()).hexdigest()[:12]


def table_signature(table: Table) -> tuple[int, str] | None:
    index = header_row(table.rows)
    return None if index is None else (index, header_signature(table.rows[index]))


# ---- loading and validating ---------------------------------------------------------------------------------

def load_mappings(folder: Path) -> list[LoadedMapping]:
    """Every `*.yaml`/`*.yml` in `folder` (missing folder: none), each validated on its own."""
    if not folder.is_dir():
        return []
    loaded = []
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        text = path.read_text(encoding="utf-8-sig", errors="replace")
        found = _SIGNATURE_LINE.search(text)
        try:
            mapping = parse_mapping(text, str(path))
            loaded.append(LoadedMapping(str(path), mapping.signature, mapping))
        except MappingError as err:
            loaded.append(LoadedMapping(str(path), found[1] if found else None, error=str(err)))
    return loaded


def parse_mapping(text: str, where: str = "mapping") -> ColumnMapping:
    """Validates one mapping document; MappingError says what is wrong and how to fix it."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise MappingError(f"{where} is not valid YAML: {str(err).splitlines()[0]}") from None
    if not isinstance(doc, dict):
        raise MappingError(f"{where} must be a YAML mapping with 'signature' and 'columns' keys")
    unknown_keys = sorted(set(map(str, doc)) - TOP_KEYS)
    if unknown_keys:
        raise MappingError(f"{where}: unknown key(s) {', '.join(unknown_keys)}; allowed: {', '.join(sorted(TOP_KEYS))}")
    signature = str(doc.get("signature") or "").strip()
    if not re.fullmatch(r"[0-9a-f]{12}", signature):
        raise MappingError(f"{where}: 'signature' is missing or changed; copy it from the suggested mapping "
                           "(it identifies the file layout)")
    columns_doc = doc.get("columns") or {}
    if not isinstance(columns_doc, dict):
        raise MappingError(f"{where}: 'columns' must map fields to headers, e.g. 'email: E-mail Address'")
    unknown = sorted(str(k) for k in columns_doc if k not in FIELDS)
    if unknown:
        raise MappingError(f"{where}: unknown field(s) {', '.join(unknown)} under 'columns'; the fields are "
                           f"{', '.join(FIELDS)}")
    columns = {str(k): str(v).strip() for k, v in columns_doc.items() if v is not None and str(v).strip()}
    if not any(f in columns for f in ("email", "name", "first_name")):
        raise MappingError(f"{where}: missing required field: give the header of 'email' or of 'name' under "
                           "'columns' (every row needs a person)")
    headers = doc.get("headers")
    if isinstance(headers, list):
        listed = {header_key(str(h)) for h in headers}
        absent = [f"{f}: {h!r}" for f, h in columns.items() if header_key(h) not in listed]
        if absent:
            raise MappingError(f"{where}: header not in the file: {'; '.join(absent)} (the file's headers are "
                               f"{', '.join(map(str, headers))})")
    event = _event_values(doc.get("event") or {}, where)
    doubled = sorted(set(event) & set(columns))
    if doubled:
        raise MappingError(f"{where}: {', '.join(doubled)} is given both as a column and as a fixed event value")
    return ColumnMapping(where, signature, columns, event, _words(doc.get("attended_values")),
                         _words(doc.get("absent_values")))


def _event_values(raw: Any, where: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise MappingError(f"{where}: 'event' must hold event_name, event_type and/or event_date")
    unknown = sorted(str(k) for k in raw if k not in EVENT_KEYS)
    if unknown:
        raise MappingError(f"{where}: unknown field(s) {', '.join(unknown)} under 'event'; use {', '.join(EVENT_KEYS)}")
    values = {str(k): str(v).strip() for k, v in raw.items() if v is not None and str(v).strip()}
    if "event_type" in values and values["event_type"].lower() not in EVENT_TYPES:
        raise MappingError(f"{where}: event_type {values['event_type']!r} is not one of {', '.join(EVENT_TYPES)}")
    if "event_date" in values:
        try:
            values["event_date"] = date.fromisoformat(values["event_date"]).isoformat()
        except ValueError:
            raise MappingError(f"{where}: event_date {values['event_date']!r} must be written YYYY-MM-DD") from None
    return values


def _words(raw: Any) -> frozenset[str]:
    return frozenset(str(v).strip().lower() for v in raw or [] if str(v).strip())


# ---- applying -----------------------------------------------------------------------------------------------

def mapping_for(table: Table, mappings: Sequence[LoadedMapping], file_name: str) -> ColumnMapping | None:
    """The mapping for this file's header layout; RejectedFile when that mapping is unusable."""
    found = table_signature(table)
    if found is None:
        return None
    _, signature = found
    for loaded in mappings:
        if loaded.signature != signature:
            continue
        if loaded.mapping is None:
            raise RejectedFile(f"{file_name} has the header layout of the column mapping {Path(loaded.path).name}, "
                               "which cannot be used.", expected="a valid mapping (see README: Column mappings)",
                               found=str(loaded.error))
        return loaded.mapping
    return None


def parse_with_mapping(table: Table, mapping: ColumnMapping, col: Collector) -> None:
    """Reads the table through `mapping` into `col` (the same row rules as the generic attendance sheet)."""
    index = header_row(table.rows)
    assert index is not None  # mapping_for matched a header row
    original = table.rows[index]
    keys = [header_key(h) for h in original]
    found: dict[str, int | None] = dict.fromkeys(FIELDS)
    for field_name, header in mapping.columns.items():
        if header_key(header) not in keys:
            raise RejectedFile(f"The column mapping {Path(mapping.path).name} names a header not in the file.",
                               expected=f"{field_name}: {header!r}", found=", ".join(original))
        found[field_name] = keys.index(header_key(header))
    body = [(table.row_number(i), table.rows[i]) for i in range(index + 1, len(table.rows))
            if not is_blank(table.rows[i])]
    sec = Section(keys, list(original), body)
    col.notes.append(f"read through the column mapping {Path(mapping.path).name}")
    if "status" not in mapping.columns:
        col.notes.append("no status column mapped: every person listed counts as attended")
    parse_rows(sec, found, col, GenericSheetRows, attended_values=mapping.attended_values,
               absent_values=mapping.absent_values, fixed=dict(mapping.event))


# ---- the suggested skeleton ---------------------------------------------------------------------------------

def guess_columns(headers: Sequence[str]) -> dict[str, str | None]:
    """Best guess of a header per field: exact synonyms first (as the generic sheet knows them), then hints."""
    exact = match_headers(list(headers))
    guesses: dict[str, str | None] = {f: (headers[i] if exact.get(f) is not None else None)
                                      for f, i in ((f, exact.get(f)) for f in FIELDS)}
    taken = {h for h in guesses.values() if h}
    for field_name, words in HINTS:
        if guesses[field_name]:
            continue
        for header in headers:
            spaced = re.sub(r"[^0-9a-z]+", " ", header.lower()).strip()
            if header and header not in taken and any(w in spaced for w in words):
                guesses[field_name] = header
                taken.add(header)
                break
    return guesses


def suggest_mapping(table: Table, file_name: str) -> str | None:
    """The pre-filled mapping YAML for a file no module recognises (None when it has no header row)."""
    found = table_signature(table)
    if found is None:
        return None
    index, signature = found
    headers = [h for h in table.rows[index] if h.strip()]
    guesses = guess_columns(headers)
    lines = [
        f"# Column mapping for files laid out like {file_name!r} (engagement_pipeline).",
        "# 1. Check each field under 'columns': the header it is read from, or null when the file has none.",
        "#    Lines marked TODO were not guessed. Every row needs a person: 'email' or 'name' is required.",
        "# 2. If the file has no event columns, give the event under 'event' (or use events/overrides.csv).",
        "# 3. Save this file in data/mappings/ (any name ending .yaml) and drop the export again: every file",
        "#    with these headers is then read through this mapping.",
        f"signature: {signature}   # identifies this header layout; do not edit",
        f"source: {json.dumps(file_name, ensure_ascii=False)}",
        f"headers: {json.dumps(headers, ensure_ascii=False)}",
        "columns:",
    ]
    for field_name, meaning in FIELDS.items():
        guess = guesses[field_name]
        value = json.dumps(guess, ensure_ascii=False) if guess else "null"
        marker = "" if guess else "TODO "
        lines.append(f"  {field_name}: {value}".ljust(40) + f"  # {marker}{meaning}")
    has_event = {f: bool(guesses[f]) for f in EVENT_KEYS}
    lines.append("event:   # whole-file values, only for what no column gives")
    for key, example in (("event_name", "Spring Analytics Webinar"), ("event_type", "webinar"),
                         ("event_date", "2026-03-14")):
        note = "" if has_event[key] else f"  # TODO, e.g. {example}"
        lines.append(f"  {key}: null{note}")
    lines += ["attended_values: []   # extra status values meaning attended, e.g. [\"Y\", \"Came\"]",
              "absent_values: []     # extra status values meaning registered but absent"]
    return "\n".join(lines) + "\n"


class UnrecognisedFile(RejectedFile):
    """A rejection that comes with the suggested column mapping (`skeleton`) to write beside the file."""

    def __init__(self, rejected: RejectedFile, skeleton: str | None, file_name: str) -> None:
        self.skeleton = skeleton
        expected = rejected.expected
        if skeleton:
            expected += (f"; or complete the suggested column mapping {file_name}.mapping.yaml (beside this "
                         "file) and put it in data/mappings/")
        super().__init__(rejected.reason, expected=expected, found=rejected.found)


def write_mapping_skeleton(error_file: Path, skeleton: str) -> Path:
    """`<name>.mapping.yaml` beside the rejected file's `<name>.error.txt`."""
    from engagement_pipeline.inbox import ERROR_SUFFIX

    base = error_file.name.removesuffix(ERROR_SUFFIX)
    target = error_file.with_name(base + ".mapping.yaml")
    target.write_text(skeleton, encoding="utf-8")
    return target
