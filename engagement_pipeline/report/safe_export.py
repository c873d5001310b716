"""Formula-injection neutralisation for every CSV or XLSX the product writes.

Names, companies and reasons come from uploaded files, so a cell such as `=HYPERLINK(...)` or
`@SUM(...)` would be evaluated by Excel when a CSM opens a report. Any text starting with one of the
OWASP CSV-injection triggers (= + - @, tab, carriage return) gets a leading quote; numbers, dates and
missing values are left alone so they stay numbers in the spreadsheet.
"""

from __future__ import annotations

import pandas as pd

FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """`value` unchanged unless it is text Excel would read as a formula; then `'` + text."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` with every text cell and column name neutralised; other dtypes untouched."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series):
            out[column] = series.map(neutralise, na_action="ignore")
    out.columns = [neutralise(c) for c in out.columns]
    return out
