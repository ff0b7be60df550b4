"""The new-patient LOO-PIT: its CDF against SciPy (the normal CDF with the variance written
out by hand; the Student-t family against numerical integration with scipy.integrate.quad),
its importance weights against plain importance sampling computed here, the uniformity test
against SciPy's Kolmogorov-Smirnov test, and simulation truth: real fits of data simulated
from the model itself give a uniform PIT, of data simulated with skewed residuals not.
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import integrate, stats

import mbtbayes as mb
from mbtbayes.core.sampling import Diagnostics, SamplerOptions
from mbtbayes.growth.design import make_design
from mbtbayes.growth.engines import engines_for
from mbtbayes.growth.loo_pit import (
    kish_size,
    ks_pvalue,
    loo_pit,
    loo_pit_table,
    new_patient_cdf,
)
from mbtbayes.growth.patients import Draws
from mbtbayes.growth.result import GrowthFit


def test_gaussian_cdf_is_the_normal_cdf_with_the_new_patient_variance():
    """var(y) = sd0^2 + 2 t rho sd0 sd1 + t^2 sd1^2 + sigma^2 for a new patient."""
    draws = Draws(beta=np.array([[2.0, -0.05], [1.5, 0.02]]), sds=np.array([[0.5, 0.03],
                                                                             [0.4, 0.01]]),
                  sigma=np.array([0.3, 0.6]), corr=np.array([0.4, -0.2]))
    t = np.array([0.0, 12.0, 24.0])
    X = np.column_stack([np.ones(3), t])
    Z = X.copy()
    y = np.array([2.1, 1.0, 0.2])
    got = new_patient_cdf(draws, y=y, X=X, Z=Z)
    for s in range(2):
        sd0, sd1 = draws.sds[s]
        var = (sd0**2 + 2 * t * draws.corr[s] * sd0 * sd1 + t**2 * sd1**2
               + draws.sigma[s] ** 2)
        expected = stats.norm.cdf(y, loc=X @ draws.beta[s], scale=np.sqrt(var))
        np.testing.assert_allclose(got[s], expected, rtol=1e-12)


def test_student_t_cdf_integrates_the_patient_effects_out():
    """P(y_rep <= y) = int F_t((y - m - sqrt(v) z) / s; nu) phi(z) dz, by quad. The package's
    estimate per draw is unbiased with SD below 0.01, so the mean over 4000 equal draws has
    SD below 1.6e-4; the tolerance is 1e-3 (6 SD)."""
    S = 4000
    draws = Draws(beta=np.tile([1.0, 0.1], (S, 1)), sds=np.tile([0.8, 0.05], (S, 1)),
                  sigma=np.full(S, 0.4), nu=np.full(S, 3.5))
    t = np.array([0.0, 10.0])
    X = np.column_stack([np.ones(2), t])
    y = np.array([0.2, 3.5])
    got = new_patient_cdf(draws, y=y, X=X, Z=X, rng=np.random.default_rng(5)).mean(axis=0)
    for j in range(2):
        m, v = X[j] @ draws.beta[0], 0.8**2 + (t[j] * 0.05) ** 2
        ref, _ = integrate.quad(lambda z, j=j, m=m, v=v: stats.t.cdf(
            (y[j] - m - np.sqrt(v) * z) / 0.4, 3.5) * stats.norm.pdf(z), -np.inf, np.inf)
        assert got[j] == pytest.approx(ref, abs=1e-3)


def fake_fit(*, seed: int = 0):
    """A fit made by hand: draws of the fixed effects that differ, a per-patient
    log-likelihood that differs between draws (so the weights matter), an outcome without a
    schema step (``y`` on 0-10: each score its own value, no randomisation)."""
    rng = np.random.default_rng(seed)
    n_pat, times = 30, np.array([0.0, 6.0, 12.0])
    rows = [(f"p{i}", ["I", "II"][i % 2], t) for i in range(n_pat) for t in times]
    data = pd.DataFrame(rows, columns=["id", "arm", "t"])
    data["y"] = np.clip(5 + rng.normal(0, 1, len(data)), 0.5, 9.5)
    spec = mb.make_spec(outcome="y", time="t", group="id", period="arm", range=(0, 10))
    design = make_design(spec, data, variant="period")
    chains, draws = 2, 400
    beta = np.array([5.0, 0.0, 0.0, 0.0]) + rng.normal(0, 0.3, (chains, draws, 4))
    params = xr.Dataset({
        "beta": (("chain", "draw", "coef"), beta),
        "sd_intercept": (("chain", "draw"), np.full((chains, draws), 0.5)),
        "sd_slope": (("chain", "draw"), np.full((chains, draws), 0.01)),
        "sigma": (("chain", "draw"), rng.uniform(0.8, 1.2, (chains, draws)))},
        coords={"coef": list(design.columns)})
    loglik = rng.normal(0, 0.5, (chains, draws, n_pat))
    idata = az.InferenceData(
        posterior=params,
        posterior_predictive=xr.Dataset({"y": (("chain", "draw", "__obs__"),
                                               np.zeros((chains, draws, len(design.y))))},
                                        coords={"draw": np.arange(draws)}),
        log_likelihood=xr.Dataset({"y": (("chain", "draw", "id__factor_dim"), loglik)}))
    fit = GrowthFit(spec, "period", design, idata, Diagnostics(1, 1e3, 1e3, 0, True), "x",
                    0.0, params=params)
    return fit, beta.reshape(-1, 4), params["sigma"].values.ravel(), loglik.reshape(-1, n_pat)


def test_pit_weights_leave_the_patient_out():
    """Plain importance sampling, weights 1 / p(y_i | theta_s) normalised per patient: with
    log-likelihoods of SD 0.5 Pareto smoothing changes little, so the two agree closely; the
    weights of the wrong direction (p instead of 1 / p) would not."""
    fit, beta, sigma, loglik = fake_fit()
    pit, k = loo_pit(fit)
    assert k.max() < 0.5
    design = fit.design
    var = 0.5**2 + design.time**2 * 0.01**2 + sigma[:, None] ** 2
    cdf = stats.norm.cdf(design.y, loc=beta @ design.X.T, scale=np.sqrt(var))  # (S, n)
    for sign, close in ((-1, True), (1, False)):
        w = np.exp(sign * loglik)
        w /= w.sum(axis=0)
        reference = np.einsum("sn,sn->n", w[:, design.group], cdf)
        assert np.allclose(pit, reference, atol=0.01) == close


def test_pit_of_a_recorded_score_is_uniform_within_its_interval():
    """A BSI score stands for (y - 1/36, y + 1/36], a 0 for everything up to 1/36: each PIT
    lies between the predictive CDF at the interval's ends (computed here with SciPy, plain
    importance weights), at a uniform place inside it (randomised PIT)."""
    fit, beta, sigma, loglik = fake_fit(seed=2)
    spec = mb.load_specs()["bsi"]
    frame = fit.design.frame.rename(columns={"id": "patient_id", "arm": "period",
                                             "t": "months", "y": "bsi"})
    frame["bsi"] = np.round(np.clip(frame["bsi"] - 4.2, 0, 4) * 18) / 18  # a pile at 0
    design = make_design(spec, frame, variant="period")
    shift = np.array([4.2, 0.0, 0.0, 0.0])  # the model moved with the data
    params = fit.params.assign(beta=fit.params["beta"] - shift).assign_coords(
        coef=list(design.columns))
    beta = beta - shift
    bsi_fit = GrowthFit(spec, "period", design, fit.idata.rename({"y": "bsi"}).rename_dims(
        {"id__factor_dim": "patient_id__factor_dim"}), fit.diagnostics, "x", 0.0, params=params)
    pit, _ = loo_pit(bsi_fit, seed=4)
    w = np.exp(-loglik)
    w /= w.sum(axis=0)
    sd = np.sqrt(0.5**2 + design.time**2 * 0.01**2 + sigma[:, None] ** 2)
    mean = beta @ design.X.T
    at_floor = design.y == 0
    lo = np.where(at_floor, -np.inf, design.y - 1 / 36)
    ends = [np.einsum("sn,sn->n", w[:, design.group], stats.norm.cdf(edge, mean, sd))
            for edge in (lo, design.y + 1 / 36)]
    assert at_floor.mean() >= 0.15 and (ends[0][at_floor] == 0).all()
    assert ((pit >= ends[0] - 0.01) & (pit <= ends[1] + 0.01)).all()
    place = (pit - ends[0]) / (ends[1] - ends[0])
    assert stats.kstest(np.clip(place, 0, 1), "uniform").pvalue > 0.001  # 90 places


def test_ks_pvalue_with_independent_values_is_scipys():
    pit = np.random.default_rng(3).uniform(size=150) ** 1.2
    assert ks_pvalue(pit, n_eff=150) == pytest.approx(
        stats.kstest(pit, "uniform", method="exact").pvalue, rel=1e-6)
    assert kish_size(np.repeat(np.arange(10), 3)) == pytest.approx(10.0)
    assert kish_size(np.array([0, 1, 1, 1])) == pytest.approx(16 / 10)


def simulate(*, seed: int, skewed: bool, n: int = 300) -> pd.DataFrame:
    """A growth register with patient intercepts and slopes; residuals Gaussian (the model
    fitted) or standardised chi-square(1) (skewed: another model)."""
    rng = np.random.default_rng(seed)
    times = np.array([0.0, 6.0, 12.0, 18.0])
    rows = []
    for i in range(n):
        period = ["I", "II"][i % 2]
        u0, u1 = rng.normal(0, 0.3), rng.normal(0, 0.01)
        for t in times:
            e = (rng.chisquare(1) - 1) / np.sqrt(2) if skewed else rng.normal()
            mean = 20 - 0.2 * t + (1.0 if period == "II" else 0.0)
            rows.append((f"p{i}", period, t, mean + u0 + u1 * t + e))
    return pd.DataFrame(rows, columns=["id", "arm", "t", "y"])


@pytest.fixture(scope="module")
def real_fits():
    spec = mb.make_spec(outcome="y", time="t", group="id", period="arm", range=(0, 40))
    engines = engines_for(SamplerOptions(draws=500, tune=500, chains=2))
    return {kind: mb.fit_growth(spec, simulate(seed=7, skewed=kind == "skewed"),
                                variant="period", engines=engines)
            for kind in ("gaussian", "skewed")}


def test_pit_is_uniform_when_the_data_come_from_the_model(real_fits):
    row = loo_pit_table([real_fits["gaussian"]]).set_index("period").loc["all"]
    assert row["n_eff"] == pytest.approx(300.0)  # 4 observations per patient
    assert row["ks_p"] > 0.01 and row["uniform"]
    assert abs(row["pit_mean"] - 0.5) < 0.03 and abs(row["pit_sd"] - 12**-0.5) < 0.02
    assert row["max_pareto_k"] < 0.7


def test_pit_is_not_uniform_when_the_residuals_are_skewed(real_fits):
    """A Gaussian fitted to chi-square residuals: the observed values pile below the
    predictive median (a right-skewed residual's median is below its mean)."""
    row = loo_pit_table([real_fits["skewed"]]).set_index("period").loc["all"]
    assert row["ks_p"] < 0.001 and not row["uniform"]
    pit, _ = loo_pit(real_fits["skewed"])
    assert (pit < 0.5).mean() > 0.55
