"""Each upload's records as the warehouse would read them back, kept by the process that wrote them.

Why: a scoring run stores every new upload's records, then the `attendance` asset reads every accepted
upload's records back (`load_upload_records`); at 100k records that read was a quarter of the warehouse's time,
to get back what the same process had just written.

Why it is safe: every write of an upload's records gives the upload a new random `records_version` in the
same transaction (`store_parsed_upload`), and a kept copy is found only by that version, read from the
`uploads` row in the reading transaction. A copy is therefore used only while the warehouse still holds exactly
the rows it was made from: a concurrent run that re-stores the upload writes a new version, a rolled-back
write leaves a version no row holds, and anything else that changes an upload's records (rejecting or holding
it, a migration) must clear its version. What is kept is what SQLite would give back (`bulk._read_back`);
where that is not certain nothing is kept and the rows are read.

Bounded: at most `MAX_KEPT_BYTES` of arrays, the least recently used upload dropped first, so a long-lived
process (the Dagster daemon, the web app) does not grow with every upload it ever stored. Each column is one
numpy array (`bulk._read_back`): ~170 bytes a record, so a million records fit; the text they point to is
the parsed frames' own while the run holds those. (Lists of Python objects took ~4x that: at 1M records the
old cap of 500k records sent half the uploads back through SQLite, and that read was the run's memory peak.)
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

MAX_KEPT_BYTES = 256 << 20

_kept: OrderedDict[str, tuple[int, dict[str, np.ndarray]]] = OrderedDict()  # version -> (bytes, columns)
_kept_bytes = 0
_lock = threading.Lock()


def keep(version: str, columns: dict[str, np.ndarray]) -> None:
    """Keeps one upload's stored columns (every array the same length) under its `records_version`."""
    global _kept_bytes
    size = sum(values.nbytes for values in columns.values())
    if size > MAX_KEPT_BYTES:
        return
    with _lock:
        if version in _kept:
            _kept_bytes -= _kept.pop(version)[0]
        _kept[version] = (size, columns)
        _kept_bytes += size
        while _kept_bytes > MAX_KEPT_BYTES:
            _kept_bytes -= _kept.popitem(last=False)[1][0]


def recall(version: str | None) -> dict[str, np.ndarray] | None:
    """The columns kept under `version`, or None. The arrays are shared: callers copy, never change them."""
    if version is None:
        return None
    with _lock:
        found = _kept.get(version)
        if found is not None:
            _kept.move_to_end(version)
        return None if found is None else found[1]


def forget_all() -> None:
    """Drops every kept copy (tests; a process that wants its memory back)."""
    global _kept_bytes
    with _lock:
        _kept.clear()
        _kept_bytes = 0
