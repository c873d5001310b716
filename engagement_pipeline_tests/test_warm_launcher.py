"""The warm run launcher (`engagement_pipeline.launcher`, configured in dagster.yaml): a run handed to a spare
worker completes as Dagster's own run worker would complete it, the next spare waits warmed up once the run
ended, a worker killed mid-run gets its run marked failed (so run_retries can re-execute it), and a preload
that fails does not take the worker down."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from engagement_pipeline.launcher import (
    PID_TAG,
    WarmProcessRunLauncher,
    WarmQueuedRunCoordinator,
    in_daemon_process,
    run_place,
)
from engagement_pipeline.launcher.worker import preload

REPO = Path(__file__).resolve().parent.parent
MARKER_ENV = "WARM_LAUNCHER_TEST_MARKER"


@dg.op
def write_marker() -> None:
    Path(os.environ[MARKER_ENV]).write_text(str(os.getpid()))


@dg.op
def wait_a_while() -> None:
    time.sleep(120)


@dg.job(executor_def=dg.in_process_executor)
def marker_job() -> None:
    write_marker()


@dg.job(executor_def=dg.in_process_executor)
def slow_job() -> None:
    wait_a_while()


def _launch(instance: dg.DagsterInstance, launcher: WarmProcessRunLauncher, job: dg.JobDefinition) -> str:
    from dagster._core.launcher.base import LaunchRunContext

    recon = dg.reconstructable(marker_job if job is marker_job else slow_job)
    run = instance.create_run_for_job(job_def=job, job_code_origin=recon.get_python_origin(),
                                      status=dg.DagsterRunStatus.STARTING)
    launcher.launch_run(LaunchRunContext(dagster_run=run, workspace=None))
    return run.run_id


def _wait(predicate, timeout: float, what: str):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(MARKER_ENV, str(tmp_path / "marker.txt"))
    monkeypatch.chdir(REPO)
    (tmp_path / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as test_instance:
        yield test_instance


@pytest.mark.slow  # starts worker processes
def test_a_run_in_a_spare_worker_succeeds_and_the_next_spare_waits_after_it(instance: dg.DagsterInstance,
                                                                           tmp_path: Path) -> None:
    launcher = WarmProcessRunLauncher(preload=["engagement_pipeline.launcher.worker"])
    launcher.register_instance(instance)
    try:
        launcher.warm_up()  # what the daemon's run queue asks for when the daemon starts
        first_spare = launcher._spare[1]
        run_id = _launch(instance, launcher, marker_job)
        run = _wait(lambda: (r := instance.get_run_by_id(run_id)) and r.is_finished and r, 120, "the run to end")
        assert run.status == dg.DagsterRunStatus.SUCCESS
        worker_pid = int(run.tags[PID_TAG])
        assert worker_pid == first_spare.pid  # the first run took the spare started before it
        assert (tmp_path / "marker.txt").read_text() == str(worker_pid)  # the op ran in the launched worker
        spare = _wait(lambda: launcher._spare, 60, "the next spare worker")[1]
        assert spare.pid != worker_pid and spare.poll() is None
    finally:
        launcher.dispose()
    assert _wait(lambda: spare.poll() is not None, 180, "the retired spare to exit") and spare.returncode == 0


@pytest.mark.slow  # starts worker processes
def test_a_worker_killed_mid_run_gets_its_run_marked_failed(instance: dg.DagsterInstance) -> None:
    launcher = WarmProcessRunLauncher()
    launcher.register_instance(instance)
    try:
        run_id = _launch(instance, launcher, slow_job)
        _wait(lambda: instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.STARTED, 120, "the run to start")
        os.kill(int(instance.get_run_by_id(run_id).tags[PID_TAG]), signal.SIGKILL)
        run = _wait(lambda: (r := instance.get_run_by_id(run_id)) and r.is_finished and r, 30, "the run to be failed")
        assert run.status == dg.DagsterRunStatus.FAILURE
        messages = [e.message for e in instance.all_logs(run_id)]
        assert any("was terminated by signal 9 (SIGKILL)" in m for m in messages), messages
    finally:
        launcher.dispose()
    # The watcher reports to this instance: it ends with the launcher, not after the instance's folder is gone.
    assert launcher._watcher is not None and not launcher._watcher.is_alive()


def test_the_run_queue_starts_the_first_spare_in_the_daemon_only(instance: dg.DagsterInstance,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    launcher = WarmProcessRunLauncher(preload=["engagement_pipeline.launcher.worker"])
    launcher.register_instance(instance)
    monkeypatch.setattr(instance, "_run_launcher", launcher)
    monkeypatch.setattr(sys, "argv", [os.path.join(sys.prefix, "bin", "dagster-webserver")])
    WarmQueuedRunCoordinator().register_instance(instance)
    assert launcher._spare is None  # the webserver reads the queue too, and launches nothing
    monkeypatch.setattr(sys, "argv", [os.path.join(sys.prefix, "bin", "dagster-daemon"), "run"])
    try:
        WarmQueuedRunCoordinator().register_instance(instance)
        assert launcher._spare is not None
        # `workspace.yaml`'s working directory is `.`: the spare's place is the one a run from here gets.
        assert launcher._spare[0] == run_place(sys.executable, ".") == run_place(None, str(REPO))
    finally:
        launcher.dispose()


def test_only_the_daemon_process_counts_as_the_daemon() -> None:
    assert in_daemon_process(["/opt/engagement/.venv/bin/dagster-daemon", "run"])
    assert in_daemon_process([os.path.join(sys.prefix, "lib", "dagster", "_daemon", "__main__.py"), "run"])
    assert not in_daemon_process([os.path.join(sys.prefix, "bin", "dagster-webserver")])
    assert not in_daemon_process([os.path.join(sys.prefix, "lib", "dagster", "__main__.py"), "code-server"])
    assert not in_daemon_process([])


@pytest.mark.slow  # starts worker processes
def test_a_preload_that_fails_is_reported_and_the_worker_still_takes_a_run() -> None:
    done = subprocess.run([sys.executable, "-m", "engagement_pipeline.launcher.worker", "no_such_module_here"],
                          input="", capture_output=True, text=True, cwd=REPO, timeout=120, check=False)
    assert done.returncode == 0  # an empty line: the launcher no longer needs this spare
    assert "preloading no_such_module_here failed" in done.stderr


@pytest.mark.slow  # starts worker processes
def test_a_dagster_home_that_cannot_be_loaded_costs_the_head_start_not_the_worker(tmp_path: Path) -> None:
    """A fresh clone has no .dagster_home yet: warming is skipped with a reason, the worker still answers."""
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "missing")}
    done = subprocess.run([sys.executable, "-m", "engagement_pipeline.launcher.worker"], input="", env=env,
                          capture_output=True, text=True, cwd=REPO, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "warming the Dagster instance failed: DagsterInvariantViolationError" in done.stderr


def test_preload_calls_the_attribute_path_after_the_colon(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(sys.modules[__name__], "_recorded", lambda: calls.append("called"), raising=False)
    preload(f"{__name__}:_recorded")
    assert calls == ["called"]


def test_the_repos_run_queue_has_the_daemon_look_at_its_sensors_every_two_seconds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster._daemon import sensor as sensor_daemon

    monkeypatch.setattr(sensor_daemon, "MIN_INTERVAL_LOOP_TIME", 5)  # Dagster's own; restored after the test
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(REPO / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setattr(sys, "argv", [os.path.join(sys.prefix, "bin", "dagster-webserver")])
    with dg.DagsterInstance.from_config(str(home)) as instance:
        coordinator = instance.run_coordinator
        assert isinstance(coordinator, WarmQueuedRunCoordinator)
        assert coordinator.get_run_queue_config().max_concurrent_runs == 1  # the queue's own settings still apply
        assert sensor_daemon.MIN_INTERVAL_LOOP_TIME == 5  # the webserver runs no sensors: nothing changed there
    queue = WarmQueuedRunCoordinator.from_config_value(None, {"max_concurrent_runs": 1, "sensor_loop_seconds": 2.0})
    monkeypatch.setattr(sys, "argv", [os.path.join(sys.prefix, "bin", "dagster-daemon"), "run"])
    with dg.instance_for_test() as instance:
        queue.register_instance(instance)
        assert sensor_daemon.MIN_INTERVAL_LOOP_TIME == 2.0
        with pytest.raises(ValueError, match="must be positive"):
            WarmQueuedRunCoordinator(sensor_loop_seconds=0).register_instance(instance)


def test_the_postgres_deploy_asks_for_the_same_sensor_loop() -> None:
    deploy = (REPO / "deploy" / "dagster-postgres.yaml").read_text()
    assert "class: WarmQueuedRunCoordinator" in deploy and "sensor_loop_seconds: 2" in deploy
