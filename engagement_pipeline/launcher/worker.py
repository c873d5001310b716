"""The spare run worker of `WarmProcessRunLauncher`: imports first, then runs the one run it is handed.

`python -m engagement_pipeline.launcher.worker MODULE [MODULE:FUNCTION ...]` imports each module (and calls the
function, for imports that need a setting first), then reads one line from stdin: the serialized
`ExecuteRunArgs` of a run. An empty line (the launcher closed the pipe, e.g. the daemon stopped) ends it. The
run is executed by `dagster api execute_run`, the command Dagster's own run workers run, in this process.
If a source file of a preloaded project package changed since the imports, the process replaces itself with
a cold `dagster api execute_run`, so a run never executes code older than its files.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys


def preload(spec: str) -> None:
    """Imports `module`, or imports it and calls `module:attribute.path`. A failure is printed, not raised: the
    run imports what it needs itself and reports a real error the Dagster way."""
    module, _, function = spec.partition(":")
    try:
        target: object = importlib.import_module(module)
        for attribute in filter(None, function.split(".")):
            target = getattr(target, attribute)
        if function:
            target()  # type: ignore[operator]
    except Exception as err:
        print(f"warm run worker: preloading {spec} failed: {err!r}", file=sys.stderr)


def source_fingerprint(packages: set[str]) -> dict[str, int]:
    """Modification times of the loaded modules' files in `packages` (the project's own code)."""
    found = {}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and name.split(".")[0] in packages:
            try:
                found[path] = os.stat(path).st_mtime_ns
            except OSError:
                found[path] = -1
    return found


def warm_dagster() -> None:
    """What `dagster api execute_run` does before the run on any instance: its CLI modules, and the instance's
    storage classes (a throwaway instance of DAGSTER_HOME's config)."""
    import dagster._cli  # noqa: F401

    if os.environ.get("DAGSTER_HOME"):
        from dagster import DagsterInstance

        try:
            with DagsterInstance.get():
                pass
        except Exception as err:  # warming is only a head start: the run itself reports a broken instance
            print(f"warming the Dagster instance failed: {type(err).__name__}: {err}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    specs = sys.argv[1:] if argv is None else argv
    for spec in specs:
        preload(spec)
    warm_dagster()
    # What the imports built lives until the process ends: out of the collector's way, so the run's collections
    # do not walk it again and again and the exit's does not either (as `score` does, see cli/commands.py).
    gc.freeze()
    packages = {spec.split(".")[0].split(":")[0] for spec in specs}
    packages = {p for p in packages if "site-packages" not in (getattr(sys.modules.get(p), "__file__", "") or "")}
    warmed = source_fingerprint(packages)
    line = sys.stdin.readline().strip()
    if not line:
        return 0
    command = ["dagster", "api", "execute_run", line]
    if source_fingerprint(packages) != warmed:
        os.execv(sys.executable, [sys.executable, "-m", "dagster", *command[1:]])
    from dagster._cli import main as dagster_main

    sys.argv = command
    dagster_main()  # exits with the run's exit code
    return 0


if __name__ == "__main__":
    sys.exit(main())
