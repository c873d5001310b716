"""`imports_frozen`: Python's cyclic garbage collector kept off the modules a process imports.

Why: importing builds hundreds of thousands of long-lived objects (modules, functions, classes, Dagster's and
pandas' tables), none of them garbage. With the collector on, each young collection during the imports walks
the newest of them and the older generations' collections walk them again; with it merely paused, the first
collection after the pause walks everything the imports built. So the block runs with the collector off and
ends with `gc.freeze()`: what exists then is moved out of the collector's sight for good (a process's modules
live until it exits anyway). `score` imports ~2,700 modules: ~0.3 CPU s of collections (of ~2 s of imports)
on main. The collector's previous state is restored, so nesting and a caller that had it off are unaffected.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def imports_frozen() -> Iterator[None]:
    """No automatic collection inside the block; on leaving it, every object alive is frozen (`gc.freeze`)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
