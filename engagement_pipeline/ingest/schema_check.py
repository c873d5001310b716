"""Validating a whole frame against a pandera model without pandera's per-call machinery, same result.

Why: every parsed file's records are validated against CanonicalAttendance, and pandera's validate (error
collection, failure-case reshaping, dispatch per check) was about a quarter of parsing time in the benchmark
(`make bench`, 100k records), while the checks themselves are a handful of vectorised comparisons. This runs
the model's own coercions (its engine dtypes, so the output's dtypes are pandera's) and its checks as plain
pandas operations on the whole frame. It only decides "every row passes": when a check fails, or the model
uses a feature this does not know, pandera validates the frame itself, so a failure is reported (and raised)
exactly as before.

The platform row models (text cells before any parsing, checked on every section a module reads) go through
the same check interpreter (`rows_pass`), so a built-in check means one thing in both places. Text checks
(`str_matches`, `str_length`, `isin` on text) are evaluated once per distinct cell: an export repeats the same
flags, blanks, event ids and roles on every row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from functools import lru_cache

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.engines import numpy_engine, pandas_engine

# The built-in column checks this knows, as the vectorised test pandera's own backend runs for each.
_COLUMN_CHECKS: dict[str, Callable[[pd.Series, dict], pd.Series]] = {
    "str_matches": lambda s, st: s.str.match(st["pattern"], na=False),
    "str_length": lambda s, st: _length_ok(s.str.len(), st),
    "isin": lambda s, st: s.isin(st["allowed_values"]),
    "greater_than_or_equal_to": lambda s, st: s >= st["min_value"],
    "greater_than": lambda s, st: s > st["min_value"],
    "less_than_or_equal_to": lambda s, st: s <= st["max_value"],
}


_TextTest = Callable[[Collection[str]], bool]


def _text_test(check: pa.Check) -> _TextTest | None:
    """The check as a test of a column's distinct text cells, doing what pandas' `str.match` (`re.match` at the
    start of the cell), `str.len` and `isin` do per cell; None for any other check."""
    stats = check.statistics or {}
    if check.name == "str_matches":
        return _matching(re.compile(stats["pattern"]).match)
    if check.name == "str_length":
        exact, low, high = stats.get("exact_value"), stats.get("min_value") or 0, stats.get("max_value")
        if exact is not None:
            return lambda texts: all(len(t) == exact for t in texts)
        return lambda texts: not texts or (min(map(len, texts)) >= low
                                           and (high is None or max(map(len, texts)) <= high))
    if check.name == "isin":
        allowed = frozenset(stats["allowed_values"])
        return lambda texts: allowed.issuperset(texts)
    return None


_KNOWN_MATCHES = 200_000  # texts remembered per pattern; the same people (emails) recur file after file


def _matching(matches: Callable[[str], object]) -> _TextTest:
    """`all(matches(t) for t in texts)`, remembering the texts that matched (bounded), so a text seen in an
    earlier file is not matched again."""
    known: set[str] = set()

    def test(texts: Collection[str]) -> bool:
        unknown = (texts if isinstance(texts, (set, frozenset)) else set(texts)).difference(known)  # no copy
        if not all(map(matches, unknown)):
            return False
        if len(known) > _KNOWN_MATCHES:
            known.clear()
        known.update(unknown)
        return True

    return test


def _texts(values: np.ndarray) -> set[str] | None:
    """The distinct values of an object array when every one is text; None otherwise."""
    if values.dtype != object:
        return None
    try:
        texts = set(values)
    except TypeError:  # an unhashable cell
        return None
    return texts if all(issubclass(kind, str) for kind in set(map(type, texts))) else None  # isinstance, per type


def _column_holds(checks: tuple[tuple[pa.Check, _TextTest | None], ...], present: np.ndarray,
                  texts: set[str] | None = None) -> bool:
    """Every check of one column holds on its present values: text checks once per distinct text (`texts`, when
    the caller has them), the others vectorised as pandera runs them (numbers as plain numpy comparisons)."""
    for check, text_test in checks:
        if text_test is not None and present.dtype == object:
            texts = texts if texts is not None else _texts(present)
            if texts is None or not text_test(texts):
                return False  # pandera decides (and words the failure)
            continue
        values = present if present.dtype.kind in "biuf" else pd.Series(present, dtype=present.dtype, copy=False)
        if not bool(np.all(_COLUMN_CHECKS[check.name](values, check.statistics or {}))):
            return False
    return True


def _length_ok(length: pd.Series, stats: dict) -> pd.Series:
    if stats.get("exact_value") is not None:
        return length == stats["exact_value"]
    ok = length >= (stats.get("min_value") or 0)
    if stats.get("max_value") is not None:
        ok &= length <= stats["max_value"]
    return ok


def _compiled(column: pa.Column) -> tuple[tuple[pa.Check, _TextTest | None], ...]:
    return tuple((check, _text_test(check)) for check in column.checks)


@lru_cache(maxsize=32)
def _column_checks(model: type[pa.DataFrameModel]) -> dict[str, tuple[tuple[pa.Check, _TextTest | None], ...]]:
    """Each column's checks with their text tests, compiled once per model (not per file)."""
    return {name: _compiled(column) for name, column in model.to_schema().columns.items()}


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
    if isinstance(target, pandas_engine.STRING):  # astype(str) of a column already of pandas' str dtype
        return values.dtype == _str_dtype()
    return isinstance(target, numpy_engine.DataType) and values.dtype == target.type


