"""One posterior-summary helper and one interval label for every table.

Every Bayesian table states its interval with :func:`interval_label` (``"95% HDI"``) and
summarises draws with :func:`summarize_draws`: mean, SD, HDI, probability of direction and,
given a ROPE, the probability inside it.

Examples
--------
>>> import numpy as np
>>> s = summarize_draws(np.random.default_rng(1).normal(1.0, 0.1, 4000), rope=0.5)
>>> round(s["mean"], 1), s["p_direction"], s["p_rope"]
(1.0, 1.0, 0.0)
"""

from __future__ import annotations

import numpy as np

from mbtbayes.core.arviz_api import hdi
from mbtbayes.core.defaults import CI_KIND, CI_PROB


def interval_label(ci_prob: float = CI_PROB) -> str:
    """The interval every Bayesian table states, e.g. ``"95% HDI"``.

    Examples
    --------
    >>> interval_label(0.9)
    '90% HDI'
    """
    return f"{100 * ci_prob:g}% {CI_KIND.upper()}"


INTERVAL = interval_label()
"""The default interval label, ``"95% HDI"``."""


def p_direction(draws: np.ndarray) -> float:
    """Probability of direction: the larger of P(draw > 0) and P(draw < 0).

    Examples
    --------
    >>> p_direction(np.array([-1.0, 1.0, 2.0, 3.0]))
    0.75
    """
    draws = np.asarray(draws, dtype=float)
    return float(max((draws > 0).mean(), (draws < 0).mean()))


def summarize_draws(
    draws: np.ndarray,
    *,
    rope: float | None = None,
    ci_prob: float = CI_PROB,
) -> dict[str, float]:
    """Mean, SD, HDI and probability of direction of draws, and P(inside the ROPE) if given.

    Parameters
    ----------
    draws : numpy.ndarray
        Posterior draws of one quantity (any shape; flattened).
    rope : float, optional
        ROPE half-width: the ROPE is ``[-rope, rope]``.
    ci_prob : float, default 0.95

    Returns
    -------
    dict
        ``mean, sd, hdi_low, hdi_high, p_direction`` and, with a ROPE, ``rope_low, rope_high,
        p_rope``.

    Examples
    --------
    >>> s = summarize_draws(np.random.default_rng(0).normal(1.0, 1.0, size=100_000))
    >>> round(s["mean"], 1), round(s["hdi_low"], 1), round(s["hdi_high"], 1)
    (1.0, -1.0, 3.0)
    """
    draws = np.asarray(draws, dtype=float).ravel()
    low, high = hdi(draws, ci_prob=ci_prob)
    out = {"mean": float(draws.mean()), "sd": float(draws.std(ddof=1)), "hdi_low": low,
           "hdi_high": high, "p_direction": p_direction(draws)}
    if rope is not None:
        out |= {"rope_low": -float(rope), "rope_high": float(rope),
                "p_rope": float((np.abs(draws) < rope).mean())}
    return out
