"""Classical tests for proportions, each naming the exact variant it computes.

The paper (Kvarstein et al. 2025) reports McNemar tests for start-end change, a "Wald test" for
end-point proportions of two independent groups and chi-square tests for other categorical data,
computed in SPSS 29 without saying which variant. This module computes each variant explicitly, so
that a reanalysis can state which one reproduces a published p-value.

Every test returns a frozen :class:`ProportionTestResult` (``statistic``, ``p_value``, ``method``,
...) whose :meth:`~ProportionTestResult.to_frame` gives a tidy one-row DataFrame.

Which variant reproduces the paper's p-values
---------------------------------------------
With the cell counts reconstructed in ``published-numbers.md`` (derived, not published):

- self-harm remission, 41/55 (Period I) vs 27/43 (Period II), published p = 0.212: the unpooled
  Wald z test (0.2123) and the logistic-regression Wald test (0.2123) reproduce it to three
  decimals; the pooled (score) z test, identical to the uncorrected Pearson chi-square, gives
  0.2102 and does not.
- suicide-attempt remission, 17/19 vs 13/15, published p = 0.801: the pooled z test (uncorrected
  Pearson chi-square, 0.8009) and the logistic Wald test (0.8013) reproduce it; the unpooled Wald
  z test gives 0.8030 and does not.

So, with these counts, only the logistic-regression Wald test reproduces both published values;
the tests in ``tests/test_proportions.py`` assert exactly this. The counts themselves are a
reconstruction (see :mod:`mbtbayes.study.reconstruct`), so this is consistency, not proof.

Group order: ``x1/n1`` is the reference group (Period I), ``x2/n2`` the comparison group (Period
II); signed statistics are for group 2 minus group 1, as the paper's Δ(II-I).

Examples
--------
>>> res = wald_two_proportions(41, 55, 27, 43)
>>> round(res.p_value, 4)
0.2123
>>> res.to_frame().columns.tolist()[:3]
['method', 'statistic_name', 'statistic']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from mbtbayes.core.errors import DataError

MCNEMAR_EXACT_BELOW: int = 25
"""SPSS NPAR TESTS rule: exact binomial McNemar when fewer than this many pairs are discordant."""


@dataclass(frozen=True)
class ProportionTestResult:
    """Result of one test for proportions.

    Attributes
    ----------
    method : str
        The exact variant computed, e.g. ``"Wald z test, unpooled SE"``.
    statistic_name : str
        ``"z"``, ``"chi2"``, ``"b"`` (exact McNemar: count of one discordant cell) or
        ``"odds_ratio"`` (Fisher).
    statistic : float
        Value of the statistic (signed for ``z``: group 2 minus group 1).
    df : float or None
        Degrees of freedom for chi-square statistics, else None.
    p_value : float
        Two-sided p-value.
    estimate : float or None
        Effect estimate where one is natural (difference in proportions, log odds ratio,
        sample odds ratio), else None.
    """

    method: str
    statistic_name: str
    statistic: float
    df: float | None
    p_value: float
    estimate: float | None = None

    def to_frame(self) -> pd.DataFrame:
        """One-row tidy DataFrame of the result.

        Examples
        --------
        >>> fisher_exact([[3, 1], [1, 3]]).to_frame().shape
        (1, 6)
        """
        return pd.DataFrame([asdict(self)])


# --------------------------------------------------------------------------- validation


def check_counts(x: int, n: int, *, label: str) -> None:
    """DataError unless ``0 <= x <= n``, ``n >= 1`` and both are whole numbers."""
    if int(x) != x or int(n) != n:
        raise DataError(f"{label}: counts must be whole numbers, got x={x}, n={n}.")
    if n < 1 or x < 0 or x > n:
        raise DataError(f"{label}: need 0 <= x <= n and n >= 1, got x={x}, n={n}.")


def _as_table(table: Sequence[Sequence[float]] | np.ndarray, *, square2: bool) -> np.ndarray:
    arr = np.asarray(table, dtype=float)
    if arr.ndim != 2 or (square2 and arr.shape != (2, 2)):
        raise DataError(
            f"Expected a {'2x2' if square2 else 'two-way'} table, got shape {arr.shape}."
        )
    if np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise DataError("Table cells must be non-negative whole numbers.")
    return arr


# --------------------------------------------------------------------------- McNemar


def mcnemar(
    table_or_b: Sequence[Sequence[float]] | np.ndarray | int,
    c: int | None = None,
    /,
    *,
    exact: bool | None = None,
    correction: bool = True,
) -> ProportionTestResult:
    """McNemar test for paired binary data (start vs end in the same patients).

    Parameters
    ----------
    table_or_b : 2x2 array_like or int
        Either the paired table ``[[yes_yes, yes_no], [no_yes, no_no]]`` (rows: first occasion,
        columns: second occasion), or the discordant count ``b`` (yes -> no) with ``c`` given.
    c : int, optional
        The other discordant count (no -> yes), when ``table_or_b`` is ``b``.
    exact : bool or None, default None
        ``True``: exact binomial test of ``b ~ Binomial(b + c, 1/2)``, two-sided (equal to R's
        ``binom.test(b, b + c)``). ``False``: chi-square with 1 df. ``None``: choose as SPSS
        ``NPAR TESTS /MCNEMAR`` does, exact when fewer than 25 pairs are discordant
        (``b + c < 25``), else chi-square.
    correction : bool, default True
        Continuity (Edwards) correction of the chi-square, ``(|b - c| - 1)^2 / (b + c)``; this is
        what SPSS reports when it does not use the binomial, and R's ``mcnemar.test`` default.
        ``False`` gives ``(b - c)^2 / (b + c)``. Ignored by the exact test.

    Returns
    -------
    ProportionTestResult
        ``method`` names the variant actually used.

    Notes
    -----
    IBM's ``NPAR TESTS`` reference (MCNEMAR subcommand) says: "If fewer than 25 cases change
    values from the first variable to the second variable, the binomial distribution is used to
    compute the probability." Otherwise SPSS prints a chi-square, and it is the
    continuity-corrected one, ``(|b - c| - 1)^2 / (b + c)``, with no option to switch the
    correction off (how2stats, "Two Proportions Test (Related) - SPSS", whose macro exists to add
    the uncorrected statistic). ``exact=None`` applies that rule. Published SPSS ``CROSSTABS``
    McNemar output with few discordant pairs shows the binomial p too (5 vs 3 discordant pairs:
    .727, where the corrected chi-square would give .724; 15 vs 2: .002, not .004); whether
    CROSSTABS switches at 25 as well was not checked (``exact=True`` forces the binomial).

    Examples
    --------
    >>> mcnemar(3, 12).method
    'McNemar exact binomial (two-sided, b ~ Binomial(b + c, 1/2))'
    >>> round(mcnemar(10, 30).p_value, 5)
    0.00266
    """
    b, c = _discordant(table_or_b, c)
    n_disc = b + c
    if exact is None:
        exact = n_disc < MCNEMAR_EXACT_BELOW
    if exact:
        p = 1.0 if n_disc == 0 else stats.binomtest(b, n_disc, 0.5).pvalue
        return ProportionTestResult(
            method="McNemar exact binomial (two-sided, b ~ Binomial(b + c, 1/2))",
            statistic_name="b",
            statistic=float(b),
            df=None,
            p_value=float(p),
        )
    return _mcnemar_chi2(b, c, correction=correction)


def _discordant(
    table_or_b: Sequence[Sequence[float]] | np.ndarray | int, c: int | None
) -> tuple[int, int]:
    if c is None:
        arr = _as_table(table_or_b, square2=True)  # type: ignore[arg-type]
        return int(arr[0, 1]), int(arr[1, 0])
    b = table_or_b
    if not np.isscalar(b) or int(b) != b or int(c) != c or b < 0 or c < 0:  # type: ignore[operator]
        raise DataError(f"Discordant counts must be non-negative whole numbers, got b={b}, c={c}.")
    return int(b), int(c)  # type: ignore[arg-type]


def _mcnemar_chi2(b: int, c: int, *, correction: bool) -> ProportionTestResult:
    n_disc = b + c
    if n_disc == 0:
        raise DataError("McNemar chi-square is undefined with no discordant pairs; use exact=True.")
    diff = abs(b - c)
    num = max(diff - 1, 0) ** 2 if correction else diff**2
    stat = num / n_disc
    method = (
        "McNemar chi-square with continuity correction, (|b - c| - 1)^2 / (b + c), df = 1"
        if correction
        else "McNemar chi-square without continuity correction, (b - c)^2 / (b + c), df = 1"
    )
    return ProportionTestResult(
        method=method,
        statistic_name="chi2",
        statistic=float(stat),
        df=1.0,
        p_value=float(stats.chi2.sf(stat, 1)),
    )


# --------------------------------------------------------------------------- two independent groups


def wald_p_values(
    x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray, *, pooled: bool = False
) -> np.ndarray:
    """Vectorised two-sided p-values of the two-proportion z test (no validation).

    Parameters
    ----------
    x1, n1, x2, n2 : numpy.ndarray
        Counts and denominators, broadcastable.
    pooled : bool, default False
        Pooled SE (score test) instead of the unpooled (Wald) SE.

    Returns
    -------
    numpy.ndarray
        p-values; NaN where the SE is zero.

    Examples
    --------
    >>> float(wald_p_values(np.array(41), np.array(55), np.array(27), np.array(43)).round(4))
    0.2123
    """
    z = _z_two_proportions(x1, n1, x2, n2, pooled=pooled)
    return 2.0 * stats.norm.sf(np.abs(z))


def _z_two_proportions(
    x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray, *, pooled: bool
) -> np.ndarray:
    x1, n1, x2, n2 = (np.asarray(a, dtype=float) for a in (x1, n1, x2, n2))
    p1, p2 = x1 / n1, x2 / n2
    if pooled:
        pp = (x1 + x2) / (n1 + n2)
        var = pp * (1.0 - pp) * (1.0 / n1 + 1.0 / n2)
    else:
        var = unpooled_variance(x1, n1, x2, n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(var > 0, (p2 - p1) / np.sqrt(np.where(var > 0, var, 1.0)), np.nan)


def unpooled_variance(x1: int | np.ndarray, n1: int | np.ndarray, x2: int | np.ndarray,
                      n2: int | np.ndarray) -> np.ndarray:
    """Wald variance of ``x2/n2 - x1/n1``: ``p1 (1 - p1) / n1 + p2 (1 - p2) / n2``.

    Examples
    --------
    >>> float(unpooled_variance(1, 2, 1, 4))
    0.171875
    """
    x1, n1, x2, n2 = (np.asarray(a, dtype=float) for a in (x1, n1, x2, n2))
    p1, p2 = x1 / n1, x2 / n2
    return p1 * (1.0 - p1) / n1 + p2 * (1.0 - p2) / n2


def wald_two_proportions(
    x1: int, n1: int, x2: int, n2: int, *, pooled: bool = False
) -> ProportionTestResult:
    """z test for the difference of two independent proportions.

    Parameters
    ----------
    x1, n1 : int
        Events and size of group 1 (reference, e.g. Period I).
    x2, n2 : int
        Events and size of group 2 (e.g. Period II).
    pooled : bool, default False
        ``False``: Wald test, SE from the separate proportions,
        ``sqrt(p1 (1 - p1) / n1 + p2 (1 - p2) / n2)``. ``True``: score test, SE from the pooled
        proportion under H0; its ``z**2`` equals the Pearson chi-square without continuity
        correction (R ``prop.test(correct = FALSE)``).

    Returns
    -------
    ProportionTestResult
        ``statistic`` is z for ``p2 - p1``; ``estimate`` is ``p2 - p1``.

    Raises
    ------
    DataError
        Invalid counts, or a zero SE (both proportions 0 or 1) that leaves z undefined.

    Examples
    --------
    >>> round(wald_two_proportions(41, 55, 27, 43).p_value, 4)
    0.2123
    >>> round(wald_two_proportions(17, 19, 13, 15, pooled=True).p_value, 4)
    0.8009
    """
    check_counts(x1, n1, label="group 1")
    check_counts(x2, n2, label="group 2")
    z = float(_z_two_proportions(x1, n1, x2, n2, pooled=pooled))
    if np.isnan(z):
        raise DataError(
            "The z test is undefined: its standard error is 0 (proportions at 0 or 1); "
            "use fisher_exact instead."
        )
    method = (
        "score z test, pooled SE (= Pearson chi-square without continuity correction)"
        if pooled
        else "Wald z test, unpooled SE"
    )
    return ProportionTestResult(
        method=method,
        statistic_name="z",
        statistic=z,
        df=None,
        p_value=float(2.0 * stats.norm.sf(abs(z))),
        estimate=x2 / n2 - x1 / n1,
    )


def logistic_wald_p_values(
    x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray
) -> np.ndarray:
    """Vectorised p-values of the logistic-regression Wald test, in closed form (no validation).

    With one binary predictor the logistic model is saturated, so the MLE of the group
    coefficient is the log odds ratio and its SE is ``sqrt(1/a + 1/b + 1/c + 1/d)`` over the four
    cells: the same numbers as the fitted GLM (checked in the tests against statsmodels and R).

    Parameters
    ----------
    x1, n1, x2, n2 : numpy.ndarray
        Counts and denominators, broadcastable.

    Returns
    -------
    numpy.ndarray
        p-values; NaN where a cell is 0 (MLE infinite).

    Examples
    --------
    >>> x1, n1, x2, n2 = np.array([[17, 41], [19, 55], [13, 27], [15, 43]])
    >>> logistic_wald_p_values(x1, n1, x2, n2).round(4).tolist()
    [0.8013, 0.2123]
    """
    z = _logistic_z(x1, n1, x2, n2)
    return 2.0 * stats.norm.sf(np.abs(z))


def _logistic_z(x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray) -> np.ndarray:
    x1, n1, x2, n2 = (np.asarray(a, dtype=float) for a in (x1, n1, x2, n2))
    cells = np.stack(np.broadcast_arrays(x1, n1 - x1, x2, n2 - x2))
    ok = np.all(cells > 0, axis=0)
    safe = np.where(ok, cells, 1.0)
    log_or = np.log(safe[2] / safe[3]) - np.log(safe[0] / safe[1])
    se = np.sqrt(np.sum(1.0 / safe, axis=0))
    return np.where(ok, log_or / se, np.nan)


def logistic_wald(x1: int, n1: int, x2: int, n2: int) -> ProportionTestResult:
    """Wald test of the group coefficient in a binomial logistic regression.

    Fits ``logit(p) = b0 + b1 * group`` (group 1 = reference) with statsmodels
    ``GLM(family=Binomial())`` and tests ``b1 = 0`` by ``z = b1 / se(b1)``, as SPSS ``LOGISTIC
    REGRESSION`` reports it (its Wald chi-square is ``z**2``) and R ``summary(glm(...))``.

    Parameters
    ----------
    x1, n1 : int
        Events and size of group 1 (reference).
    x2, n2 : int
        Events and size of group 2.

    Returns
    -------
    ProportionTestResult
        ``statistic`` is z; ``estimate`` is ``b1``, the log odds ratio of group 2 vs group 1.

    Raises
    ------
    DataError
        Invalid counts, or a zero cell (the MLE is infinite and the Wald test meaningless).

    Examples
    --------
    >>> round(logistic_wald(41, 55, 27, 43).p_value, 4)
    0.2123
    """
    check_counts(x1, n1, label="group 1")
    check_counts(x2, n2, label="group 2")
    if min(x1, n1 - x1, x2, n2 - x2) == 0:
        raise DataError(
            "Logistic Wald test is undefined with a zero cell (infinite MLE); use fisher_exact."
        )
    b1, se = _glm_group_coefficient(x1, n1, x2, n2)
    z = b1 / se
    return ProportionTestResult(
        method="logistic regression Wald z test of the group coefficient (binomial GLM, logit)",
        statistic_name="z",
        statistic=z,
        df=None,
        p_value=float(2.0 * stats.norm.sf(abs(z))),
        estimate=b1,
    )


def _glm_group_coefficient(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    from statsmodels.genmod.families import Binomial
    from statsmodels.genmod.generalized_linear_model import GLM

    # One row per (group, outcome) cell, weighted by its count: the patient-level likelihood
    # without the zero residual df that a two-row grouped fit would have.
    endog = np.array([1.0, 0.0, 1.0, 0.0])
    exog = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 1.0], [1.0, 1.0]])
    weights = np.array([x1, n1 - x1, x2, n2 - x2], dtype=float)
    fit = GLM(endog, exog, family=Binomial(), freq_weights=weights).fit(tol=1e-13)
    return float(fit.params[1]), float(fit.bse[1])


# --------------------------------------------------------------------------- contingency tables


def chi_square(
    table: Sequence[Sequence[float]] | np.ndarray, *, correction: bool = False
) -> ProportionTestResult:
    """Pearson chi-square test of independence in a two-way table (SciPy).

    Parameters
    ----------
    table : array_like
        Two-way table of counts.
    correction : bool, default False
        Yates continuity correction; applied only when df = 1 (a 2x2 table), as in SciPy and R.

    Returns
    -------
    ProportionTestResult

    Examples
    --------
    >>> round(chi_square([[17, 2], [13, 2]]).p_value, 4)
    0.8009
    """
    arr = _as_table(table, square2=False)
    res = stats.chi2_contingency(arr, correction=correction)
    dof = float(res.dof)
    corrected = correction and dof == 1
    method = "Pearson chi-square" + (
        " with Yates continuity correction" if corrected else " without continuity correction"
    )
    return ProportionTestResult(
        method=f"{method}, df = {int(dof)}",
        statistic_name="chi2",
        statistic=float(res.statistic),
        df=dof,
        p_value=float(res.pvalue),
    )


def fisher_exact(
    table: Sequence[Sequence[float]] | np.ndarray, *, alternative: str = "two-sided"
) -> ProportionTestResult:
    """Fisher's exact test for a 2x2 table (SciPy).

    Parameters
    ----------
    table : 2x2 array_like
        Table of counts.
    alternative : {"two-sided", "less", "greater"}, default "two-sided"

    Returns
    -------
    ProportionTestResult
        ``statistic`` and ``estimate`` are the *sample* odds ratio ``(a d) / (b c)``; R's
        ``fisher.test`` reports the conditional MLE instead, so only the p-values agree.

    Examples
    --------
    >>> round(fisher_exact([[41, 14], [27, 16]]).p_value, 3)
    0.27
    """
    arr = _as_table(table, square2=True)
    res = stats.fisher_exact(arr, alternative=alternative)
    odds = float(res.statistic)
    return ProportionTestResult(
        method=f"Fisher exact test ({alternative}), sample odds ratio",
        statistic_name="odds_ratio",
        statistic=odds,
        df=None,
        p_value=float(res.pvalue),
        estimate=odds,
    )


def fisher_exact_rx2(table: Sequence[Sequence[float]] | np.ndarray) -> ProportionTestResult:
    """Fisher's exact test of an r x 2 table (r levels by two groups), as R's ``fisher.test``.

    Every table with the observed margins is enumerated; its probability under independence is
    ``prod_i C(r_i, a_i) / C(N, c_1)`` (``a_i`` the first group's count of level ``i``); the
    p-value sums the tables no more probable than the observed one (relative tolerance 1e-7,
    as R). A 2 x 2 table gives the same p-value as :func:`fisher_exact`.

    Parameters
    ----------
    table : array_like, shape (r, 2)
        Counts of each level (rows) in each group (columns).

    Returns
    -------
    ProportionTestResult
        ``statistic`` is the observed table's probability.

    Examples
    --------
    >>> round(fisher_exact_rx2([[92, 78], [4, 11], [0, 2]]).p_value, 4)
    0.0283
    """
    arr = np.asarray(table, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 2:
        raise DataError(f"fisher_exact_rx2 needs an r x 2 table with r >= 2, got shape "
                        f"{arr.shape}")
    if (arr < 0).any() or not np.allclose(arr, np.round(arr)):
        raise DataError("a table of counts holds non-negative whole numbers")
    counts = np.round(arr).astype(int)
    rows, first = counts.sum(axis=1), int(counts[:, 0].sum())
    log_p = _rx2_log_probabilities(rows, first)
    observed = float(sum(_log_choose(r, a) for r, a in zip(rows, counts[:, 0], strict=True))
                     - _log_choose(int(rows.sum()), first))
    probs = np.exp(log_p)
    p_value = float(min(1.0, probs[log_p <= observed + np.log1p(1e-7)].sum()))
    return ProportionTestResult(method=f"Fisher exact test, {len(rows)} x 2 table",
                                statistic_name="p_table", statistic=float(np.exp(observed)),
                                df=None, p_value=p_value)


def _log_choose(n: int, k: int) -> float:
    from scipy.special import gammaln

    return float(gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1))


def _rx2_log_probabilities(rows: np.ndarray, first: int) -> np.ndarray:
    """Log probabilities of every r x 2 table with row sums ``rows`` and first-column sum
    ``first`` (hypergeometric), by enumeration of the first column."""
    total = _log_choose(int(rows.sum()), first)
    out: list[float] = []

    def walk(i: int, left: int, acc: float) -> None:
        if i == len(rows) - 1:
            if 0 <= left <= rows[i]:
                out.append(acc + _log_choose(int(rows[i]), left) - total)
            return
        for a in range(max(0, left - int(rows[i + 1:].sum())), min(int(rows[i]), left) + 1):
            walk(i + 1, left - a, acc + _log_choose(int(rows[i]), a))

    walk(0, first, 0.0)
    return np.array(out)
