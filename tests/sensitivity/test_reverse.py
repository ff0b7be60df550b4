"""Reverse-Bayes limits against Matthews' (2018) closed forms in the normal-normal case, Box's
prior-data conflict p at the sceptical limit against Held's (2019) intrinsic-credibility
threshold, and the defining property of each limit and of Box's p checked with SciPy's normal
distribution and a simulation.

Held (2019, R Soc Open Sci 6:181534), abstract: for the 5% level the intrinsic-credibility
threshold is "remarkably close to" p < 0.005, and a significant result is intrinsically
credible when the credibility ratio (upper over lower limit of the 95% confidence interval)
is "smaller than 5.8". The threshold's value, 0.00557459668078442, is printed by Held's R
package ReplicationSuccess (``thresholdIntrinsic(alpha = 0.05)``, its file
tests/testthat/test-thresholdIntrinsic.R)."""

import math

import numpy as np
import pytest
from scipy import stats

from mbtbayes.sensitivity.reverse import advocacy_limit, box_p, sceptical_limit

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


@pytest.mark.parametrize(("m", "s"), [(0.3, 0.2), (-0.1, 0.3), (0.5, 0.3)])
def test_advocacy_limit_without_rope_is_matthews_closed_form(m, s):
    """Matthews (2018): for a non-significant result with 95% CI [L, U] in the direction of
    m, AL = -(U + L)(U - L)^2 / (2 U L)."""
    lo, up = abs(m) - Z * s, abs(m) + Z * s
    assert lo < 0 < up
    assert advocacy_limit(m, s, rope=0.0) == pytest.approx(-(up + lo) * (up - lo) ** 2
                                                           / (2 * up * lo), rel=1e-8)


def _prior_from_interval(low, high):
    """Normal with 95% interval [low, high], checked against SciPy's quantiles."""
    mean, sd = (low + high) / 2, (high - low) / (2 * Z)
    assert stats.norm.ppf([0.025, 0.975], mean, sd) == pytest.approx([low, high])
    return mean, sd


@pytest.mark.parametrize(("m", "s", "h"), [(0.25, 0.15, 0.05), (0.35, 0.15, 0.2),
                                           (-0.5, 0.4, 0.3)])
def test_advocacy_limit_with_rope_is_the_widest_prior_from_the_rope_edge(m, s, h):
    """The advocacy prior's 95% interval runs from the ROPE edge h to a (observed direction);
    at a* the posterior's 95% interval just touches h; narrower advocates (a within a*) carry
    it beyond, vaguer ones (a beyond a*) do not."""
    a = advocacy_limit(m, s, rope=h)
    assert a > h
    assert _posterior_lower(abs(m), s, *_prior_from_interval(h, a)) == pytest.approx(h, abs=1e-9)
    assert _posterior_lower(abs(m), s, *_prior_from_interval(h, h + 0.9 * (a - h))) > h
    assert _posterior_lower(abs(m), s, *_prior_from_interval(h, h + 1.1 * (a - h))) < h


def test_advocacy_limit_exists_where_a_prior_anchored_at_zero_had_none():
    """m = 0.35, s = 0.15, ROPE 0.2: 'too imprecise' (the interval [0.06, 0.64] straddles
    0.2). No advocacy prior anchored at 0 (95% interval [0, a], any a on a wide grid) lifts the
    posterior interval above 0.2, so the previous limit was 'none'; anchored at the ROPE edge
    the limit exists."""
    m, s, h = 0.35, 0.15, 0.2
    anchored_at_zero = [_posterior_lower(m, s, *_prior_from_interval(0.0, a))
                        for a in np.geomspace(1e-3, 1e3, 2000)]
    assert max(anchored_at_zero) < h
    assert np.isfinite(advocacy_limit(m, s, rope=h))


def test_no_advocacy_limit_when_the_estimate_lies_inside_the_rope():
    m, s, h = 0.05, 0.1, 0.1
    edge = [_posterior_lower(m, s, *_prior_from_interval(h, h + x))
            for x in np.geomspace(1e-4, 1e4, 2000)]
    assert max(edge) < h
    assert np.isnan(advocacy_limit(m, s, rope=h))


def test_box_p_is_the_prior_predictive_tail_probability():
    """Simulated prior predictive: theta ~ N(mu, tau^2), estimate ~ N(theta, s^2); the share
    of simulated estimates at least as far from mu as m (two-sided)."""
    m, s, mu, tau = 0.9, 0.3, 0.2, 0.25
    rng = np.random.default_rng(7)
    n = 2_000_000
    sims = rng.normal(rng.normal(mu, tau, n), s)
    share = float(np.mean(np.abs(sims - mu) >= abs(m - mu)))
    got = box_p(m, s, prior_mean=mu, prior_sd=tau)
    assert got == pytest.approx(share, abs=4 * math.sqrt(share * (1 - share) / n))


def test_box_p_at_the_sceptical_limit_is_helds_intrinsic_credibility():
    """At Held's threshold p = 0.00557 the sceptical prior at the limit has Box's p = 0.05
    exactly, and the 95% CI's credibility ratio is 5.8; a smaller p gives p_Box < 0.05
    (intrinsically credible), a larger one p_Box > 0.05."""
    s = 0.2

    def p_box(p_value):
        m = stats.norm.isf(p_value / 2) * s
        return box_p(m, s, prior_mean=0.0, prior_sd=sceptical_limit(m, s, rope=0.0)), m

    at_threshold, m = p_box(0.00557459668078442)
    assert at_threshold == pytest.approx(0.05, rel=1e-9)
    assert round((m + Z * s) / (m - Z * s), 1) == 5.8
    assert p_box(0.004)[0] < 0.05 < p_box(0.01)[0]


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


def test_rows_give_box_p_beside_each_limit(two_period_register, bsi_spec, fit_with_draws):
    """On a fit with chosen draws: d of each period is a clear 'difference' (a sceptical limit
    with Box's p in its own column); the 24-month contrast straddles the ROPE (an advocacy
    limit from the ROPE edge, its prior's Box p beside it)."""
    from mbtbayes.sensitivity.quantities import baseline_rows, main_quantities
    from mbtbayes.sensitivity.reverse import reverse_bayes_rows

    rng = np.random.default_rng(4)
    n = 4000
    fit = fit_with_draws(bsi_spec, two_period_register, {
        "Intercept": np.full(n, 2.0), "months": rng.normal(-0.03, 0.002, n),
        "period[II]": rng.normal(0.0, 0.05, n), "months:period[II]": rng.normal(0.003, 0.003, n)})
    decided = {r["quantity"]: r["decision"]
               for r in baseline_rows(fit, main_quantities(fit, two_period_register))}
    rows = {r["quantity"]: r for r in reverse_bayes_rows(fit, two_period_register,
                                                         baseline=decided)}
    assert decided["d_I"] == "difference" and decided["contrast_at_24"] != "difference"
    assert rows["d_I"]["setting"].startswith("sceptical limit: prior SD")
    assert 0 < rows["d_I"]["prior_data_conflict_p"] < 1
    assert "prior 95% interval from the ROPE edge" in rows["contrast_at_24"]["setting"]
    assert "lies inside the ROPE" in rows["contrast_intercept"]["setting"]  # mean about 0
    assert 0 < rows["contrast_at_24"]["prior_data_conflict_p"] < 1
