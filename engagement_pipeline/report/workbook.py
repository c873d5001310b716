"""The engagement report as an .xlsx workbook: one sheet per table, safe to open in Excel.

Numbers are stored as numbers with a number format (scores `0.0`, shares `0%`, ARR `#,##0`), each sheet has
its header frozen and an autofilter, scores carry a red-to-green colour scale and trends a colour per state,
and a chart sheet (a native Excel bar chart of the score bands, drawn from the Distribution sheet) comes first
after the Summary, so the workbook sorts, filters and plots like any spreadsheet a CSM builds by hand.

Names and reasons come from uploaded files, so any text that Excel would read as a formula (leading
= + - @, tab or carriage return: the OWASP CSV-injection list) is neutralised with a leading quote
(`engagement_pipeline.report.safe_export`, shared by every file the product writes).

Written with XlsxWriter, which streams cells straight to the file's XML (openpyxl built a cell object per
value, ~40 us a cell: the largest single item of a 1M-record run). The cells are the ones openpyxl wrote:
numbers as `%.16g`, dates as openpyxl's Excel serials with its date formats, styled empty cells where a
number format covers a missing value, text checked and cut to Excel's length as openpyxl did it
(`engagement_pipeline_tests/test_report.py` reads both books back and compares every cell). openpyxl's rules
for those are restated in `excel_cells`, so writing the report does not import openpyxl.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from engagement_pipeline.report.excel_cells import ILLEGAL_CHARACTERS_RE, IllegalCharacterError, excel_serial
from engagement_pipeline.report.markdown import report_tables
from engagement_pipeline.report.safe_export import FORMULA_TRIGGERS, neutralise

if TYPE_CHECKING:
    from engagement_pipeline.report import EngagementReport

__all__ = ["FORMULA_TRIGGERS", "safe_value", "write_workbook"]
MAX_WIDTH = 60
MAX_TEXT = 32_767  # Excel's longest cell text; openpyxl cut longer text to it
NUMBER_FORMATS = {"Score": "0.0", "Share": "0%", "ARR": "#,##0", "Avg per event": "0.0", "Relevance": "0.00",
                  "Engagement score": "0.0", "Health score": "0.0", "Usage health": "0.0"}
SCALED = ("Score", "Engagement score", "Health score")  # red-to-green colour scale, 0 to 100
TREND_FILLS = {"declining": "F8CBAD", "rising": "C6EFCE"}
DATE_FORMATS = {datetime: "yyyy-mm-dd h:mm:ss", date: "yyyy-mm-dd"}  # openpyxl's, so they read back as dates
PIXELS_PER_CHARACTER = 7  # XlsxWriter's digit width: a width of 7·n pixels is stored as n characters


def safe_value(value: object) -> object:
    """A value a spreadsheet can store that Excel will never evaluate: formula-like text gets a leading quote."""
    if type(value) is str:  # most cells: what the last line does for text, without the checks before it
        return neutralise(value)
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, (bool, int, float, date, datetime)):
        return value
    if hasattr(value, "item"):  # numpy scalars
        return safe_value(value.item())
    return neutralise(str(value))


def _sheet_title(title: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", " ", title).strip()[:31] or "Sheet"
    name, n = base, 2
    while name.lower() in used:
        name = f"{base[:28]} {n}"
        n += 1
    used.add(name.lower())
    return name


class _Formats:
    """The book's cell formats, each made once (XlsxWriter keeps one style per distinct format object)."""

    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self.book = book
        self.bold = book.add_format({"bold": True})
        self._numbers: dict[str, Any] = {}
        self.fills = {word: book.add_format({"bg_color": f"#{colour}", "pattern": 1})
                      for word, colour in TREND_FILLS.items()}

    def number(self, fmt: str) -> Any:
        if fmt not in self._numbers:
            self._numbers[fmt] = self.book.add_format({"num_format": fmt})
        return self._numbers[fmt]


def _text(value: str) -> str:
    value = value[:MAX_TEXT]
    if ILLEGAL_CHARACTERS_RE.search(value):  # as openpyxl refused it: Excel cannot hold control characters
        raise IllegalCharacterError(f"{value} cannot be used in worksheets.")
    return value


def _put(ws: Any, r: int, c: int, value: object, fmt: str | None, formats: _Formats) -> None:
    """One cell as openpyxl stored it: text, a boolean, a number, a date as its Excel serial (with the
    column's number format if it has one, else the date's), or a styled blank where a format covers nothing."""
    style = formats.number(fmt) if fmt is not None else None
    kind = type(value)
    if kind is str:
        if value:
            ws.write_string(r, c, _text(value), style)  # type: ignore[arg-type]
        elif style is not None:
            ws.write_blank(r, c, None, style)
    elif value is None:
        if style is not None:
            ws.write_blank(r, c, None, style)
    elif isinstance(value, bool):
        ws.write_boolean(r, c, value, style)
    elif isinstance(value, (int, float)):  # also a numpy float kept in a text column (a float subclass)
        if math.isinf(value):  # openpyxl wrote an empty number: read back as nothing
            ws.write_blank(r, c, None, style)
        else:
            ws.write_number(r, c, value, style)
    elif isinstance(value, (datetime, date)):
        if getattr(value, "tzinfo", None) is not None:
            raise TypeError("Excel does not support timezones in datetimes. "
                            "The tzinfo in the datetime/time object must be set to None.")
        base = datetime if isinstance(value, datetime) else date
        ws.write_number(r, c, excel_serial(value), formats.number(fmt or DATE_FORMATS[base]))
    else:  # what safe_value never returns; written as its text, like any other text
        ws.write_string(r, c, _text(str(value)), style)


