"""The XlsxWriter workbook holds what the openpyxl writer it replaced held: every cell's value, type and
number format, the bold frozen header, filters, colour rules, column widths and the chart sheet.

The reference below is the replaced openpyxl writer (`report/workbook.py` before XlsxWriter), kept here only
to compare with; both books are read back with openpyxl, cell by cell.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE as OPENPYXL_ILLEGAL_CHARACTERS
from openpyxl.chart import BarChart, Reference
from openpyxl.formatting.rule import ColorScaleRule, FormulaRule
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.utils.exceptions import IllegalCharacterError
from xlsxwriter.utility import xl_col_to_name

from engagement_pipeline.report import excel_cells, write_workbook
from engagement_pipeline.report.markdown import report_tables
from engagement_pipeline.report.workbook import MAX_WIDTH, NUMBER_FORMATS, TREND_FILLS, _sheet_title, safe_value
from engagement_pipeline_tests.test_report import make_report


def _openpyxl_sheet(ws, frame: pd.DataFrame) -> None:
    header = [safe_value(str(c)) for c in frame.columns]
    rows = [[safe_value(v) for v in row] for row in frame.itertuples(index=False)]
    for row in (header, *rows):
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
            ws.conditional_formatting.add(f"{headers[name]}2:{headers[name]}{last}", ColorScaleRule(
                start_type="num", start_value=0, start_color="F8696B", mid_type="num", mid_value=50,
                mid_color="FFEB84", end_type="num", end_value=100, end_color="63BE7B"))
    if "Trend" in headers:
        col = headers["Trend"]
        for word, colour in TREND_FILLS.items():
            ws.conditional_formatting.add(f"{col}2:{col}{last}", FormulaRule(
                formula=[f'ISNUMBER(SEARCH("{word}",{col}2))'],
                fill=PatternFill(start_color=colour, end_color=colour, fill_type="solid")))
    for idx in range(ws.max_column):
        longest = max((len(str(row[idx])) for row in (header, *rows) if idx < len(row) and row[idx] is not None),
                      default=0)
        ws.column_dimensions[get_column_letter(idx + 1)].width = min(MAX_WIDTH, max(8, longest + 2))


def _openpyxl_workbook(report, path: Path) -> Path:
    book = Workbook()
    book.remove(book.active)
    used: set[str] = set()
    for title, frame in [*report_tables(report).items(), *report.extra_sections]:
        _openpyxl_sheet(book.create_sheet(_sheet_title(title, used)), frame)
    source = book["Distribution"]
    if source.max_row >= 2:
        chart = BarChart()
        chart.add_data(Reference(source, min_col=2, min_row=1, max_row=source.max_row), titles_from_data=True)
        chart.set_categories(Reference(source, min_col=1, min_row=2, max_row=source.max_row))
        book.create_chartsheet(_sheet_title("Chart", used), 1).add_chart(chart)
    book.save(path)
    return path


def _contents(path: Path) -> dict:
    """Everything a reader sees, colours by their RGB (the writers spell alpha and dxf fills differently)."""
    book = load_workbook(path)
    found: dict = {"sheets": book.sheetnames, "charts": [len(s._charts) for s in book.chartsheets]}
    for ws in book.worksheets:
        widths = {get_column_letter(i): d.width for key, d in ws.column_dimensions.items() if d.width
                  for i in range(d.min or column_index_from_string(key), (d.max or column_index_from_string(key)) + 1)}
        rules = sorted((str(r.sqref), rule.type, tuple(rule.formula or ()),
                        tuple(c.rgb[-6:] for c in rule.colorScale.color) if rule.colorScale else (),
                        tuple(sorted({c.rgb[-6:] for c in (rule.dxf.fill.fgColor, rule.dxf.fill.bgColor)
                                      if c is not None and c.rgb[-6:] != "000000"})) if rule.dxf else ())
                       for r in ws.conditional_formatting for rule in r.rules)
        cells = [[(c.value, type(c.value).__name__, c.number_format, bool(c.font.b)) for c in row]
                 for row in ws.iter_rows()]
        found[ws.title] = (cells, ws.freeze_panes, ws.auto_filter.ref, widths, rules, ws.dimensions)
    return found


def test_workbook_cells_equal_the_openpyxl_writer(tmp_path: Path) -> None:
    awkward = pd.DataFrame({
        "Customer": ["=SUM(A1)", "", None, "Ünïcode — 名前", np.float64(2.5)],
        "Score": [91.25, None, float("nan"), 0.1 + 0.2, 12],
        "When": [pd.Timestamp("2026-05-01 13:45:10"), date(2026, 1, 2), datetime(2025, 12, 31, 23, 59), pd.NaT,
                 None],
        "Flag": [True, False, np.bool_(True), None, np.int64(7)],
        "Trend": ["▼ declining", "▲ rising", "▶ stable", None, ""],
        "Big": [10**17, -3, 1e-9, 123456789.123456789, float("inf")],
    })
    report = make_report(extra_sections=[
        ("Awkward: [cells]", awkward),
        ("Empty with formats", pd.DataFrame(columns=["Share", "Health score", "Name"])),
        ("Empty", pd.DataFrame(columns=["Name"])),
        ("Long text", pd.DataFrame({"Reason": ["x" * 40_000, "short"]})),  # cut to Excel's 32,767 characters
        ("Awkward: [cells]", awkward.iloc[:2]),  # a repeated title gets a numbered sheet
    ])
    new = write_workbook(report, tmp_path / "new.xlsx")
    old = _openpyxl_workbook(report, tmp_path / "old.xlsx")
    assert _contents(new) == _contents(old)


def test_control_characters_are_refused_as_openpyxl_refused_them(tmp_path: Path) -> None:
    report = make_report(extra_sections=[("Bad", pd.DataFrame({"Name": ["fine", "bell\x07"]}))])
    with pytest.raises(IllegalCharacterError):
        _openpyxl_workbook(report, tmp_path / "old.xlsx")
    with pytest.raises(excel_cells.IllegalCharacterError):
        write_workbook(report, tmp_path / "new.xlsx")


def test_cell_rules_equal_openpyxls() -> None:
    """`excel_cells` (what the writer uses instead of importing openpyxl) gives openpyxl's answers: the refused
    characters over the whole Basic Multilingual Plane and a few beyond, the Excel serial of awkward dates and
    times (epoch, Excel's phantom 1900-02-29, microseconds, far past and future, pandas timestamps, date
    subclasses) to the bit, and XlsxWriter's column names are openpyxl's letters."""
    for code in [*range(0x10000), 0x1F600, 0x10FFFF]:
        char = chr(code)
        assert bool(excel_cells.ILLEGAL_CHARACTERS_RE.search(f"ab{char}c")) == bool(
            OPENPYXL_ILLEGAL_CHARACTERS.search(f"ab{char}c")), hex(code)
    moments = [date(1899, 12, 30), date(1899, 12, 31), date(1900, 1, 1), date(1900, 2, 28), date(1900, 3, 1),
               date(1, 1, 1), date(9999, 12, 31), date(2026, 11, 29), datetime(1899, 12, 29, 23, 59, 59),
               datetime(1899, 12, 30, 0, 0, 0, 1), datetime(1900, 2, 28, 12), datetime(1900, 3, 1, 0, 0, 1),
               datetime(2026, 5, 1, 13, 45, 10, 999_999), datetime(9999, 12, 31, 23, 59, 59, 999_999),
               datetime(1, 1, 1), pd.Timestamp("2026-05-01 13:45:10.123456"), pd.Timestamp("1900-01-15"),
               pd.Timestamp("2026-11-29").to_pydatetime()]
    rng = np.random.default_rng(7)
    moments += [datetime(1899, 12, 30) + pd.Timedelta(seconds=float(s)).to_pytimedelta()
                for s in rng.uniform(-1e9, 5e9, 300)]
    for moment in moments:
        ours, theirs = excel_cells.excel_serial(moment), to_excel(moment)
        assert (ours, type(ours)) == (theirs, type(theirs)), moment
    assert [xl_col_to_name(i) for i in range(16_384)] == [get_column_letter(i + 1) for i in range(16_384)]
