"""A run launcher that hands each run to a Python process which has already imported the code.

Why: Dagster's default launcher asks the code server to spawn a fresh interpreter per run, and that
interpreter imports Dagster, the definitions and, during the run, Great Expectations and openpyxl before any
work: about 9 CPU seconds on the 2-core development machine, more than the 19 demo files' ingestion and
re-score themselves, for a person watching the report after a drop. This launcher keeps one spare worker
(`worker.py`) that has done those imports and waits on its stdin; a run is the spare's, and a new spare warms
up once no run is working. The run itself executes exactly as `dagster api execute_run` executes it (the same
command, in the warm process), so what the run computes does not change. A worker finding the project's
source changed since it warmed up (an edit, then a reload in the UI) replaces itself with a cold
`dagster api execute_run` first.

A worker that dies without finishing its run (killed, out of memory) gets its run marked failed by a watcher
thread, as the code server does for the default launcher, so `run_retries` re-executes it; the thread ends
when the instance disposes the launcher. The launcher is configured in `dagster.yaml` for the embedded instance
and in `deploy/dagster-postgres.yaml` (one host: the workers are processes of the daemon's machine); it lives
outside `defs/` so the daemon that loads it imports no definitions.

The first spare: Dagster creates a run launcher only when it launches the first run, so without help the first
run after a start paid the imports (9.5 s of the 19 demo files' 24.9 s). `WarmQueuedRunCoordinator` is the
run queue (Dagster's `QueuedRunCoordinator`, unchanged) plus one thing: created in the daemon process, which
every process of an instance creates first thing, it asks the launcher for a spare in the place a run of a
`workspace.yaml` started from the daemon's working directory gets (this interpreter, that directory).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dagster import _check as check
from dagster._core.launcher.base import LaunchRunContext, RunLauncher
from dagster._core.run_coordinator.queued_run_coordinator import QueuedRunCoordinator
from dagster._serdes import ConfigurableClass
from dagster._serdes.config_class import ConfigurableClassData

WORKER_MODULE = "engagement_pipeline.launcher.worker"
PID_TAG = "engagement/worker_pid"
WATCH_SECONDS = 1.0
DAEMON_COMMANDS = ("dagster-daemon", os.path.join("dagster", "_daemon", "__main__.py"))  # how the daemon starts


def run_place(executable: str | None, working_directory: str | None) -> tuple[str, str]:
    """Where a run's worker runs: (interpreter, absolute directory). A code location's working directory is
    often relative (`workspace.yaml`'s `.`): relative to this process's, as for the `cwd` of a subprocess, so a
    spare warmed in the same directory under another spelling is still the run's."""
    return executable or sys.executable, os.path.abspath(working_directory or os.getcwd())


class WarmProcessRunLauncher(RunLauncher, ConfigurableClass):
    """Launches each run in a spare worker process that has already imported the `preload` modules."""

    def __init__(self, inst_data: ConfigurableClassData | None = None, preload: Sequence[str] = ()) -> None:
        self._inst_data = inst_data
        self.preload = list(preload)
        self._lock = threading.Lock()
        self._spare: tuple[tuple[str, str], subprocess.Popen] | None = None
        self._workers: dict[str, subprocess.Popen] = {}
        self._place: tuple[str, str] | None = None  # where the last run's worker ran: the next spare's place
        self._watcher: threading.Thread | None = None
        self._stopping = threading.Event()
        super().__init__()

    @property
    def inst_data(self) -> ConfigurableClassData | None:
        return self._inst_data

    @classmethod
    def config_type(cls) -> dict:
        from dagster import Array, Field

        return {"preload": Field(Array(str), is_required=False, default_value=[],
                                 description="Modules (or module:function) the spare worker imports (calls) "
                                 "before it is given a run.")}

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]
                          ) -> WarmProcessRunLauncher:
        return cls(inst_data=inst_data, preload=config_value.get("preload", []))

    # -- workers ---------------------------------------------------------------------------------------------
    def _spawn(self, place: tuple[str, str]) -> subprocess.Popen:
        executable, cwd = place
        return subprocess.Popen([executable, "-m", WORKER_MODULE, *self.preload], stdin=subprocess.PIPE,
                                cwd=cwd, text=True)

    def _take_worker(self, place: tuple[str, str]) -> subprocess.Popen:
        spare, self._spare = self._spare, None
        if spare is not None:
            spare_place, process = spare
            if spare_place == place and process.poll() is None:
                return process
            self._retire(process)
        return self._spawn(place)

    def _retire(self, process: subprocess.Popen) -> None:
        """A spare that will not be used: closing its stdin ends it (it reads an empty line); the watcher
        reaps it (no run has that id)."""
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        self._workers[f"retired-spare-{process.pid}"] = process

    def warm_up(self, place: tuple[str, str] | None = None) -> None:
        """Starts a spare now (in `place`, by default this interpreter in this directory) unless one is there: the
        first run after a start finds it warm instead of paying the imports."""
        place = place or run_place(None, None)
        with self._lock:
            if self._spare is None and not self._stopping.is_set():
                self._spare = (place, self._spawn(place))
                self._place = place
                self._start_watcher()

    def _start_watcher(self) -> None:
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, name="warm-run-launcher-watch", daemon=True)
            self._watcher.start()

    def launch_run(self, context: LaunchRunContext) -> None:
        from dagster._grpc.types import ExecuteRunArgs
        from dagster._serdes import serialize_value

        run = context.dagster_run
        origin = check.not_none(run.job_code_origin, "WarmProcessRunLauncher needs a run with a code origin")
        pointer = origin.repository_origin.code_pointer
        place = run_place(origin.executable_path, getattr(pointer, "working_directory", None))
        payload = serialize_value(ExecuteRunArgs(job_origin=origin, run_id=run.run_id,
                                                 instance_ref=self._instance.get_ref()))
        with self._lock:
            worker = self._take_worker(place)
            assert worker.stdin is not None
            worker.stdin.write(payload + "\n")
            worker.stdin.close()
            self._workers[run.run_id] = worker
            self._place = place
            self._start_watcher()
        self._instance.add_run_tags(run.run_id, {PID_TAG: str(worker.pid)})

    def _watch(self) -> None:
        """Marks a run failed when its worker ended and the run did not (the code server's job otherwise), and
        starts the next spare once no run is working, so its imports never take CPU from a run."""
        from dagster import DagsterInstance
        from dagster._utils import get_run_crash_explanation

        while not self._stopping.wait(WATCH_SECONDS):
            with self._lock:
                ended = {run_id: p for run_id, p in self._workers.items() if p.poll() is not None}
                for run_id in ended:
                    del self._workers[run_id]
                working = any(not key.startswith("retired-") for key in self._workers)
                if self._spare is None and self._place is not None and not working and not self._stopping.is_set():
                    self._spare = (self._place, self._spawn(self._place))
            if not ended:
                continue
            with DagsterInstance.from_ref(self._instance.get_ref()) as instance:
                for run_id, process in ended.items():
                    run = instance.get_run_by_id(run_id)
                    if run is None or run.is_finished:
                        continue
                    instance.report_engine_event(
                        get_run_crash_explanation(prefix=f"Run execution process for {run_id}",
                                                  exit_code=check.not_none(process.returncode)),
                        run, cls=self.__class__)
                    instance.report_run_failed(run)

    def terminate(self, run_id: str) -> bool:
        """SIGINT to the run's worker (Dagster turns it into a cancelled run), from any process on this host: the
        webserver cancels runs too, and only the daemon holds the worker objects."""
        run = self._instance.get_run_by_id(run_id)
        if not run or run.is_finished or PID_TAG not in run.tags:
            return False
        pid = int(run.tags[PID_TAG])
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            command = b""
        if WORKER_MODULE.encode() not in command and sys.platform.startswith("linux"):
            return False  # the worker is gone and its pid may be someone else's now
        self._instance.report_run_canceling(run)
        try:
            os.kill(pid, signal.SIGINT)
        except ProcessLookupError:
            return False
        return True

    def dispose(self) -> None:
        """Retires the spare and stops the watcher (it must not outlive the instance it reports to). A worker
        still running keeps running; if it dies now, run monitoring fails its run, as with the default
        launcher after the code server's exit."""
        with self._lock:
            self._stopping.set()
            spare, self._spare = self._spare, None
            if spare is not None:
                self._retire(spare[1])
            watcher = self._watcher
        if watcher is not None and watcher is not threading.current_thread():
            watcher.join()


