"""Remission with missing end data: best / worst case and the odds-ratio mixture against the
conjugate Beta posterior (SciPy) computed by hand; OR = 1 gives the complete case."""

import numpy as np
import pandas as pd
from scipy import stats

import mbtbayes as mb
from mbtbayes.sensitivity.remission import period_counts, proportion_draws, remission_rows


def test_best_and_worst_case_mix_the_beta_posterior_with_certainty():
    rng = np.random.default_rng(0)
    r, n, m = 30, 50, 20
    mean_p = stats.beta(1 + r, 1 + n - r).mean()
    best = proportion_draws((r, n, m), odds_ratio=None, rng=rng, case="best")
    worst = proportion_draws((r, n, m), odds_ratio=None, rng=rng, case="worst")
    assert abs(best.mean() - (n * mean_p + m) / (n + m)) < 0.003
    assert abs(worst.mean() - n * mean_p / (n + m)) < 0.003
    assert abs(worst.std() - n / (n + m) * stats.beta(1 + r, 1 + n - r).std()) < 0.003


def test_odds_ratio_one_is_the_complete_case_and_lower_or_lowers_it():
    rng = np.random.default_rng(1)
    counts = (30, 50, 20)
    complete = stats.beta(31, 21)
    mar = proportion_draws(counts, odds_ratio=1.0, rng=rng)
    assert abs(mar.mean() - complete.mean()) < 0.003
    assert abs(mar.std() - complete.std()) < 0.003
    low = proportion_draws(counts, odds_ratio=0.25, rng=rng)
    p = complete.rvs(200_000, random_state=2)
    q = 0.25 * p / (1 - p + 0.25 * p)  # odds of p times 0.25, by hand
    assert abs(low.mean() - (50 * p + 20 * q).mean() / 70) < 0.003


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
    # OR 1 (MAR) reproduces the complete case's decision
    for _, part in rows.groupby("measure"):
        decided = part.set_index("setting")["decision"]
        assert decided["II missing: OR 1"] == decided["complete case"]