def _column_formats(header: list[object]) -> list[str | None]:
    """Each column's number format by its header (the last column of a repeated header name, as before)."""
    headers = {str(h): i for i, h in enumerate(header)}
    formats: list[str | None] = [None] * len(header)
    for name, fmt in NUMBER_FORMATS.items():
        if name in headers:
            formats[headers[name]] = fmt
    return formats


def last_row(frame: pd.DataFrame) -> int:
    """The sheet's last row (1-based): the header and the rows, or row 2 when a number format covers an empty
    table's first row (openpyxl made those cells)."""
    if len(frame):
        return len(frame) + 1
    return 2 if any(_column_formats([safe_value(str(c)) for c in frame.columns])) else 1


def _write(ws: Any, frame: pd.DataFrame, formats: _Formats) -> None:
    """Writes `frame` under a bold header, frozen, filtered, with its columns' formats and widths."""
    header = [safe_value(str(c)) for c in frame.columns]
    rows = [[safe_value(v) for v in row] for row in frame.itertuples(index=False)]
    for c, value in enumerate(header):
        if value:
            ws.write_string(0, c, _text(str(value)), formats.bold)
        else:
            ws.write_blank(0, c, None, formats.bold)
    if not header:  # openpyxl styled the one cell of an empty sheet
        ws.write_blank(0, 0, None, formats.bold)
    column_format = _column_formats(header)
    # Most cells are plain text and finite numbers: those go straight to the writer with their column's style
    # (text checked once per sheet: nothing too long, no control character), anything else through `_put`.
    texts = [v for row in rows for v in row if type(v) is str]
    plain_text = not texts or (max(map(len, texts)) <= MAX_TEXT
                               and not ILLEGAL_CHARACTERS_RE.search("\n".join(texts)))  # one char per match
    styles = [formats.number(fmt) if fmt is not None else None for fmt in column_format]
    write_string, write_number = ws.write_string, ws.write_number
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            kind = type(value)
            if kind is str and value and plain_text:
                write_string(r, c, value, styles[c])
            elif kind is int or (kind is float and not math.isinf(value)):  # safe_value leaves no NaN
                write_number(r, c, value, styles[c])
            else:
                _put(ws, r, c, value, column_format[c], formats)
    if not rows:  # openpyxl made the first row's cells of each formatted column
        for c, fmt in enumerate(column_format):
            if fmt is not None:
                ws.write_blank(1, c, None, formats.number(fmt))
    width = max([len(header), *map(len, rows)])
    ws.freeze_panes(1, 0)
    if rows:
        ws.autofilter(0, 0, len(rows), width - 1)
    last = max(last_row(frame), 2)
    headers = {str(h): i for i, h in enumerate(header)}
    for name in SCALED:
        if name in headers:
            ws.conditional_format(1, headers[name], last - 1, headers[name], {
                "type": "3_color_scale", "min_type": "num", "min_value": 0, "min_color": "#F8696B",
                "mid_type": "num", "mid_value": 50, "mid_color": "#FFEB84",
                "max_type": "num", "max_value": 100, "max_color": "#63BE7B"})
    if "Trend" in headers:
        col = headers["Trend"]
        for word in TREND_FILLS:
            ws.conditional_format(1, col, last - 1, col, {
                "type": "formula", "criteria": f'ISNUMBER(SEARCH("{word}",{xl_col_to_name(col)}2))',
                "format": formats.fills[word]})
    # Widths from the values written, stored as openpyxl stored them (characters, not Excel's padded width).
    for idx in range(max(width, 1)):
        longest = max((len(str(row[idx])) for row in (header, *rows) if idx < len(row) and row[idx] is not None),
                      default=0)
        ws.set_column_pixels(idx, idx, PIXELS_PER_CHARACTER * min(MAX_WIDTH, max(8, longest + 2)))


def write_workbook(report: EngagementReport, path: Path) -> Path:
    """Saves the sheets Summary, Events by type, Leaderboard, Advocacy, Declining, Invitations,
    Distribution, then any extra sections; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    tables = [(_sheet_title(title, used), frame)
              for title, frame in [*report_tables(report).items(), *report.extra_sections]]
    chart_title = _sheet_title("Chart", used)
    distribution = dict(tables).get("Distribution")
    chart_rows = last_row(distribution) if distribution is not None else 0
    with xlsxwriter.Workbook(str(path), {"in_memory": True}) as book:
        formats = _Formats(book)
        for n, (title, frame) in enumerate(tables):
            _write(book.add_worksheet(title), frame, formats)
            if n == 0 and chart_rows >= 2:  # the chart sheet second in the book
                _chart(book, book.add_chartsheet(chart_title), chart_rows)
    return path


def _chart(book: xlsxwriter.Workbook, sheet: Any, last_row: int) -> None:
    """The chart sheet: customers per score band, from the Distribution sheet's cells (rows 2 to `last_row`)."""
    chart = book.add_chart({"type": "column"})
    chart.add_series({"name": ["Distribution", 0, 1], "categories": ["Distribution", 1, 0, last_row - 1, 0],
                      "values": ["Distribution", 1, 1, last_row - 1, 1]})
    chart.set_title({"name": "Customers per engagement band"})
    chart.set_y_axis({"name": "Customers"})
    chart.set_legend({"none": True})
    sheet.set_chart(chart)
