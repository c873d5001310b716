"""`make bench-drop`: how long a person waits, in the running product, from dropping exports into the inbox to
the report being rewritten.

Why this exists: issue 11 measured 140 s from dropping the 19 demo exports to `engagement_report` being
materialised (one run per file, then a re-score, each run seconds of process start and queueing for under a
second of work). The targets are 15 s for the 19 files dropped at once and 8 s for one file, on the 2-core
development machine. `make bench` times the domain functions and the CLI; this times the product as `make run`
starts it: `dagster dev -w workspace.yaml` (webserver, daemon with the inbox sensor and the run queue, and the
code server), on a fresh Dagster home, data folder and SQLite warehouse.

The scenarios run one after the other on the same product, the way a person meets them after `make run`:
- `19 files at once`: every export `engagement-pipeline demo` writes, copied beside the inbox, then renamed into
  it one after the other (a file manager dropping a selection): the product's first run since it started;
- `1 file`: then one more export, of an event the batch did not have (from the demo world of another seed).
Before each drop the bench waits until the product is idle (started up, the previous run ended and the spare
run worker of `engagement_pipeline.launcher` warmed up), as a product that has been up a while. The daemon
starts the first spare when it starts (`WarmQueuedRunCoordinator`), so the first drop finds one too.
The clock starts when the last file lands in the inbox and stops at the timestamp of the next
`engagement_report` materialisation in the instance's event log. The copies keep the time they were copied
as their mtime, so the inbox's settle delay (2 s: a file must stop changing before it is read) is part of the
figure, as it is for a person. The split comes from the instance's own run records: until the ingestion run
was created (settle delay, sensor interval, sensor tick), until it started (the queue, the run worker's process
start and the code location's import), and the run itself until the report was written.

    .venv/bin/python benchmarks/bench_drop.py                 # both scenarios, once each
    .venv/bin/python benchmarks/bench_drop.py --repeat 3 --scenarios batch
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TARGETS = {"batch": 15.0, "single": 8.0}  # seconds, issue 11
LABELS = {"batch": "19 files at once", "single": "1 file"}
REPORT_ASSET = "engagement_report"
INGEST_JOB = "ingest_upload_job"
DEMO_ANCHOR = date(2026, 11, 2)  # the tests' demo date: the same files every time


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def code_location_import_seconds(tries: int = 3) -> float:
    """Best wall time of `import engagement_pipeline.defs` in a fresh interpreter: what every run worker (and
    the code server) pays before a run can start, minus the interpreter's own start (`python -c pass`)."""

    def best(code: str) -> float:
        times = []
        for _ in range(tries):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, env=_clean_env())
            times.append(time.perf_counter() - started)
        return min(times)

    return best("import engagement_pipeline.defs") - best("pass")


def spare_worker_cpu(pgid: int) -> dict[int, int]:
    """CPU ticks of each spare run worker of the product (`engagement_pipeline.launcher.worker` processes)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[2]) == pgid and b"engagement_pipeline.launcher.worker" in command:
            found[int(stat.parent.name)] = sum(int(x) for x in fields[11:13])
    return found


def group_cpu_seconds(pgid: int) -> float:
    """CPU seconds (user + system) spent so far by every process of the product's process group, including
    finished children its processes have waited for (a run worker's time lands in its parent's when it ends).
    Unlike wall time, this hardly moves with the rest of the machine's load."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the name: state, ppid, pgrp, ... utime at index 11
            total += sum(int(x) for x in fields[11:15])
    return total / tick


def wait_until_idle(pgid: int, expect_spare: bool, busy: float = 0.3, window: float = 3.0,
                    timeout: float = 300) -> float:
    """Waits until the product uses less than `busy` CPU seconds per second over `window` seconds and, after a
    run, its spare run worker has stopped using CPU (warmed up, waiting for a run): a product that has been up a
    while. The CPU rate alone is not enough on a loaded machine, where a starved process uses little CPU while
    it still has work. Returns the seconds waited."""
    started = time.perf_counter()
    before, spares = group_cpu_seconds(pgid), spare_worker_cpu(pgid)
    while time.perf_counter() - started < timeout:
        time.sleep(window)
        now, spares_now = group_cpu_seconds(pgid), spare_worker_cpu(pgid)
        spare_ready = any(spares.get(pid) == ticks for pid, ticks in spares_now.items())
        if (now - before) / window < busy and (spare_ready or not expect_spare):
            break
        before, spares = now, spares_now
    return time.perf_counter() - started


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("ENGAGEMENT_", "DAGSTER_"))}


