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
from typing import Any, NamedTuple

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
        chunk = _chunk(frame, start)
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


def _chunk(frame: pd.DataFrame, start: int) -> pd.DataFrame:
    """The `INSERT_CHUNK_ROWS` rows of `frame` from `start`: the frame itself when it is one chunk (almost every
    upload), not a slice of it (a new frame, ~0.1 ms, two per stored upload)."""
    if start == 0 and len(frame) <= INSERT_CHUNK_ROWS:
        return frame
    return frame.iloc[start:start + INSERT_CHUNK_ROWS]


def _driver_columns(chunk: pd.DataFrame, cols: list[str], constants: Mapping[str, Any]
                    ) -> tuple[list[str], list[list[Any]]]:
    """Column names and per-column driver values (constants repeated), as SQLAlchemy would bind them."""
    values = [_column_values(chunk[name]) for name in cols]
    values += [[_clean(value)] * len(chunk) for value in constants.values()]
    return [*cols, *constants], values


# Stands for NULL in a column of text behind `NULLIF(?, 0)`: an integer never equals a text value there.
_NULL_TEXT = 0
_NULL_TEXT_PLACEHOLDER = f"NULLIF(?, {_NULL_TEXT})"


class SqliteColumn(NamedTuple):
    """One column as it goes to SQLite: its placeholder, its driver values, and which kind they are."""

    placeholder: str
    values: list[Any]
    kind: str  # text | datetime | bool | int | float | general


