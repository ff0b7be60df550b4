"""Reverse-Bayes limits against Matthews' (2018) closed forms in the normal-normal case, and
the defining property of each limit checked with SciPy's normal distribution."""

import math

import numpy as np
import pytest
from scipy import stats

from mbtbayes.sensitivity.reverse import advocacy_limit, sceptical_limit

Z = stats.norm.ppf(0.975)


@pytest.mark.parametrize(("m", "s"), [(1.0, 0.3), (-0.5, 0.2), (0.3, 0.1)])
def test_sceptical_limit_matches_matthews(m, s):
    lo, up = abs(m) - Z * s, abs(m) + Z * s
    # Matthews (2018) eq. for the sceptical limit SL = (U - L)^2 / (4 sqrt(U L)) = z * tau
    matthews = (up - lo) ** 2 / (4 * math.sqrt(up * lo))
    assert Z * sceptical_limit(m, s, rope=0.0) == pytest.approx(matthews)


@pytest.mark.parametrize(("m", "s"), [(0.3, 0.2), (-0.1, 0.3)])
def test_advocacy_limit_matches_matthews(m, s):
    lo, up = abs(m) - Z * s, abs(m) + Z * s
    matthews = -(up + lo) * (up - lo) ** 2 / (2 * up * lo)
    assert advocacy_limit(m, s, rope=0.0) == pytest.approx(matthews)


def _posterior_lower(m, s, prior_mean, prior_sd):
    # normal-normal conjugate update by hand
    precision = 1 / s**2 + 1 / prior_sd**2
    mean = (m / s**2 + prior_mean / prior_sd**2) / precision
    return mean - Z / math.sqrt(precision)


def test_sceptical_limit_with_rope_just_touches_it():
    m, s, h = 1.0, 0.2, 0.1
    tau = sceptical_limit(m, s, rope=h)
    assert _posterior_lower(m, s, 0.0, tau) == pytest.approx(h, abs=1e-9)
    assert _posterior_lower(m, s, 0.0, 0.9 * tau) < h < _posterior_lower(m, s, 0.0, 1.1 * tau)


def test_advocacy_limit_with_rope_just_reaches_it():
    m, s, h = 0.25, 0.15, 0.05
    a = advocacy_limit(m, s, rope=h)
    assert _posterior_lower(m, s, a / 2, a / (2 * Z)) == pytest.approx(h, abs=1e-9)
    assert _posterior_lower(m, s, 0.45 * a, 0.9 * a / (2 * Z)) < h


def test_no_sceptical_limit_when_the_interval_touches_the_rope():
    assert np.isnan(sceptical_limit(0.1, 0.2, rope=0.05))
