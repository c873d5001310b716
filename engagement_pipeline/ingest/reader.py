"""Bytes of an uploaded file -> a table of trimmed string cells, whatever the container and encoding.

Platforms disagree on everything below the table level (UTF-8 with or without BOM, UTF-16 tab-separated,
Excel re-saves as XLSX), so this module hides all of it and hands the platform modules plain rows.
Row numbers are kept as the 1-based record number a spreadsheet would show, so quarantine reports point
the user at the right line. Blank records stay in the table (as empty lists) to keep numbering stable.
"""

from __future__ import annotations

import csv
import io
import time as clock_time
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from itertools import compress, islice
from pathlib import Path

from engagement_pipeline.ingest.result import RejectedFile

XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls (and other OLE containers)
MAX_XLSX_UNCOMPRESSED = 500 * 1024 * 1024
MAX_XLSX_RATIO = 200
DELIMITERS = (",", "\t", ";")
XML_PROLOG_BYTES = 64 * 1024
ENTITY_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")
# Beyond this many damaged lines (or this share of all lines) the file is not "a sound file with a few bad
# lines" any more: it is rejected instead of quarantined line by line.
MAX_DAMAGED_LINES = 200
MAX_DAMAGED_SHARE = 0.2
RAW_LINE_CHARS = 500  # how much of a damaged line the quarantine keeps
_TIME_CHECK_EVERY = 512  # records between two looks at the clock


@dataclass(frozen=True)
class ReadLimits:
    """What one file may hold, checked while reading (never after loading it all), each with its own rejection.

    The defaults are far above any real attendance export (Zoom caps a report at 25k rows) and far below what
    would exhaust a worker: a file within the byte limit can still hold 100k columns or one 10 MB cell."""

    max_rows: int = 1_000_000
    max_cells_per_row: int = 1_000
    max_cell_chars: int = 32_767  # Excel's own limit for one cell
    max_seconds: float = 120.0


DEFAULT_LIMITS = ReadLimits()


@dataclass(frozen=True)
class DamagedLine:
    """One physical line that could not be read as a sound record (1-based line number)."""

    line: int
    record: int  # the record number (Table.row_number) the line stands in for
    reason: str  # unterminated_quote | malformed_quoting | truncated_record | bad_bytes
    detail: str
    text: str


