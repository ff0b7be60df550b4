"""Drop-out tipping point (pattern mixture per period) against simulation truth.

The simulated register's treatment drop-outs (``dropout = 1``; 15 in Period I, 40 in Period
II) stop being assessed after month 0, 6 or 12; 15 completers per period end treatment early
(last assessment at month 12, ``dropout = 0``) and stay on their trajectory (missing at
random). After dropping out, a drop-out's latent trajectory turns worse under each scenario:
by a level (``TRUE_DELTA`` observed baseline SDs at month 24) or a slope (``TRUE_DELTA`` SDs
per 24 months from the last assessment). The truth of each quantity is the complete-data
value of the simulated patients' latent trajectories (noise-free), computed here from the
simulation's own variables; the fit sees only the observed rows. One fit serves every
scenario: the observed data are the same, only the unobserved months differ.
"""

import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import mbtbayes as mb
from mbtbayes.core.errors import DataError
from mbtbayes.growth.engines import engines_for
from mbtbayes.sensitivity.quantities import main_quantities
from mbtbayes.sensitivity.tipping import (
    LARGE,
    SCENARIOS,
    Scenario,
    delta_quantities,
    dropouts,
    exposures,
    prepare,
    tipping_rows,
)

TRUE_DELTA = 1.5
"""Baseline SDs; 'bsi' is in the schema with higher = worse, so worse is up."""
N = 100
VISITS = (0.0, 6.0, 12.0, 18.0, 24.0)


def simulated(seed: int = 11):
    """The register, and per patient: period, drop-out flag, last visit, latent intercept and
    slope."""
    rng = np.random.default_rng(seed)
    period = np.repeat(["I", "II"], N)
    u0 = rng.normal(0, 0.4, 2 * N)
    u1 = rng.normal(0, 0.003, 2 * N)
    dropout = np.zeros(2 * N, bool)
    last = np.full(2 * N, 24.0)
    for k, n_drop in (("I", 15), ("II", 40)):
        idx = rng.permutation(np.flatnonzero(period == k))
        dropout[idx[:n_drop]] = True
        last[idx[:n_drop]] = rng.choice([0.0, 6.0, 12.0], n_drop)
        last[idx[n_drop:n_drop + 15]] = 12.0  # completers whose treatment ended early
    rows = []
    for i in range(2 * N):
        for t in VISITS:
            if t <= last[i]:
                y = 2.5 + u0[i] + (-0.03 + u1[i]) * t + rng.normal(0, 0.15)
                rows.append((f"P{i:03d}", period[i], t, y, float(dropout[i])))
    data = pd.DataFrame(rows, columns=["patient_id", "period", "months", "bsi", "dropout"])
    assert data["bsi"].between(0, 4).all()
    truth = pd.DataFrame({"period": period, "dropout": dropout, "last": last, "u0": u0, "u1": u1})
    return data, truth


def pooled_baseline_sd(data: pd.DataFrame) -> float:
    base = data[data["months"] == 0].groupby("period")["bsi"]
    return float(np.sqrt((base.var() * (base.count() - 1)).sum() / (base.count().sum() - 2)))


def latent(truth: pd.DataFrame, t: float, *, sd: float, scenario: Scenario | None = None,
           delta: float = 0.0) -> np.ndarray:
    """Each simulated patient's noise-free value at month t; drop-outs of the scenario's
    periods worse (higher) after their last assessment by a level or a slope."""
    value = 2.5 + truth["u0"] + (-0.03 + truth["u1"]) * t
    if scenario is None:
        return value.to_numpy()
    sign = truth["period"].map({"I": scenario.signs[0], "II": scenario.signs[1]})
    after = truth["dropout"] & (t > truth["last"])
    if scenario.shape == "level":
        worse = delta * sd * after
    else:  # the slope after the last assessment: delta SD per 24 months
        worse = delta * sd * (t - truth["last"]).clip(lower=0) / 24 * after
    return (value + sign * worse).to_numpy()


def true_quantities(truth: pd.DataFrame, *, sd: float, scenario=None, delta=0.0) -> dict:
    at24 = latent(truth, 24.0, sd=sd, scenario=scenario, delta=delta)
    at0 = latent(truth, 0.0, sd=sd)
    ii = (truth["period"] == "II").to_numpy()
    change = {k: (at24 - at0)[m].mean() for k, m in (("I", ~ii), ("II", ii))}
    contrast = {t: at[ii].mean() - at[~ii].mean() for t, at in ((0, at0), (24, at24))}
    return {"contrast_at_24": contrast[24], "contrast_slope": (contrast[24] - contrast[0]) / 24,
            "change_difference": change["II"] - change["I"],
            "d_I": change["I"] / sd, "d_II": change["II"] / sd}


