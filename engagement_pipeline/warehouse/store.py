"""The warehouse: the source of truth across runs, on SQLite by default and PostgreSQL in production.

Writes are idempotent by construction: an upload is identified by the sha256 of its bytes, and everything
derived from an upload is replaced (delete + insert in one transaction) when that upload is processed again,
so a re-run, a retried run or a run killed half-way never leaves duplicates behind.

The tables below are the models; the schema itself is built and changed by the Alembic revisions in
`migrations/versions/`. A change to a table here needs a new revision there (a test compares the two).
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from engagement_pipeline.warehouse import kept_records
from engagement_pipeline.warehouse.bulk import (
    _clean,
    _column_values,
    insert_frame,
    insert_frame_read_back,
    objects,
    read_columns,
)

if TYPE_CHECKING:
    from engagement_pipeline.warehouse.schema import MigrationResult

metadata = sa.MetaData()

uploads = sa.Table(
    "uploads",
    metadata,
    sa.Column("upload_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("file_name", sa.Text, nullable=False),  # TEXT since migration 0003 (any length, both backends)
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("archive_path", sa.Text),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # received | accepted | rejected | held
    sa.Column("platform", sa.String(32)),
    sa.Column("reason", sa.Text),
    sa.Column("rows_read", sa.Integer),
    sa.Column("rows_kept", sa.Integer),
    sa.Column("rows_excluded", sa.Integer),
    sa.Column("rows_quarantined", sa.Integer),
    sa.Column("records", sa.Integer),
    sa.Column("ledger", sa.Text),
    # Random, new with every write of the upload's records (migration 0005): see kept_records.py.
    sa.Column("records_version", sa.String(32)),
)

# Columns that never hold personal data: `bulk` may write a value repeated on every row into the statement as a
# literal instead of binding it per row (a failed statement's text can reach logs; its bound values never do).
_PUBLIC = {"public": True}

# Free text is TEXT (migration 0003): a long name or company is kept in full on SQLite and PostgreSQL alike.
_RECORD_COLUMNS: list[sa.Column] = [
    sa.Column("event_id", sa.String(128), nullable=False, info=_PUBLIC),
    sa.Column("event_name", sa.Text, nullable=False, info=_PUBLIC),
    sa.Column("event_type", sa.String(32), nullable=False, info=_PUBLIC),
    sa.Column("event_date", sa.DateTime, nullable=False),
    sa.Column("platform", sa.String(32), nullable=False, info=_PUBLIC),
    sa.Column("attendee_key", sa.Text, nullable=False),
    sa.Column("attendee_email", sa.Text),
    sa.Column("attendee_name", sa.Text),
    sa.Column("company", sa.Text),
    sa.Column("registered", sa.Boolean, nullable=False),
    sa.Column("attended", sa.Boolean, nullable=False),
    sa.Column("minutes_attended", sa.Float, nullable=False),
    sa.Column("questions_asked", sa.Integer, nullable=False),
    sa.Column("polls_answered", sa.Integer, nullable=False),
    sa.Column("feedback_submitted", sa.Boolean, nullable=False),
    sa.Column("role", sa.String(16), nullable=False, info=_PUBLIC),
    sa.Column("source_file", sa.Text, nullable=False, info=_PUBLIC),
    sa.Column("source_row", sa.Integer, nullable=False),
    sa.Column("rows_folded", sa.Integer, nullable=False),
    sa.Column("customer_id", sa.String(128)),
    sa.Column("match_method", sa.String(32), info=_PUBLIC),
    sa.Column("match_confidence", sa.Float),
    sa.Column("matched_contact", sa.Text),
]

upload_records = sa.Table(
    "upload_records",
    metadata,
    # No index of its own (dropped by migration 0005): the unique constraint leads with upload_id.
    sa.Column("upload_id", sa.Integer, sa.ForeignKey("uploads.upload_id"), nullable=False),
    *[c.copy() for c in _RECORD_COLUMNS],
    sa.UniqueConstraint("upload_id", "event_id", "attendee_key", name="uq_upload_record"),
)

row_issues = sa.Table(
    "row_issues",
    metadata,
    sa.Column("upload_id", sa.Integer, sa.ForeignKey("uploads.upload_id"), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),  # excluded | quarantined
    sa.Column("source_row", sa.Integer, nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("detail", sa.Text),
    sa.Column("raw", sa.Text),
)

attendance = sa.Table(
    "attendance",
    metadata,
    *[c.copy() for c in _RECORD_COLUMNS],
    sa.PrimaryKeyConstraint("event_id", "attendee_key", name="pk_attendance"),
)
sa.Index("ix_attendance_customer_id", attendance.c.customer_id)  # migration 0002: one customer's history

engagement_scores = sa.Table(
    "engagement_scores",
    metadata,
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("customer_id", sa.String(128), nullable=False),
    sa.Column("score", sa.Float),
    sa.Column("band", sa.String(16), nullable=False),
    sa.Column("trend", sa.String(24)),
    sa.Column("components", sa.Text, nullable=False),  # JSON: values, statuses, contributions
    sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("as_of", "customer_id", name="pk_engagement_scores"),
)
sa.Index("ix_engagement_scores_customer_id", engagement_scores.c.customer_id)  # migration 0002

RECORD_COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in _RECORD_COLUMNS)


def make_engine(url: str) -> Engine:
    """An engine that waits for a busy SQLite file instead of failing at once.

    `hide_parameters`: a failed statement's message never carries its bound values (attendee emails, names)
    into logs, the Dagster event log or a terminal.
    `postgresql://` means psycopg2."""
    from engagement_pipeline.warehouse.databases import sqlalchemy_url

    url = sqlalchemy_url(url)
    if url.startswith("sqlite"):
        return sa.create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
    return sa.create_engine(url, pool_pre_ping=True, hide_parameters=True)


# One advisory-lock key for every warehouse write section ("engagement" in ASCII, folded into a bigint).
WRITE_LOCK_KEY = 0x656E676167656D


# The statements every upload runs, built once: building one (and its cache key) cost ~3x executing it on SQLite,
# for the ~10 small statements per file of a run.
_PG_WRITE_LOCK = sa.text("SELECT pg_advisory_xact_lock(:key)")
_SQLITE_WRITE_LOCK = sa.text("UPDATE uploads SET upload_id = upload_id WHERE 0 = 1")
_FIND_UPLOAD = sa.select(uploads).where(uploads.c.sha256 == sa.bindparam("sha"))
_DELETE_RECORDS = sa.delete(upload_records).where(upload_records.c.upload_id == sa.bindparam("upload"))
_DELETE_ISSUES = sa.delete(row_issues).where(row_issues.c.upload_id == sa.bindparam("upload"))
_LEDGER_OF = sa.select(uploads.c.ledger).where(uploads.c.upload_id == sa.bindparam("upload"))
_INSERT_UPLOAD = uploads.insert()
_UPDATE_UPLOAD = uploads.update().where(uploads.c.upload_id == sa.bindparam("which"))  # SET: the values passed


def write_lock(conn: Connection) -> None:
    """Serialises writers: two scoring runs at once (CLI, sensor, schedule, API) take turns instead of the
    second failing on a unique key. Call it first in the transaction; it is held until commit or rollback.

    PostgreSQL: a transaction-scoped advisory lock (re-entrant in one transaction). SQLite: a no-op write takes
    the database's write lock now, waiting up to the busy timeout, as BEGIN IMMEDIATE would."""
    if conn.dialect.name == "postgresql":
        conn.execute(_PG_WRITE_LOCK, {"key": WRITE_LOCK_KEY})
    elif conn.dialect.name == "sqlite":
        conn.execute(_SQLITE_WRITE_LOCK)


