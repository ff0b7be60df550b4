"""Posterior predictive checks: the statistics, their p-values and the misfit flag, on fits
whose posterior predictive draws are made by hand."""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import mbtbayes as mb
from mbtbayes.core.sampling import Diagnostics
from mbtbayes.growth.design import make_design
from mbtbayes.growth.ppc import ppc_table, ppp
from mbtbayes.growth.result import GrowthFit


@pytest.fixture(scope="module")
def fit_with():
    rng = np.random.default_rng(3)
    rows = [(f"p{i}", ["I", "II"][i % 2], m, a + 1, float(np.clip(rng.normal(1.5, 1), 0, 4)))
            for i in range(30) for a, m in enumerate((0.0, 6.0, 12.0))]
    data = pd.DataFrame(rows, columns=["patient_id", "period", "months", "assessment", "bsi"])
    data.loc[:4, "bsi"] = 0.0  # some scores at the floor
    spec = mb.load_specs()["bsi"]
    design = make_design(spec, data, variant="period")

    def make(replicated: np.ndarray) -> GrowthFit:
        idata = az.InferenceData(posterior_predictive=xr.Dataset(
            {"bsi": (("chain", "draw", "__obs__"), replicated[None])}))
        return GrowthFit(spec, "period", design, idata, Diagnostics(1, 1e3, 1e3, 0, True), "x",
                         0.0)

    return design, make


def test_ppp_splits_ties():
    assert ppp(np.array([1.0, 2.0, 3.0]), 2.0) == pytest.approx(0.5)
    assert ppp(np.array([3.0, 4.0]), 2.0) == 1.0 and ppp(np.array([0.0, 1.0]), 2.0) == 0.0


def test_replicates_equal_to_the_data_fit_and_shifted_ones_are_flagged(fit_with):
    design, make = fit_with
    same = ppc_table([make(np.tile(design.y, (50, 1)))])
    assert set(same["statistic"]) == {"mean", "sd", "floor_share", "ceiling_share",
                                      "outside_scale"}
    # periods x (waves x {mean, sd} + floor, ceiling, outside); no params: in-sample only
    assert len(same) == 2 * (3 * 2 + 3) and set(same["predictive"]) == {"in-sample"}
    assert (same["ppp"] == 0.5).all() and not same["misfit"].any()
    np.testing.assert_allclose(same["observed"], same["predicted_mean"])
    first = same[(same["period"] == "I") & (same["wave"] == "assessment 1")]
    y = design.y[(design.frame["period"] == "I") & (design.frame["assessment"] == 1)]
    assert first.set_index("statistic").loc["mean", "observed"] == pytest.approx(y.mean())
    assert first.set_index("statistic").loc["sd", "observed"] == pytest.approx(y.std(ddof=1))
    shifted = ppc_table([make(np.tile(design.y + 1.0, (50, 1)))]).set_index("statistic")
    assert (shifted.loc["mean", "ppp"] == 1).all() and shifted.loc["mean", "misfit"].all()
    np.testing.assert_allclose(shifted.loc["sd", "predicted_mean"], shifted.loc["sd", "observed"])
    floor = shifted.loc["floor_share"]
    assert (floor["observed"] > 0).any() and (floor["predicted_mean"] == 0).all()
    assert floor[floor["observed"] > 0]["misfit"].all()


def test_a_continuous_prediction_counts_at_the_floor_within_half_a_step(fit_with):
    design, make = fit_with
    replicated = np.tile(design.y, (10, 1))
    replicated[replicated == 0.0] = -0.3  # below the scale: counts as at the floor
    near = make(replicated)
    table = ppc_table([near]).set_index("statistic").loc["floor_share"]
    np.testing.assert_allclose(table["observed"], table["predicted_mean"])
    # ... and as outside the scale (more than half a step, 1/36, below 0): the observed
    # share outside is 0, every replicate's is the share of floor scores, so ppp = 1
    outside = ppc_table([near]).set_index("statistic").loc["outside_scale"]
    period = design.frame["period"].to_numpy()
    for _, row in outside.iterrows():
        expected = (design.y[period == row["period"]] == 0.0).mean()
        assert row["observed"] == 0.0 and row["predicted_mean"] == pytest.approx(expected)
        assert row["ppp"] == (1.0 if expected > 0 else 0.5)
        assert row["misfit"] == (expected > 0)
    small = np.tile(design.y, (10, 1))
    small[small == 0.0] = -0.02  # within half a step of the floor: at the floor, not outside
    assert (ppc_table([make(small)]).set_index("statistic").loc["outside_scale",
                                                                 "predicted_mean"] == 0).all()