def _coerced(column: pa.Column, values: pd.Series) -> pd.Series:
    """The column's coercion of `values`. A naive datetime column coerced to a naive datetime type (every parsed
    file's event dates, in the unit their Timestamps had) is `astype` of that type: pandera's coercion runs
    `pd.to_datetime`, which leaves such a column as it is, then that same astype, through a dozen checks for
    zones and mixed offsets (each file's records are validated, so those checks ran 151 times at 100k)."""
    target = column.dtype
    if (isinstance(target, pandas_engine.DateTime) and target.tz is None and not target.to_datetime_kwargs
            and isinstance(values.dtype, np.dtype) and values.dtype.kind == "M"):
        return values.astype(target.type)
    return target.coerce(values)


@lru_cache(maxsize=1)
def _str_dtype() -> object:
    """The dtype pandera's `str` coercion (`astype(str)`) gives."""
    return pd.Series(["x"], dtype=object).astype(str).dtype


def _passes(model: type[pa.DataFrameModel], schema: pa.DataFrameSchema,
            frame: pd.DataFrame | Mapping[str, np.ndarray]) -> pd.DataFrame | None:
    """The coerced frame when every column and frame check holds; None when anything fails. `frame` may also be
    the columns a frame would be built from (equally long arrays): only the columns that need it become Series,
    as the frame would hold them, and one frame is built, with the coerced columns."""
    names = list(frame.columns) if isinstance(frame, pd.DataFrame) else list(frame)
    if names != list(dict.fromkeys(names)) or set(names) != set(schema.columns):
        return None
    index = frame.index if isinstance(frame, pd.DataFrame) else pd.RangeIndex(len(frame[names[0]]))
    coerced: dict[str, pd.Series | np.ndarray] = {}
    compiled = _column_checks(model)
    for name in names:
        column = schema.columns[name]
        values = frame[name]
        if not _already(column, values):
            if isinstance(values, np.ndarray):
                values = pd.Series(values, index=index)  # as a frame of the arrays holds it (pandas infers text)
            if not _already(column, values):
                try:
                    values = _coerced(column, values)
                except (TypeError, ValueError, OverflowError):
                    return None
        checks = compiled[name]
        if checks or not column.nullable:  # else nothing to look at: any value, or none, is valid
            present = values if isinstance(values, np.ndarray) else values.to_numpy()
            texts = _texts(present)
            if texts is not None:
                pass  # text cells only: nothing missing
            elif present.dtype.kind not in "biu":  # integers and booleans have no missing value
                texts = None
                missing = np.isnan(present) if present.dtype.kind == "f" else pd.isna(present)
                if missing.any():
                    if not column.nullable:
                        return None
                    present = present[~missing]
            if not _column_holds(checks, present, texts):
                return None
        coerced[name] = values
    if isinstance(frame, pd.DataFrame):
        out = pd.DataFrame(coerced, index=index)
    else:  # every Series was made here: only the caller's own arrays are copied (pandas' default copied all)
        out = pd.DataFrame({name: values.copy() if isinstance(values, np.ndarray) else values
                            for name, values in coerced.items()}, index=index, copy=False)
    for check in schema.checks:
        result = check._check_fn(out)  # the model's own @dataframe_check function
        if not bool(result if isinstance(result, bool)
                    else (result if isinstance(result, pd.Series) else pd.Series(result)).all()):
            return None
    return out