def describe_db_error(err: BaseException) -> str | None:
    """A database failure anywhere in `err`'s chain, described without the statement, its values or the
    server's DETAIL line (which quotes the offending key: an attendee's email); None if there is none.

    The chain is walked once per link: a driver error can be its own context (psycopg2 raising inside COPY),
    and a loop here once turned a failed run into a process that never exited. Driver errors that SQLAlchemy
    did not wrap (COPY goes through the raw cursor) are recognised by their SQLSTATE."""
    seen: BaseException | None = err
    visited: set[int] = set()
    while seen is not None and id(seen) not in visited:
        visited.add(id(seen))
        if isinstance(seen, sa.exc.DBAPIError):
            orig = seen.orig
            code = getattr(orig, "pgcode", None) or getattr(orig, "sqlite_errorname", None)
            return f"{type(orig).__name__}{f' ({code})' if code else ''}"
        if isinstance(seen, sa.exc.SQLAlchemyError):
            return type(seen).__name__
        code = getattr(seen, "pgcode", None) or getattr(seen, "sqlite_errorname", None)
        if isinstance(code, str) and code:
            return f"{type(seen).__name__} ({code})"
        seen = seen.__cause__ or seen.__context__
    return None


def create_schema(engine: Engine) -> MigrationResult:
    """Brings the warehouse to the current schema through the migrations (never `create_all`), so a warehouse
    from an older release is upgraded in place. The one entry point every caller uses; see `schema.py`."""
    from engagement_pipeline.warehouse.schema import upgrade_warehouse

    return upgrade_warehouse(engine)


