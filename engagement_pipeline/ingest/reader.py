"""Bytes of an uploaded file -> a table of trimmed string cells, whatever the container and encoding.

Platforms disagree on everything below the table level (UTF-8 with or without BOM, UTF-16 tab-separated,
Excel re-saves as XLSX), so this module hides all of it and hands the platform modules plain rows.
Row numbers are kept as the 1-based record number a spreadsheet would show, so quarantine reports point
the user at the right line. Blank records stay in the table (as empty lists) to keep numbering stable.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

from engagement_pipeline.ingest.result import RejectedFile

XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls (and other OLE containers)
MAX_XLSX_UNCOMPRESSED = 500 * 1024 * 1024
MAX_XLSX_RATIO = 200
DELIMITERS = (",", "\t", ";")
XML_PROLOG_BYTES = 64 * 1024
ENTITY_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")


@dataclass
class Table:
    """The cells of one file; `rows[i]` is spreadsheet row i + 1, right padding removed."""

    rows: list[list[str]]
    encoding: str
    delimiter: str
    container: str  # "csv" | "xlsx"
    # A workbook's other sheets (name -> rows), so a format can be found on any sheet, not only the first.
    other_sheets: dict[str, list[list[str]]] = field(default_factory=dict)

    def row_number(self, index: int) -> int:
        return index + 1


def read_table(path: Path, *, max_bytes: int = 50 * 1024 * 1024, display_name: str | None = None) -> Table:
    """Reads `path` into a Table, or raises RejectedFile with a message for the person who dropped it."""
    name = display_name or path.name
    size = path.stat().st_size
    if size > max_bytes:
        raise RejectedFile(
            f"{name} is too large to process ({size / 1_048_576:.1f} MB).",
            expected=f"a file of at most {max_bytes / 1_048_576:.0f} MB; split the export or remove columns",
            found=f"{size} bytes",
        )
    data = path.read_bytes()
    if not data.strip():
        raise RejectedFile(f"{name} is empty.", expected="an attendee export with a header row and data rows",
                           found="no content")
    if data.startswith(XLSX_MAGIC):
        return _read_xlsx(data, name)
    if data.startswith(OLE_MAGIC):
        raise RejectedFile(f"{name} is an old-style Excel (.xls) workbook, which cannot be read.",
                           expected="CSV or .xlsx: open it in Excel and save as .xlsx or CSV",
                           found="a legacy .xls file")
    if name.lower().endswith((".xlsx", ".xlsm")):
        raise RejectedFile(f"{name} is named .xlsx but is not an Excel workbook.",
                           expected="a real .xlsx file (or rename it to .csv if it is a CSV export)",
                           found=f"content starting with {data[:16]!r}")
    return _read_text(data, name)


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data.decode("utf-8-sig"), "utf-8-sig"
    if data.startswith(b"\xff\xfe"):
        return data[2:].decode("utf-16-le"), "utf-16-le"
    if data.startswith(b"\xfe\xff"):
        return data[2:].decode("utf-16-be"), "utf-16-be"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


def _sniff_delimiter(text: str) -> str:
    """The delimiter giving the most rows of one consistent width (>1) in the first lines."""
    sample = "\n".join(text.splitlines()[:60])
    best, best_score = ",", -1
    for delimiter in DELIMITERS:
        widths = Counter(len(r) for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if len(r) > 1)
        score = max((width * count for width, count in widths.items()), default=0)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_text(data: bytes, name: str) -> Table:
    try:
        text, encoding = _decode(data)
    except UnicodeDecodeError as err:
        raise RejectedFile(f"{name} could not be decoded as text.", expected="a UTF-8, UTF-16 or Windows CSV",
                           found=str(err)) from None
    if "\x00" in text:
        raise RejectedFile(f"{name} is not a text (CSV) file.", expected="CSV text or an .xlsx workbook",
                           found="binary content") from None
    delimiter = _sniff_delimiter(text)
    csv.field_size_limit(10 * 1024 * 1024)
    try:
        rows = [_clean(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)]
    except csv.Error as err:
        raise RejectedFile(f"{name} is not a well-formed CSV file.",
                           expected="comma-, tab- or semicolon-separated text", found=str(err)) from None
    return Table(rows=rows, encoding=encoding, delimiter=delimiter, container="csv")


def _clean(row: list[str]) -> list[str]:
    cells = [c.replace("\ufeff", "").strip() for c in row]
    while cells and not cells[-1]:
        cells.pop()
    return cells


def _check_zip(data: bytes, name: str) -> None:
    """Refuses zip bombs before openpyxl inflates anything."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile:
        raise RejectedFile(f"{name} looks like an .xlsx workbook but the file is damaged or incomplete.",
                           expected="a complete .xlsx file", found="an unreadable zip container") from None
    total = sum(i.file_size for i in infos)
    worst = max((i.file_size / max(i.compress_size, 1) for i in infos), default=0)
    if total > MAX_XLSX_UNCOMPRESSED or (worst > MAX_XLSX_RATIO and total > 10 * 1024 * 1024):
        raise RejectedFile(f"{name} expands to an implausible size and was not opened (possible zip bomb).",
                           expected=f"an .xlsx workbook that unpacks to under {MAX_XLSX_UNCOMPRESSED // 1_048_576} MB",
                           found=f"{total} bytes uncompressed, compression ratio up to {worst:.0f}:1")
    if not any(i.filename == "[Content_Types].xml" for i in infos):
        raise RejectedFile(f"{name} is a zip archive, not an Excel workbook.", expected="a .xlsx file or a CSV",
                           found="a zip file without workbook content")
    _check_entities(data, name, infos)


