"""The Bambi engine on simulated data with known truth: Student-t errors, uncorrelated
(time || id) effects, a covariate and a B-spline of time in one model; an intercept-only model
with a residual SD by arm and quadratic time in another. Reference values are the simulation
truth; sampling is small (2 chains)."""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import pytest

import mbtbayes as mb
from mbtbayes.core.arviz_api import save_inference
from mbtbayes.growth.engines import engines_for
from mbtbayes.growth.loo import elpd_difference, kfold_patients, patient_loo
from mbtbayes.growth.ppc import ppc_table
from mbtbayes.growth.specs import spec_from_dict
from mbtbayes.growth.summaries import growth_table, period_effects
from mbtbayes.growth.trajectories import change_draws

N = 100


def simulate(*, seed: int, t_noise: bool) -> pd.DataFrame:
    """Truth A: linear in week, slope -0.5 (A) and -0.2 (B), arm shift 2, age 0.1 per year,
    intercept SD 3, slope SD 0.4, t(4) noise of scale 1. Truth B: intercept SD 2, quadratic
    0.05 week^2 in both arms, residual SD 1 (arm A) and 2.5 (arm B). 3-6 visits each."""
    rng = np.random.default_rng(seed)
    rows, effects = [], []
    for i in range(N):
        arm, age = "AB"[i % 2], float(rng.integers(20, 60))
        weeks = np.sort(rng.choice(np.arange(0, 11, 2), size=rng.integers(3, 7), replace=False))
        u0, u1 = rng.normal(0, 3 if t_noise else 2), rng.normal(0, 0.4)
        effects.append((u0, u1))
        for w in weeks:
            b = arm == "B"
            if t_noise:
                mean = 20 + 2 * b + 0.1 * (age - 40) + u0 + (-0.5 + 0.3 * b + u1) * w
                y = mean + rng.standard_t(4)
            else:
                mean = 20 + 2 * b + u0 - 0.6 * w + 0.05 * w**2
                y = mean + rng.normal(0, 2.5 if b else 1.0)
            rows.append((f"s{i}", arm, float(w), age, y))
    data = pd.DataFrame(rows, columns=["subject", "arm", "week", "age", "score"])
    data.attrs["realised_sd"] = np.std(effects, axis=0, ddof=1)  # of the simulated effects
    return data


@pytest.fixture(scope="module")
def engines():
    return engines_for(mb.SamplerOptions(draws=1000, tune=600, chains=2))


@pytest.fixture(scope="module")
def robust(engines):
    """t family, (week || subject), age, bs4(week): goes to Bambi with engine = "auto"."""
    data = simulate(seed=21, t_noise=True)
    raw = {"measure": "score", "range": [0, 50], "family": "t", "time": "week",
           "group": "subject", "period": "arm",
           "rope": {"half_width": 0.5, "source": "the scale of the simulation"},
           "effect_size": {"months": [0, 10]},
           "formulas": {"period": "score ~ bs4(week) * arm + age + (week || subject)",
                        "linear": "score ~ bs4(week) + age + (week || subject)"},
           "priors": {"age": {"dist": "Normal", "mu": 0, "sigma": 1.0}}}
    spec = spec_from_dict(raw, name="robust")
    return spec, data, mb.fit_growth(spec, data, variant="period", engines=engines)


@pytest.fixture(scope="module")
def quadratic(engines):
    """Intercept only, sigma ~ arm, quadratic time, Gaussian."""
    data = simulate(seed=5, t_noise=False)
    spec = mb.make_spec(outcome="score", time="week", group="subject", period="arm",
                        range=(0, 50), time_terms=("week", "I(week**2)"), random="intercept",
                        sigma="arm", d_months=(0, 10))
    return spec, data, mb.fit_growth(spec, data, variant="period", engines=engines)


def within(row, truth) -> bool:
    return row["hdi_low"] <= truth <= row["hdi_high"]


def test_student_t_uncorrelated_effects_covariate_and_spline(robust):
    spec, data, fit = robust
    assert fit.engine == "bambi" and fit.diagnostics.passed, fit.diagnostics
    table = growth_table([fit]).set_index("term")
    assert {"nu", "sd_intercept", "sd_slope", "sigma", "bs4(week)[0]"} <= set(table.index)
    sd0, sd1 = data.attrs["realised_sd"]
    assert within(table.loc["age"], 0.1) and within(table.loc["sd_intercept"], sd0)
    assert within(table.loc["sd_slope"], sd1) and within(table.loc["sigma"], 1.0)
    assert table.loc["nu", "hdi_low"] < 4 < table.loc["nu", "hdi_high"]
    change = change_draws(fit)  # through the spline's design, knots from the data
    for arm, truth in {"A": -5.0, "B": -2.0}.items():
        lo, hi = np.quantile(change[arm], [0.025, 0.975])
        assert lo < truth < hi, (arm, lo, hi)
    effects = period_effects([fit], data).set_index("contrast")
    assert within(effects.loc["at_10"], 2 + 10 * 0.3) and within(effects.loc["slope"], 0.3)


