"""The one posterior summary, against values computed by hand and SciPy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from mbtbayes.core.posterior import interval_label, p_direction, summarize_draws


def test_hdi_of_normal_draws_matches_the_normal_quantiles():
    n, sd, tail = 400_000, 0.5, 0.025
    draws = np.random.default_rng(3).normal(2.0, sd, n)
    s = summarize_draws(draws)
    lo, hi = stats.norm.ppf([tail, 1 - tail], 2.0, sd)
    # Monte Carlo SE of the width of the central 95% interval of n draws (asymptotic variance
    # of the difference of two sample quantiles): sqrt(2 a (1 - 2a) / n) / f, a = 0.025, f the
    # density at either end; 3.7 sd / sqrt(n) = 0.0029. The sample HDI's width varies as much
    # (3.3 sd / sqrt(n), measured over 150 seeds), so 4 x this SE bounds it.
    width_se = np.sqrt(2 * tail * (1 - 2 * tail) / n) / stats.norm.pdf(hi, 2.0, sd)
    assert s["hdi_high"] - s["hdi_low"] == pytest.approx(hi - lo, abs=4 * width_se)
    # The ends are flat near the optimum and move more: their MCSE is 0.0071-0.0077 (measured
    # over 150 seeds), 2.3 x a quantile's at this n; 0.03 is 4 of them.
    assert s["hdi_low"] == pytest.approx(lo, abs=0.03)
    assert s["hdi_high"] == pytest.approx(hi, abs=0.03)
    assert s["sd"] == pytest.approx(sd, abs=4 * sd / np.sqrt(2 * n))  # SE of an SD


def test_direction_and_rope_probabilities_are_counted_exactly():
    draws = np.array([-0.3, -0.05, 0.02, 0.2, 0.4, 0.6, 0.8, 1.0])
    s = summarize_draws(draws, rope=0.1)
    assert s["p_direction"] == 6 / 8 == p_direction(draws)
    assert s["p_rope"] == 2 / 8
    assert (s["rope_low"], s["rope_high"]) == (-0.1, 0.1)


def test_without_rope_there_are_no_rope_columns():
    assert "p_rope" not in summarize_draws(np.arange(10.0))


def test_interval_label():
    assert interval_label() == "95% HDI"


def test_interval_is_the_highest_density_interval_not_the_equal_tailed_one():
    """Exponential(1): the 95% HDI is [0, -log 0.05] = [0, 3.00] (analytic); the equal-tailed
    interval would be [0.025, 3.69]."""
    draws = np.random.default_rng(6).exponential(size=40_000)
    s = summarize_draws(draws)
    assert s["hdi_low"] == pytest.approx(0.0, abs=0.01)
    assert s["hdi_high"] == pytest.approx(-np.log(0.05), abs=0.08)


@pytest.mark.parametrize("ci_prob", [0.95, 0.5])
def test_hdi_of_every_column_is_arvizs_hdi_of_that_column(ci_prob):
    """Skewed, discrete (ties) and constant columns, across chunk boundaries."""
    import arviz as az

    from mbtbayes.core.arviz_api import hdi_columns

    rng = np.random.default_rng(8)
    draws = np.column_stack([rng.gamma(2.0, size=(1001, 5)), rng.integers(0, 4, (1001, 3)),
                             np.full(1001, 2.5)])
    got = hdi_columns(draws, ci_prob=ci_prob, chunk=4)
    for j in range(draws.shape[1]):
        assert tuple(got[j]) == tuple(az.hdi(draws[:, j], hdi_prob=ci_prob)), j
