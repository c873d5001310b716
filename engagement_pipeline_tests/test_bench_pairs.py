"""`make bench --repeat N`: the row shown for a size is the (floor, CLI) pair with the median ratio, because on a
shared machine the floor alone moved 0.53-0.84 s between runs a minute apart (session 12)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_pipeline.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_pipeline_under_test", BENCH)
    assert spec and spec.loader
    module = sys.modules.get(spec.name)
    if module is None:  # registered before it runs: its dataclasses look their module up by name
        module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


def _pair(floor: float, cli: float) -> tuple[dict, dict]:
    return ({"mode": "floor", "total_seconds": floor, "cpu_seconds": floor},
            {"mode": "cli", "files": 151, "total_seconds": cli, "cpu_seconds": cli, "peak_rss_mb": 360.0})


def test_the_row_is_the_pair_with_the_median_ratio_not_the_median_of_each_column() -> None:
    bench = _bench()
    # 22x, 13x, 18x; the columns' own medians (floor 0.55 s, CLI 10.4 s) come from two different runs
    pairs = [_pair(0.50, 11.0), _pair(0.80, 10.4), _pair(0.55, 9.9)]
    chosen = bench.median_pair(pairs)
    assert chosen["floor"]["total_seconds"] == 0.55 and chosen["cli"]["total_seconds"] == 9.9
    assert chosen["pair_ratios"] == [22.0, 13.0, 18.0]
    assert chosen["best_ratio"] == round(9.9 / 0.50, 2)  # the fastest of each side, from different pairs


def test_an_even_count_shows_the_lower_middle_pair_and_a_failed_run_is_left_out() -> None:
    bench = _bench()
    failed = ({"mode": "floor", "total_seconds": 0.5}, {"error": "score exited with 1"})
    pairs = [_pair(0.5, 10.0), failed, _pair(0.5, 9.0), _pair(0.5, 11.0), _pair(0.5, 12.0)]  # 20, -, 18, 22, 24
    chosen = bench.median_pair(pairs)
    assert chosen["cli"]["total_seconds"] == 10.0
    assert chosen["pair_ratios"] == [20.0, None, 18.0, 22.0, 24.0]
    assert chosen["best_ratio"] == 18.0  # the failed CLI run is left out of the fastest CLI


def test_the_summary_lists_every_pair_s_ratio_under_the_table() -> None:
    bench = _bench()
    result = {"records": 100_000, **bench.median_pair([_pair(0.5, 10.0), _pair(0.5, 9.0), _pair(0.5, 11.0)])}
    summary = bench.render_summary([result])
    assert "|    100k |   151 |" in summary and "20x" in summary
    assert summary.endswith("  100k: 20.0x, 18.0x, 22.0x (fastest CLI / fastest floor: 18.0x)")