@pytest.fixture(scope="module")
def fitted():
    data, truth = simulated()
    spec = mb.make_spec(outcome="bsi", time="months", group="patient_id", period="period",
                        range=(0, 4))
    engines = engines_for(mb.SamplerOptions(draws=500, tune=500, chains=2))
    fit = mb.fit_growth(spec, data, engines=engines, seed=2)
    return fit, data, truth, pooled_baseline_sd(data)


def _scenario(name: str, shape: str) -> Scenario:
    return next(s for s in SCENARIOS if s.name == name and s.shape == shape)


def test_dropouts_are_the_registers_not_the_patients_last_seen_early(fitted):
    """Drop-outs are the register's ``dropout = 1`` patients; the 15 completers per period
    last seen at month 12 are not; the level exposure is the share of each period's patients
    who dropped out before month 21 (counted from the simulation)."""
    fit, data, truth, _ = fitted
    ids = [str(g) for g in fit.design.groups]
    expected = truth["dropout"].to_numpy()[[int(i[1:]) for i in ids]]
    np.testing.assert_array_equal(dropouts(fit, data), expected)
    early = truth["dropout"] & (truth["last"] < 21)
    share = early.groupby(truth["period"]).mean()
    got = exposures(fit, data, "level")
    assert got == pytest.approx({"I": share["I"], "II": share["II"]}, abs=1e-12)
    gone = (truth["last"] < 21).groupby(truth["period"]).mean()  # the old definition
    assert got["II"] < gone["II"] - 0.1


@pytest.mark.parametrize(("name", "shape"), [
    ("II worse", "level"), ("II worse", "slope"), ("II worse & I better", "slope"),
    ("I worse & II better", "level"), ("both worse", "slope")])
def test_pattern_mixture_recovers_the_simulated_truth(fitted, name, shape):
    """At the true delta each adjusted quantity meets the complete-data truth of its
    scenario; under MAR (delta 0) the contrast misses it by far more than the tolerance."""
    fit, data, truth, sd = fitted
    scenario = _scenario(name, shape)
    got = delta_quantities(fit, data, TRUE_DELTA, scenario=scenario)
    mar = delta_quantities(fit, data, 0.0, scenario=scenario)
    want = true_quantities(truth, sd=sd, scenario=scenario, delta=TRUE_DELTA)
    tolerance = {"contrast_at_24": 0.05, "contrast_slope": 0.05 / 24, "change_difference": 0.05,
                 "d_I": 0.15, "d_II": 0.15}
    for quantity, tol in tolerance.items():
        assert got[quantity].draws.mean() == pytest.approx(want[quantity], abs=tol), quantity
    gap = abs(mar["contrast_at_24"].draws.mean() - want["contrast_at_24"])
    assert gap > 2 * tolerance["contrast_at_24"], gap


def test_level_and_slope_differ_as_simulated(fitted):
    """The slope shift is smaller than the level shift by the share of the 24 months the
    drop-outs were still seen (last visit 0, 6 or 12 months): the adjusted contrasts differ
    as the truths do."""
    fit, data, truth, sd = fitted
    got, want = [], []
    for shape in ("level", "slope"):
        scenario = _scenario("II worse", shape)
        got.append(delta_quantities(fit, data, TRUE_DELTA, scenario=scenario)
                   ["contrast_at_24"].draws.mean())
        want.append(true_quantities(truth, sd=sd, scenario=scenario, delta=TRUE_DELTA)
                    ["contrast_at_24"])
    assert got[0] - got[1] == pytest.approx(want[0] - want[1], rel=1e-6)
    assert want[0] - want[1] > 0.02


def test_delta_zero_is_the_baseline_exactly(fitted):
    fit, data, _, _ = fitted
    base = main_quantities(fit, data)
    for scenario in SCENARIOS:
        for name, q in delta_quantities(fit, data, 0.0, scenario=scenario).items():
            np.testing.assert_array_equal(q.draws, base[name].draws)


def test_a_scenario_moves_only_what_it_shifts(fitted):
    """Shifting Period II's drop-outs leaves d of Period I exactly where it was."""
    fit, data, _, _ = fitted
    base = main_quantities(fit, data)
    moved = delta_quantities(fit, data, 2.0, scenario=_scenario("II worse", "level"))
    np.testing.assert_array_equal(moved["d_I"].draws, base["d_I"].draws)
    assert moved["d_II"].draws.mean() > base["d_II"].draws.mean() + 0.1  # bsi: worse is up


