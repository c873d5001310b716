"""Wall time and peak memory of the capped, streaming XLSX read versus pandas reading the same workbook.

Why this exists: issue 10 found a 41 MB workbook (inside the zip-bomb limits) still being read after 400 s at
540 MB and climbing. The reader now streams the sheet (openpyxl read_only) and checks rows, cells per row,
cell length and wall time while reading. This builds one large workbook and reads it in a fresh child process
per method, so each peak RSS (`ru_maxrss`) is that method's own:

- `read_table` with the default limits (the workbook is within the row and cell limits; on a loaded machine
  the default 120 s wall-time limit may stop it);
- `read_table` without the wall-time limit (`full`): the whole streaming read, to compare with pandas;
- `read_table` capped at `--cap` rows (rejected as soon as the cap is passed: what a hostile file costs);
- `read_table` with a wall-time limit of `--seconds` (rejected when the time runs out);
- `pandas.read_excel(engine="openpyxl")`, the usual way to read a workbook, for comparison.

    .venv/bin/python benchmarks/bench_capped_xlsx.py                  # 150k rows x 12 columns
    .venv/bin/python benchmarks/bench_capped_xlsx.py --rows 50000 --cap 10000 --seconds 2

A table, not a timed test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COLUMNS = ["Attended", "First Name", "Last Name", "Email", "Registration Time", "Approval Status", "Join Time",
           "Leave Time", "Time in Session (minutes)", "Country/Region Name", "Organization", "Job Title"]


def build(path: Path, rows: int) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Attendees")
    sheet.append(COLUMNS)
    for i in range(rows):
        sheet.append(["Yes", f"First{i}", f"Last{i}", f"person{i}@company{i % 997}.com", "Mar 27, 2026 07:31:48",
                      "approved", "Mar 28, 2026 09:20:36", "Mar 28, 2026 09:57:38", 30 + i % 60, "Norway",
                      f"Company {i % 997} AS", "Data Engineer"])
    workbook.save(path)


def measure(method: str, path: Path, cap: int, seconds: float) -> dict[str, object]:
    """Runs in the child: one read, its wall time, rows and outcome; peak RSS is read by the parent."""
    from engagement_pipeline.ingest.reader import ReadLimits, read_table
    from engagement_pipeline.ingest.result import RejectedFile

    start = time.perf_counter()
    outcome, rows = "read", 0
    try:
        if method == "pandas":
            import pandas as pd

            rows = len(pd.read_excel(path, engine="openpyxl", header=None, dtype=str))
        else:
            limits = {"capped": ReadLimits(), "full": ReadLimits(max_seconds=float("inf")),
                      "row-cap": ReadLimits(max_rows=cap),
                      "time-cap": ReadLimits(max_seconds=seconds)}[method]
            rows = len(read_table(path, limits=limits).rows)
    except RejectedFile as err:
        outcome = f"rejected: {err.reason}"
    return {"method": method, "seconds": time.perf_counter() - start, "rows": rows, "outcome": outcome,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=150_000)
    parser.add_argument("--cap", type=int, default=25_000, help="the row cap of the row-cap run")
    parser.add_argument("--seconds", type=float, default=3.0, help="the wall-time limit of the time-cap run")
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], Path(args.child[1]), args.cap, args.seconds)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "large.xlsx"
        started = time.perf_counter()
        build(path, args.rows)
        print(f"workbook: {args.rows} rows x {len(COLUMNS)} columns, {path.stat().st_size / 1_048_576:.1f} MB "
              f"(built in {time.perf_counter() - started:.1f} s)")
        print(f"{'method':<10} {'seconds':>8} {'peak MB':>8} {'rows':>8}  outcome")
        for method in ("capped", "full", "row-cap", "time-cap", "pandas"):
            child = subprocess.run(
                [sys.executable, __file__, "--cap", str(args.cap), "--seconds", str(args.seconds), "--child",
                 method, str(path)], capture_output=True, text=True, check=True)
            result = json.loads(child.stdout.strip().splitlines()[-1])
            print(f"{result['method']:<10} {result['seconds']:>8.1f} {result['peak_mb']:>8.0f} {result['rows']:>8}  "
                  f"{result['outcome']}")


if __name__ == "__main__":
    main()