def _entity_rejection(name: str, where: str) -> RejectedFile:
    return RejectedFile(
        f"{name} contains XML entity declarations, which spreadsheet programs never write; it was not opened "
        "(possible entity-expansion 'billion laughs' or external-entity attack).",
        expected="an .xlsx workbook saved by Excel, Google Sheets or LibreOffice", found=f"a DOCTYPE/ENTITY in {where}")


def _check_entities(data: bytes, name: str, infos: list[zipfile.ZipInfo]) -> None:
    """Refuses DTDs in the workbook's XML parts before any XML parser sees them. openpyxl also parses through
    defusedxml (which forbids entities), so this is the second of two independent guards."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in infos:
            if not info.filename.endswith((".xml", ".rels")):
                continue
            try:
                with archive.open(info) as member:
                    head = member.read(XML_PROLOG_BYTES)
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as err:
                raise RejectedFile(f"{name} looks like an .xlsx workbook but the file is damaged or incomplete.",
                                   expected="a complete .xlsx file",
                                   found=f"an unreadable part {info.filename} ({type(err).__name__})") from None
            if any(marker in head for marker in ENTITY_MARKERS):
                raise _entity_rejection(name, info.filename)


def _defused(err: BaseException) -> BaseException | None:
    """The defusedxml refusal behind an openpyxl error, if any (openpyxl wraps it in a ValueError)."""
    seen: BaseException | None = err
    while seen is not None:
        if type(seen).__module__.startswith("defusedxml"):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _read_xlsx(data: bytes, name: str) -> Table:
    _check_zip(data, name)
    # openpyxl parses the workbook XML with defusedxml when it is installed (it is a project dependency),
    # which blocks entity-expansion and external-entity attacks in uploaded workbooks.
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheets = {ws.title: [_clean([_cell_text(v) for v in r]) for r in ws.iter_rows(values_only=True)]
                  for ws in workbook.worksheets}
        rows = sheets.pop(workbook.worksheets[0].title)
        workbook.close()
    except Exception as err:  # openpyxl raises many unrelated types for damaged workbooks
        if _defused(err) is not None:
            raise _entity_rejection(name, "the workbook XML") from None
        raise RejectedFile(f"{name} could not be opened as an Excel workbook.", expected="a valid .xlsx file",
                           found=f"{type(err).__name__}: {err}") from None
    return Table(rows=rows, encoding="xlsx", delimiter="", container="xlsx", other_sheets=sheets)


def _cell_text(value: object) -> str:
    """Excel values as the strings a CSV export would hold; dates as ISO so one date parser serves both."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds") if value.time() != time(0) else value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
