"""The engagement report as an .xlsx workbook: one sheet per table, safe to open in Excel.

Numbers are stored as numbers with a number format (scores `0.0`, shares `0%`, ARR `#,##0`), each sheet has
its header frozen and an autofilter, scores carry a red-to-green colour scale and trends a colour per state,
and a chart sheet (a native Excel bar chart of the score bands, drawn from the Distribution sheet) comes first
after the Summary, so the workbook sorts, filters and plots like any spreadsheet a CSM builds by hand.

Names and reasons come from uploaded files, so any text that Excel would read as a formula (leading
= + - @, tab or carriage return: the OWASP CSV-injection list) is neutralised with a leading quote
(`engagement_pipeline.safe_export`, shared by every file the product writes).
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, Reference
from openpyxl.formatting.rule import ColorScaleRule, FormulaRule
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from engagement_pipeline.report.markdown import report_tables
from engagement_pipeline.safe_export import FORMULA_TRIGGERS, neutralise

if TYPE_CHECKING:
    from engagement_pipeline.report import EngagementReport

__all__ = ["FORMULA_TRIGGERS", "safe_value", "write_workbook"]
MAX_WIDTH = 60
NUMBER_FORMATS = {"Score": "0.0", "Share": "0%", "ARR": "#,##0", "Avg per event": "0.0", "Relevance": "0.00",
                  "Engagement score": "0.0", "Health score": "0.0", "Usage health": "0.0"}
TREND_FILLS = {"declining": "F8CBAD", "rising": "C6EFCE"}


def safe_value(value: object) -> object:
    """A value openpyxl can store that Excel will never evaluate: formula-like text gets a leading quote."""
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


def _write(ws, frame: pd.DataFrame) -> int:
    """One table into a write-only sheet: widths first (a streaming sheet takes them before its rows), then the
    rows with number formats on the cells that need them; header bold, frozen and filtered, colour rules.
    Returns the number of rows written, header included."""
    headers = [safe_value(str(c)) for c in frame.columns]
    rows = [[safe_value(v) for v in row] for row in frame.itertuples(index=False)]
    letters = [get_column_letter(i) for i in range(1, len(headers) + 1)]
    for position, letter in enumerate(letters):
        longest = max((len(str(row[position])) for row in [headers, *rows] if row[position] is not None), default=0)
        ws.column_dimensions[letter].width = min(MAX_WIDTH, max(8, longest + 2))
    ws.freeze_panes = "A2"
    if rows and headers:
        ws.auto_filter.ref = f"A1:{letters[-1]}{len(rows) + 1}"
    formats = {i: NUMBER_FORMATS[str(h)] for i, h in enumerate(headers) if str(h) in NUMBER_FORMATS}
    bold = Font(bold=True)
    ws.append([_styled(ws, h, font=bold) for h in headers])
    body = rows or ([[None] * len(headers)] if formats else [])  # an empty table keeps formatted row 2
    for row in body:
        for i, fmt in formats.items():
            row[i] = _styled(ws, row[i], number_format=fmt)
        ws.append(row)
    header_letter = {str(h): letters[i] for i, h in enumerate(headers)}
    last = max(len(rows) + 1, 2)
    for name in ("Score", "Engagement score", "Health score"):
        if name in header_letter:
            ws.conditional_formatting.add(
                f"{header_letter[name]}2:{header_letter[name]}{last}",
                ColorScaleRule(start_type="num", start_value=0, start_color="F8696B", mid_type="num",
                               mid_value=50, mid_color="FFEB84", end_type="num", end_value=100,
                               end_color="63BE7B"))
    if "Trend" in header_letter:
        col = header_letter["Trend"]
        for word, colour in TREND_FILLS.items():
            ws.conditional_formatting.add(
                f"{col}2:{col}{last}",
                FormulaRule(formula=[f'ISNUMBER(SEARCH("{word}",{col}2))'], fill=PatternFill(
                    start_color=colour, end_color=colour, fill_type="solid")))
    return 1 + len(body)


def _styled(ws, value: object, **style: object) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=value)
    for name, setting in style.items():
        setattr(cell, name, setting)
    return cell


def write_workbook(report: EngagementReport, path: Path) -> Path:
    """Saves the sheets Summary, Events by type, Leaderboard, Advocacy, Declining, Invitations,
    Distribution, then any extra sections; returns the path. Written in openpyxl's write-only (streaming)
    mode: the cells go straight to the file instead of being built as a sheet in memory and walked again
    for formats and widths (most of the time of a large report)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    book = Workbook(write_only=True)
    used: set[str] = set()
    tables = list(report_tables(report).items()) + list(report.extra_sections)
    distribution_rows = 0
    for title, frame in tables:
        name = _sheet_title(title, used)
        written = _write(book.create_sheet(name), frame)
        if name == "Distribution":
            distribution_rows = written
    _chart_sheet(book, used, distribution_rows)
    book.save(path)
    return path


def _chart_sheet(book: Workbook, used: set[str], source_rows: int) -> None:
    """A chart sheet, second in the book: customers per score band, from the Distribution sheet's cells
    (`source_rows` rows including the header)."""
    source = book["Distribution"] if "Distribution" in book.sheetnames else None
    if source is None or source_rows < 2:
        return
    chart = BarChart()
    chart.type = "col"
    chart.title = "Customers per engagement band"
    chart.y_axis.title = "Customers"
    chart.legend = None
    chart.add_data(Reference(source, min_col=2, min_row=1, max_row=source_rows), titles_from_data=True)
    chart.set_categories(Reference(source, min_col=1, min_row=2, max_row=source_rows))
    sheet = book.create_chartsheet(_sheet_title("Chart", used), 1)
    sheet.add_chart(chart)
