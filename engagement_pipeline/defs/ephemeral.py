"""The throw-away Dagster instance of one in-process invocation (the CLI's `score`, `runner.run_pipeline`
without an instance): Dagster's ephemeral instance, with an event log that does not reconnect per event.

Why: Dagster's in-memory event log opens a new SQLite connection for every event it stores (and sets two
pragmas on it), although it holds one open connection all along to keep the in-memory database alive. A
151-file run stores ~1,700 events; the reconnecting was a fifth of storing them. This one reuses the held
connection (under the storage's own lock, as every use already is). It also answers from memory the two
questions Dagster asks about its own schema for every asset event (does the asset table have this column, does
that table exist: a reflection query, one on a new connection): nobody else can reach an in-memory database, so
its schema never changes. (The dynamic partitions a batch run reads for every file's metadata are read once by
`defs/ingest/partitions.partitions_read_once`, on every instance.) And it stores only what the run reads back
(`store_event`): nobody reads this log after the run, and the run's result gets its events from the executor.
How it is read back is Dagster's, unchanged; everything ends with the instance.

A batch run's partitioned materialisations (one per file for each ingestion asset) reach the log as one batch
per step (`BatchingInstance`: Dagster batches them when its event batch size is above 0) and are stored in one
transaction (`store_event_batch`): the events' rows and data-version tags as before, the asset's row (its latest
materialisation, serialised once more) once per asset instead of once per file, since each update overwrote
the previous one.

Neither storage stamps Alembic's revision into its fresh in-memory database (`UnstampedRunStorage`, the event
log's own `__init__`): Dagster's in-memory storages do, which loads and executes each of Dagster's ~90 migration
scripts twice per instance (building the instance: 36 CPU ms with the stamps, 11 without), for a row nobody
reads: the in-memory storages answer `alembic_version()` with None and are never upgraded (`upgrade` does
nothing), and their tables are created from Dagster's current metadata, which is what the stamp would say.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence

import sqlalchemy as db
from dagster import DagsterInstance
from dagster._core.events import ASSET_CHECK_EVENTS, ASSET_EVENTS, DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.instance.types import InstanceType
from dagster._core.launcher.sync_in_memory_run_launcher import SyncInMemoryRunLauncher
from dagster._core.run_coordinator import DefaultRunCoordinator
from dagster._core.storage.event_log import InMemoryEventLogStorage
from dagster._core.storage.event_log.base import EventLogCursor
from dagster._core.storage.event_log.schema import AssetKeyTable, SqlEventLogStorageMetadata, SqlEventLogStorageTable
from dagster._core.storage.noop_compute_log_manager import NoOpComputeLogManager
from dagster._core.storage.root import TemporaryLocalArtifactStorage
from dagster._core.storage.runs import InMemoryRunStorage
from dagster._core.storage.runs.schema import RunStorageSqlMetadata
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import create_in_memory_conn_string
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

# The events a run reads back from its own event log: the asset events (an asset's latest materialisation and
# its data version, for the inputs of the next step) and the asset check's planned row, which its evaluation
# updates. The run's result gets every event from the executor, not from the storage.
READ_BACK = frozenset({DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_OBSERVATION,
                       DagsterEventType.ASSET_FAILED_TO_MATERIALIZE, *ASSET_CHECK_EVENTS})


# Events of one step's partitioned output stored together, at most this many at a time (a 1M-record run has ~400
# files, each event without its metadata is small).
EVENT_BATCH_SIZE = 1_000


class HeldConnectionEventLogStorage(InMemoryEventLogStorage):
    """Dagster's in-memory event log, every read and write on the one connection it holds open anyway, keeping
    only the events a run reads back (`READ_BACK`)."""

    def __init__(self) -> None:
        # InMemoryEventLogStorage.__init__ without the Alembic stamp (see the module docstring).
        self._inst_data = None
        self._engine = create_engine(create_in_memory_conn_string(f"events-{uuid.uuid4()}"), poolclass=NullPool)
        self._handlers = defaultdict(set)
        self._storage_id = 0
        self._db_lock = threading.Lock()
        self._held_conn = self._engine.connect()
        with self._held_conn.begin():
            SqlEventLogStorageMetadata.create_all(self._held_conn)
        self._held_conn.execute(db.text("PRAGMA foreign_keys=ON;")).close()  # once, not per event
        self._held_conn.commit()

        self._columns: dict[str, bool] = {}
        self._tables: dict[str, bool] = {}

    def store_event(self, event: EventLogEntry) -> None:
        """Nobody reads this log after the run (the instance ends with it) and the run reads back only its asset
        events, and of a materialisation only when, which partition and its data version tags: the other events
        (a step's start, inputs, outputs and success, each file's planned materialisation, log lines: ~60 % of a
        151-file run's ~1,260) and the materialisations' metadata (each file's ledger, the tables' previews:
        serialised twice, for the event and for the asset's latest) were stored for no reader. The run's result
        and the runner read the events, metadata included, from the executor."""
        if event.dagster_event_type is DagsterEventType.ASSET_MATERIALIZATION:
            super().store_event(_without_metadata(event))
        elif event.dagster_event_type in READ_BACK:
            super().store_event(event)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """The events of one step's partitioned output in one transaction: each event's row and tags as
        `store_event` stores them, the asset's row from the last event of each asset and kind only (each
        update of that row overwrote all the columns the previous one set)."""
        kept = [_without_metadata(e) if e.dagster_event_type is DagsterEventType.ASSET_MATERIALIZATION else e
                for e in events if e.dagster_event_type in READ_BACK]
        if any(e.dagster_event_type not in ASSET_EVENTS or not e.get_dagster_event().asset_key for e in kept):
            for event in kept:  # Dagster batches only asset events; anything else as one event at a time
                super().store_event(event)
            return
        with self._connect() as conn:
            ids = self._insert_event_rows(conn, kept)
            self._store_asset_event_tags(conn, kept, ids)
            latest = {(e.get_dagster_event().asset_key, e.dagster_event_type): (e, i)
                      for e, i in zip(kept, ids, strict=True)}
            for event, event_id in latest.values():
                self._store_asset_event(conn, event, event_id)
        for event in kept:  # InMemoryEventLogStorage.store_event's own part: its storage id and watchers
            self._storage_id += 1
            for handler in list(self._handlers[event.run_id]):
                try:
                    handler(event, str(EventLogCursor.from_storage_id(self._storage_id)))
                except Exception:
                    logging.exception("Exception in callback for event watch on run %s.", event.run_id)

    def _insert_event_rows(self, conn: Connection, events: Sequence[EventLogEntry]) -> list[int]:
        """The events' rows (`_event_to_row`, what `prepare_insert_event` inserts) in one statement, their ids in
        the events' order: one INSERT ... RETURNING for the batch instead of an insert statement built, compiled
        from its cache and executed per event (~40 % of storing a 151-file run's 453 batched materialisations)."""
        if not events:
            return []
        insert = SqlEventLogStorageTable.insert().returning(SqlEventLogStorageTable.c.id,
                                                            sort_by_parameter_order=True)
        return list(conn.execute(insert, [self._event_to_row(e) for e in events]).scalars())

    def _store_asset_event(self, conn: Connection, event: EventLogEntry, event_id: int) -> None:
        """The asset's row updated first, inserted when there is none: Dagster inserts first and updates on the
        IntegrityError, which every partition of a batch after the first raised (and SQLAlchemy wrapped)."""
        values = self._get_asset_entry_values(event, event_id, self._has_asset_key_index_cols_on_connection(conn))
        if not values:
            return
        key = event.get_dagster_event().asset_key.to_string()  # type: ignore[union-attr]
        updated = conn.execute(AssetKeyTable.update().values(**values).where(AssetKeyTable.c.asset_key == key))
        if updated.rowcount == 0:
            conn.execute(AssetKeyTable.insert().values(asset_key=key, **values))

    @contextlib.contextmanager
    def _connect(self) -> Iterator[Connection]:
        with self._db_lock, self._held_conn.begin():
            yield self._held_conn

    def _has_asset_key_col_on_connection(self, conn: Connection, column_name: str) -> bool:
        if column_name not in self._columns:
            self._columns[column_name] = super()._has_asset_key_col_on_connection(conn, column_name)
        return self._columns[column_name]

    def has_table(self, table_name: str) -> bool:
        if table_name not in self._tables:
            self._tables[table_name] = super().has_table(table_name)
        return self._tables[table_name]


class UnstampedRunStorage(InMemoryRunStorage):
    """Dagster's in-memory run storage, its tables created without the Alembic stamp (see the module docstring)."""

    def __init__(self) -> None:
        # InMemoryRunStorage.__init__ without `stamp_alembic_rev` (and without a preload, which we never pass).
        self._engine = create_engine(create_in_memory_conn_string(f"runs-{uuid.uuid4()}"), poolclass=NullPool)
        self._held_conn = self._engine.connect()
        with self._held_conn.begin():
            RunStorageSqlMetadata.create_all(self._held_conn)  # instance_info included: Dagster's check then passes


def _without_metadata(event: EventLogEntry) -> EventLogEntry:
    """A materialisation's event with its metadata left out (its asset, partition, tags and time kept)."""
    dagster_event = event.get_dagster_event()
    data = dagster_event.event_specific_data
    materialization = data.materialization.with_metadata({})
    return event._replace(dagster_event=dagster_event._replace(
        event_specific_data=data._replace(materialization=materialization)))


class BatchingInstance(DagsterInstance):
    """Dagster's instance with event batching on (`DAGSTER_EVENT_BATCH_SIZE`, read from the environment on
    every event otherwise): a step's partitioned materialisations reach `store_event_batch` together."""

    def _get_event_batch_size(self) -> int:
        return EVENT_BATCH_SIZE


def ephemeral_instance() -> DagsterInstance:
    """`DagsterInstance.ephemeral()` (Dagster's `create_ephemeral_instance`) with the event log above."""
    return BatchingInstance(
        instance_type=InstanceType.EPHEMERAL,
        local_artifact_storage=TemporaryLocalArtifactStorage(),
        run_storage=UnstampedRunStorage(),
        event_storage=HeldConnectionEventLogStorage(),
        compute_log_manager=NoOpComputeLogManager(),
        run_coordinator=DefaultRunCoordinator(),
        run_launcher=SyncInMemoryRunLauncher(),
    )