def validate_frame(model: type[pa.DataFrameModel], frame: pd.DataFrame | Mapping[str, np.ndarray]) -> pd.DataFrame:
    """`model.validate(frame)`: the same coerced frame when it is valid, pandera's SchemaError when not. `frame`
    may be the equally long column arrays a frame would be built from (`pd.DataFrame(frame)`), so that a caller
    holding arrays does not build a frame only for it to be taken apart and built again."""
    schema = _schema(model)
    rows = len(frame) if isinstance(frame, pd.DataFrame) else len(next(iter(frame.values()), ()))
    out = _passes(model, schema, frame) if schema is not None and rows else None
    if out is not None:
        return out
    return model.validate(frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(frame))


@lru_cache(maxsize=64)
def _row_checks(model: type[pa.DataFrameModel]) -> dict[str, tuple[tuple[pa.Check, _TextTest | None], ...]] | None:
    """A row model's column checks when `rows_pass` reproduces the model: text columns, nothing coerced,
    nullable or unique, only text checks; None otherwise."""
    schema = model.to_schema()
    if schema.checks or getattr(schema, "unique", None) or schema.coerce:
        return None
    compiled = _column_checks(model)
    for name, column in schema.columns.items():
        if (column.nullable or column.regex or column.coerce or column.unique
                or str(column.dtype) not in ("str", "string[python]")):
            return None
        if any(text_test is None for _, text_test in compiled[name]):
            return None
    return compiled


def rows_pass(model: type[pa.DataFrameModel], frame: pd.DataFrame) -> bool:
    """True when every row of `frame` (object columns of text cells, as the platform modules build them) passes
    the platform's row model, without pandera's per-call machinery (most of parsing time for a batch of small
    files); False when a row fails or the model uses anything this does not reproduce: then pandera decides
    and reports."""
    if frame.empty:
        return True
    compiled = _row_checks(model)
    if compiled is None or any(name not in frame.columns or frame[name].dtype != object for name in compiled):
        return False
    return _texts_pass(compiled, {name: frame[name].to_numpy() for name in compiled})


def rows_pass_columns(model: type[pa.DataFrameModel], columns: Mapping[str, Sequence[object]]) -> bool:
    """`rows_pass` of the object frame these equally long cell lists make, without building it."""
    if not columns or not len(next(iter(columns.values()))):
        return True
    compiled = _row_checks(model)
    if compiled is None or any(name not in columns for name in compiled):
        return False
    return _texts_pass(compiled, columns)


def _texts_pass(compiled: dict[str, tuple[tuple[pa.Check, _TextTest | None], ...]],
                columns: Mapping[str, Iterable[object]]) -> bool:
    """Every column's distinct cells are text and pass its text tests."""
    for name, checks in compiled.items():
        if not checks:  # only the text type to look at: the cells' types, without hashing every text
            if not set(map(type, columns[name])) <= {str}:
                return False
            continue
        texts = set(columns[name])
        if not set(map(type, texts)) <= {str} or not all(test(texts) for _, test in checks):
            return False
    return True


__all__ = ["rows_pass", "rows_pass_columns", "validate_frame"]