def new_patient_fit(*, seed: int = 4):
    """A fit by hand with known population parameters (2 chains x 500 draws, all equal) and
    everything the checks read: params, log-likelihood, posterior predictive draw indices."""
    rng = np.random.default_rng(seed)
    n_pat, times = 400, np.array([0.0, 6.0, 12.0, 24.0])
    rows = [(f"p{i}", ["I", "II"][i % 2], t, a + 1) for i in range(n_pat)
            for a, t in enumerate(times)]
    data = pd.DataFrame(rows, columns=["patient_id", "period", "months", "assessment"])
    beta = np.array([2.0, -0.03, 0.2, 0.01])  # Intercept, months, period[II], months:period
    sd0, sd1, sigma = 0.5, 0.02, 0.3
    X = np.column_stack([np.ones(len(data)), data["months"], data["period"] == "II",
                         data["months"] * (data["period"] == "II")]).astype(float)
    patient = pd.factorize(data["patient_id"])[0]
    u0, u1 = rng.normal(0, sd0, n_pat), rng.normal(0, sd1, n_pat)
    data["bsi"] = X @ beta + u0[patient] + u1[patient] * data["months"] + rng.normal(
        0, sigma, len(data))
    spec = mb.load_specs()["bsi"]
    design = make_design(spec, data, variant="period")
    chains, draws = 2, 500
    const = {"beta": (("chain", "draw", "coef"), np.tile(beta, (chains, draws, 1))),
             "sd_intercept": (("chain", "draw"), np.full((chains, draws), sd0)),
             "sd_slope": (("chain", "draw"), np.full((chains, draws), sd1)),
             "sigma": (("chain", "draw"), np.full((chains, draws), sigma))}
    params = xr.Dataset(const, coords={"coef": list(design.columns)})
    kept = np.arange(0, draws, 2)
    idata = az.InferenceData(
        posterior=params,
        posterior_predictive=xr.Dataset(
            {"bsi": (("chain", "draw", "__obs__"), np.tile(design.y, (chains, len(kept), 1)))},
            coords={"draw": kept}),
        log_likelihood=xr.Dataset(
            {"bsi": (("chain", "draw", "patient_id__factor_dim"),
                     np.zeros((chains, draws, n_pat)))}))
    fit = GrowthFit(spec, "period", design, idata, Diagnostics(1, 1e3, 1e3, 0, True), "x", 0.0,
                    params=params)
    return fit, (beta, sd0, sd1, sigma)


def test_new_patient_replicates_have_the_population_mean_and_variance():
    """Replicates of new patients at the fit's rows: per row, mean x'b and variance
    sd0^2 + t^2 sd1^2 + sigma^2 (the generating values, hand arithmetic); the in-sample rows
    are the ones made by hand (here: the data), the new-patient rows are not."""
    from mbtbayes.growth.ppc import new_patient_draws

    fit, (beta, sd0, sd1, sigma) = new_patient_fit()
    reps = new_patient_draws(fit, seed=1)
    design = fit.design
    assert reps.shape == (2 * 250, len(design.y))
    t = design.time
    mean = design.X @ beta
    var = sd0**2 + t**2 * sd1**2 + sigma**2
    for time in (0.0, 24.0):
        rows = t == time
        z = (reps[:, rows] - mean[rows]) / np.sqrt(var[rows])
        assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02, time  # 100k values
    # within a replicate, rows of one patient share its effects: correlation sd0^2 / var
    first = np.flatnonzero((design.group == 0) & (t == 0.0))[0]
    second = np.flatnonzero((design.group == 0) & (t == 6.0))[0]
    r = np.corrcoef(reps[:, first], reps[:, second])[0, 1]
    expected = (sd0**2) / np.sqrt(var[first] * var[second])
    assert r == pytest.approx(expected, abs=0.1)  # 500 replicates: SE about 0.04
    table = ppc_table([fit])
    assert table["predictive"].value_counts().to_dict() == {"in-sample": 22,
                                                            "new patients": 22}
