"""The engagement report as an .xlsx workbook: one sheet per table, safe to open in Excel.

Numbers are stored as numbers with a number format (scores `0.0`, shares `0%`, ARR `#,##0`), each sheet has
its header frozen and an autofilter, scores carry a red-to-green colour scale and trends a colour per state,
and a chart sheet (a native Excel bar chart of the score bands, drawn from the Distribution sheet) comes first
after the Summary, so the workbook sorts, filters and plots like any spreadsheet a CSM builds by hand.

Names and reasons come from uploaded files, so any text that Excel would read as a formula (leading
= + - @, tab or carriage return: the OWASP CSV-injection list) is neutralised with a leading quote
(`engagement_pipeline.report.safe_export`, shared by every file the product writes).
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.formatting.rule import ColorScaleRule, FormulaRule
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from engagement_pipeline.report.markdown import report_tables
from engagement_pipeline.report.safe_export import FORMULA_TRIGGERS, neutralise

if TYPE_CHECKING:
    from engagement_pipeline.report import EngagementReport

__all__ = ["FORMULA_TRIGGERS", "safe_value", "write_workbook"]
MAX_WIDTH = 60
NUMBER_FORMATS = {"Score": "0.0", "Share": "0%", "ARR": "#,##0", "Avg per event": "0.0", "Relevance": "0.00",
                  "Engagement score": "0.0", "Health score": "0.0", "Usage health": "0.0"}
TREND_FILLS = {"declining": "F8CBAD", "rising": "C6EFCE"}


def safe_value(value: object) -> object:
    """A value openpyxl can store that Excel will never evaluate: formula-like text gets a leading quote."""
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


def _write(ws, frame: pd.DataFrame) -> None:
    header = [safe_value(str(c)) for c in frame.columns]
    rows = [[safe_value(v) for v in row] for row in frame.itertuples(index=False)]
    ws.append(header)
    for row in rows:
        ws.append(row)
    for c in ws[1]:
        c.font = Font(bold=True)
    ws.freeze_panes = "A2"
    if ws.max_row > 1:
        ws.auto_filter.ref = ws.dimensions
    headers = {str(c.value): c.column_letter for c in ws[1]}
    for name, fmt in NUMBER_FORMATS.items():
        if name in headers:
            for (c,) in ws[f"{headers[name]}2:{headers[name]}{max(ws.max_row, 2)}"]:
                c.number_format = fmt
    last = max(ws.max_row, 2)
    for name in ("Score", "Engagement score", "Health score"):
        if name in headers:
            ws.conditional_formatting.add(
                f"{headers[name]}2:{headers[name]}{last}",
                ColorScaleRule(start_type="num", start_value=0, start_color="F8696B", mid_type="num",
                               mid_value=50, mid_color="FFEB84", end_type="num", end_value=100,
                               end_color="63BE7B"))
    if "Trend" in headers:
        col = headers["Trend"]
        for word, colour in TREND_FILLS.items():
            ws.conditional_formatting.add(
                f"{col}2:{col}{last}",
                FormulaRule(formula=[f'ISNUMBER(SEARCH("{word}",{col}2))'], fill=PatternFill(
                    start_color=colour, end_color=colour, fill_type="solid")))
    # Widths from the values written (a cell holds the value appended), not by visiting every cell again.
    for idx in range(ws.max_column):
        longest = max((len(str(row[idx])) for row in (header, *rows) if idx < len(row) and row[idx] is not None),
                      default=0)
        ws.column_dimensions[get_column_letter(idx + 1)].width = min(MAX_WIDTH, max(8, longest + 2))


def write_workbook(report: EngagementReport, path: Path) -> Path:
    """Saves the sheets Summary, Events by type, Leaderboard, Advocacy, Declining, Invitations,
    Distribution, then any extra sections; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    book = Workbook()
    book.remove(book.active)
    used: set[str] = set()
    tables = list(report_tables(report).items()) + list(report.extra_sections)
    for title, frame in tables:
        _write(book.create_sheet(_sheet_title(title, used)), frame)
    _chart_sheet(book, used)
    book.save(path)
    return path


def _chart_sheet(book: Workbook, used: set[str]) -> None:
    """A chart sheet, second in the book: customers per score band, from the Distribution sheet's cells."""
    source = book["Distribution"] if "Distribution" in book.sheetnames else None
    if source is None or source.max_row < 2:
        return
    chart = BarChart()
    chart.type = "col"
    chart.title = "Customers per engagement band"
    chart.y_axis.title = "Customers"
    chart.legend = None
    chart.add_data(Reference(source, min_col=2, min_row=1, max_row=source.max_row), titles_from_data=True)
    chart.set_categories(Reference(source, min_col=1, min_row=2, max_row=source.max_row))
    sheet = book.create_chartsheet(_sheet_title("Chart", used), 1)
    sheet.add_chart(chart)
