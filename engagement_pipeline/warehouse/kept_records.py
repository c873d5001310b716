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

Bounded: at most `MAX_KEPT_BYTES`, the least recently used upload dropped first, so a long-lived process (the
Dagster daemon, the web app) does not grow with every upload it ever stored. Counted: the arrays and the objects
they point to (`held_bytes`), although during a run the text is the parsed frames' own. Each column is one
numpy array (`bulk._read_back`), and a column with one value on every row (an upload's event, file, platform,
the NULL match columns: ~15 of 24) is kept as that value: ~60 bytes a record plus its distinct text (key,
e-mail, name), so a million records fit. (As lists of Python objects, capped at 500k records, half the uploads
of a 1M-record run went back through SQLite, and that read was the run's memory peak.)
"""

from __future__ import annotations

import functools
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from datetime import datetime

import numpy as np

MAX_KEPT_BYTES = 512 << 20
_SAMPLE = 64  # values per object column that `held_bytes` measures


class Columns(Mapping[str, np.ndarray]):
    """One upload's columns, every one `rows` long; one given as a single value is repeated when read."""

    def __init__(self, rows: int, columns: Mapping[str, np.ndarray]) -> None:
        self.rows = rows
        self._columns = dict(columns)  # a one-element array stands for that value on every row

    def __getitem__(self, name: str) -> np.ndarray:
        values = self._columns[name]
        return np.repeat(values, self.rows) if len(values) != self.rows else values

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)

    def held_bytes(self) -> int:
        """What keeping these columns holds: the arrays, and the objects an object array points to, estimated
        from an even sample of its values, each distinct object counted once (a date or role shared by every
        row adds next to nothing, a distinct e-mail per row its full size)."""
        total = 0
        for values in self._columns.values():
            total += values.nbytes
            if values.dtype.kind == "O" and len(values):
                sample = values[_sample_positions(len(values))]
                distinct = {id(value): value for value in sample.tolist() if value is not None}
                total += sum(map(sys.getsizeof, distinct.values())) * len(values) // len(sample)
        return total


@functools.lru_cache(maxsize=256)
def _sample_positions(length: int) -> np.ndarray:
    """`_SAMPLE` evenly spread positions of an array this long (each once): worked out once per length (a run's
    uploads repeat lengths, and this was half of `held_bytes`). Read-only: the cached array is shared."""
    positions = np.unique(np.linspace(0, length - 1, _SAMPLE).astype(np.intp))
    positions.flags.writeable = False
    return positions


def packed(columns: Mapping[str, np.ndarray]) -> Columns:
    """`columns` (every array the same length) with each column of one value kept as that value."""
    rows = len(next(iter(columns.values()), ()))
    return Columns(rows, {name: values[:1].copy() if rows > 1 and _one_value(values) else values
                          for name, values in columns.items()})


def _one_value(values: np.ndarray) -> bool:
    """Every element is the first one: equal and of the same type (None, str and datetime in object arrays,
    where equal means the same value; a NaN float never counts)."""
    first = values[0]
    if values.dtype.kind in "biuf":
        return bool((values == first).all())
    if values.dtype.kind != "O" or not (first is None or first.__class__ in (str, datetime)):
        return False
    # `list.count` compares as `==` does after an identity check, which settles at once the one object an
    # upload's constant column repeats (`bulk._read_back`): elementwise `==` over the arrays was half of `packed`.
    return bool(values[-1] == first) and values.tolist().count(first) == len(values)


_kept: OrderedDict[str, tuple[int, Columns]] = OrderedDict()  # records_version -> (held bytes, columns)
_kept_bytes = 0
_lock = threading.Lock()


def keep(version: str, columns: Mapping[str, np.ndarray]) -> None:
    """Keeps one upload's stored columns (every array the same length) under its `records_version`."""
    global _kept_bytes
    kept = packed(columns)
    size = kept.held_bytes()
    if size > MAX_KEPT_BYTES:
        return
    with _lock:
        if version in _kept:
            _kept_bytes -= _kept.pop(version)[0]
        _kept[version] = (size, kept)
        _kept_bytes += size
        while _kept_bytes > MAX_KEPT_BYTES:
            _kept_bytes -= _kept.popitem(last=False)[1][0]


def recall(version: str | None) -> Columns | None:
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
