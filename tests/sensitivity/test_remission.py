"""Remission with missing end data: best / worst case against the conjugate Beta posterior
(SciPy), and the MAR imputation (OR = 1) keeps the complete-case proportion."""

import numpy as np
import pandas as pd
from scipy import stats

import mbtbayes as mb
from mbtbayes.sensitivity.remission import period_counts, proportion_draws, remission_rows


def test_best_and_worst_case_are_the_beta_posteriors():
    rng = np.random.default_rng(0)
    r, n, m = 30, 50, 20
    best = proportion_draws((r, n, m), odds_ratio=None, rng=rng, case="best")
    worst = proportion_draws((r, n, m), odds_ratio=None, rng=rng, case="worst")
    assert abs(best.mean() - stats.beta(1 + r + m, 1 + n - r).mean()) < 0.005
    assert abs(worst.mean() - stats.beta(1 + r, 1 + n + m - r).mean()) < 0.005


def test_mar_imputation_keeps_the_observed_proportion_and_or_lowers_it():
    rng = np.random.default_rng(1)
    counts = (30, 50, 20)
    mar = proportion_draws(counts, odds_ratio=1.0, rng=rng)
    assert abs(mar.mean() - stats.beta(31, 21).mean()) < 0.005
    # OR 0.25 for the 20 missing: their expected remission by hand from the posterior mean
    low = proportion_draws(counts, odds_ratio=0.25, rng=rng)
    p = stats.beta(31, 21).rvs(200_000, random_state=2)
    p_missing = 0.25 * p / (1 - p + 0.25 * p)
    assert abs(low.mean() - (30 + 20 * p_missing.mean()) / 70) < 0.005


def test_rows_on_the_synthetic_register():
    data = mb.load_register().data
    counts = period_counts(data)
    assert counts["self_harm"]["I"] == (41, 55, 22)
    rows = pd.DataFrame(remission_rows(data, seed=1))
    assert set(rows["measure"]) == set(counts)
    base = rows[rows["baseline"]]
    assert (base["setting"] == "complete case").all()
    worst = rows[rows["setting"] == "worst case"]
    best = rows[rows["setting"] == "best case"]
    assert len(worst) == len(best) == len(counts)
    assert rows["note"].str.contains("tipping point").all()