def test_the_spec_priors_reach_the_bambi_model(robust):
    spec, _, fit = robust
    prior = fit.model.components["mu"].common_terms["age"].prior
    assert prior.name == "Normal" and prior.args["sigma"] == 1.0
    assert fit.model.components["nu"].prior.name == "Gamma"  # the default nu prior
    intercept = fit.model.components["mu"].intercept_term.prior
    assert intercept.args["mu"] == 25.0  # mid-range
    assert intercept.args["sigma"] == pytest.approx(50 / 6, rel=1e-3)  # R/6


def test_bambi_fit_predicts_checks_and_saves(robust, tmp_path):
    spec, data, fit = robust
    out = fit.model.predict(fit.idata, kind="response", inplace=False)
    assert out.posterior_predictive["score"].shape[-1] == len(fit.design.y)
    import bambi as bmb

    grid = bmb.interpret.predictions(fit.model, fit.idata, conditional={
        "week": [0.0, 10.0], "arm": ["A", "B"], "age": [40.0]})
    assert len(grid) == 4 and grid["estimate"].notna().all()
    loo = patient_loo(fit)
    assert loo.method == "psis_marginal_patient_quadrature"
    assert (loo.pareto_k > 0.7).mean() <= 0.02  # summed conditional: most patients above
    assert len(loo.units) == N
    path = tmp_path / "robust.nc"
    save_inference(fit.idata, path)
    back = az.from_netcdf(path)
    assert az.loo(back).elpd_loo == pytest.approx(loo.elpd, abs=0.05)
    assert {"observed_data", "constant_data", "posterior_predictive",
            "log_likelihood"} <= set(back.groups())
    import matplotlib

    matplotlib.use("Agg")
    az.plot_ppc(back, num_pp_samples=20)
    table = ppc_table([fit])
    assert set(table["statistic"]) == {"mean", "sd", "floor_share", "ceiling_share",
                                       "outside_scale"}
    assert set(table["predictive"]) == {"in-sample", "new patients"}
    assert table["engine"].eq("bambi").all() and table["ppp"].between(0, 1).all()


def test_intercept_only_sigma_by_arm_and_quadratic_time(quadratic):
    spec, data, period = quadratic
    assert period.engine == "bambi" and period.diagnostics.passed, period.diagnostics
    table = growth_table([period]).set_index("term")
    assert "sd_slope" not in table.index and "sigma" not in table.index
    assert within(table.loc["sigma_arm[B]"], np.log(2.5))
    assert within(table.loc["sigma_Intercept"], 0.0)
    assert within(table.loc["I(week ** 2)"], 0.05)
    assert within(table.loc["sd_intercept"], data.attrs["realised_sd"][0])
    change = change_draws(period)  # -0.6 * 10 + 0.05 * 100 in both arms
    assert np.quantile(change["B"], 0.025) < -1.0 < np.quantile(change["B"], 0.975)


def test_kfold_by_patient_refits_one_weighted_graph_and_agrees_with_psis(quadratic, engines):
    spec, data, fit = quadratic
    psis = patient_loo(fit)
    kfold = kfold_patients(fit, engines=engines, k=3, seed=2)
    assert kfold.method == "kfold_marginal_quadrature_patient_3" and kfold.refits_passed
    assert kfold.units == psis.units
    diff, se = elpd_difference(kfold, psis)  # paired by patient
    print(f"K-fold {kfold.elpd:.1f}, PSIS {psis.elpd:.1f}, difference {diff:.1f} (SE {se:.1f})")
    assert abs(diff) < 3 * se + 2


def test_kfold_graphs_are_keyed_by_the_model_not_its_name():
    """Two Bambi specs of one name (an alternative beside its baseline in the sensitivity
    suite) must not share a compiled K-fold graph: the second would be scored on the first's
    model. The same spec and data reuse theirs."""
    from dataclasses import replace
    from types import SimpleNamespace

    from mbtbayes.growth.design import make_design

    data = mb.load_register().data
    base = replace(mb.load_specs()["bsi"], engine="bambi", correlated=False)
    formula = base.formulas["period"].replace("(months | patient_id)", "(1 | patient_id)")
    other = replace(base, formulas={**base.formulas, "period": formula},
                    priors={k: v for k, v in base.priors.items() if k != "months|patient_id"})
    engine = engines_for(mb.SamplerOptions(draws=50, tune=50, chains=1)).get("bambi")
    keys = []

    def record(*, key, **kwargs):
        keys.append(key)
        raise StopIteration

    engine.sampling.sample_model = record
    for spec in (base, other, base):
        design = make_design(spec, data, variant="period")
        model = engine.build(spec, design, variant="period")
        model.build()
        fit = SimpleNamespace(spec=spec, design=design, variant="period", model=model)
        with pytest.raises(StopIteration):
            engine.heldout_loglik(fit, np.array([0]), seed=1)
    assert keys[0] != keys[1] and keys[0] == keys[2]
    assert keys[0][1] == keys[1][1] == "bsi"