def _now() -> datetime:
    return datetime.now(UTC)


def find_upload(conn: Connection, sha256: str) -> Mapping[str, Any] | None:
    row = conn.execute(_FIND_UPLOAD, {"sha": sha256}).mappings().first()
    return dict(row) if row else None


def register_upload(
    conn: Connection, *, sha256: str, file_name: str, size_bytes: int, archive_path: str
) -> tuple[int, bool]:
    """Returns (upload_id, is_new). The same bytes dropped again, under any name, are the same upload."""
    existing = find_upload(conn, sha256)  # a re-drop writes nothing, so it takes no write lock
    if existing:
        return int(existing["upload_id"]), False
    write_lock(conn)
    existing = find_upload(conn, sha256)  # again under the lock: a concurrent run may have registered it
    if existing:
        return int(existing["upload_id"]), False
    result = conn.execute(_INSERT_UPLOAD, {"sha256": sha256, "file_name": file_name, "size_bytes": size_bytes,
                                           "archive_path": archive_path, "received_at": _now(), "status": "received"})
    return int(result.inserted_primary_key[0]), True


def _delete_derived(conn: Connection, upload_id: int) -> None:
    """Deletes the upload's records and row issues."""
    conn.execute(_DELETE_RECORDS, {"upload": upload_id})
    conn.execute(_DELETE_ISSUES, {"upload": upload_id})


def mark_rejected(conn: Connection, upload_id: int, reason: str) -> None:
    write_lock(conn)
    _delete_derived(conn, upload_id)
    conn.execute(
        uploads.update()
        .where(uploads.c.upload_id == upload_id)
        .values(status="rejected", reason=reason, platform=None, records=0, records_version=None)
    )


def mark_held(conn: Connection, upload_id: int, reason: str, notes: list[str]) -> None:
    """The upload waits for event details (`status` held): nothing of it counts until the event is named;
    `reason` says exactly what to add. Processing it later replaces this with `accepted` or `rejected`."""
    _delete_derived(conn, upload_id)
    conn.execute(
        uploads.update()
        .where(uploads.c.upload_id == upload_id)
        .values(status="held", reason=reason, platform=None, records=0, records_version=None,
                ledger=json.dumps({"status": "waiting for event details", "notes": notes}))
    )


def load_held_uploads(conn: Connection) -> pd.DataFrame:
    """Uploads waiting for event details: file name, upload id, archive path and what to add."""
    query = sa.select(uploads.c.upload_id, uploads.c.file_name, uploads.c.archive_path, uploads.c.reason).where(
        uploads.c.status == "held")
    return pd.DataFrame(conn.execute(query).mappings().all(),
                        columns=["upload_id", "file_name", "archive_path", "reason"])


