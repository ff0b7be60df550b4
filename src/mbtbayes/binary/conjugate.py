"""Conjugate building blocks for proportions: Beta posteriors, their exact HDI, P(X < Y).

Used by remission, adherence and the reanalysis of the published numbers.

Examples
--------
>>> post = BetaPosterior.update(41, 55)
>>> round(post.mean, 4)
0.7368
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import integrate, optimize, stats

from mbtbayes.core.defaults import CI_PROB
from mbtbayes.core.errors import DataError, SpecError


@dataclass(frozen=True)
class BetaPosterior:
    """A Beta(a, b) posterior of a proportion: prior Beta(a0, b0) updated by x of n.

    Attributes
    ----------
    a, b : float
        Posterior shape parameters.

    Examples
    --------
    >>> post = BetaPosterior.update(41, 55, prior=(1.0, 1.0))
    >>> post.a, post.b, round(post.mean, 4)
    (42.0, 15.0, 0.7368)
    """

    a: float
    b: float

    @classmethod
    def update(cls, x: float, n: float, *,
               prior: tuple[float, float] = (1.0, 1.0)) -> BetaPosterior:
        """Conjugate update of a Beta prior by ``x`` events in ``n`` trials."""
        a0, b0 = check_beta_prior(prior)
        if n < 0 or x < 0 or x > n:
            raise DataError(f"Need 0 <= x <= n, got x={x}, n={n}.")
        return cls(a0 + x, b0 + n - x)

    @property
    def mean(self) -> float:
        """Posterior mean ``a / (a + b)``."""
        return self.a / (self.a + self.b)

    def hdi(self, *, ci_prob: float = CI_PROB) -> tuple[float, float]:
        """Exact highest-density interval (see :func:`beta_hdi`)."""
        return beta_hdi(self.a, self.b, ci_prob=ci_prob)

    def draws(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Independent draws from the posterior."""
        return rng.beta(self.a, self.b, size=n)


def check_beta_prior(prior: Sequence[float]) -> tuple[float, float]:
    """Validate a Beta prior ``(a, b)`` and return it as floats (SpecError if invalid)."""
    try:
        a0, b0 = (float(v) for v in prior)
    except (TypeError, ValueError):
        raise SpecError(f"A Beta prior is a pair (a, b), got {prior!r}.") from None
    if not (a0 > 0 and b0 > 0 and np.isfinite(a0) and np.isfinite(b0)):
        raise SpecError(f"Beta prior shapes must be positive and finite, got ({a0}, {b0}).")
    return a0, b0


def beta_hdi(a: float, b: float, *, ci_prob: float = CI_PROB) -> tuple[float, float]:
    """Exact shortest interval holding ``ci_prob`` of a Beta(a, b) distribution.

    For a unimodal Beta this is the highest-density interval: the lower tail probability ``t``
    that minimises ``ppf(t + ci_prob) - ppf(t)`` is found numerically on ``[0, 1 - ci_prob]``
    (endpoints included, so that J-shaped posteriors, e.g. after 0 failures, give an interval
    touching 0 or 1).

    Parameters
    ----------
    a, b : float
        Shape parameters.
    ci_prob : float, default 0.95

    Returns
    -------
    tuple of float

    Examples
    --------
    >>> [round(v, 4) for v in beta_hdi(20.0, 1.0)]  # all 19 remitted, uniform prior
    [0.8609, 1.0]
    """
    dist = stats.beta(a, b)
    tail = 1.0 - ci_prob

    def width(t: float) -> float:
        return float(dist.ppf(min(t + ci_prob, 1.0)) - dist.ppf(t))

    res = optimize.minimize_scalar(width, bounds=(0.0, tail), method="bounded",
                                   options={"xatol": 1e-12})
    best = min((res.x, 0.0, tail), key=width)
    return float(dist.ppf(best)), float(dist.ppf(min(best + ci_prob, 1.0)))


def prob_less(first: BetaPosterior, second: BetaPosterior) -> float:
    """P(X < Y) for independent ``X ~ first`` and ``Y ~ second``, by numerical integration.

    ``P(X < Y) = integral of f_Y(y) F_X(y) dy`` over [0, 1]; accurate to about 1e-9.

    Examples
    --------
    >>> round(prob_less(BetaPosterior(2, 2), BetaPosterior(2, 2)), 6)
    0.5
    """
    x, y = stats.beta(first.a, first.b), stats.beta(second.a, second.b)
    points = sorted({first.mean, second.mean})
    value, _ = integrate.quad(lambda v: y.pdf(v) * x.cdf(v), 0.0, 1.0, points=points,
                              limit=400, epsabs=1e-11, epsrel=1e-10)
    return float(min(max(value, 0.0), 1.0))


