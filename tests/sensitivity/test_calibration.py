"""Calibration and power machinery: the simulator against the model's own moments, the
summaries against hand counts, and (slow) SBC and power on the study design."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mbtbayes as mb
from mbtbayes.core.execute import chunked
from mbtbayes.growth.design import make_design, prior_values
from mbtbayes.sensitivity.calibration import (
    BINS,
    RANK_DRAWS,
    prior_draw,
    sbc,
    sbc_summary,
    simulate_outcome,
)


@pytest.fixture(scope="module")
def design():
    return make_design(mb.load_specs()["bsi"], mb.load_register().data, variant="period")


def test_simulated_outcomes_have_the_models_mean_and_covariance(design):
    """Moments over many simulations equal X b and Z G Z' + sigma^2 I (computed by hand)."""
    truth = {"beta": np.array([2.0, -0.03, 0.1, 0.0]), "sd_intercept": 0.5,
             "sd_slope": 0.02, "sigma": 0.35}
    rng = np.random.default_rng(1)
    rows = np.flatnonzero(design.group == design.group[0])  # one patient's observations
    sims = np.array([simulate_outcome(design, truth, rng)[rows] for _ in range(20_000)])
    t = design.time[rows]
    cov = 0.5**2 + 0.02**2 * np.outer(t, t) + 0.35**2 * np.eye(t.size)
    np.testing.assert_allclose(sims.mean(0), design.X[rows] @ truth["beta"], atol=0.02)
    np.testing.assert_allclose(np.cov(sims.T), cov, atol=0.02)


def test_correlated_patient_effects_have_the_hand_covariance(design):
    """With ``corr``, Cov(y) = Z G Z' + sigma^2 I with G's off-diagonal rho sd0 sd1."""
    truth = {"beta": np.zeros(4), "sd_intercept": 0.5, "sd_slope": 0.02, "sigma": 0.35,
             "corr": -0.6}
    rng = np.random.default_rng(2)
    rows = np.flatnonzero(design.group == design.group[0])
    sims = np.array([simulate_outcome(design, truth, rng)[rows] for _ in range(20_000)])
    t = design.time[rows]
    g01 = -0.6 * 0.5 * 0.02
    cov = (0.5**2 + g01 * np.add.outer(t, t) + 0.02**2 * np.outer(t, t)
           + 0.35**2 * np.eye(t.size))
    np.testing.assert_allclose(np.cov(sims.T), cov, atol=0.02)


def test_a_correlated_specs_prior_draw_has_the_lkj_marginal(design):
    """(corr + 1) / 2 ~ Beta(2, 2), the marginal engine's LKJ(2) for two effects (SciPy)."""
    spec = mb.load_specs()["bsi"]
    assert spec.correlated  # the default spec: else this test checks nothing
    priors = prior_values(spec, design)
    rng = np.random.default_rng(3)
    corr = np.array([prior_draw(priors, rng, correlated=True)["corr"] for _ in range(4000)])
    assert stats.kstest((corr + 1) / 2, stats.beta(2, 2).cdf).pvalue > 1e-3
    assert "corr" not in prior_draw(priors, rng, correlated=False)


