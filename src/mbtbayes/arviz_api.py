"""Every ArviZ call of the package goes through this module.

A later move from ArviZ 0.23 (InferenceData) to ArviZ 1.x (DataTree) should touch this file only.
"""

from __future__ import annotations

import arviz as az
import numpy as np

from mbtbayes.defaults import CI_PROB


def hdi(draws: np.ndarray, *, ci_prob: float = CI_PROB) -> tuple[float, float]:
    """Highest-density interval of a one-dimensional array of draws.

    Parameters
    ----------
    draws : numpy.ndarray
        Posterior draws, any shape; they are flattened.
    ci_prob : float, default 0.95
        Probability mass of the interval.

    Returns
    -------
    tuple of float
        Lower and upper bound.

    Examples
    --------
    >>> import numpy as np
    >>> lo, hi = hdi(np.random.default_rng(1).normal(size=4000))
    """
    low, high = az.hdi(np.asarray(draws, dtype=float).ravel(), hdi_prob=ci_prob)
    return float(low), float(high)
