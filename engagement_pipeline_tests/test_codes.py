"""The shared integer-code keys: concrete figures, missing codes (-1), empty arrays and codes near int64's edge."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from engagement_pipeline.codes import distinct_rows, first_of_key, pair_key


def test_pair_key_figures_and_missing_codes() -> None:
    """Width max(second) + 2; a missing second code (-1) is 0 after the shift, its own value."""
    assert pair_key(np.array([0, 1, 2]), np.array([-1, 0, 1])).tolist() == [0, 4, 8]  # width 3
    assert pair_key(np.array([0, 0, 1, 1]), np.array([-1, -1, -1, -1])).tolist() == [0, 0, 1, 1]  # width 1
    assert pair_key(np.array([-1, 0]), np.array([2, -1])).tolist() == [-1, 0]  # width 4: -1 * 4 + 3, 0 * 4 + 0


def test_pair_key_is_equal_exactly_where_both_codes_are() -> None:
    """Over every pair of a grid with -1 in both columns (also a negative first code, as the canonical check's
    shifted events are not), and nested for triples as the scoring's (customer, event, person) keys are."""
    grid = np.array(list(itertools.product(range(-1, 4), range(-1, 5))))
    keys = pair_key(grid[:, 0], grid[:, 1])
    assert len(set(keys.tolist())) == len(grid)
    rng = np.random.default_rng(5)
    triples = rng.integers(-1, 3, size=(400, 3))
    nested = pair_key(pair_key(triples[:, 0], triples[:, 1]), triples[:, 2])
    frame = pd.DataFrame(triples)
    assert first_of_key(nested).tolist() == (~frame.duplicated()).tolist()
    assert (~first_of_key(pair_key(triples[:, 0], triples[:, 1]))).tolist() == frame.duplicated([0, 1]).tolist()


def test_pair_key_of_empty_arrays() -> None:
    empty = pair_key(np.array([], dtype=np.int64), np.array([], dtype=np.int64))
    assert empty.dtype == np.int64 and empty.shape == (0,)
    assert first_of_key(empty).dtype == bool and first_of_key(empty).shape == (0,)


def test_pair_key_large_codes_are_exact_int64() -> None:
    """Computed in int64 whatever the inputs' width (int32 codes would wrap at 2**31), exact up to the bound
    |first| * (max(second) + 2) < 2**63: checked against Python's integers."""
    first32, second32 = np.array([70_000, 1], dtype=np.int32), np.array([69_999, 0], dtype=np.int32)
    assert pair_key(first32, second32).tolist() == [70_000 * 70_001 + 70_000, 70_001 + 1]
    first = np.array([3_000_000_000, 3_000_000_000, 0], dtype=np.int64)
    second = np.array([2_999_999_999, -1, 2_999_999_999], dtype=np.int64)
    width = 2_999_999_999 + 2
    expected = [3_000_000_000 * width + 3_000_000_000, 3_000_000_000 * width, 3_000_000_000]
    assert expected[0] < 2**63
    assert pair_key(first, second).tolist() == expected


def test_first_of_key_marks_the_first_of_each_value() -> None:
    assert first_of_key(np.array([5, 3, 5, 3, 7])).tolist() == [True, True, False, False, True]
    assert first_of_key(np.array([-1, -1, 0])).tolist() == [True, False, True]


def test_distinct_rows_figures_missing_and_empty() -> None:
    """Numbers in order of first appearance; None and NaN a value of their own (rows 3 and 4 alike)."""
    names = np.array(["a", "b", "a", None, None], dtype=object)
    values = np.array([1.0, 1.0, 1.0, np.nan, np.nan])
    assert distinct_rows([names, values]).tolist() == [0, 1, 0, 2, 2]
    assert distinct_rows([values, names]).tolist() == [0, 1, 0, 2, 2]
    assert distinct_rows([np.array([2, 2, 1]), np.array([0, 1, 0])]).tolist() == [0, 1, 2]
    assert distinct_rows([np.array([], dtype=float), np.array([], dtype=object)]).tolist() == []
