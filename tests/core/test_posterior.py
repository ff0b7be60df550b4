"""The one posterior summary, against values computed by hand and SciPy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from mbtbayes.core.posterior import interval_label, p_direction, summarize_draws


def test_hdi_of_normal_draws_matches_the_normal_quantiles():
    draws = np.random.default_rng(3).normal(2.0, 0.5, 400_000)
    s = summarize_draws(draws)
    lo, hi = stats.norm.ppf([0.025, 0.975], 2.0, 0.5)
    # The shortest interval's width is sharply determined; its position is flat near the
    # optimum, so the ends move with Monte Carlo noise more than the width does.
    assert s["hdi_high"] - s["hdi_low"] == pytest.approx(hi - lo, abs=0.005)
    assert s["hdi_low"] == pytest.approx(lo, abs=0.03)
    assert s["hdi_high"] == pytest.approx(hi, abs=0.03)
    assert s["sd"] == pytest.approx(0.5, abs=0.005)


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
