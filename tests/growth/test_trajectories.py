"""Estimands through the design: for a quadratic-time spec, the trajectories, changes and
contrasts computed from the fixed-effects design equal the hand computation from the
coefficients and the counted covariate mix of each period; for a spline spec with a covariate,
the hand computation from patsy's B-spline basis (an implementation outside the code under
test); for a linear spec the coefficient arithmetic of the paper; and on a simulated register
with a known covariate effect and different covariate mixes per period, the standardised
contrast recovers the true marginal contrast (simulation truth) and the at-reference one the
true conditional contrast."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import mbtbayes as mb
from mbtbayes.growth.design import make_design
from mbtbayes.growth.result import GrowthFit
from mbtbayes.growth.summaries import effect_sizes, period_effects
from mbtbayes.growth.trajectories import (
    change_draws,
    period_contrasts,
    trajectories,
    trajectory_table,
)


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    rows = []
    for i in range(40):
        for t in (0.0, 6.0, 12.0, 24.0, 36.0):
            rows.append((f"p{i}", "AB"[i % 2], t, "xy"[rng.integers(2)], rng.normal(5, 1)))
    return pd.DataFrame(rows, columns=["id", "g", "t", "v", "y"])


def fake_fit(spec, data, variant: str, beta: dict[str, np.ndarray]) -> GrowthFit:
    """A fit whose posterior draws of the fixed effects are given (no sampling)."""
    design = make_design(spec, data, variant=variant)
    values = np.stack([beta[c] for c in design.columns], -1)[None]
    params = xr.Dataset({"beta": (("chain", "draw", "coef"), values)},
                        coords={"coef": list(design.columns)})
    return GrowthFit(spec, variant, design, None, _passed(), "none", 0.0, params=params)


def test_quadratic_time_estimands_equal_the_hand_computation(data):
    spec = mb.make_spec(outcome="y", time="t", group="id", period="g", range=(0, 10),
                        time_terms=("t", "I(t**2)"), covariates=("v",), random="intercept")
    rng = np.random.default_rng(0)
    names = ["Intercept", "t", "I(t ** 2)", "g[B]", "v[y]", "t:g[B]", "I(t ** 2):g[B]"]
    beta = {n: rng.normal(0, 0.1, 5) for n in names}
    fit = fake_fit(spec, data, "period", beta)
    assert set(fit.design.columns) == set(names)
    b0, b1, b2 = beta["Intercept"], beta["t"], beta["I(t ** 2)"]
    g0, g1, g2 = beta["g[B]"], beta["t:g[B]"], beta["I(t ** 2):g[B]"]
    share = data.groupby("g")["v"].apply(lambda v: (v == "y").mean())  # counted per period
    assert share["A"] != share["B"]
    bv = beta["v[y]"]
    # Population means in period A and B over each period's observed mix of v, by hand.
    traj = trajectories(fit, [0.0, 12.0, 24.0])
    for j, t in enumerate([0.0, 12.0, 24.0]):
        np.testing.assert_allclose(traj[:, 0, j], b0 + b1 * t + b2 * t**2 + bv * share["A"],
                                   rtol=1e-12)
        np.testing.assert_allclose(traj[:, 1, j], b0 + g0 + (b1 + g1) * t + (b2 + g2) * t**2
                                   + bv * share["B"], rtol=1e-12)
    change = change_draws(fit)
    np.testing.assert_allclose(change["A"], 24 * b1 + 576 * b2, rtol=1e-12)
    np.testing.assert_allclose(change["B"], 24 * (b1 + g1) + 576 * (b2 + g2), rtol=1e-12)
    contrasts = period_contrasts(fit, standardise="observed_mix")
    mix = bv * (share["B"] - share["A"])
    np.testing.assert_allclose(contrasts["intercept"], g0 + mix, rtol=1e-12)
    np.testing.assert_allclose(contrasts["at_24"], g0 + 24 * g1 + 576 * g2 + mix, rtol=1e-12)
    # The mean slope over [0, 24]: (f(24) - f(0)) / 24, i.e. g1 + 24 g2 for the difference.
    np.testing.assert_allclose(contrasts["slope"], g1 + 24 * g2, rtol=1e-12)
    # At reference (v = x in both periods): the conditional contrast, without the mix.
    reference = period_contrasts(fit, standardise="reference")
    np.testing.assert_allclose(reference["intercept"], g0, rtol=1e-12)
    np.testing.assert_allclose(reference["at_24"], g0 + 24 * g1 + 576 * g2, rtol=1e-12)
    np.testing.assert_allclose(trajectories(fit, [12.0], standardise="reference")[:, 0, 0],
                               b0 + 12 * b1 + 144 * b2, rtol=1e-12)
    # The default contrast: both periods over the pooled mix (all rows), so v's different mix
    # is not read as a period difference: for an additive v, the coefficient contrast.
    pooled = period_contrasts(fit)
    np.testing.assert_allclose(pooled["intercept"], g0, rtol=1e-12)
    np.testing.assert_allclose(pooled["at_24"], g0 + 24 * g1 + 576 * g2, rtol=1e-12)
    everyone = (data["v"] == "y").mean()
    np.testing.assert_allclose(trajectories(fit, [0.0], standardise="pooled_mix")[:, 1, 0],
                               b0 + g0 + bv * everyone, rtol=1e-12)
    d = effect_sizes([fit], data, sd_basis="observed_baseline_sd").set_index("period")
    baseline = data[data["t"] == 0]
    pooled = np.sqrt(baseline.groupby("g")["y"].var(ddof=1).mean())  # equal group sizes
    assert d.loc["B", "change_mean"] == pytest.approx((24 * (b1 + g1) + 576 * (b2 + g2)).mean())
    assert d.loc["B", "sd_point"] == pytest.approx(pooled)
    assert d.loc["B", "d_sd_fixed_mean"] == pytest.approx(
        ((24 * (b1 + g1) + 576 * (b2 + g2)) / pooled).mean())


def test_spline_and_covariate_estimands_equal_patsy_by_hand(data):
    """bs4(t) * g + v: the trajectory from patsy's B-spline basis (knots from the training
    times), the coefficients and each period's counted share of v = y."""
    import patsy

    spec = mb.make_spec(outcome="y", time="t", group="id", period="g", range=(0, 10),
                        time_terms=("bs4(t)",), covariates=("v",))
    rng = np.random.default_rng(2)
    names = ["Intercept", *[f"bs4(t)[{k}]" for k in range(4)], "g[B]",
             *[f"bs4(t)[{k}]:g[B]" for k in range(4)], "v[y]"]
    beta = {n: rng.normal(0, 1, 6) for n in names}
    fit = fake_fit(spec, data, "period", beta)
    assert set(fit.design.columns) == set(names)
    times = np.array([0.0, 5.0, 13.0, 24.0, 36.0])
    basis = patsy.dmatrix("bs(t, df=4) - 1", data)
    B = np.asarray(patsy.build_design_matrices([basis.design_info], {"t": times})[0])
    bs = np.stack([beta[f"bs4(t)[{k}]"] for k in range(4)], -1)
    gs = np.stack([beta[f"bs4(t)[{k}]:g[B]"] for k in range(4)], -1)
    share = data.groupby("g")["v"].apply(lambda v: (v == "y").mean())
    a = beta["Intercept"][:, None] + bs @ B.T + beta["v[y]"][:, None] * share["A"]
    b = (beta["Intercept"] + beta["g[B]"])[:, None] + (bs + gs) @ B.T \
        + beta["v[y]"][:, None] * share["B"]
    traj = trajectories(fit, times)
    np.testing.assert_allclose(traj[:, 0], a, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(traj[:, 1], b, rtol=1e-10, atol=1e-12)
    contrasts = period_contrasts(fit, standardise="observed_mix")
    np.testing.assert_allclose(contrasts["at_24"], b[:, 3] - a[:, 3], rtol=1e-10)
    np.testing.assert_allclose(contrasts["slope"],
                               ((b[:, 3] - a[:, 3]) - (b[:, 0] - a[:, 0])) / 24, rtol=1e-10)
    table = trajectory_table([fit]).set_index(["period", "time"])
    assert table.loc[("B", 24.0), "mean"] == pytest.approx(b[:, 3].mean())
    assert table.loc[("B", 24.0), "standardisation"] == "period's observed covariate mix"
    assert table.loc[("B", 24.0), "covariate_values"] == \
        f"v: x {1 - share['B']:.0%}, y {share['B']:.0%}"
    reference = trajectory_table([fit], standardise="reference").set_index(["period", "time"])
    assert reference.loc[("B", 24.0), "covariate_values"] == "v = x"


def test_linear_time_estimands_equal_the_coefficients(data):
    spec = mb.make_spec(outcome="y", time="t", group="id", period="g", range=(0, 10))
    rng = np.random.default_rng(1)
    beta = {n: rng.normal(0, 0.1, 7) for n in ("Intercept", "t", "g[B]", "t:g[B]")}
    fit = fake_fit(spec, data, "period", beta)
    contrasts = period_contrasts(fit)
    np.testing.assert_allclose(contrasts["slope"], beta["t:g[B]"], rtol=1e-10)
    np.testing.assert_allclose(contrasts["at_24"], beta["g[B]"] + 24 * beta["t:g[B]"],
                               rtol=1e-12)
    np.testing.assert_allclose(change_draws(fit)["A"], 24 * beta["t"], rtol=1e-12)
    linear = fake_fit(spec, data, "linear", {"Intercept": beta["Intercept"], "t": beta["t"]})
    assert list(change_draws(linear)) == ["pooled"]
    table = period_effects([fit], data).set_index("contrast")
    assert list(table.index) == ["intercept", "change", "change_d", "slope", "at_24"]
    np.testing.assert_allclose(table.loc["change", "mean"], 24 * beta["t:g[B]"].mean(),
                               rtol=1e-12)
    baseline = data[data["t"] == 0]
    pooled = np.sqrt(baseline.groupby("g")["y"].var(ddof=1).mean())  # equal group sizes
    assert table.loc["at_24", "rope_high"] == pytest.approx(0.1 * pooled)
    assert table.loc["slope", "rope_high"] == pytest.approx(0.1 * pooled / 24)


def test_trajectory_table_covers_the_observed_time_span(data):
    spec = mb.make_spec(outcome="y", time="t", group="id", period="g", range=(0, 10))
    beta = {n: np.zeros(3) + 0.1 for n in ("Intercept", "t", "g[B]", "t:g[B]")}
    fit = fake_fit(spec, data, "period", beta)
    table = trajectory_table([fit])
    assert set(table["period"]) == {"A", "B"}
    assert table["time"].min() == 0 and table["time"].max() == 36
    row = table[(table["period"] == "B") & (table["time"] == 12)].iloc[0]
    assert row["mean"] == pytest.approx(0.1 + 0.1 + 12 * 0.2)


def _passed():
    from mbtbayes.core.sampling import Diagnostics

    return Diagnostics(1.0, 1000, 1000, 0, True)


# ---------------------------------------------------------------- simulation truth

TRUE = {"intercept": 3.0, "t": 0.04, "t2": -0.0008, "shift": 0.3, "t_shift": -0.01,
        "version": 1.5}
"""Generating values: mean in A ``3 + 0.04 t - 0.0008 t^2``, B adds ``0.3 - 0.01 t``, and
version y adds 1.5 (a cubic spline without interior knots spans the quadratic exactly)."""
SHARE_Y = {"A": 0.1, "B": 0.9}
"""Probability of version y per row, by period: the mixes differ by design."""


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    rng = np.random.default_rng(2025)
    rows = []
    for i in range(240):
        g = "AB"[i % 2]
        u0, u1 = rng.normal(0, 0.5), rng.normal(0, 0.005)
        for t in (0.0, 6.0, 12.0, 18.0, 24.0, 30.0, 36.0):
            v = "y" if rng.random() < SHARE_Y[g] else "x"
            mean = (TRUE["intercept"] + TRUE["t"] * t + TRUE["t2"] * t**2
                    + (g == "B") * (TRUE["shift"] + TRUE["t_shift"] * t)
                    + TRUE["version"] * (v == "y"))
            rows.append((f"p{i}", g, t, v, mean + u0 + u1 * t + rng.normal(0, 0.5)))
    return pd.DataFrame(rows, columns=["id", "g", "t", "v", "y"])


@pytest.mark.slow
def test_standardised_contrast_recovers_the_true_marginal_contrast(simulated):
    """A real fit of ``bs3(t) * g + v``: the contrast standardised over each period's observed
    mix of v recovers the marginal truth ``shift + t_shift t + version (share_B - share_A)``
    (shares counted in the simulated rows); the at-reference contrast recovers the conditional
    truth ``shift + t_shift t`` and misses the marginal one. Tolerance: 4 posterior SDs (the
    estimate's own error; its Monte Carlo error is below 0.05 SD at these draws). 2 x 1000
    draws: at 2 x 500 the near-zero slope SD's tail ESS after the gate's retry was below 400 at
    2 of 8 seeds."""
    spec = mb.make_spec(outcome="y", time="t", group="id", period="g", range=(0, 10),
                        time_terms=("bs3(t)",), covariates=("v",))
    fit = mb.fit_growth(spec, simulated, variant="period", seed=3,
                        options=mb.SamplerOptions(draws=1000, tune=500, chains=2))
    assert fit.diagnostics.passed, fit.diagnostics
    share = simulated.groupby("g")["v"].apply(lambda v: (v == "y").mean())
    mix = TRUE["version"] * (share["B"] - share["A"])
    conditional = {"intercept": TRUE["shift"], "at_24": TRUE["shift"] + 24 * TRUE["t_shift"],
                   "slope": TRUE["t_shift"]}
    observed = period_contrasts(fit, standardise="observed_mix")
    reference = period_contrasts(fit, standardise="reference")
    pooled = period_contrasts(fit)  # the default: the same mix in both periods
    for name, truth in conditional.items():
        assert abs(pooled[name].mean() - truth) < 4 * pooled[name].std(), name
    for name, truth in conditional.items():
        marginal = truth + (mix if name != "slope" else 0.0)
        post, ref = observed[name], reference[name]
        assert abs(post.mean() - marginal) < 4 * post.std(), (name, post.mean(), marginal)
        assert abs(ref.mean() - truth) < 4 * ref.std(), (name, ref.mean(), truth)
        if name != "slope":
            assert abs(ref.mean() - marginal) > 4 * ref.std(), (name, ref.mean(), marginal)
    # Each period's population mean over its own mix, at a few times.
    traj = trajectories(fit, [0.0, 12.0, 36.0])
    for j, t in enumerate([0.0, 12.0, 36.0]):
        for i, g in enumerate("AB"):
            truth = (TRUE["intercept"] + TRUE["t"] * t + TRUE["t2"] * t**2
                     + (g == "B") * (TRUE["shift"] + TRUE["t_shift"] * t)
                     + TRUE["version"] * share[g])
            assert abs(traj[:, i, j].mean() - truth) < 4 * traj[:, i, j].std(), (g, t)