@dataclass
class Table:
    """The cells of one file; `rows[i]` is spreadsheet row i + 1, right padding removed.

    `spans[i]` is the (first, last) physical line of record i (a quoted cell may hold line breaks); a damaged
    line stays in `rows` as an empty record so numbering is stable, and is listed in `damaged`."""

    rows: list[list[str]]
    encoding: str
    delimiter: str
    container: str  # "csv" | "xlsx"
    spans: list[tuple[int, int]] = field(default_factory=list)
    damaged: list[DamagedLine] = field(default_factory=list)
    physical_lines: int = 0
    # A workbook's other sheets (name -> rows), so a format can be found on any sheet, not only the first.
    other_sheets: dict[str, list[list[str]]] = field(default_factory=dict)
    _lone: list[tuple[int, int, str]] | None = field(default=None, init=False, repr=False, compare=False)
    # Row index -> its normalised cells (common.normalised_cells): every module's identify() reads the same top
    # rows, so each row is normalised once per table, not once per module.
    _normalised: dict[int, frozenset[str]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def row_number(self, index: int) -> int:
        return index + 1

    def lone_cells(self) -> list[tuple[int, int, str]]:
        """(row index, column, cell) of every row with exactly one non-blank cell: the section and title rows
        several platforms' `identify` look for. Found once per table (every module is asked about every file,
        and a full scan of each row per module was a sizeable part of detecting a big file's platform); a
        row stops being looked at on its second non-blank cell."""
        if self._lone is None:
            found: list[tuple[int, int, str]] = []
            rows = self.rows
            # A row whose first two cells are not blank (most data rows) has no lone cell: passed over in one
            # comprehension, the others looked at cell by cell.
            candidates = [index for index, row in enumerate(rows)
                          if len(row) < 2 or not row[0].strip() or not row[1].strip()]
            for index in candidates:
                row = rows[index]
                lone: tuple[int, int, str] | None = None
                for column, cell in enumerate(row):
                    if cell.strip():
                        if lone is not None:
                            break
                        lone = (index, column, cell)
                else:
                    if lone is not None:
                        found.append(lone)
            self._lone = found
        return self._lone

    def line_counts(self) -> dict[str, int]:
        """Where every physical line went: blank, inside a sound record, or damaged (quarantined)."""
        widths = [last - first + 1 for first, last in self.spans]  # lines per record
        for index in {d.record - 1 for d in self.damaged}:
            if index < len(widths):
                widths[index] = 0  # counted as damaged
        in_records = sum(compress(widths, map(any, self.rows)))
        blank = sum(widths) - in_records
        return {"lines_read": self.physical_lines, "lines_in_records": in_records, "lines_blank": blank,
                "lines_damaged": len(self.damaged)}


def read_table(path: Path, *, max_bytes: int = 50 * 1024 * 1024, display_name: str | None = None,
               limits: ReadLimits = DEFAULT_LIMITS) -> Table:
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
        return _read_xlsx(data, name, limits)
    if data.startswith(OLE_MAGIC):
        raise RejectedFile(f"{name} is an old-style Excel (.xls) workbook, which cannot be read.",
                           expected="CSV or .xlsx: open it in Excel and save as .xlsx or CSV",
                           found="a legacy .xls file")
    if name.lower().endswith((".xlsx", ".xlsm")):
        raise RejectedFile(f"{name} is named .xlsx but is not an Excel workbook.",
                           expected="a real .xlsx file (or rename it to .csv if it is a CSV export)",
                           found=f"content starting with {data[:16]!r}")
    return _read_text(data, name, limits)


class _Clock:
    """The wall-time limit of one file, looked at every few hundred records."""

    def __init__(self, name: str, limits: ReadLimits) -> None:
        self.name, self.limits = name, limits
        self.deadline = clock_time.monotonic() + limits.max_seconds

    def check(self, records: int) -> None:
        if records % _TIME_CHECK_EVERY == 0 and clock_time.monotonic() > self.deadline:
            raise RejectedFile(f"{self.name} took too long to read and was stopped.",
                               expected=f"a file that reads in under {self.limits.max_seconds:.0f} s; "
                                        "split the export",
                               found=f"{records} records read when the time ran out")


def _check_record(name: str, cells: list[str] | tuple[object, ...], records: int, where: str,
                  limits: ReadLimits) -> None:
    if records > limits.max_rows:
        raise RejectedFile(f"{name} has more rows than can be processed.",
                           expected=f"at most {limits.max_rows} rows; split the export",
                           found=f"more than {limits.max_rows} rows")
    if len(cells) > limits.max_cells_per_row:
        raise RejectedFile(f"{name} has a row with too many cells ({where}).",
                           expected=f"at most {limits.max_cells_per_row} columns",
                           found=f"{len(cells)} cells")


def _cell_too_long(name: str, where: str, limits: ReadLimits, length: int | None = None) -> RejectedFile:
    return RejectedFile(f"{name} has a cell that is too long ({where}).",
                        expected=f"cells of at most {limits.max_cell_chars} characters",
                        found=f"a cell of {length} characters" if length else "a longer cell")


def _split_lines(data: bytes) -> list[bytes]:
    """Physical lines, ends kept, split exactly where the csv module splits (\\r\\n, \\n, \\r)."""
    return data.splitlines(keepends=True)


def _decode(data: bytes) -> tuple[list[str], str, set[int]]:
    """(physical lines, encoding, 0-based indices of lines holding bytes that are not in that encoding).

    A BOM decides; clean UTF-8 is UTF-8; a file that is UTF-8 apart from a few lines (its other lines hold
    real multi-byte UTF-8) stays UTF-8 and only those lines are flagged; anything else is decoded in the
    charset charset-normalizer detects (Windows-1252 when it cannot tell)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return _lines_of(data.decode("utf-8-sig")), "utf-8-sig", set()
    if data.startswith(b"\xff\xfe"):
        return _lines_of(data[2:].decode("utf-16-le")), "utf-16-le", set()
    if data.startswith(b"\xfe\xff"):
        return _lines_of(data[2:].decode("utf-16-be")), "utf-16-be", set()
    try:
        return _lines_of(data.decode("utf-8")), "utf-8", set()
    except UnicodeDecodeError:
        pass
    raw_lines = _split_lines(data)
    lines: list[str] = []
    bad: set[int] = set()
    multibyte = False
    for index, raw in enumerate(raw_lines):
        try:
            lines.append(raw.decode("utf-8"))
            multibyte = multibyte or not raw.isascii()
        except UnicodeDecodeError:
            lines.append(raw.decode("utf-8", errors="replace"))
            bad.add(index)
    if multibyte and len(bad) <= max(1, int(len(raw_lines) * MAX_DAMAGED_SHARE)):
        return lines, "utf-8", bad
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    encoding = best.encoding if best is not None else "cp1252"
    text = data.decode(encoding, errors="replace")
    if encoding != "cp1252" and _same_in_cp1252(data, text):
        encoding = "cp1252"  # short texts fit several code pages equally; name the one Windows exports use
    return _lines_of(text), encoding, set()


def _same_in_cp1252(data: bytes, text: str) -> bool:
    try:
        return data.decode("cp1252") == text
    except UnicodeDecodeError:
        return False


def _lines_of(text: str) -> list[str]:
    return io.StringIO(text, newline="").readlines()


def _sniff_delimiter(lines: list[str]) -> str:
    """The delimiter giving the most rows of one consistent width (>1) in the first lines."""
    sample = lines[:60]
    best, best_score = ",", -1
    for delimiter in DELIMITERS:
        try:
            widths = Counter(len(r) for r in csv.reader(sample, delimiter=delimiter) if len(r) > 1)
        except csv.Error:
            continue
        score = max((width * count for width, count in widths.items()), default=0)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_text(data: bytes, name: str, limits: ReadLimits = DEFAULT_LIMITS) -> Table:
    try:
        lines, encoding, bad_lines = _decode(data)
    except (UnicodeDecodeError, LookupError) as err:
        raise RejectedFile(f"{name} could not be decoded as text.", expected="a UTF-8, UTF-16 or Windows CSV",
                           found=str(err)) from None
    if any("\x00" in line for line in lines):
        raise RejectedFile(f"{name} is not a text (CSV) file.", expected="CSV text or an .xlsx workbook",
                           found="binary content") from None
    delimiter = _sniff_delimiter(lines)
    table = Table(rows=[], encoding=encoding, delimiter=delimiter, container="csv", physical_lines=len(lines))
    _parse_lines(table, lines, bad_lines, name, limits)
    _flag_truncated_end(table, lines)
    too_many = max(MAX_DAMAGED_LINES, int(len(lines) * MAX_DAMAGED_SHARE))
    if len(table.damaged) > too_many or (table.damaged and len(table.damaged) == len(lines)):
        first = table.damaged[0]
        raise RejectedFile(f"{name} is too damaged to read: {len(table.damaged)} of {len(lines)} lines are broken.",
                           expected="a complete, unmodified CSV export",
                           found=f"line {first.line}: {first.detail}")
    return table


def _parse_lines(table: Table, lines: list[str], bad_lines: set[int], name: str, limits: ReadLimits) -> None:
    """Parses record by record, strictly, remembering which physical lines each record spans.

    A record that cannot be parsed (a quote that never closes, text after a closing quote) or that contains
    undecodable bytes costs exactly its first physical line: that line is quarantined and parsing starts again
    on the next line, so an open quote in row 11 no longer swallows the 40 rows after it into one cell.
    `csv.field_size_limit` is process-global, so it is set here before every parse: the same file always
    gets the same answer, whatever this process parsed before."""
    csv.field_size_limit(limits.max_cell_chars)
    clock = _Clock(name, limits)
    max_rows, max_cells = limits.max_rows, limits.max_cells_per_row
    clean = _clean if "\ufeff" in "".join(lines) else _strip  # a BOM inside the text is rare
    start = _parse_sound_lines(table, lines, clean, clock, limits) if not bad_lines else 0
    while start < len(lines):
        reader = csv.reader(iter(lines[start:]) if start else iter(lines), delimiter=table.delimiter,
                            strict=True)
        consumed = 0
        rows, spans = table.rows, table.spans  # locals: this loop runs once per record of every file
        try:
            for record in reader:
                first = start + consumed
                consumed = reader.line_num
                last = start + consumed - 1
                if bad_lines and any(i in bad_lines for i in range(first, last + 1)):
                    _damage(table, lines, first, "bad_bytes",
                            f"line {first + 1} holds bytes that are not {table.encoding} text")
                    for extra in range(first + 1, last + 1):
                        _damage(table, lines, extra, "bad_bytes", f"line {extra + 1} is part of a damaged record")
                    continue
                if len(rows) >= max_rows or len(record) > max_cells:
                    _check_record(name, record, len(rows) + 1, f"line {first + 1}", limits)
                rows.append(clean(record))
                spans.append((first + 1, last + 1))
                if not len(rows) % _TIME_CHECK_EVERY:
                    clock.check(len(rows))
            return
        except csv.Error as err:
            failed = start + consumed
            message = str(err)
            if "field larger than field limit" in message:
                raise _cell_too_long(name, f"in the record starting on line {failed + 1}", limits) from None
            reason = "unterminated_quote" if "unexpected end of data" in message else "malformed_quoting"
            detail = (f"line {failed + 1} opens a quoted cell that is never closed" if reason == "unterminated_quote"
                      else f"line {failed + 1} is not well-formed CSV ({message})")
            _damage(table, lines, failed, reason, detail)
            start = failed + 1


def _parse_sound_lines(table: Table, lines: list[str], clean: Callable[[list[str]], list[str]], clock: _Clock,
                       limits: ReadLimits) -> int:
    """`_parse_lines` for the usual file, a block of records at a time: while every record of a block is one
    physical line within the limits, the block is added whole (no per-record Python); at the first block that
    is not (a quoted line break, a csv error, a limit crossed), returns the index of its first line, from which
    `_parse_lines` goes on record by record, exactly as it would have from the start."""
    reader = csv.reader(iter(lines), delimiter=table.delimiter, strict=True)
    rows, spans = table.rows, table.spans
    consumed = 0
    try:
        while block := list(islice(reader, _TIME_CHECK_EVERY)):
            if (reader.line_num - consumed != len(block) or len(rows) + len(block) > limits.max_rows
                    or max(map(len, block)) > limits.max_cells_per_row):
                return consumed
            before = len(rows)
            rows.extend(map(clean, block))
            lines_read = range(consumed + 1, reader.line_num + 1)  # one record per line: (n, n)
            spans.extend(zip(lines_read, lines_read, strict=True))
            consumed = reader.line_num
            if len(rows) // _TIME_CHECK_EVERY > before // _TIME_CHECK_EVERY:
                clock.check(len(rows) // _TIME_CHECK_EVERY * _TIME_CHECK_EVERY)
    except csv.Error:
        return consumed
    return len(lines)


def _damage(table: Table, lines: list[str], index: int, reason: str, detail: str) -> None:
    """Quarantines physical line `index` (0-based): an empty placeholder record keeps the numbering stable."""
    table.rows.append([])
    table.spans.append((index + 1, index + 1))
    table.damaged.append(DamagedLine(index + 1, len(table.rows), reason, detail,
                                     lines[index].rstrip("\r\n")[:RAW_LINE_CHARS]))


def _flag_truncated_end(table: Table, lines: list[str]) -> None:
    """A file that stops mid-record: no final line break and a last record shorter than the one before it
    (a download or copy cut off). That record is damaged, never read as a row with empty trailing cells."""
    if not lines or lines[-1].endswith(("\n", "\r")) or not table.rows or not table.rows[-1]:
        return
    last = len(table.rows) - 1
    previous = next((r for r in reversed(table.rows[:last]) if r), None)
    raw_width = len(next(csv.reader([lines[-1]], delimiter=table.delimiter, strict=False), []))
    if previous is None or raw_width >= len(previous):
        return
    first_line, last_line = table.spans[last]
    table.rows[last] = []
    table.spans[last] = (first_line, first_line)
    table.damaged.append(DamagedLine(first_line, last + 1, "truncated_record",
                                     f"line {first_line} is cut off: the file ends in the middle of this record "
                                     f"({raw_width} of {len(previous)} cells, no final line break)",
                                     "".join(lines[first_line - 1:last_line])[:RAW_LINE_CHARS]))
    for extra in range(first_line + 1, last_line + 1):
        _damage(table, lines, extra - 1, "truncated_record", f"line {extra} is part of the cut-off last record")


def _strip(row: list[str]) -> list[str]:
    """`_clean` of a row from text holding no byte-order mark."""
    cells = list(map(str.strip, row))
    while cells and not cells[-1]:
        cells.pop()
    return cells


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
    visited: set[int] = set()  # a chain can loop back on itself
    while seen is not None and id(seen) not in visited:
        visited.add(id(seen))
        if type(seen).__module__.startswith("defusedxml"):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _read_xlsx(data: bytes, name: str, limits: ReadLimits = DEFAULT_LIMITS) -> Table:
    _check_zip(data, name)
    # openpyxl parses the workbook XML with defusedxml when it is installed (it is a project dependency),
    # which blocks entity-expansion and external-entity attacks in uploaded workbooks.
    from openpyxl import load_workbook

    clock = _Clock(name, limits)
    rows: list[list[str]] = []
    try:
        # read_only streams the sheet row by row, so every limit below is checked before the next row is read.
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheets: dict[str, list[list[str]]] = {}
            for sheet in workbook.worksheets:  # every sheet, so a format is found on any of them (door lane)
                # openpyxl pads every row to `max_col` (default: the width the sheet declares, which a hostile
                # file can set to 16,384): the declared width, capped one past the limit so a wider row is seen.
                declared = sheet.max_column
                max_col = min(declared, limits.max_cells_per_row + 1) if declared else None
                sheet_rows: list[list[str]] = []
                for values in sheet.iter_rows(values_only=True, max_col=max_col):
                    where = f"row {len(sheet_rows) + 1} of sheet {sheet.title!r}"
                    cells = _clean([_cell_text(v) for v in values])
                    _check_record(name, cells, len(sheet_rows) + 1, where, limits)
                    longest = max((len(c) for c in cells), default=0)
                    if longest > limits.max_cell_chars:
                        raise _cell_too_long(name, where, limits, longest)
                    sheet_rows.append(cells)
                    clock.check(len(rows) + sum(map(len, sheets.values())) + len(sheet_rows))
                sheets[sheet.title] = sheet_rows
            rows = sheets.pop(workbook.worksheets[0].title) if workbook.worksheets else []
        finally:
            workbook.close()
    except RejectedFile:
        raise
    except Exception as err:  # openpyxl raises many unrelated types for damaged workbooks
        if _defused(err) is not None:
            raise _entity_rejection(name, "the workbook XML") from None
        raise RejectedFile(f"{name} could not be opened as an Excel workbook.", expected="a valid .xlsx file",
                           found=f"{type(err).__name__}: {err}") from None
    spans = [(i + 1, i + 1) for i in range(len(rows))]
    return Table(rows=rows, encoding="xlsx", delimiter="", container="xlsx", spans=spans, physical_lines=len(rows),
                 other_sheets=sheets)


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
