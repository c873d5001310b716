"""Frames in and out of the warehouse in bulk: what `store.py` and the actions' stores use to write a whole
frame in the caller's transaction and to read a query back as a frame.

Why not SQLAlchemy's `insert()` with a list of dicts: its per-value bind processing and per-row dicts were most
of the time of storing a large upload and of rewriting the attendance table. SQLite gets the driver's
executemany of plain tuples holding exactly what SQLAlchemy would store, PostgreSQL gets COPY.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection


def _clean(value: Any) -> Any:
    """pandas missing values and numpy scalars become what every DB driver accepts."""
    if value is None:
        return None
    if isinstance(value, float | int | bool | str):
        if isinstance(value, float) and value != value:
            return None
        return value
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item"):
        return value.item()
    return value


def frame_rows(frame: pd.DataFrame, columns: Iterable[str]) -> list[dict[str, Any]]:
    cols = list(columns)
    present = [c for c in cols if c in frame.columns]
    values = [_column_values(frame[c]) for c in present]
    return [dict(zip(present, row, strict=True)) for row in zip(*values, strict=True)] if present else (
        [{} for _ in range(len(frame))])


def _column_values(column: pd.Series) -> list[Any]:
    """One column as driver values, what `_clean` gives per cell, converted column-wise (a million-row
    insert spent most of its time in `_clean`)."""
    kind = column.dtype.kind
    missing = column.isna().to_numpy()
    if kind == "M":  # datetime64: Timestamps -> datetime, NaT -> None
        out = list(column.dt.to_pydatetime()) if len(column) else []
    elif kind in "biuf" and isinstance(column.dtype, np.dtype):  # numpy numbers and bools -> Python ones
        out = column.to_numpy().tolist()  # (not Int64 & co: their to_numpy() with a missing value is float)
    elif pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty"):  # text and missing values only
        return column.astype(object).where(~missing, None).tolist()
    else:
        return [_clean(v) for v in column.tolist()]
    if missing.any():
        for i in missing.nonzero()[0].tolist():
            out[i] = None
    return out


INSERT_CHUNK_ROWS = 20_000
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy's SQLite DateTime stores a datetime


def insert_frame(conn: Connection, table: sa.Table, frame: pd.DataFrame, columns: Iterable[str],
                 **constants: Any) -> int:
    """Inserts `frame` in the caller's transaction, in chunks (a million driver rows at once held gigabytes).

    On SQLite the rows go to the driver's executemany as tuples holding exactly what SQLAlchemy would bind
    (DateTime as its text format, booleans as 1/0), on PostgreSQL through COPY: SQLAlchemy's per-value bind
    processing was most of the time of storing a large upload and of rewriting the attendance table."""
    cols = [c for c in columns if c in frame.columns]
    dialect = conn.dialect.name
    for start in range(0, len(frame), INSERT_CHUNK_ROWS):
        chunk = frame.iloc[start:start + INSERT_CHUNK_ROWS]
        if dialect == "sqlite":
            _insert_sqlite(conn, table, chunk, cols, constants)
        elif dialect == "postgresql":
            _copy_postgres(conn, table, chunk, cols, constants)
        else:
            rows = frame_rows(chunk, cols)
            if constants:
                for row in rows:
                    row.update(constants)
            conn.execute(table.insert(), rows)
    return len(frame)


def _driver_columns(chunk: pd.DataFrame, cols: list[str], constants: Mapping[str, Any]
                    ) -> tuple[list[str], list[list[Any]]]:
    """Column names and per-column driver values (constants repeated), as SQLAlchemy would bind them."""
    values = [_column_values(chunk[name]) for name in cols]
    values += [[_clean(value)] * len(chunk) for value in constants.values()]
    return [*cols, *constants], values


# Stands for NULL in a column of text behind `NULLIF(?, 0)`: an integer never equals a text value there.
_NULL_TEXT = 0
_NULL_TEXT_PLACEHOLDER = f"NULLIF(?, {_NULL_TEXT})"


def _sqlite_column(column_type: sa.types.TypeEngine, column: pd.Series) -> tuple[str, list[Any]]:
    """One column's placeholder and driver values for SQLite: what SQLAlchemy would store, cheap to bind.

    Python's sqlite3 binds an exact int, float or str directly but sends every other object, None and bool
    included, through its adaptation protocol, about ten times slower per value (most of the driver's time on
    100k records). So a boolean goes as 1/0 (what SQLite stores for it either way), a missing float as NaN
    (SQLite stores a bound NaN as NULL), and a missing value in a column of text as the integer `_NULL_TEXT`
    behind `NULLIF(?, 0)`, which SQLite turns into NULL; no text value equals an integer there. Anything else
    (nullable extension dtypes, mixed objects) takes the general path, `_column_values`."""
    dtype = column.dtype
    if isinstance(column_type, sa.DateTime):
        stamps = pd.to_datetime(column)
        if stamps.dt.tz is None:  # vectorised; the same text as strftime(_SQLITE_DATETIME)
            text = np.char.replace(np.datetime_as_string(stamps.to_numpy("datetime64[us]"), unit="us"), "T", " ")
        else:
            text = stamps.dt.strftime(_SQLITE_DATETIME).to_numpy(dtype=object)
        return _text_or_null(text.astype(object), stamps.isna().to_numpy())
    if isinstance(dtype, np.dtype) and dtype.kind == "b":
        return "?", column.to_numpy().astype(np.int64).tolist()
    if isinstance(dtype, np.dtype) and dtype.kind in "iuf":  # a NaN float is stored as NULL
        return "?", column.to_numpy().tolist()
    if isinstance(dtype, pd.StringDtype) or (pd.api.types.is_object_dtype(dtype) and
                                             pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty")):
        return _text_or_null(column.to_numpy(dtype=object), column.isna().to_numpy())
    return "?", _column_values(column)


def _text_or_null(text: np.ndarray, missing: np.ndarray) -> tuple[str, list[Any]]:
    """Text values with the missing ones as `_NULL_TEXT` (a new array: `text` may be a frame's own)."""
    if not missing.any():
        return "?", text.tolist()
    return _NULL_TEXT_PLACEHOLDER, np.where(missing, _NULL_TEXT, text).tolist()


def _insert_sqlite(conn: Connection, table: sa.Table, chunk: pd.DataFrame, cols: list[str],
                   constants: Mapping[str, Any]) -> None:
    if not len(chunk) or not (cols or constants):
        return
    placeholders, values = [], []
    for name in cols:
        placeholder, column = _sqlite_column(table.c[name].type, chunk[name])
        placeholders.append(placeholder)
        values.append(column)
    for value in constants.values():
        placeholders.append("?")
        values.append([_clean(value)] * len(chunk))
    quoted = ", ".join(f'"{n}"' for n in [*cols, *constants])
    conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({quoted}) VALUES ({", ".join(placeholders)})',
                         list(zip(*values, strict=True)))


