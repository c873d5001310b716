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

Bounded: at most `MAX_KEPT_RECORDS` records, the least recently used dropped first, so a long-lived process
(the Dagster daemon, the web app) does not grow with every upload it ever stored.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

MAX_KEPT_RECORDS = 500_000

_kept: OrderedDict[str, tuple[int, dict[str, list[Any]]]] = OrderedDict()  # version -> (rows, columns)
_kept_rows = 0
_lock = threading.Lock()


def keep(version: str, columns: dict[str, list[Any]]) -> None:
    """Keeps one upload's stored columns (every column the same length) under its `records_version`."""
    global _kept_rows
    rows = len(next(iter(columns.values()), []))
    if rows > MAX_KEPT_RECORDS:
        return
    with _lock:
        if version in _kept:
            _kept_rows -= _kept.pop(version)[0]
        _kept[version] = (rows, columns)
        _kept_rows += rows
        while _kept_rows > MAX_KEPT_RECORDS:
            _kept_rows -= _kept.popitem(last=False)[1][0]


def recall(version: str | None) -> dict[str, list[Any]] | None:
    """The columns kept under `version`, or None. The lists are shared: callers copy, never change them."""
    if version is None:
        return None
    with _lock:
        found = _kept.get(version)
        if found is not None:
            _kept.move_to_end(version)
        return None if found is None else found[1]


def forget_all() -> None:
    """Drops every kept copy (tests; a process that wants its memory back)."""
    global _kept_rows
    with _lock:
        _kept.clear()
        _kept_rows = 0
