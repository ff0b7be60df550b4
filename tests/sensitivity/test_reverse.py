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
def test_advocacy_limit_without_rope_just_reaches_zero(m, s):
    """Matthews' (2018) advocacy limit by its definition: under the prior N(a/2, (a / 2z)^2)
    (95% interval [0, a] in the observed direction) the posterior interval just touches 0;
    an advocacy prior reaching beyond it (a wider interval) leaves the interval covering 0,
    one within it excludes 0 (conjugate arithmetic by hand below)."""
    a = advocacy_limit(m, s, rope=0.0)
    assert _posterior_lower(abs(m), s, a / 2, a / (2 * Z)) == pytest.approx(0.0, abs=1e-9)
    assert _posterior_lower(abs(m), s, 0.55 * a, 1.1 * a / (2 * Z)) < 0
    assert _posterior_lower(abs(m), s, 0.45 * a, 0.9 * a / (2 * Z)) > 0


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


def test_likelihood_approximation_divides_the_prior_out():
    """Simulation truth: prior N(1, 2^2) on a coefficient, likelihood N(3, 1.5^2): the
    posterior is N(mu_p, s_p^2) by conjugate arithmetic; from 200,000 posterior draws the
    approximation recovers the likelihood (m, s) = (3, 1.5), not the posterior's."""
    from types import SimpleNamespace

    from mbtbayes.sensitivity.reverse import likelihood_approximation

    prior_mean, prior_sd, m, s = 1.0, 2.0, 3.0, 1.5
    precision = 1 / s**2 + 1 / prior_sd**2
    post_mean = (m / s**2 + prior_mean / prior_sd**2) / precision
    draws = np.random.default_rng(4).normal(post_mean, 1 / math.sqrt(precision), 200_000)
    fit = SimpleNamespace(
        draws=lambda name: draws[:, None],
        design=SimpleNamespace(terms=("x",), priors={"x": {"dist": "Normal", "mu": prior_mean,
                                                           "sigma": prior_sd}}))
    got_m, got_s = likelihood_approximation(fit, draws)
    assert got_m == pytest.approx(m, abs=0.02) and got_s == pytest.approx(s, rel=0.01)


def test_no_sceptical_limit_when_the_interval_touches_the_rope():
    assert np.isnan(sceptical_limit(0.1, 0.2, rope=0.05))
