"""The beta-binomial tails and the beta quantile the trend test needs, computed as scipy.stats computes them.

`scipy.stats` costs ~1.3 CPU s to import (it pulls in optimize, integrate, interpolate...), about a tenth of
the engagement side of a 100k run, for three numbers per customer. `betabinom` has no closed-form cdf in
scipy: its `cdf` is the generic `rv_discrete` one, a Python loop that sums `exp(_logpmf(m))` over
m = 0..k for every element, with `scipy.special.betaln`. The functions here do the same arithmetic with the
same ufuncs in the same order (the pmf terms of all elements in one array, then each element's terms summed
by `np.sum` as scipy does) and apply the same edge rules (k < 0, k >= n, invalid shapes), so every value is
bit for bit scipy's; `beta_ppf` is the very ufunc `scipy.stats.beta.ppf` evaluates. Only scipy.special's
compiled ufunc module is loaded, and only when first needed (`_ufuncs`). `test_betabinom.py` compares them
with scipy.stats on hostile grids.
"""

from __future__ import annotations

import importlib
import sys
import threading
import types
from pathlib import Path

import numpy as np

_LOADING = threading.Lock()


def _ufuncs() -> types.ModuleType:
    """`scipy.special._ufuncs`, the compiled module that holds `betaln` (the very object `scipy.special.betaln`
    is) and `beta.ppf`'s `_beta_ppf`, loaded on first use without running `scipy/special/__init__.py`.

    Why: that `__init__` costs ~0.2 CPU s (it imports numpy.f2py and the array-API layer and rewrites every
    function's docstring) against ~0.01 s for the compiled module, and a CLI run needs two of its ufuncs. For
    the load, a bare package object stands in for `scipy.special` (only its `__path__`, so the import system
    finds the extension files); it is removed right after, under the import lock, so any later
    `import scipy.special` runs the real `__init__`, which then reuses the loaded `_ufuncs` module."""
    loaded = sys.modules.get("scipy.special._ufuncs")
    if loaded is not None:
        return loaded
    with _LOADING:
        if "scipy.special" in sys.modules or "scipy.special._ufuncs" in sys.modules:
            return importlib.import_module("scipy.special._ufuncs")
        import _imp

        import scipy

        stand_in = types.ModuleType("scipy.special")
        stand_in.__path__ = [str(Path(scipy.__file__).parent / "special")]
        _imp.acquire_lock()  # no other thread imports while the stand-in is in sys.modules
        try:
            sys.modules["scipy.special"] = stand_in
            return importlib.import_module("scipy.special._ufuncs")
        finally:
            if sys.modules.get("scipy.special") is stand_in:
                del sys.modules["scipy.special"]
            if vars(scipy).get("special") is stand_in:  # (getattr would import it: scipy's lazy __getattr__)
                del scipy.special
            _imp.release_lock()


def _pmf_sums(k: np.ndarray, n: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Σ_{m=0..k} pmf(m; n, a, b) per element, as `rv_discrete._cdf_single` sums it (k integral, >= 0)."""
    betaln = _ufuncs().betaln
    lengths = k.astype(np.int64) + 1  # len(arange(0, k + 1))
    ends = np.cumsum(lengths)
    starts = ends - lengths
    row = np.repeat(np.arange(len(k)), lengths)
    m = np.floor((np.arange(int(ends[-1]) if len(ends) else 0) - starts[row]).astype(np.float64))
    nn, aa, bb = n[row], a[row], b[row]
    combiln = -np.log(nn + 1) - betaln(nn - m + 1, m + 1)
    pmf = np.exp(combiln + betaln(m + aa, nn - m + bb) - betaln(aa, bb))
    return sum_runs(pmf, starts, lengths)


def sum_runs(values: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """`np.sum(values[start:start + length])` per run (lengths >= 1), the same bits, one sum per distinct length.

    The runs of one length are gathered into the rows of a C-ordered matrix and summed along its rows: numpy
    reduces each contiguous row with the same pairwise summation it uses for a 1-D slice of that length. One
    `np.sum` per element was ~5 us each, ~10,000 of them in a 100k-record run's trend test."""
    out = np.empty(len(lengths), dtype=np.float64)
    for length in np.unique(lengths).tolist():
        which = np.flatnonzero(lengths == length)
        out[which] = np.ascontiguousarray(values[starts[which, None] + np.arange(length)]).sum(axis=1)
    return out


def _prepare(k: object, n: object, a: object, b: object) -> tuple[np.ndarray, ...]:
    k, n, a, b = np.broadcast_arrays(*(np.asarray(v) for v in (k, n, a, b)))
    valid = (n >= 0) & (n == np.round(n)) & (a > 0) & (b > 0)  # betabinom._argcheck
    inside = valid & (k >= 0) & (k < n) & np.isfinite(k)
    return k, n, a, b, valid, inside


def betabinom_cdf(k: object, n: object, a: object, b: object) -> np.ndarray:
    """`scipy.stats.betabinom.cdf(k, n, a, b)`: P(X <= k)."""
    k, n, a, b, valid, inside = _prepare(k, n, a, b)
    out = np.zeros(k.shape, dtype=np.float64)
    out[k >= n] = 1.0
    out[np.isneginf(k)] = 0.0
    out[~valid | np.isnan(k)] = np.nan
    if inside.any():
        sums = _pmf_sums(np.floor(k[inside]).astype(np.float64), n[inside], a[inside], b[inside])
        out[inside] = np.clip(sums, 0, 1)
    return out


def betabinom_sf(k: object, n: object, a: object, b: object) -> np.ndarray:
    """`scipy.stats.betabinom.sf(k, n, a, b)`: P(X > k), as scipy has it: 1 − cdf."""
    k, n, a, b, valid, inside = _prepare(k, n, a, b)
    out = np.zeros(k.shape, dtype=np.float64)
    out[~valid | np.isnan(k)] = np.nan
    out[((k < 0) | np.isneginf(k)) & valid] = 1.0
    if inside.any():
        sums = _pmf_sums(np.floor(k[inside]).astype(np.float64), n[inside], a[inside], b[inside])
        out[inside] = np.clip(1.0 - sums, 0, 1)
    return out


def beta_ppf(q: float, a: object, b: object) -> np.ndarray:
    """`scipy.stats.beta.ppf(q, a, b)`: the q-quantile of Beta(a, b) (NaN where a or b is not positive)."""
    q, a, b = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (q, a, b)))
    valid = (a > 0) & (b > 0)
    out = np.full(q.shape, np.nan)
    out[valid & (q == 0)] = 0.0
    out[valid & (q == 1)] = 1.0
    inside = valid & (q > 0) & (q < 1)
    if inside.any():
        out[inside] = _ufuncs()._beta_ppf(q[inside], a[inside], b[inside]) * 1.0 + 0.0
    return out
