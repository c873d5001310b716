"""The embedded instance's SQLite event log with its connections kept open (`instance_class` in dagster.yaml).

Why: a run writes ~400 events (the 19 demo files' run ~550: step starts, inputs, outputs, materialisations,
check results), and Dagster's SQLite event log opens a new engine and connection for each, commits and closes
it. Closing the last connection to a WAL database checkpoints it and both fsync, so every event cost 3-4 ms
on a quiet disk and 12-25 ms while other work wrote to it (measured, 300 engine events on this machine): seconds
of a one-file drop's run spent waiting for the disk, more than its CPU. Here each process keeps one connection
per database (the index and the few runs it writes or reads lately), in `synchronous=NORMAL` (WAL's own
recommendation: a commit is not lost when a process crashes, only possibly at a power cut, and the file never
corrupts): 0.3-0.4 ms per event. What is stored, where, and in what format is Dagster's own, unchanged.

The live run view in the UI watches the run's database file for changes; with the connection kept open an event
lands in the `-wal` file first, so the watch here also looks at that file. Only the default storage of the
embedded instance changes (`EngagementInstance.config_defaults`: the folder comes from the instance's home,
which no dagster.yaml setting can name); a `storage:` section in dagster.yaml, e.g. PostgreSQL, wins as always.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

import yaml
from dagster import DagsterInstance
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
    SqliteEventLogStorageWatchdog,
)
from dagster._core.storage.sqlite import create_db_conn_string
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from dagster._serdes.config_class import ConfigurableClassData
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

RUN_SHARDS_KEPT = 4  # run databases a process keeps open besides the index: the runs it is writing or showing
BUSY_TIMEOUT_SECONDS = 15  # Dagster's own for SQLite (another process holds the write lock)


class KeptOpenSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` with one open connection per database (index + recent runs) per process."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: OrderedDict[str, tuple[Engine, int]] = OrderedDict()  # shard: (engine, file inode)
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
                          ) -> KeptOpenSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        """The shard's engine, opened once; the least recently used run shard is closed beyond the limit, and
        one whose file was deleted or replaced since (a wipe, here or in another process) is opened again, as
        Dagster's own storage would find the new file. Called with `_db_lock` held, as every use is."""
        opened = self._engines.pop(shard, None)
        if opened is not None and opened[1] != _inode(self.path_for_shard(shard)):
            opened[0].dispose()
            self._initialized_dbs.discard(shard)
            opened = None
        if opened is None:
            engine = create_engine(create_db_conn_string(self._base_dir, shard), poolclass=StaticPool,
                                   connect_args={"timeout": BUSY_TIMEOUT_SECONDS, "check_same_thread": False})
            event.listen(engine, "connect", _normal_sync)
            if shard not in self._initialized_dbs:  # creates the file: its inode is known from here on
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            opened = (engine, _inode(self.path_for_shard(shard)))
        self._engines[shard] = opened
        runs = [name for name in self._engines if name != INDEX_SHARD_NAME]
        for name in runs[:-RUN_SHARDS_KEPT]:
            self._engines.pop(name)[0].dispose()
        return opened[0]

    @contextlib.contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:  # one thread at a time on the shared connection (the watcher thread reads too)
            engine = self._engine(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def _close_all(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1][0].dispose()

    def wipe(self) -> None:
        self._close_all()  # before the run databases' files are deleted under them
        super().wipe()

    def dispose(self) -> None:
        self._close_all()
        super().dispose()

    def watch(self, run_id: str, cursor: str | None, callback: Any) -> None:
        """As Dagster's, with the run's write-ahead log watched as well as its database file."""
        from watchdog.observers import Observer

        if not self._obs:
            self._obs = Observer()
            self._obs.start()
        handler = _RunAndWalWatchdog(self, run_id, callback, cursor)
        self._watchers[run_id][callback] = (handler, self._obs.schedule(handler, self._base_dir, recursive=True))


class _RunAndWalWatchdog(SqliteEventLogStorageWatchdog):
    """Reads a run's new events when its database file or its `-wal` file changes."""

    def __init__(self, storage: SqliteEventLogStorage, run_id: str, callback: Any, cursor: str | None) -> None:
        super().__init__(storage, run_id, callback, cursor)
        self._patterns = [self._log_path, f"{self._log_path}-wal"]
        self._read_lock = threading.Lock()  # both files change for one commit: one reader at a time

    def on_modified(self, event: Any) -> None:
        with self._read_lock:
            self._process_log()


def _inode(path: str) -> int:
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return -1


def _normal_sync(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


class KeptOpenSqliteStorage(DagsterSqliteStorage):
    """Dagster's default SQLite storage (runs, event logs, schedules under the home) with the event log above."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        super().__init__(base_dir, inst_data=inst_data)
        self._event_log_storage = KeptOpenSqliteEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]
                          ) -> KeptOpenSqliteStorage:
        os.makedirs(config_value["base_dir"], exist_ok=True)
        return cls(inst_data=inst_data, **config_value)


class EngagementInstance(DagsterInstance):
    """Dagster's instance; only its default storage is `KeptOpenSqliteStorage` (dagster.yaml `instance_class`)."""

    @classmethod
    def config_schema(cls) -> dict:
        return {}

    @staticmethod
    def config_defaults(base_dir: str) -> Mapping[str, ConfigurableClassData | None]:
        return {**InstanceRef.config_defaults(base_dir),
                "storage": ConfigurableClassData(__name__, KeptOpenSqliteStorage.__name__,
                                                 yaml.dump({"base_dir": base_dir}, default_flow_style=False))}