def _copy_text(value: Any) -> str:
    r"""One value in COPY's text format: \N for NULL, backslash escapes for the characters COPY reserves."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    text = value if isinstance(value, str) else repr(value) if isinstance(value, float) else str(value)
    return (text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r"))


def _copy_postgres(conn: Connection, table: sa.Table, chunk: pd.DataFrame, cols: list[str],
                   constants: Mapping[str, Any]) -> None:
    names, values = _driver_columns(chunk, cols, constants)
    if not values or not len(chunk):
        return
    buffer = io.StringIO()
    for row in zip(*values, strict=True):
        buffer.write("\t".join(_copy_text(v) for v in row))
        buffer.write("\n")
    buffer.seek(0)
    quoted = ", ".join(f'"{n}"' for n in names)
    with conn.connection.driver_connection.cursor() as cursor:  # the same transaction as `conn`
        cursor.copy_expert(f'COPY "{table.name}" ({quoted}) FROM STDIN WITH (FORMAT text)', buffer)




def _frame_of(rows: list[Any], columns: list[str]) -> pd.DataFrame:
    """`DataFrame.from_records(rows, columns=columns)` for SQLAlchemy rows, built column by column: the same
    frame, without pandas probing each Row object (a third of loading 100k stored records)."""
    if not rows:
        return pd.DataFrame.from_records(rows, columns=columns)
    return pd.DataFrame({name: list(values) for name, values in zip(columns, zip(*rows, strict=True), strict=True)})




def read_frame(conn: Connection, query: sa.Select) -> pd.DataFrame:
    """`query`'s rows as a frame, the one `_frame_of(conn.execute(query).fetchall(), keys)` builds.

    On SQLite the driver's own cursor fetches plain tuples and SQLAlchemy's result processors (text to
    datetime, 1/0 to bool) run once per column: SQLAlchemy's Row objects and per-row processing were a third of
    loading 100k stored records. Elsewhere, or when a parameter needs SQLAlchemy's bind processing, SQLAlchemy
    runs the query."""
    dialect = conn.dialect
    compiled = query.compile(dialect=dialect)
    names = list(compiled.positiontup or [])
    if dialect.name != "sqlite" or any(
            compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names):
        result = conn.execute(query)
        return _frame_of(result.fetchall(), list(result.keys()))
    params = compiled.construct_params()
    cursor = conn.connection.driver_connection.cursor()  # the same transaction as `conn`
    try:
        cursor.execute(str(compiled), [params[name] for name in names])
        rows = cursor.fetchall()
    finally:
        cursor.close()
    selected = list(query.selected_columns)
    keys = list(query.selected_columns.keys())
    if not rows:
        return pd.DataFrame.from_records(rows, columns=keys)
    processors = [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in selected]
    return pd.DataFrame({key: list(map(process, values)) if process else list(values)
                         for key, process, values in zip(keys, processors, zip(*rows, strict=True), strict=True)})