def in_daemon_process(argv: Sequence[str] | None = None) -> bool:
    """Whether this process is `dagster-daemon run` (or `dagster dev`'s `python -m dagster._daemon run`): the
    one process that launches runs, so the one where a spare worker is worth starting."""
    command = (sys.argv if argv is None else argv)[:1]
    return bool(command) and command[0].endswith(DAEMON_COMMANDS)


class WarmQueuedRunCoordinator(QueuedRunCoordinator):
    """Dagster's run queue (`run_queue:` settings, unchanged) that, in the daemon, starts the warm launcher's
    first spare when the daemon starts (it reads the coordinator before its first loop) instead of after the
    first run; and, when `sensor_loop_seconds` is set, has the daemon look at its sensors that often.

    Why the second: Dagster's sensor daemon sleeps a fixed 5 s between loops (`MIN_INTERVAL_LOOP_TIME`, not a
    setting), so a dropped file waited its 2 s settle time plus up to 5 s before a run was even requested: most
    of a one-file drop's wait for the report. The inbox sensors ask for a 1 s interval; a 2 s loop lets them
    have about that. The cost is the idle sensors' evaluations (a directory listing each, and a tick row)
    2.5 times as often."""

    def __init__(self, sensor_loop_seconds: float | None = None, **queue_settings: Any) -> None:
        super().__init__(**queue_settings)
        self._sensor_loop_seconds = sensor_loop_seconds

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        from dagster import Field

        return {**QueuedRunCoordinator.config_type(), "sensor_loop_seconds": Field(
            float, is_required=False,
            description="Seconds between the daemon's looks at its sensors (Dagster's fixed default: 5).")}

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData,
                          config_value: Mapping[str, Any]) -> WarmQueuedRunCoordinator:
        settings = dict(config_value)  # the queue's settings are its constructor's arguments, name for name
        return cls(sensor_loop_seconds=settings.pop("sensor_loop_seconds", None), inst_data=inst_data, **settings)

    def register_instance(self, instance: Any) -> None:
        super().register_instance(instance)
        if in_daemon_process():
            if self._sensor_loop_seconds is not None:
                set_sensor_loop_seconds(self._sensor_loop_seconds)
            try:
                launcher = instance.run_launcher
                if isinstance(launcher, WarmProcessRunLauncher):
                    launcher.warm_up()
            except Exception as err:  # a head start only: the daemon must start, the first run warms itself
                logging.getLogger(__name__).warning(f"Could not start a spare run worker: {err!r}")


def set_sensor_loop_seconds(seconds: float) -> None:
    """The sensor daemon's pause between loops. Dagster reads the module constant on every loop, so setting
    it before the daemon's first loop (the coordinator is created first) takes effect; a Dagster that no longer
    has the constant is told so in the log and keeps its own pace."""
    from dagster._daemon import sensor as sensor_daemon

    if not hasattr(sensor_daemon, "MIN_INTERVAL_LOOP_TIME"):
        logging.getLogger(__name__).warning("This Dagster has no sensor loop constant; sensor_loop_seconds ignored")
        return
    if seconds <= 0:
        raise ValueError(f"sensor_loop_seconds must be positive, got {seconds}")
    sensor_daemon.MIN_INTERVAL_LOOP_TIME = seconds