def test_summary_counts_ranks_and_coverage():
    ranks = pd.DataFrame({"replicate": range(40), "parameter": "x",
                          "rank": np.tile(np.arange(0, RANK_DRAWS + 1, 5), 2),
                          "contrast": "intercept", "covered": [True] * 36 + [False] * 4,
                          "passed": True})
    row = sbc_summary(ranks).iloc[0]
    counts = np.bincount((ranks["rank"] * BINS) // (RANK_DRAWS + 1), minlength=BINS)
    assert row["rank_chi2_p"] == pytest.approx(stats.chisquare(counts).pvalue)
    assert row["coverage_90"] == 0.9 and row["failed_gate"] == 0


def test_chunks_cover_every_item_once():
    assert [x for part in chunked(list(range(11)), 3) for x in part] == list(range(11))
    assert len(chunked(list(range(2)), 8)) == 2


@pytest.mark.slow
def test_sbc_on_the_study_design_is_calibrated():
    """40 replicates: no rank histogram departs from uniform at the 0.01% level, and the 90%
    HDI coverage of each period contrast is within its binomial uncertainty of 0.90: a
    Clopper-Pearson interval at a family-wise 99.9% over the contrasts (Bonferroni; about 7
    rank tests at 0.1% and a family-wise 95% gave a calibrated model a 5-6% false alarm; at
    95% each,
    three contrasts of 40 replicates fail together about one run in eight even when
    calibrated: 40 of 40 covered alone has probability 0.9^40 = 1.5%)
    (bench/calibration.py runs the 200-replicate version)."""
    ranks, summary = sbc(mb.load_specs()["bsi"], mb.load_register().data, replicates=40)
    assert (summary["rank_chi2_p"].dropna() > 1e-4).all()
    coverage = summary.dropna(subset=["coverage_90"])
    level = 1 - 0.001 / len(coverage)
    for row in coverage.itertuples(index=False):
        n = int(ranks[(ranks["parameter"] == row.parameter)]["covered"].notna().sum())
        ci = stats.binomtest(round(row.coverage_90 * n), n).proportion_ci(level)
        assert ci.low <= 0.9 <= ci.high, (row.parameter, row.coverage_90, n)


@pytest.mark.slow
def test_frequentist_power_matches_the_normal_approximation():
    """The empirical rate of p < .05 at a level difference of 0.6 SD matches the power of a
    z-test with the ML standard error of the period term (computed outside the simulation)."""
    from mbtbayes.frequentist.mixed import fit_mixed
    from mbtbayes.sensitivity.power import power_table

    data = mb.load_register().data
    table = power_table(mb.load_specs()["bsi"], data, effects=(0.0, 0.6), replicates=60)
    ml = fit_mixed(data.dropna(subset=["bsi"]), outcome="bsi", period="period")
    se = float(ml.fixed.set_index("term").loc["period[II]", "se"])
    freq = table[(table["rule"] == "p < .05") & (table["kind"] == "level")].set_index("effect_sd")
    delta = 0.6 * freq.loc[0.6, "baseline_sd"]
    z = stats.norm.ppf(0.975)
    expected = stats.norm.cdf(delta / se - z) + stats.norm.cdf(-delta / se - z)
    # power_low/high are the table's 95% Clopper-Pearson interval: each check alone excludes
    # a true power 5% of the time, so compare against a 99.9% interval of the same counts
    for effect, truth in ((0.6, expected), (0.0, 0.05)):
        n = int(freq.loc[effect, "replicates"])
        hits = round(freq.loc[effect, "power"] * n)
        ci = stats.binomtest(hits, n).proportion_ci(0.999)
        assert ci.low <= truth <= ci.high, (effect, hits, n, truth)


@pytest.mark.e2e
def test_replicates_run_in_worker_processes():
    """As ``mbtbayes calibrate --scheduler processes:2`` runs them: the jobs pickle (the design
    travels without its formula object) and each worker fits its replicates. A small run: one
    row per replicate and parameter, and a power row per scenario and rule."""
    from mbtbayes.sensitivity.power import RULES, power_table

    spec, data = mb.load_specs()["bsi"], mb.load_register().data
    tiny = mb.SamplerOptions(draws=100, tune=100, chains=2)
    ranks, _ = sbc(spec, data, replicates=2, options=tiny, scheduler="processes:2")
    assert sorted(ranks["replicate"].unique()) == [0, 1]
    names = {f"beta[{c}]" for c in ("Intercept", "months", "period[II]", "months:period[II]")}
    for _, replicate in ranks.groupby("replicate"):
        assert names | {"sd_intercept", "sd_slope", "sigma"} <= set(replicate["parameter"])
    table = power_table(spec, data, effects=(0.5,), replicates=1, options=tiny,
                        scheduler="processes:2")
    assert len(table) == 2 * len(RULES) and (table["replicates"] == 1).all()