@pytest.fixture(scope="module")
def rows(fitted):
    fit, data, _, _ = fitted
    return pd.DataFrame(tipping_rows(fit, data, baseline={}))


def test_tipping_point_is_where_the_conclusion_changes(fitted, rows):
    """The reported tipping point of each conclusion: just below it the conclusion is the
    baseline's, just above it another (the decision recomputed from the adjusted draws with
    the HDI + ROPE rule); d's 'large' tips where its mean crosses 0.8."""
    from mbtbayes.core.decisions import rope_decision
    from mbtbayes.core.posterior import summarize_draws

    fit, data, _, _ = fitted
    prepared = prepare(fit, data)
    tips = rows[rows["setting"].str.contains(": tipping point: delta = ")]
    assert len(tips) >= 8
    for r in tips.itertuples(index=False):
        label, _, point = r.setting.partition(": tipping point: delta = ")
        delta = float(re.match(r"([0-9.]+) SD", point).group(1))
        scenario = next(s for s in SCENARIOS if s.label == label)
        name, large = r.quantity.removeprefix("large_"), r.quantity.startswith("large_")

        def verdict(d, name=name, scenario=scenario, large=large):
            q = delta_quantities(fit, data, d, scenario=scenario, prepared=prepared)[name]
            s = summarize_draws(q.draws)
            if large:
                return -s["mean"] >= 0.8  # bsi: improvement is a fall
            decision = rope_decision(s["hdi_low"], s["hdi_high"], half_width=q.rope)
            return decision, np.sign(s["mean"]) if decision == "difference" else 0

        assert verdict(delta - 0.01) == verdict(0.0), r.setting
        assert verdict(delta + 0.01) != verdict(0.0), r.setting
    large = rows[(rows["quantity"] == "large_d_II") & rows["baseline"]]
    assert large["decision"].tolist() == [LARGE]


def test_rows_name_the_register_counts_and_the_tipping_points(rows):
    shifted = rows[~rows["baseline"]]
    assert shifted["note"].str.contains(r"II: 40 drop-out\(s\) of 100 patients").all()
    assert not rows[~rows["baseline"]]["setting"].str.contains("delta = 0 ").any()
    assert set(rows["quantity"]) == {"contrast_slope", "contrast_at_24", "d_I", "d_II",
                                     "change_difference", "d_difference", "large_d_I",
                                     "large_d_II"}
    per_scenario = rows[~rows["baseline"]].groupby("quantity").size()
    assert (per_scenario == 2 * len(SCENARIOS)).all()  # delta = 1 SD and the tipping point


def test_without_a_dropout_column_the_analysis_refuses(fitted):
    fit, data, _, _ = fitted
    with pytest.raises(DataError, match="dropout"):
        tipping_rows(fit, data.drop(columns="dropout"), baseline={})


def test_tipping_points_monte_carlo_error_matches_their_spread_over_resampled_draws(fitted,
                                                                                  rows):
    """The stated Monte Carlo error of a tipping point (the deciding summary's error over the
    draws' movement per unit delta) against the SD of the tipping point recomputed on 40
    bootstrap resamples of the draws: within a factor of two (the stated error takes the
    larger HDI end and the draws' autocorrelation; the resampled spread has itself about 11%
    sampling error)."""
    from mbtbayes.sensitivity.prior_grid import better_sign
    from mbtbayes.sensitivity.tipping import conclusion, tipping_point, with_large

    fit, data, _, _ = fitted
    prepared = prepare(fit, data)
    better = better_sign(fit.spec.measure)[0]
    scenario = _scenario("II worse", "level")
    for name in ("contrast_at_24", "large_d_II"):
        setting = rows[(rows["quantity"] == name)
                       & rows["setting"].str.startswith(scenario.label + ": tipping point")]
        stated = float(re.search(r"MC error ([0-9.e-]+)\)", setting["setting"].iloc[0]).group(1))
        rng = np.random.default_rng(5)
        tips = []
        for _ in range(40):
            idx = rng.integers(0, len(prepared.sd_draws), len(prepared.sd_draws))
            resampled = replace(prepared, sd_draws=prepared.sd_draws[idx], quantities={
                k: replace(q, draws=q.draws[idx]) for k, q in prepared.quantities.items()})

            def shifted(d, resampled=resampled):
                return with_large(delta_quantities(fit, data, d, scenario=scenario,
                                                   prepared=resampled))

            reference = conclusion(shifted(0.0)[name], better=better)[1]
            tips.append(tipping_point(shifted, name, reference, better=better))
        spread = float(np.std(np.array(tips, float), ddof=1))
        assert 0.5 * spread < stated < 2 * spread, (name, stated, spread)
