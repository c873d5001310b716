"""The trend test's beta-binomial tails and beta quantile are scipy.stats' values, bit for bit, on hostile input
(negative and past-the-end counts, fractional and infinite k, invalid shapes), without importing scipy.stats."""

import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import beta, betabinom

from engagement_pipeline.scoring.betabinom import beta_ppf, betabinom_cdf, betabinom_sf


def _grid(seed: int, size: int = 4000) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    n = rng.integers(0, 250, size)
    n[:20] = -1
    k = rng.integers(-3, 270, size)
    a = rng.uniform(0.01, 60.0, size)
    a[20:30], a[30:35], a[35:40] = 0.0, -1.0, np.nan
    b = rng.uniform(0.01, 60.0, size)
    b[40:50] = 0.0
    return k, n, a, b


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tails_equal_scipy(seed: int) -> None:
    k, n, a, b = _grid(seed)
    k_float = k.astype(float)
    k_float[:10], k_float[10:20], k_float[20:30], k_float[30:120] = np.nan, -np.inf, np.inf, k_float[30:120] + 0.5
    n_float = n.astype(float)
    n_float[60:80] += 0.5  # not a count: invalid
    for kk in (k, k - 1, k_float):
        for nn in (n, n_float):
            assert np.array_equal(betabinom_cdf(kk, nn, a, b), betabinom.cdf(kk, nn, a, b), equal_nan=True)
            assert np.array_equal(betabinom_sf(kk, nn, a, b), betabinom.sf(kk, nn, a, b), equal_nan=True)


def test_small_and_extreme_cases_equal_scipy() -> None:
    cases = [(0, 0, 1.0, 1.0), (0, 1, 1e-6, 1e6), (5, 5, 2.0, 3.0), (399, 400, 50.0, 0.5), (3, 10, 2.0, 3.0)]
    for k, n, a, b in cases:
        assert betabinom_cdf(k, n, a, b)[()] == betabinom.cdf(k, n, a, b)
        assert betabinom_sf(k, n, a, b)[()] == betabinom.sf(k, n, a, b)
    assert betabinom_cdf(np.array([], dtype=int), np.array([], dtype=int), np.array([]), np.array([])).shape == (0,)


@pytest.mark.parametrize("q", [0.0, 0.05, 0.2, 0.5, 0.999, 1.0])
def test_beta_quantile_equals_scipy(q: float) -> None:
    _, _, a, b = _grid(3)
    assert np.array_equal(beta_ppf(q, a, b), beta.ppf(q, a, b), equal_nan=True)


def test_trends_do_not_import_scipy_stats() -> None:
    """scipy.stats is ~1.3 CPU s of import; the trend test must not bring it back."""
    code = ("import sys, pandas as pd\n"
            "from engagement_pipeline.scoring.trends import absence_test\n"
            "absence_test(pd.Series([1, 0]), pd.Series([4, 3]), pd.Series([2, 1]), pd.Series([5, 6]), (1.0, 2.0))\n"
            "print('scipy.stats' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_ufuncs_load_without_scipy_special_init_and_a_later_import_is_whole() -> None:
    """In a fresh interpreter the trend test loads only scipy.special's compiled ufuncs (its `__init__`, ~0.2 CPU s,
    does not run); the values are scipy.stats' all the same, and a later `import scipy.special` (here through
    scipy.stats) gets the real package, sharing the loaded ufunc module."""
    code = (
        "import sys\n"
        "import numpy as np\n"
        "from engagement_pipeline.scoring.betabinom import beta_ppf, betabinom_cdf, betabinom_sf\n"
        "rng = np.random.default_rng(5)\n"
        "n = rng.integers(0, 60, 500); k = rng.integers(-2, 65, 500)\n"
        "a = rng.uniform(0.01, 30.0, 500); b = rng.uniform(0.01, 30.0, 500); a[:5] = 0.0\n"
        "ours = (betabinom_cdf(k, n, a, b), betabinom_sf(k, n, a, b), beta_ppf(0.2, a, b))\n"
        "import scipy\n"
        "print('scipy.special' in sys.modules, 'special' in vars(scipy))\n"
        "from scipy.stats import beta, betabinom\n"
        "import scipy.special\n"
        "ufuncs = sys.modules['scipy.special._ufuncs']\n"
        "print(hasattr(scipy.special, 'gammaln'), scipy.special.betaln is ufuncs.betaln)\n"
        "theirs = (betabinom.cdf(k, n, a, b), betabinom.sf(k, n, a, b), beta.ppf(0.2, a, b))\n"
        "print(all(np.array_equal(x, y, equal_nan=True) for x, y in zip(ours, theirs)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "True", "True", "True"]
