"""Equivalence testing: two one-sided tests (TOST) against a region of practical equivalence.

The frequentist counterpart of "the HDI lies inside the ROPE". With equivalence margins
``(low, high)``, the TOST rejects both ``H0: theta <= low`` and ``H0: theta >= high`` at level
alpha; its p-value is the larger of the two one-sided p-values, and it concludes equivalence
exactly when the ``1 - 2 alpha`` confidence interval (90% at alpha = 0.05) lies inside the
margins (Schuirmann 1987). All tests here are Wald-type: an estimate, its standard error, and
the normal distribution (or Student's t with ``df``).

Examples
--------
>>> res = tost(0.01, 0.02, margin=0.05)
>>> round(res.p_value, 4), res.equivalent
(0.0228, True)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from mbtbayes.core.decisions import ALPHA
from mbtbayes.core.errors import DataError, SpecError
from mbtbayes.frequentist.proportions import check_counts, unpooled_variance


@dataclass(frozen=True)
class TostResult:
    """Result of a TOST.

    Attributes
    ----------
    estimate, se : float
        The estimate and its standard error.
    low, high : float
        Equivalence margins.
    p_lower, p_upper : float
        One-sided p-values of ``H0: theta <= low`` and ``H0: theta >= high``.
    p_value : float
        ``max(p_lower, p_upper)``.
    ci_low, ci_high : float
        The ``1 - 2 alpha`` confidence interval.
    ci_prob : float
        Its probability (0.9 at alpha = 0.05).
    equivalent : bool
        ``p_value < alpha``, the same as the interval lying inside ``(low, high)``.
    method : str
    """

    estimate: float
    se: float
    low: float
    high: float
    p_lower: float
    p_upper: float
    p_value: float
    ci_low: float
    ci_high: float
    ci_prob: float
    equivalent: bool
    method: str

    @property
    def decidable(self) -> bool:
        """Could the test conclude equivalence at this SE: is the ``1 - 2 alpha`` interval no
        wider than the margins? When it is wider, no estimate shows equivalence.

        Examples
        --------
        >>> tost(0.0, 0.01, margin=0.05).decidable, tost(0.0, 0.04, margin=0.05).decidable
        (True, False)
        """
        return bool(self.ci_high - self.ci_low <= self.high - self.low)

    def to_frame(self) -> pd.DataFrame:
        """One-row tidy DataFrame of the result.

        Examples
        --------
        >>> tost(0.0, 1.0, margin=3.0).to_frame().shape
        (1, 12)
        """
        return pd.DataFrame([asdict(self)])


def _margins(margin: float | tuple[float, float]) -> tuple[float, float]:
    low, high = (-float(margin), float(margin)) if np.ndim(margin) == 0 else map(float, margin)
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise SpecError(f"equivalence margins must be finite with low < high, got {margin!r}; "
                        "give a positive half-width or a pair (low, high)")
    return low, high


def tost(
    estimate: float,
    se: float,
    *,
    margin: float | tuple[float, float],
    alpha: float = ALPHA,
    df: float | None = None,
    method: str = "Wald TOST",
) -> TostResult:
    """Two one-sided tests of an estimate with a known standard error.

    Parameters
    ----------
    estimate, se : float
        Point estimate and its standard error (> 0).
    margin : float or (float, float)
        Half-width ``h`` of a symmetric region ``(-h, h)``, or the pair ``(low, high)``.
    alpha : float, default 0.05
        Level of each one-sided test.
    df : float, optional
        Degrees of freedom: Student's t instead of the normal distribution.
    method : str
        Copied to the result, naming where the estimate and SE come from.

    Returns
    -------
    TostResult

    Raises
    ------
    DataError
        A missing estimate or a standard error that is not positive.
    SpecError
        Invalid margins or alpha.

    Examples
    --------
    >>> res = tost(0.02, 0.01, margin=0.05)
    >>> round(res.ci_low, 4), round(res.ci_high, 4), res.equivalent
    (0.0036, 0.0364, True)
    """
    low, high = _margins(margin)
    if not 0.0 < alpha < 0.5:
        raise SpecError(f"alpha must lie in (0, 0.5), got {alpha!r}")
    estimate, se = float(estimate), float(se)
    if not (np.isfinite(estimate) and np.isfinite(se) and se > 0):
        raise DataError(f"a TOST needs a finite estimate and a positive standard error, got "
                        f"estimate={estimate!r}, se={se!r}")
    dist = stats.norm if df is None else stats.t(df)
    p_lower = float(dist.sf((estimate - low) / se))
    p_upper = float(dist.cdf((estimate - high) / se))
    q = float(dist.ppf(1.0 - alpha))
    p_value = max(p_lower, p_upper)
    return TostResult(estimate=estimate, se=se, low=low, high=high, p_lower=p_lower,
                      p_upper=p_upper, p_value=p_value, ci_low=estimate - q * se,
                      ci_high=estimate + q * se, ci_prob=1.0 - 2.0 * alpha,
                      equivalent=bool(p_value < alpha), method=method)


def tost_two_proportions(
    x1: int, n1: int, x2: int, n2: int, *, margin: float | tuple[float, float],
    alpha: float = ALPHA,
) -> TostResult:
    """TOST of the difference ``x2/n2 - x1/n1`` of two independent proportions (Wald, unpooled).

    Group 1 is the reference (Period I), so the difference is II - I as elsewhere.

    Examples
    --------
    >>> round(tost_two_proportions(5, 96, 9, 89, margin=0.05).p_value, 3)
    0.49
    """
    check_counts(x1, n1, label="group 1")
    check_counts(x2, n2, label="group 2")
    se = float(np.sqrt(unpooled_variance(x1, n1, x2, n2)))
    if se == 0:
        raise DataError("the Wald TOST is undefined: both proportions are 0 or 1 (SE 0)")
    return tost(x2 / n2 - x1 / n1, se, margin=margin, alpha=alpha,
                method="Wald TOST of a difference of proportions, unpooled SE")


def tost_paired_proportions(
    n_yes_no: int, n_no_yes: int, n_pairs: int, *, margin: float | tuple[float, float],
    alpha: float = ALPHA,
) -> TostResult:
    """TOST of a paired change in a proportion (end minus start), Wald SE.

    The change is ``(n_no_yes - n_yes_no) / n_pairs``; its SE is that of the mean of the
    per-patient changes (-1, 0, +1) with the maximum-likelihood variance:
    ``sqrt(((b + c) / n - ((c - b) / n)^2) / n)`` with ``b = n_yes_no`` and ``c = n_no_yes``.

    Examples
    --------
    >>> round(tost_paired_proportions(30, 2, 60, margin=0.05).p_value, 4)
    1.0
    """
    b, c, n = n_yes_no, n_no_yes, n_pairs
    check_counts(b + c, n, label="discordant pairs")
    check_counts(b, n, label="yes -> no pairs")
    diff = (c - b) / n
    se = float(np.sqrt(((b + c) / n - diff**2) / n))
    if se == 0:
        raise DataError("the paired Wald TOST is undefined: every pair changes the same way "
                        "or none changes (SE 0)")
    return tost(diff, se, margin=margin, alpha=alpha,
                method="Wald TOST of a paired change in a proportion")