@dataclass
class Product:
    """One `dagster dev` on its own Dagster home, data folder and SQLite warehouse (in its own process group)."""

    root: Path
    demo: Path
    process: subprocess.Popen | None = None
    port: int = 0

    @property
    def home(self) -> Path:
        return self.root / "dagster_home"

    @property
    def data(self) -> Path:
        return self.root / "data"

    def start(self, timeout: float = 180) -> float:
        from engagement_pipeline.cli import install_instance_config

        for folder in ("crm", "events"):
            shutil.copytree(self.demo / folder, self.data / folder)
        (self.data / "inbox").mkdir()
        install_instance_config(self.home, use_postgres=False)
        env = _clean_env()
        env.update(DAGSTER_HOME=str(self.home), ENGAGEMENT_DATA_DIR=str(self.data),
                   ENGAGEMENT_DB_URL=f"sqlite:///{self.data / 'warehouse.sqlite'}")
        self.port = _free_port()
        started = time.perf_counter()
        with (self.root / "dagster.log").open("w") as out:
            self.process = subprocess.Popen(
                [str(BIN / "dagster"), "dev", "-w", "workspace.yaml", "-p", str(self.port), "-h", "127.0.0.1"],
                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
            )
        deadline = time.time() + timeout
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/server_info", timeout=5).read()
                break
            except OSError:
                if self.process.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"dagster dev did not come up:\n{self.log_tail()}") from None
                time.sleep(0.5)
        return time.perf_counter() - started

    def log_tail(self, chars: int = 3000) -> str:
        path = self.root / "dagster.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop(self) -> None:
        """SIGTERM to `dagster dev` first (it stops its services in order), then the group, SIGKILL last."""
        process, self.process = self.process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=25)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            time.sleep(2)
        process.wait(timeout=10)


@contextlib.contextmanager
def instance_at(home: Path) -> Iterator[Any]:
    """The product's Dagster instance, read from this process (SQLite readers do not block its writers)."""
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(home))
    try:
        yield instance
    finally:
        instance.dispose()


def drop(files: list[Path], inbox: Path, staging: Path) -> float:
    """Copies beside the inbox, then renames into it (atomic each); returns when the last one landed."""
    staging.mkdir(parents=True, exist_ok=True)
    staged = []
    for source in files:
        target = staging / source.name
        shutil.copyfile(source, target)
        staged.append(target)
    for path in staged:
        os.replace(path, inbox / path.name)
    return time.time()


def wait_for_report(instance: Any, after: float, timeout: float) -> float:
    """The timestamp of the first `engagement_report` materialisation after `after` (epoch seconds)."""
    import dagster as dg

    key = dg.AssetKey(REPORT_ASSET)
    deadline = time.time() + timeout
    while time.time() < deadline:
        event = instance.get_latest_materialization_event(key)
        if event is not None and event.timestamp > after:
            return event.timestamp
        failed = instance.get_run_records(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]), limit=1)
        if failed:
            raise RuntimeError(f"run {failed[0].dagster_run.run_id} failed")
        time.sleep(0.25)
    raise TimeoutError(f"no {REPORT_ASSET} materialisation within {timeout:.0f} s")


def measure_drop(product: Product, scenario: str, files: list[Path], timeout: float) -> dict[str, Any]:
    """Drops `files` into the running product's inbox and times until the report is rewritten."""
    import dagster as dg

    assert product.process is not None
    load_before = load()
    with instance_at(product.home) as instance:
        earlier = len(instance.get_run_records())
        cpu_before = group_cpu_seconds(product.process.pid)
        dropped = drop(files, product.data / "inbox", product.data / "staging")
        log(f"{LABELS[scenario]}: dropped {len(files)} file(s); waiting for {REPORT_ASSET}")
        reported = wait_for_report(instance, dropped, timeout)
        cpu = group_cpu_seconds(product.process.pid) - cpu_before
        runs = [r for r in instance.get_run_records() if r.create_timestamp.timestamp() >= dropped - 1]
        ingest = [r for r in runs if r.dagster_run.job_name == INGEST_JOB]
        first = min(ingest, key=lambda r: r.create_timestamp) if ingest else None
        created = first.create_timestamp.timestamp() if first else None
        started = first.start_time if first else None
    return {
        "scenario": scenario, "files": len(files), "runs": len(runs), "runs_before": earlier,
        "total": reported - dropped, "cpu": cpu,
        "until_run_created": created - dropped if created else None,
        "queue_and_launch": started - created if started and created else None,
        "run_until_report": reported - started if started else None,
        "load_before": load_before, "load_after": load(), "dagster": dg.__version__,
    }


