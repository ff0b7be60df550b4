"""Reconstruct cell counts from published percentages and p-values.

A paper that prints "75% vs 63%, p = 0.212" without denominators still constrains the counts:
only some pairs ``x1/n1``, ``x2/n2`` round to the printed percentages, and of those only a few give
a two-sided p that rounds to the printed p under a given test. :func:`consistent_counts`
enumerates them all, per test variant, so that a reanalysis can say which counts (and which test)
the authors could have used, and :func:`consistent_single` does the same for one percentage.

Rounding is half-up (as SPSS and most journals print), done in exact integer arithmetic for the
percentages, so that e.g. 5/8 = 62.5% counts as "63%" and not "62%".

Findings for the study (``published-numbers.md``; reproduced by ``tests/test_reconstruct.py``):

- self-harm remission, 75% vs 63%, p = 0.212: 41/55 vs 27/43 is consistent under the unpooled
  Wald z test *and* the logistic Wald test, the only pair consistent under both. With
  denominators up to 96 (Period I) and 89 (Period II) the unpooled Wald test also admits
  24/32 vs 35/56, 24/32 vs 50/79, 40/53 vs 20/32, 41/55 vs 25/40 and 59/79 vs 24/38.
- suicide-attempt remission, 89% vs 87%, p = 0.801: 17/19 vs 13/15 is consistent under the pooled
  z test (= uncorrected Pearson chi-square) and the logistic Wald test. Every unpooled-Wald
  solution needs at least 108 start attempters with end data, while only about 56 patients (30%
  of 185) attempted suicide in the year before start; 17/19 vs 20/23 (unpooled Wald 0.8002)
  rounds to 0.800 and is therefore not a solution.

Examples
--------
>>> sol = consistent_counts(pct1=75, pct2=63, p_value=0.212,
...                         n1_range=range(50, 60), n2_range=range(40, 45))
>>> sol.loc[sol["pair"] == "41/55 vs 27/43", "test"].tolist()
['logistic_wald', 'wald_unpooled']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from mbtbayes.core.errors import SpecError
from mbtbayes.frequentist.proportions import logistic_wald_p_values, wald_p_values

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _yates_p_values(x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray) -> np.ndarray:
    """Vectorised Pearson chi-square with Yates correction for 2x2 tables (as SciPy and R)."""
    a, b, c, d = (np.asarray(v, dtype=float) for v in (x1, n1 - x1, x2, n2 - x2))
    total = a + b + c + d
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    excess = np.maximum(np.abs(a * d - b * c) - total / 2.0, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.where(
            margins > 0, total * excess**2 / np.where(margins > 0, margins, 1.0), np.nan
        )
    return stats.chi2.sf(stat, 1)


TESTS: dict[str, Callable[..., np.ndarray]] = {
    "wald_unpooled": lambda x1, n1, x2, n2: wald_p_values(x1, n1, x2, n2, pooled=False),
    "wald_pooled": lambda x1, n1, x2, n2: wald_p_values(x1, n1, x2, n2, pooled=True),
    "logistic_wald": logistic_wald_p_values,
    "chi_square_yates": _yates_p_values,
}
"""Test variants known to :func:`consistent_counts`, name -> vectorised two-sided p-value.

