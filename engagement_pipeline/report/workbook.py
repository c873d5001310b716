"""The engagement report as an .xlsx workbook: one sheet per table, safe to open in Excel.

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
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from engagement_pipeline.report.markdown import report_tables
from engagement_pipeline.safe_export import FORMULA_TRIGGERS, neutralise

if TYPE_CHECKING:
    from engagement_pipeline.report import EngagementReport

__all__ = ["FORMULA_TRIGGERS", "safe_value", "write_workbook"]
MAX_WIDTH = 60


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


def _write(ws, frame: pd.DataFrame) -> None:
    ws.append([safe_value(str(c)) for c in frame.columns])
    for row in frame.itertuples(index=False):
        ws.append([safe_value(v) for v in row])
    for c in ws[1]:
        c.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for idx, column in enumerate(ws.iter_cols(), start=1):
        longest = max((len(str(c.value)) for c in column if c.value is not None), default=0)
        ws.column_dimensions[get_column_letter(idx)].width = min(MAX_WIDTH, max(8, longest + 2))


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
    book.save(path)
    return path
