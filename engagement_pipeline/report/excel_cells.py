"""What openpyxl decided about a cell, for the XlsxWriter workbook, without importing openpyxl.

The workbook writer stores cells as the openpyxl writer it replaced stored them (refused control characters,
dates as Excel serials). Importing openpyxl for those few rules cost ~0.1 CPU s on every CLI run (its
`cell` module loads the whole package: workbook, styles, charts) although openpyxl writes nothing there.
These are openpyxl 3.1's rules restated; `test_report_workbook_writer.py` compares them with openpyxl's own.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time

# Characters Excel cannot hold in a cell (openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE): C0 controls but tab,
# newline and carriage return.
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
WINDOWS_EPOCH = datetime(1899, 12, 30)  # Excel's day 0 (openpyxl.utils.datetime.WINDOWS_EPOCH)
SECONDS_PER_DAY = 86400


class IllegalCharacterError(Exception):
    """Text holding a character Excel cannot store (openpyxl raised its namesake for the same text)."""


def excel_serial(value: date) -> float:
    """A date or datetime as Excel's serial day number (openpyxl.utils.datetime.to_excel): days since
    1899-12-30 plus the fraction of the day, one day less up to 1900-02-28 (Excel's phantom 1900-02-29)."""
    moment = value if isinstance(value, datetime) else datetime.combine(value, time())
    days = (moment - WINDOWS_EPOCH).days
    if 0 < days <= 60:
        days -= 1
    return days + (moment.hour * 3600 + moment.minute * 60 + moment.second
                   + moment.microsecond / 10**6) / SECONDS_PER_DAY