def store_parsed_upload(
    conn: Connection,
    upload_id: int,
    *,
    platform: str,
    records: pd.DataFrame,
    excluded: pd.DataFrame,
    quarantined: pd.DataFrame,
    ledger: Mapping[str, Any],
) -> None:
    """Replaces everything derived from this upload, so re-processing it is a no-op in effect."""
    write_lock(conn)
    _delete_derived(conn, upload_id)
    kept = insert_frame_read_back(conn, upload_records, records, RECORD_COLUMN_NAMES, upload_id=upload_id)
    version = uuid.uuid4().hex
    for kind, frame in (("excluded", excluded), ("quarantined", quarantined)):
        if len(frame):
            insert_frame(conn, row_issues, _with_raw_json(frame), ("source_row", "reason", "detail", "raw"),
                         upload_id=upload_id, kind=kind)
    previous = _ledger_of(conn, upload_id)
    ledger = {**ledger, **{k: previous[k] for k in EXPORT_LEDGER_KEYS if k in previous}}
    conn.execute(_UPDATE_UPLOAD, {
        "which": upload_id,
        "status": "accepted",
        "reason": None,
        "platform": platform,
        "rows_read": int(ledger["rows_read"]),
        "rows_kept": int(ledger["rows_kept"]),
        "rows_excluded": int(ledger["rows_excluded"]),
        "rows_quarantined": int(ledger["rows_quarantined"]),
        "records": int(ledger["records"]),
        "ledger": json.dumps(ledger, default=str),
        "records_version": version,
    })
    if kept is not None:
        kept_records.keep(version, _in_load_order(kept))


# What `json.dumps(..., ensure_ascii=False, default=str)` builds on every call, built once (the same text).
_RAW_JSON = json.JSONEncoder(ensure_ascii=False, default=str)


def _with_raw_json(issues: pd.DataFrame) -> pd.DataFrame:
    """Row issues with each row's original cells as JSON text (`null` when there are none), as stored.

    A row's cells are a dict (header -> cell), which `_clean` returns as it is: only anything else goes through
    it (its checks per row, with a new encoder per `json.dumps`, were a third of this)."""
    raw = issues["raw"].tolist() if "raw" in issues.columns else [None] * len(issues)
    encode = _RAW_JSON.encode
    return issues.assign(raw=[encode(cells if cells.__class__ is dict else _clean(cells)) for cells in raw])


# The order records are loaded in: total within an upload (event_id and attendee_key are unique there).
_LOAD_ORDER = ("source_row", "event_id", "attendee_key")
_MISSING_PER_QUERY = 500  # upload ids per IN (...) when reading records that were not kept