def _sqlite_column(column_type: sa.types.TypeEngine, column: pd.Series) -> SqliteColumn:
    """One column's placeholder and driver values for SQLite: what SQLAlchemy would store, cheap to bind.

    Python's sqlite3 binds an exact int, float or str directly but sends every other object, None and bool
    included, through its adaptation protocol, about ten times slower per value (most of the driver's time on
    100k records). So a boolean goes as 1/0 (what SQLite stores for it either way), a missing float as NaN
    (SQLite stores a bound NaN as NULL), and a missing value in a column of text as the integer `_NULL_TEXT`
    behind `NULLIF(?, 0)`, which SQLite turns into NULL; no text value equals an integer there. Anything else
    (nullable extension dtypes, mixed objects) takes the general path, `_column_values`."""
    dtype = column.dtype
    if isinstance(column_type, sa.DateTime):
        if isinstance(dtype, np.dtype) and dtype.kind == "M":  # naive already (every record's event_date)
            return _naive_datetimes(column.to_numpy("datetime64[us]"))
        stamps = pd.to_datetime(column)
        if stamps.dt.tz is None:
            return _naive_datetimes(stamps.to_numpy("datetime64[us]"))
        text = stamps.dt.strftime(_SQLITE_DATETIME).to_numpy(dtype=object)
        return _text_or_null(text, stamps.isna().to_numpy(), "datetime")
    if isinstance(dtype, np.dtype) and dtype.kind == "b":
        return SqliteColumn("?", column.to_numpy().astype(np.int64).tolist(), "bool")
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return SqliteColumn("?", column.to_numpy().tolist(), "int")
    if isinstance(dtype, np.dtype) and dtype.kind == "f":  # a NaN float is stored as NULL
        return SqliteColumn("?", column.to_numpy().tolist(), "float")
    if isinstance(dtype, pd.StringDtype) or (pd.api.types.is_object_dtype(dtype) and
                                             pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty")):
        text = column.to_numpy(dtype=object)
        if _all_str(values := text.tolist()):  # nothing missing, without `isna` (see `_all_str`)
            return SqliteColumn("?", values, "text")
        return _text_or_null(text, np.asarray(column.array.isna()), "text")
    return SqliteColumn("?", _column_values(column), "general")


def _all_str(values: list[Any]) -> bool:
    """Every value is a str, so none is missing (`isna` is never true of a str): `str.join` takes nothing else.
    On an upload's few hundred rows this costs a tenth of `StringArray.isna` (~4 against ~38 us a column, most of
    that fixed cost); on 100k rows both walk every object and cost the same (~2.5 ms)."""
    try:
        "".join(values)
    except TypeError:
        return False
    return True


def _naive_datetimes(stamps: np.ndarray) -> SqliteColumn:
    """Naive datetime64[us] values as SQLite's DateTime text: vectorised, once per distinct value (an upload has
    one event date), the same text as strftime(_SQLITE_DATETIME); NaT is missing. One date on every row (an
    upload's) is written once and repeated, without the sort and the look-up of `np.unique`."""
    if len(stamps) and (stamps == stamps[0]).all():  # (never true with a NaT: NaT equals nothing)
        return SqliteColumn("?", [_datetime_text(stamps[:1])[0]] * len(stamps), "datetime")
    distinct, where = np.unique(stamps, return_inverse=True)
    return _text_or_null(_datetime_text(distinct)[where], np.isnat(stamps), "datetime")


def _datetime_text(stamps: np.ndarray) -> np.ndarray:
    """datetime64[us] values as SQLite DateTime text (`_SQLITE_DATETIME`), an object array of str."""
    return np.char.replace(np.datetime_as_string(stamps, unit="us"), "T", " ").astype(object)


def _text_or_null(text: np.ndarray, missing: np.ndarray, kind: str) -> SqliteColumn:
    """Text values with the missing ones as `_NULL_TEXT` (a new array: `text` may be a frame's own)."""
    if not missing.any():
        return SqliteColumn("?", text.tolist(), kind)
    return SqliteColumn(_NULL_TEXT_PLACEHOLDER, np.where(missing, _NULL_TEXT, text).tolist(), kind)


def _constant_column(value: Any, rows: int) -> SqliteColumn:
    value = _clean(value)
    kind = {int: "int", str: "text", float: "float"}.get(type(value), "general")
    return SqliteColumn("?", [value] * rows, kind)


def _insert_sqlite(conn: Connection, table: sa.Table, chunk: pd.DataFrame, cols: list[str],
                   constants: Mapping[str, Any]) -> dict[str, SqliteColumn]:
    """Inserts one chunk; returns what was bound per column."""
    if not len(chunk) or not (cols or constants):
        return {}
    written = {name: _sqlite_column(table.c[name].type, chunk[name]) for name in cols}
    written.update({name: _constant_column(value, len(chunk)) for name, value in constants.items()})
    literals = {name: _literal(column, table.c[name].info.get("public", False)) for name, column in written.items()}
    bound = [column.values for name, column in written.items() if literals[name] is None]
    quoted = ", ".join(f'"{n}"' for n in written)
    placeholders = ", ".join(column.placeholder if literals[name] is None else literals[name]
                             for name, column in written.items())
    rows = zip(*bound, strict=True) if bound else [()] * len(chunk)
    _executemany(conn, f'INSERT INTO "{table.name}" ({quoted}) VALUES ({placeholders})', rows)
    return written


def _executemany(conn: Connection, sql: str, rows: Iterable[tuple[Any, ...]]) -> None:
    """The driver's executemany over `rows` as they come, in `conn`'s transaction (its own DBAPI connection).

    SQLAlchemy's `exec_driver_sql` takes a list: building 20k tuples per chunk first, which the garbage collector
    then walked, cost about a third as much again as the driver's own insert (0.33 -> 0.40-0.46 s CPU for the
    100k attendance rows); fed from the iterator, the driver makes one row's tuple at a time. A driver error is
    raised as SQLAlchemy raises it (its `DBAPIError` subclass, no parameters in the message)."""
    dbapi_error = conn.dialect.loaded_dbapi.Error
    cursor = conn.connection.driver_connection.cursor()  # the same transaction as `conn`
    try:
        cursor.executemany(sql, rows)
    except dbapi_error as err:
        raise sa.exc.DBAPIError.instance(sql, None, err, dbapi_error, hide_parameters=True,
                                         dialect=conn.dialect) from err
    finally:
        cursor.close()


_INT64 = range(-(2**63), 2**63)  # what binding accepts (beyond it binding fails, a literal would store a REAL)


def _literal(column: SqliteColumn, public: bool) -> str | None:
    """The SQL literal for a column with one value in every row of the chunk (SQLite then stores exactly what
    binding it would), or None to bind it. Binding was ~40% of an upload's insert, and an upload repeats its
    event, platform, file and booleans on every row. Text goes into the statement only from a column marked
    `info={"public": True}` (never personal data: a failed statement's text reaches logs, its bound values
    do not; see `store.make_engine`); NULL, integers, 1/0 and datetime text from any column. Floats are bound
    (a literal is parsed by SQLite, not known to round-trip), except a column of NaN only: SQLite stores a bound
    NaN as NULL, so it is the literal NULL (an upload's match confidence, before matching)."""
    values = column.values
    first = values[0]
    if column.kind == "float":
        return "NULL" if first != first and all(value != value for value in values) else None
    if (column.kind not in ("text", "datetime", "int", "bool") or values[-1] != first
            or values[len(values) // 2] != first or values.count(first) != len(values)):
        return None
    if column.placeholder != "?" and first.__class__ is int:  # the missing-text stand-in: every value NULL
        return "NULL"
    if column.kind in ("int", "bool"):
        return str(first) if first.__class__ is int and first in _INT64 else None
    if first.__class__ is not str or "\x00" in first or not (public or column.kind == "datetime"):
        return None
    return "'" + first.replace("'", "''") + "'"


def insert_frame_read_back(conn: Connection, table: sa.Table, frame: pd.DataFrame, columns: Iterable[str],
                           **constants: Any) -> dict[str, np.ndarray] | None:
    """`insert_frame`, also returning every column of `table` as SQLAlchemy would read the new rows back (in
    the frame's order), so the writer can reuse them without reading (`kept_records`). SQLite only, and only
    when every value is known to come back exactly (`_read_back`); None otherwise. Each column is one array
    (`_read_back` says which kind), not a list: a million kept records as lists of Python objects held ~1 GB."""
    if conn.dialect.name != "sqlite":
        insert_frame(conn, table, frame, columns, **constants)
        return None
    cols = [c for c in columns if c in frame.columns]
    kept: dict[str, list[np.ndarray]] | None = {column.name: [] for column in table.columns}
    for start in range(0, len(frame), INSERT_CHUNK_ROWS):
        chunk = _chunk(frame, start)
        written = _insert_sqlite(conn, table, chunk, cols, constants)
        if kept is None:
            continue
        for column in table.columns:
            back = _read_back(conn.dialect, column.type, written.get(column.name), len(chunk))
            if back is None:
                kept = None
                break
            kept[column.name].append(back)
    if kept is None:
        return None
    return {name: np.concatenate(parts) if parts else np.empty(0, dtype=object) for name, parts in kept.items()}


def objects(values: list[Any]) -> np.ndarray:
    """`values` as a 1-D object array, each element as it is (never unpacked into a second dimension)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _read_back(dialect: sa.Dialect, column_type: sa.types.TypeEngine, written: SqliteColumn | None,
               rows: int) -> np.ndarray | None:
    """What reading `written` back from a SQLite column of `column_type` gives after SQLAlchemy's result
    processing, or None where that is not certain. Certain: text in a text column (TEXT affinity keeps it),
    datetime text in a DateTime column and 1/0 in a Boolean one (NUMERIC affinity keeps both; SQLAlchemy's
    processor makes the datetime and the bool), integers in an Integer column, floats in a Float column
    (REAL affinity; a NaN was stored as NULL, and -0.0 comes back as 0.0). A column not written is NULL.

    Text, datetimes and NULLs come as object arrays of those values; booleans, integers and floats as bool,
    int64 and float64 arrays (a NULL float as NaN): `store.load_upload_records` turns them into the very column
    a list of the read values would make."""
    if written is None:
        return np.full(rows, None, dtype=object)
    process = column_type.dialect_impl(dialect).result_processor(dialect, None)
    kind, values = written.kind, written.values
    if kind == "text" and isinstance(column_type, sa.String) and process is None:
        if written.placeholder == "?":  # nothing missing
            return objects(values)
        return objects([None if value.__class__ is int else value for value in values])
    if kind == "datetime" and isinstance(column_type, sa.DateTime) and process is not None:
        first = values[0] if values else None
        if first.__class__ is str and values.count(first) == len(values):  # an upload's one event date
            return np.full(rows, process(first), dtype=object)
        parsed: dict[str, Any] = {}  # one datetime per distinct text (an event's date repeats per record)
        return objects([None if value.__class__ is int else parsed.get(value) or parsed.setdefault(value,
                                                                                                    process(value))
                        for value in values])
    if kind == "bool" and isinstance(column_type, sa.Boolean) and process is not None:
        if any(process(value) is not bool(value) for value in set(values)):  # SQLAlchemy's processor: 1/0 -> bool
            return None
        return np.asarray(values, dtype=np.int64).astype(bool)
    if kind == "int" and isinstance(column_type, sa.Integer) and process is None:
        try:
            return np.asarray(values, dtype=np.int64)
        except OverflowError:  # not a 64-bit integer: let the rows be read
            return None
    if kind == "float" and isinstance(column_type, sa.Float) and not column_type.asdecimal and process is None:
        return np.asarray(values, dtype=np.float64) + 0.0  # (+ 0.0: -0.0 becomes 0.0, NaN stays NaN)
    return None


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
    """`query`'s rows as a frame, the one `_frame_of(conn.execute(query).fetchall(), keys)` builds."""
    keys, columns = read_columns(conn, query)
    if not columns or not columns[0]:
        return pd.DataFrame.from_records([], columns=keys)
    return pd.DataFrame(dict(zip(keys, columns, strict=True)))


def read_columns(conn: Connection, query: sa.Select) -> tuple[list[str], list[list[Any]]]:
    """`query`'s column names and its rows column by column, each value as SQLAlchemy's result gives it.

    On SQLite the driver's own cursor fetches plain tuples and SQLAlchemy's result processors (text to
    datetime, 1/0 to bool) run once per column: SQLAlchemy's Row objects and per-row processing were a third of
    loading 100k stored records. The query is rendered with its parameters inline, which our queries allow
    (numbers and fixed words); one that cannot be, and every other database, goes through SQLAlchemy."""
    dialect = conn.dialect
    keys = list(query.selected_columns.keys())
    try:
        sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True})) if (
            dialect.name == "sqlite") else None
    except sa.exc.CompileError:
        sql = None
    if sql is None:
        result = conn.execute(query)
        rows = result.fetchall()
        return list(result.keys()), [list(values) for values in zip(*rows, strict=True)] if rows else []
    cursor = conn.connection.driver_connection.cursor()  # the same transaction as `conn`
    try:
        cursor.execute(sql)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    if not rows:
        return keys, []
    processors = [column.type.dialect_impl(dialect).result_processor(dialect, None)
                  for column in query.selected_columns]
    return keys, [list(map(process, values)) if process else list(values)
                  for process, values in zip(processors, zip(*rows, strict=True), strict=True)]
