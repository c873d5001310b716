"""Validating a whole frame against a pandera model without pandera's per-call machinery, same result.

Why: every parsed file's records are validated against CanonicalAttendance, and pandera's validate (error
collection, failure-case reshaping, dispatch per check) was about a quarter of parsing time in the benchmark
(`make bench`, 100k records), while the checks themselves are a handful of vectorised comparisons. This runs
the model's own coercions (its engine dtypes, so the output's dtypes are pandera's) and its checks as plain
pandas operations on the whole frame. It only decides "every row passes": when a check fails, or the model
uses a feature this does not know, pandera validates the frame itself, so a failure is reported (and raised)
exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import pandas as pd
import pandera.pandas as pa
from pandera.engines import numpy_engine

# The built-in column checks this knows, as the vectorised test pandera's own backend runs for each.
_COLUMN_CHECKS: dict[str, Callable[[pd.Series, dict], pd.Series]] = {
    "str_matches": lambda s, st: s.str.match(st["pattern"], na=False),
    "str_length": lambda s, st: _length_ok(s.str.len(), st),
    "isin": lambda s, st: s.isin(st["allowed_values"]),
    "greater_than_or_equal_to": lambda s, st: s >= st["min_value"],
    "greater_than": lambda s, st: s > st["min_value"],
    "less_than_or_equal_to": lambda s, st: s <= st["max_value"],
}


def _length_ok(length: pd.Series, stats: dict) -> pd.Series:
    if stats.get("exact_value") is not None:
        return length == stats["exact_value"]
    ok = length >= (stats.get("min_value") or 0)
    if stats.get("max_value") is not None:
        ok &= length <= stats["max_value"]
    return ok


@lru_cache(maxsize=32)
def _schema(model: type[pa.DataFrameModel]) -> pa.DataFrameSchema | None:
    """The model's schema when every feature it uses is one `validate_frame` reproduces; None otherwise."""
    schema = model.to_schema()
    if (schema.index is not None or schema.unique or schema.add_missing_columns or schema.drop_invalid_rows
            or schema.strict != True or not schema.coerce):  # noqa: E712 (strict may be "filter")
        return None
    for column in schema.columns.values():
        if column.regex or column.unique or not column.required:
            return None
        if any(check.name not in _COLUMN_CHECKS or not check.ignore_na or check.element_wise
               for check in column.checks):
            return None
    if any(check.element_wise or check.groupby is not None for check in schema.checks):
        return None
    return schema


def _already(column: pa.Column, values: pd.Series) -> bool:
    """True when the column already has the numpy dtype the model coerces to (bool, int64, float64): astype would
    only copy it, and those copies were a large share of validating a small file's records."""
    target = column.dtype
    return isinstance(target, numpy_engine.DataType) and values.dtype == target.type


def _passes(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> pd.DataFrame | None:
    """The coerced frame when every column and frame check holds; None when anything fails."""
    if list(frame.columns) != list(dict.fromkeys(frame.columns)) or set(frame.columns) != set(schema.columns):
        return None
    coerced = {}
    for name in frame.columns:
        column = schema.columns[name]
        values = frame[name]
        if not _already(column, values):
            try:
                values = column.dtype.coerce(values)
            except (TypeError, ValueError, OverflowError):
                return None
        if values.dtype.kind in "biu":  # integers and booleans have no missing value: skip the per-call notna
            checked = values
        else:
            present = values.notna()
            all_present = bool(present.all())
            if not column.nullable and not all_present:
                return None
            checked = values if all_present else values[present]
        for check in column.checks:
            if not bool(_COLUMN_CHECKS[check.name](checked, check.statistics or {}).all()):
                return None
        coerced[name] = values
    out = pd.DataFrame(coerced, index=frame.index)
    for check in schema.checks:
        result = check._check_fn(out)  # the model's own @dataframe_check function
        if not bool(result if isinstance(result, bool) else pd.Series(result).all()):
            return None
    return out


def validate_frame(model: type[pa.DataFrameModel], frame: pd.DataFrame) -> pd.DataFrame:
    """`model.validate(frame)`: the same coerced frame when it is valid, pandera's SchemaError when not."""
    schema = _schema(model)
    out = _passes(schema, frame) if schema is not None and len(frame) else None
    return out if out is not None else model.validate(frame)


__all__ = ["validate_frame"]