``wald_unpooled``: z test with unpooled SE; ``wald_pooled``: z test with pooled SE, identical to
the Pearson chi-square without continuity correction; ``logistic_wald``: Wald test of the group
coefficient of a logistic regression; ``chi_square_yates``: Pearson chi-square with Yates
correction.
"""


def _check_tests(tests: Sequence[str]) -> None:
    unknown = [t for t in tests if t not in TESTS]
    if unknown:
        raise SpecError(f"Unknown test variant(s) {unknown}; choose from {sorted(TESTS)}.")


def _check_decimals(value: float, decimals: int, *, what: str) -> None:
    if decimals < 0 or abs(round(value, decimals) - value) > 1e-12:
        raise SpecError(
            f"{what} = {value} has more decimals than {what}_decimals = {decimals}; "
            "pass the value exactly as printed and the number of decimals it was printed with."
        )


def _candidates(pct: float, n_range: Iterable[int], *, decimals: int) -> tuple[np.ndarray, ...]:
    """All (x, n) with n in n_range whose percentage 100 x / n rounds half-up to pct."""
    _check_decimals(pct, decimals, what="pct")
    ns = np.array(sorted({int(n) for n in n_range if int(n) >= 1}), dtype=np.int64)
    if ns.size == 0:
        raise SpecError("The denominator range holds no positive integer.")
    scale = 10**decimals
    target = round(pct * scale)  # pct in units of 10^-decimals percent
    nn = np.repeat(ns, ns + 1)
    xx = np.concatenate([np.arange(n + 1) for n in ns])
    # half-up: target - 1/2 <= 100 * scale * x / n < target + 1/2, in integers
    lhs = 200 * scale * xx
    keep = (lhs >= (2 * target - 1) * nn) & (lhs < (2 * target + 1) * nn)
    return xx[keep], nn[keep]


def consistent_single(*, pct: float, n_range: Iterable[int], pct_decimals: int = 0) -> pd.DataFrame:
    """Every count ``x/n`` whose percentage rounds to a reported value.

    Parameters
    ----------
    pct : float
        Reported percentage, e.g. ``23``.
    n_range : iterable of int
        Denominators to try, e.g. ``range(1, 97)``.
    pct_decimals : int, default 0
        Decimals the percentage was printed with.

    Returns
    -------
    pandas.DataFrame
        Columns ``x``, ``n``, ``pct_exact``; one row per count, ordered by ``n``.

    Examples
    --------
    >>> consistent_single(pct=23, n_range=[61, 96]).values.round(2).tolist()
    [[14.0, 61.0, 22.95], [22.0, 96.0, 22.92]]
    """
    x, n = _candidates(pct, n_range, decimals=pct_decimals)
    return pd.DataFrame({"x": x, "n": n, "pct_exact": 100.0 * x / n})


def _pairs(
    pct1: float, pct2: float, n1_range: Iterable[int], n2_range: Iterable[int], decimals: int
) -> Arrays:
    x1, n1 = _candidates(pct1, n1_range, decimals=decimals)
    x2, n2 = _candidates(pct2, n2_range, decimals=decimals)
    i, j = np.meshgrid(np.arange(x1.size), np.arange(x2.size), indexing="ij")
    i, j = i.ravel(), j.ravel()
    return x1[i], n1[i], x2[j], n2[j]


def _matches(p: np.ndarray, target: float, decimals: int) -> np.ndarray:
    half = 0.5 * 10.0**-decimals
    return np.isfinite(p) & (p >= target - half) & (p < target + half)


def consistent_counts(
    *,
    pct1: float,
    pct2: float,
    p_value: float,
    n1_range: Iterable[int],
    n2_range: Iterable[int],
    tests: Sequence[str] = ("wald_unpooled", "wald_pooled", "logistic_wald"),
    pct_decimals: int = 0,
    p_decimals: int = 3,
) -> pd.DataFrame:
    """Every pair of counts consistent with two reported percentages and a reported p-value.

    Parameters
    ----------
    pct1, pct2 : float
        Reported percentages of group 1 (reference, Period I) and group 2.
    p_value : float
        Reported two-sided p-value.
    n1_range, n2_range : iterable of int
        Denominators to try for each group, e.g. ``range(1, 97)``; not an inclusive (lo, hi)
        pair.
    tests : sequence of str, default ("wald_unpooled", "wald_pooled", "logistic_wald")
        Test variants to try; any of :data:`TESTS` (also ``"chi_square_yates"``).
    pct_decimals : int, default 0
        Decimals the percentages were printed with.
    p_decimals : int, default 3
        Decimals the p-value was printed with.

    Returns
    -------
    pandas.DataFrame
        One row per solution x test variant: ``x1``, ``n1``, ``pct1_exact``, ``x2``, ``n2``,
        ``pct2_exact``, ``pooled_pct``, ``test``, ``p_value`` (exact, unrounded) and ``pair``
        (e.g. ``"41/55 vs 27/43"``); ordered by ``n1``, ``n2``, ``x1``, ``x2``, ``test``.
        Empty (same columns) when nothing is consistent.

    Raises
    ------
    SpecError
        An unknown test name or an empty denominator range.

    Examples
    --------
    >>> sol = consistent_counts(pct1=89, pct2=87, p_value=0.801, n1_range=range(15, 25),
    ...                         n2_range=range(10, 20), tests=("wald_pooled",))
    >>> sol["pair"].tolist()
    ['17/19 vs 13/15']
    """
    _check_tests(tests)
    _check_decimals(p_value, p_decimals, what="p")
    x1, n1, x2, n2 = _pairs(pct1, pct2, n1_range, n2_range, pct_decimals)
    frames = [
        _solutions(name, (x1, n1, x2, n2), TESTS[name](x1, n1, x2, n2), p_value, p_decimals)
        for name in tests
    ]
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["n1", "n2", "x1", "x2", "test"], ignore_index=True)


def _solutions(
    name: str, arrays: Arrays, p: np.ndarray, target: float, decimals: int
) -> pd.DataFrame:
    keep = _matches(p, target, decimals)
    x1, n1, x2, n2 = (a[keep] for a in arrays)
    return pd.DataFrame(
        {
            "x1": x1,
            "n1": n1,
            "pct1_exact": 100.0 * x1 / n1,
            "x2": x2,
            "n2": n2,
            "pct2_exact": 100.0 * x2 / n2,
            "pooled_pct": 100.0 * (x1 + x2) / (n1 + n2),
            "test": name,
            "p_value": p[keep],
            "pair": [f"{a}/{b} vs {c}/{d}" for a, b, c, d in zip(x1, n1, x2, n2, strict=True)],
        }
    )