def scenario_files(scenario: str, demo: Path, other_demo: Path) -> list[Path]:
    """The batch: every demo export. One file: an export of another demo world (seed 8: an event the first
    demo does not have, attendees the CRM partly knows), so on a product that took the batch it is new work."""
    if scenario == "batch":
        return sorted(p for p in (demo / "inbox").iterdir() if p.is_file())
    taken = {p.name for p in (demo / "inbox").iterdir()}
    return [sorted(p for p in (other_demo / "inbox").iterdir() if p.is_file() and p.name not in taken)[0]]


def measure(scenarios: list[str], demo: Path, other_demo: Path, root: Path, timeout: float) -> list[dict[str, Any]]:
    """One fresh product; the scenarios dropped one after the other, each once the previous report is written."""
    product = Product(root, demo)
    results = []
    try:
        log(f"starting dagster dev in {root}")
        startup = product.start()
        assert product.process is not None
        for scenario in scenarios:
            idle = wait_until_idle(product.process.pid, expect_spare=True)
            log(f"product idle after {idle:.0f} s")
            results.append({**measure_drop(product, scenario, scenario_files(scenario, demo, other_demo), timeout),
                            "startup_seconds": startup})
            log(f"{LABELS[scenario]}: {results[-1]['total']:.2f} s")
    except Exception:
        log(f"dagster dev log tail:\n{product.log_tail()}")
        raise
    finally:
        product.stop()
    return results


def render(results: list[dict[str, Any]], import_seconds: float) -> str:
    header = ["scenario", "runs before", "files", "runs", "drop -> report (s)", "target (s)", "product CPU (s)",
              "until run created", "queue + launch", "run -> report", "load before", "load after"]
    rows = [header]
    for r in results:
        def secs(v: float | None) -> str:
            return "-" if v is None else f"{v:.2f}"

        rows.append([LABELS[r["scenario"]], str(r["runs_before"]), str(r["files"]), str(r["runs"]), secs(r["total"]),
                     f"{TARGETS[r['scenario']]:.0f}", secs(r["cpu"]), secs(r["until_run_created"]),
                     secs(r["queue_and_launch"]), secs(r["run_until_report"]), r["load_before"], r["load_after"]])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines.append("")
    lines.append("product CPU: CPU seconds every process of `dagster dev` spent from the drop to the report "
                 "(webserver, daemon, code server, run worker); on a quiet machine the wall time approaches it plus "
                 "the waits.")
    lines.append(f"Code location import (`import engagement_pipeline.defs`, fresh interpreter, best of 3, interpreter "
                 f"start subtracted): {import_seconds:.2f} s")
    verdicts = []
    for r in results:
        verdicts.append(f"{LABELS[r['scenario']]}: {'PASS' if r['total'] <= TARGETS[r['scenario']] else 'FAIL'} "
                        f"({r['total']:.1f} s, target {TARGETS[r['scenario']]:.0f} s)")
    lines.append("; ".join(verdicts))
    lines.append(f"Dagster {results[0]['dagster'] if results else '?'}, {os.cpu_count()} CPUs, load average now "
                 f"{load()} (`uptime`; other work on the machine stretches every figure).")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default="batch,single", help="batch, single or both (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=1, help="fresh products per scenario (default: 1)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for the report")
    parser.add_argument("--keep", action="store_true", help="keep the products' folders (logs, instance)")
    args = parser.parse_args(argv)
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(scenarios) - set(TARGETS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")

    from engagement_pipeline.demo import generate_demo

    base = Path(tempfile.mkdtemp(prefix="bench_drop_"))
    try:
        generate_demo(base / "demo", anchor=DEMO_ANCHOR)
        generate_demo(base / "other_demo", anchor=DEMO_ANCHOR, seed=8)
        log("timing the code location's import")
        import_seconds = code_location_import_seconds()
        results = []
        for i in range(args.repeat):
            results += measure(scenarios, base / "demo", base / "other_demo", base / f"product_{i}", args.timeout)
        print(render(results, import_seconds))
    finally:
        if args.keep:
            log(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
