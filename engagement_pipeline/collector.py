"""`collector_paused`: Python's cyclic garbage collector off while a one-shot process imports its modules.

Why: importing builds hundreds of thousands of long-lived objects (modules, functions, classes, Dagster's and
pandas' tables), and each young collection along the way walks the survivors of the last ones again; none of it
is garbage. `score` imports ~2,700 modules: with the collector at Python's default pace those imports cost ~0.3
CPU s more (of ~2 s). The previous state is restored on leaving, so nesting and callers that had the collector
off (a test runner) are unaffected, and what the imports built is then frozen by the caller (`gc.freeze`).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic collections inside the block (explicit `gc.collect()` still works)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