def _in_load_order(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One upload's kept columns sorted as `load_upload_records` orders them (text as SQLite's BINARY)."""
    rows = columns["source_row"]
    if rows.dtype.kind == "i" and bool((rows[1:] > rows[:-1]).all()):  # the usual case: in order already
        return columns
    keys = list(zip(*(columns[c].tolist() for c in _LOAD_ORDER), strict=True))
    order = sorted(range(len(keys)), key=keys.__getitem__)
    if order == list(range(len(order))):
        return columns
    taken = np.asarray(order, dtype=np.intp)
    return {name: values[taken] for name, values in columns.items()}


def load_upload_records(conn: Connection) -> pd.DataFrame:
    """Every record of every accepted upload, with the upload id and when it was received, ordered by upload,
    source row, event and attendee.

    An upload this process stored, still at the version it wrote, comes from `kept_records` instead of being
    read back: the same values, and the frame is built from all of them at once as from one query (`_column`:
    the column a list of every value would make)."""
    accepted = conn.execute(sa.select(uploads.c.upload_id, uploads.c.received_at, uploads.c.records_version)
                            .where(uploads.c.status == "accepted").order_by(uploads.c.upload_id)).all()
    kept = {int(row.upload_id): kept_records.recall(row.records_version) for row in accepted}
    read = _read_upload_records(conn, [upload_id for upload_id, columns in kept.items() if columns is None])
    uploaded = [(columns, row.received_at) for row in accepted
                if (columns := kept[int(row.upload_id)] or read.get(int(row.upload_id))) and columns.rows]
    if not uploaded:
        return pd.DataFrame(columns=["upload_id", *RECORD_COLUMN_NAMES, "received_at"])
    frame = {name: _column([columns[name] for columns, _ in uploaded]) for name in ["upload_id", *RECORD_COLUMN_NAMES]}
    frame["received_at"] = _column([np.full(columns.rows, received, dtype=object) for columns, received in uploaded])
    return pd.DataFrame(frame)


def _column(parts: list[np.ndarray]) -> np.ndarray | list[Any]:
    """The uploads' arrays of one column joined into what pandas makes of the list of all their values: bool
    and int64 arrays as they are, float64 ones too unless every value is NaN (a list of Nones stays object),
    anything else as that list, for pandas to infer (object arrays hold what a read gives: None, str, int...)."""
    kinds = {part.dtype for part in parts}
    if len(kinds) == 1 and (kind := next(iter(kinds))).kind in "bif":
        joined = np.concatenate(parts)
        if kind.kind != "f" or not np.isnan(joined).all():
            return joined
    return np.concatenate([_read_values(part) for part in parts]).tolist()


def _read_values(part: np.ndarray) -> np.ndarray:
    """An array of `bulk._read_back` as the object array of what a read gives (a NaN float is None)."""
    if part.dtype.kind == "f":
        return np.where(np.isnan(part), None, part.astype(object))
    return part if part.dtype.kind == "O" else part.astype(object)


def _read_upload_records(conn: Connection, upload_ids: list[int]) -> dict[int, kept_records.Columns]:
    """The stored records of these uploads, per upload, columns in load order (object arrays)."""
    found: dict[int, kept_records.Columns] = {}
    for start in range(0, len(upload_ids), _MISSING_PER_QUERY):
        chosen = upload_ids[start:start + _MISSING_PER_QUERY]
        query = (sa.select(upload_records).where(upload_records.c.upload_id.in_(chosen))
                 .order_by(upload_records.c.upload_id, *(upload_records.c[c] for c in _LOAD_ORDER)))
        keys, columns = read_columns(conn, query)
        if not columns:
            continue
        arrays = [objects(values) for values in columns]
        columns.clear()  # (the lists go now: a million read records held twice was the run's peak)
        ids = arrays[keys.index("upload_id")]
        bounds = [0, *(np.flatnonzero(ids[1:] != ids[:-1]) + 1).tolist(), len(ids)]
        for start_row, end_row in itertools.pairwise(bounds):
            found[int(ids[start_row])] = kept_records.Columns(end_row - start_row, {
                key: values[start_row:end_row] for key, values in zip(keys, arrays, strict=True)})
    return found


# Keys of an upload's ledger (JSON) that the scoring run writes, not the parse: kept when the upload is re-parsed.
EXPORT_LEDGER_KEYS = ("export_status", "export_reason", "shrink_confirmed")


def _ledger_of(conn: Connection, upload_id: int) -> dict[str, Any]:
    raw = conn.execute(_LEDGER_OF, {"upload": upload_id}).scalar()
    return json.loads(raw) if raw else {}


def load_export_info(conn: Connection) -> pd.DataFrame:
    """Per accepted upload: damaged lines and whether a person confirmed a shrink (both from its ledger)."""
    rows = conn.execute(sa.select(uploads.c.upload_id, uploads.c.ledger).where(uploads.c.status == "accepted")).all()
    ledgers = [(int(r.upload_id), json.loads(r.ledger) if r.ledger else {}) for r in rows]
    return pd.DataFrame(
        [(i, int(led.get("lines_damaged", 0)), bool(led.get("shrink_confirmed", False))) for i, led in ledgers],
        columns=["upload_id", "damaged_lines", "shrink_confirmed"],
    )


def store_export_status(conn: Connection, status: Mapping[int, tuple[str, str]]) -> None:
    """Writes into each accepted upload's ledger which export of its event(s) is in use, and why
    (`export_status`: in_use | superseded | held | ignored; see attendance.choose_exports)."""
    write_lock(conn)
    rows = conn.execute(sa.select(uploads.c.upload_id, uploads.c.ledger).where(uploads.c.status == "accepted")).all()
    for row in rows:
        ledger = json.loads(row.ledger) if row.ledger else {}
        decision, reason = status.get(int(row.upload_id), (None, None))
        if ledger.get("export_status") == decision and ledger.get("export_reason") == reason:
            continue
        ledger.update(export_status=decision, export_reason=reason)
        conn.execute(uploads.update().where(uploads.c.upload_id == row.upload_id)
                     .values(ledger=json.dumps(ledger, default=str)))


def exports_not_used(conn: Connection) -> list[dict[str, Any]]:
    """Accepted uploads whose records are not in use because they were held or ignored, with the reason."""
    rows = conn.execute(sa.select(uploads.c.upload_id, uploads.c.file_name, uploads.c.ledger)
                        .where(uploads.c.status == "accepted").order_by(uploads.c.upload_id)).all()
    found = []
    for row in rows:
        ledger = json.loads(row.ledger) if row.ledger else {}
        if ledger.get("export_status") in ("held", "ignored"):
            found.append({"upload_id": int(row.upload_id), "file_name": row.file_name,
                          "status": ledger["export_status"], "reason": ledger.get("export_reason")})
    return found


def confirm_export(conn: Connection, upload_id: int) -> Mapping[str, Any] | None:
    """A person confirms a held (shrinking) re-export: the next scoring run uses it. None if no accepted upload
    has this id."""
    write_lock(conn)
    row = conn.execute(sa.select(uploads).where(uploads.c.upload_id == upload_id,
                                                uploads.c.status == "accepted")).mappings().first()
    if row is None:
        return None
    ledger = json.loads(row["ledger"]) if row["ledger"] else {}
    ledger["shrink_confirmed"] = True
    conn.execute(uploads.update().where(uploads.c.upload_id == upload_id).values(ledger=json.dumps(ledger)))
    return dict(row)


LEDGER_DETAIL_COLUMNS = ("lines_read", "lines_damaged", "export_status", "export_reason")


def load_uploads(conn: Connection) -> pd.DataFrame:
    """Every upload; the ledger's line counts and export decision also as columns (LEDGER_DETAIL_COLUMNS),
    so the report says which export of an event won and why."""
    frame = pd.DataFrame(conn.execute(sa.select(uploads).order_by(uploads.c.upload_id)).mappings().all())
    if frame.empty:
        return pd.DataFrame(columns=[*(c.name for c in uploads.columns), *LEDGER_DETAIL_COLUMNS])
    details = [json.loads(raw) if isinstance(raw, str) and raw else {} for raw in frame["ledger"]]
    for column in LEDGER_DETAIL_COLUMNS:
        frame[column] = [d.get(column) for d in details]
    return frame


def load_row_issues(conn: Connection, kind: str | None = None) -> pd.DataFrame:
    query = sa.select(row_issues, uploads.c.file_name).join(
        uploads, uploads.c.upload_id == row_issues.c.upload_id
    )
    if kind:
        query = query.where(row_issues.c.kind == kind)
    frame = pd.DataFrame(conn.execute(query.order_by(row_issues.c.upload_id, row_issues.c.source_row))
                         .mappings().all())
    if frame.empty:
        frame = pd.DataFrame(columns=[*[c.name for c in row_issues.columns], "file_name"])
    return frame


def replace_attendance(conn: Connection, merged: pd.DataFrame) -> None:
    """Rewrites the whole attendance table. On SQLite its secondary indexes are dropped for the insert and
    built again after it, in the same transaction (a crash rolls all of it back): one sorted build instead of
    100k random index inserts."""
    write_lock(conn)
    conn.execute(sa.delete(attendance))
    present = ({index["name"] for index in sa.inspect(conn).get_indexes(attendance.name)}
               if conn.dialect.name == "sqlite" and len(merged) else set())
    rebuilt = [index for index in attendance.indexes if index.name in present]  # (a warehouse before 0002 has none)
    for index in rebuilt:
        index.drop(conn)
    insert_frame(conn, attendance, merged, RECORD_COLUMN_NAMES)
    for index in rebuilt:
        index.create(conn)


def store_scores(conn: Connection, as_of: Any, scores: pd.DataFrame, trends: pd.DataFrame) -> int:
    """Keeps score history: one row per (as_of, customer); re-scoring the same date replaces it."""
    write_lock(conn)
    day = pd.Timestamp(as_of).date()
    trend_by_customer = dict(zip(trends["customer_id"], trends["trend"], strict=False)) if len(trends) else {}
    conn.execute(sa.delete(engagement_scores).where(engagement_scores.c.as_of == day))
    component_cols = [c for c in scores.columns if c not in {"customer_id", "score", "band", "as_of"}]
    values = {c: _column_values(scores[c]) for c in component_cols}  # `_clean` of each cell, column-wise
    components = [json.dumps(dict(zip(component_cols, cells, strict=True)), default=str)
                  for cells in zip(*values.values(), strict=True)] if component_cols else ["{}"] * len(scores)
    rows = pd.DataFrame({
        "customer_id": scores["customer_id"],
        "score": scores["score"] if "score" in scores.columns else None,
        "band": [band or "Not scored" for band in _column_values(scores["band"])]
        if "band" in scores.columns else "Not scored",
        "trend": scores["customer_id"].map(trend_by_customer).astype(object),
        "components": components,
        "computed_at": pd.Series([_now()] * len(scores), index=scores.index, dtype=object),
    })
    insert_frame(conn, engagement_scores, rows, [c.name for c in engagement_scores.columns if c.name != "as_of"],
                 as_of=day)
    return len(scores)


def load_score_history(conn: Connection, customer_id: str | None = None) -> pd.DataFrame:
    query = sa.select(engagement_scores).order_by(engagement_scores.c.as_of)
    if customer_id:
        query = query.where(engagement_scores.c.customer_id == customer_id)
    frame = pd.DataFrame(conn.execute(query).mappings().all())
    return frame if not frame.empty else pd.DataFrame(columns=[c.name for c in engagement_scores.columns])


# -- One transaction each, for the Dagster assets (defs/): asset bodies call these and never open the engine. --


def load_archive_ref(engine: Engine, file_name: str) -> str | None:
    """Where the latest upload named `file_name` was archived, or None: a re-run of a file gone from the inbox."""
    with engine.connect() as conn:
        found = load_uploads(conn)
    found = found[found["file_name"] == file_name]
    return None if found.empty else str(found.iloc[-1]["archive_path"])


def store_upload(engine: Engine, *, sha256: str, file_name: str, size_bytes: int, archive_path: str
                 ) -> tuple[int, bool]:
    """`register_upload` in a transaction of its own: (upload_id, first_seen)."""
    with engine.begin() as conn:
        return register_upload(conn, sha256=sha256, file_name=file_name, size_bytes=size_bytes,
                               archive_path=archive_path)


def store_held_upload(engine: Engine, upload_id: int, reason: str, notes: list[str]) -> None:
    with engine.begin() as conn:
        mark_held(conn, upload_id, reason, notes)


def store_rejected_upload(engine: Engine, upload_id: int, reason: str) -> None:
    with engine.begin() as conn:
        mark_rejected(conn, upload_id, reason)


def store_upload_records(engine: Engine, upload_id: int, *, platform: str, records: pd.DataFrame,
                         excluded: pd.DataFrame, quarantined: pd.DataFrame, ledger: Mapping[str, Any]) -> None:
    """`store_parsed_upload` in a transaction of its own."""
    with engine.begin() as conn:
        store_parsed_upload(conn, upload_id, platform=platform, records=records, excluded=excluded,
                            quarantined=quarantined, ledger=ledger)


def store_attendance_from_uploads(
    engine: Engine,
    derive: Callable[[pd.DataFrame, pd.DataFrame], tuple[pd.DataFrame, Mapping[int, tuple[str, str]]]],
) -> None:
    """Replaces `attendance` (and each upload's export status) with what `derive(records, export_info)` makes of
    every accepted upload's records, in one transaction that takes the write lock before reading: a concurrent
    run's uploads are either all in or all out."""
    with engine.begin() as conn:
        write_lock(conn)
        merged, status = derive(load_upload_records(conn), load_export_info(conn))
        replace_attendance(conn, merged)
        store_export_status(conn, status)


def store_score_snapshot(engine: Engine, as_of: date, scores: pd.DataFrame, trends: pd.DataFrame) -> int:
    """The scoring date's scores with their trends, written once (`store_scores`)."""
    with engine.begin() as conn:
        return store_scores(conn, as_of, scores, trends)


def load_upload_ledger(engine: Engine) -> pd.DataFrame:
    """Every upload (`load_uploads`), with `balanced` as each upload's ledger stored it when it was parsed."""
    with engine.connect() as conn:
        frame = load_uploads(conn)
    frame["balanced"] = [json.loads(raw).get("balanced") if isinstance(raw, str) and raw else None
                         for raw in frame["ledger"]]
    return frame


def load_quarantined_rows(engine: Engine) -> pd.DataFrame:
    """Rows that could not be used, with the original cells decoded from JSON."""
    with engine.connect() as conn:
        rows = load_row_issues(conn, kind="quarantined")
    if len(rows):
        rows["raw"] = rows["raw"].map(json.loads)
    return rows


def load_held(engine: Engine) -> pd.DataFrame:
    """`load_held_uploads` in a connection of its own (the held-uploads sensor)."""
    with engine.connect() as conn:
        return load_held_uploads(conn)
