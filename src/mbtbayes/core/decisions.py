"""The decision rules every table that decides uses, with their labels as constants.

Two questions, kept apart because they are different questions:

- **Existence** (is the effect different from zero?): the Bayesian answer is :data:`NONZERO`
  when the 95% HDI excludes 0 *and* the probability of direction exceeds
  :data:`P_DIRECTION_MIN` (0.975); the frequentist answer is :data:`NONZERO` when p < alpha.
  Otherwise :data:`ZERO_NOT_EXCLUDED`.
- **Practical size** against a region of practical equivalence (ROPE) ``[-h, h]``
  (:func:`rope_decision`): :data:`DIFFERENCE` when the interval lies wholly outside the ROPE,
  :data:`NEGLIGIBLE` when wholly inside, :data:`TOO_IMPRECISE` when the interval is wider than
  the ROPE (so it could never fall inside it: the data are too imprecise for the ROPE to
  decide), else :data:`UNDECIDED`. Applied to a 95% HDI it is Kruschke's HDI+ROPE rule; applied
  to a 90% confidence interval, "negligible" is the two one-sided tests (TOST) at alpha = 0.05,
  whose own answer (:func:`equivalence_test_decision`) is :data:`NEGLIGIBLE` or
  :data:`NOT_SHOWN_NEGLIGIBLE`.

Examples
--------
>>> rope_decision(0.2, 0.5, half_width=0.1)
'difference'
>>> rope_decision(-0.3, 0.4, half_width=0.1)
'undecided: too imprecise'
>>> existence_decision(0.01, 0.4, p_direction=0.99)
'nonzero'
"""

from __future__ import annotations

import math

from mbtbayes.core.errors import DataError, SpecError

DIFFERENCE = "difference"
"""The interval lies wholly outside the ROPE."""
NEGLIGIBLE = "negligible"
"""The interval lies wholly inside the ROPE."""
UNDECIDED = "undecided"
"""The interval overlaps a ROPE edge but is narrow enough that more data could decide."""
TOO_IMPRECISE = "undecided: too imprecise"
"""The interval is wider than the ROPE (width > 2 x half-width) and overlaps its edge."""
ROPE_LABELS: tuple[str, ...] = (DIFFERENCE, NEGLIGIBLE, UNDECIDED, TOO_IMPRECISE)
NOT_SHOWN_NEGLIGIBLE = "not shown negligible"
"""Equivalence test: the TOST does not reject (the 90% CI reaches beyond the ROPE)."""

NONZERO = "nonzero"
"""Existence: the 95% HDI excludes 0 and P(direction) > 0.975, or p < alpha."""
ZERO_NOT_EXCLUDED = "zero not excluded"
"""Existence: the data do not exclude an effect of 0."""
EXISTENCE_LABELS: tuple[str, ...] = (NONZERO, ZERO_NOT_EXCLUDED)

P_DIRECTION_MIN = 0.975
"""Probability of direction an existence claim needs (the one-sided 2.5% of a 95% interval)."""
ALPHA = 0.05
"""Frequentist significance level: two-sided tests of existence, each one-sided TOST test."""


def _interval(low: float, high: float) -> tuple[float, float]:
    low, high = float(low), float(high)
    if not (math.isfinite(low) and math.isfinite(high)):
        raise DataError(f"cannot decide on the interval [{low}, {high}]: its ends must be "
                        "finite numbers (was the posterior or the test computed?)")
    if low > high:
        raise DataError(f"interval [{low:g}, {high:g}] has its lower end above its upper end")
    return low, high


def rope_decision(low: float, high: float, *, half_width: float) -> str:
    """Compare an interval with the ROPE ``[-half_width, half_width]``.

    Parameters
    ----------
    low, high : float
        The interval, e.g. a 95% HDI (or a 90% confidence interval for the TOST).
    half_width : float
        ROPE half-width (> 0), on the scale of the interval.

    Returns
    -------
    str
        :data:`DIFFERENCE` (wholly outside: ``high < -h`` or ``low > h``), :data:`NEGLIGIBLE`
        (wholly inside, ends included), :data:`TOO_IMPRECISE` (neither, and
        ``high - low > 2 h``) or :data:`UNDECIDED`.

    Raises
    ------
    SpecError
        A half-width that is not a positive number.
    DataError
        An interval with a missing end or ends in the wrong order.

    Examples
    --------
    >>> [rope_decision(lo, hi, half_width=0.1) for lo, hi in [(-0.05, 0.05), (0.05, 0.2)]]
    ['negligible', 'undecided']
    """
    h = float(half_width)
    if not (math.isfinite(h) and h > 0):
        raise SpecError(f"the ROPE half-width must be a positive number, got {half_width!r}; "
                        "set [rope] half_width in the measure's spec")
    low, high = _interval(low, high)
    if high < -h or low > h:
        return DIFFERENCE
    if -h <= low and high <= h:
        return NEGLIGIBLE
    return TOO_IMPRECISE if high - low > 2 * h else UNDECIDED


def existence_decision(low: float, high: float, *, p_direction: float) -> str:
    """Bayesian existence: does the 95% HDI exclude 0, with P(direction) > 0.975?

    Parameters
    ----------
    low, high : float
        The 95% HDI.
    p_direction : float
        Posterior probability of the more probable sign, in [0.5, 1].

    Returns
    -------
    str
        :data:`NONZERO` or :data:`ZERO_NOT_EXCLUDED`.

    Examples
    --------
    >>> existence_decision(-0.01, 0.4, p_direction=0.97)
    'zero not excluded'
    """
    low, high = _interval(low, high)
    if not 0.0 <= float(p_direction) <= 1.0:
        raise DataError(f"p_direction must lie in [0, 1], got {p_direction!r}")
    excludes_zero = low > 0 or high < 0
    return NONZERO if excludes_zero and p_direction > P_DIRECTION_MIN else ZERO_NOT_EXCLUDED


def significance_decision(p_value: float, *, alpha: float = ALPHA) -> str:
    """Frequentist existence: :data:`NONZERO` when ``p < alpha``, else :data:`ZERO_NOT_EXCLUDED`.

    Examples
    --------
    >>> significance_decision(0.049), significance_decision(0.05)
    ('nonzero', 'zero not excluded')
    """
    p = float(p_value)
    if not 0.0 <= p <= 1.0:
        raise DataError(f"a p-value must lie in [0, 1], got {p_value!r}")
    return NONZERO if p < alpha else ZERO_NOT_EXCLUDED


def equivalence_test_decision(p_value: float, *, alpha: float = ALPHA) -> str:
    """Frequentist equivalence from a TOST p-value: :data:`NEGLIGIBLE` when ``p < alpha``.

    Otherwise :data:`NOT_SHOWN_NEGLIGIBLE`: a TOST that does not reject shows nothing either
    way, so it gets no "difference" label (that would need a test of its own).

    Examples
    --------
    >>> equivalence_test_decision(0.03), equivalence_test_decision(0.2)
    ('negligible', 'not shown negligible')
    """
    return NEGLIGIBLE if significance_decision(p_value, alpha=alpha) == NONZERO else (
        NOT_SHOWN_NEGLIGIBLE)
