"""Integer codes of several columns combined into one number per row, so rows compare without their texts.

Why a module of its own: ingest (the canonical check, the per-attendee merge), matching and scoring each
turn factorised columns into one key per row the same way, for `duplicated`/`drop_duplicates` on numbers
instead of text. Kept here, beside none of them, so ingest and matching need not import scoring (the wrong
direction) and the encoding, its offset for a missing code and its overflow bound are written once. Plain
numpy and pandas; no Dagster.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def pair_key(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """One int64 per row that is equal exactly where both integer arrays are.

    `second` holds codes >= -1 (-1: missing, as `pd.factorize` gives it), shifted by one so a missing code is
    a value of its own; `first` may be any integers (also -1 or a previous pair key): with the width
    max(second) + 2 the key first * width + (second + 1) is one-to-one. Exact while
    |first| * (max(second) + 2) stays below 2**63, i.e. for row-count-sized codes."""
    first = np.asarray(first, dtype=np.int64)
    second = np.asarray(second, dtype=np.int64)
    return first * (int(second.max(initial=-1)) + 2) + (second + 1)


def first_of_key(key: np.ndarray) -> np.ndarray:
    """Whether each row is the first with its key: what `drop_duplicates` keeps of the columns it encodes."""
    return ~pd.Series(key).duplicated().to_numpy()


def distinct_rows(columns: Sequence[np.ndarray]) -> np.ndarray:
    """Per row, the number of its distinct combination of the columns' values, in order of first appearance:
    `DataFrame(columns).groupby(all columns, sort=False, dropna=False).ngroup()`, which factorises each column
    and numbers the combinations of the codes; done here on the codes directly (the groupby's own machinery
    was a tenth of the trend test, called 17 times on 3,000 rows). Missing values form a group of their own.

    The combination numbers are renumbered after each column (< the row count), so the intermediate key
    group * (distinct values + 1) + code stays far below 2**63."""
    group = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:
        codes, uniques = pd.factorize(column, use_na_sentinel=False)
        group = pd.factorize(group * (len(uniques) + 1) + codes)[0]
    return group
