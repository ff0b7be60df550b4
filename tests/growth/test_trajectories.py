"""Estimands through the design: for a quadratic-time spec, the trajectories, changes and
contrasts computed from the fixed-effects design equal the hand computation from the
coefficients; for a linear spec they equal the coefficient arithmetic of the paper."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import mbtbayes as mb
from mbtbayes.growth.design import make_design
from mbtbayes.growth.fit import GrowthFit
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
    # Population means in period A and B at the reference level of v (x), by hand.
    traj = trajectories(fit, [0.0, 12.0, 24.0])
    for j, t in enumerate([0.0, 12.0, 24.0]):
        np.testing.assert_allclose(traj[:, 0, j], b0 + b1 * t + b2 * t**2, rtol=1e-12)
        np.testing.assert_allclose(traj[:, 1, j], b0 + g0 + (b1 + g1) * t + (b2 + g2) * t**2,
                                   rtol=1e-12)
    change = change_draws(fit)
    np.testing.assert_allclose(change["A"], 24 * b1 + 576 * b2, rtol=1e-12)
    np.testing.assert_allclose(change["B"], 24 * (b1 + g1) + 576 * (b2 + g2), rtol=1e-12)
    contrasts = period_contrasts(fit)
    np.testing.assert_allclose(contrasts["intercept"], g0, rtol=1e-12)
    np.testing.assert_allclose(contrasts["at_24"], g0 + 24 * g1 + 576 * g2, rtol=1e-12)
    # The mean slope over [0, 24]: (f(24) - f(0)) / 24, i.e. g1 + 24 g2 for the difference.
    np.testing.assert_allclose(contrasts["slope"], g1 + 24 * g2, rtol=1e-12)
    d = effect_sizes([fit], data, sd_basis="observed_baseline_sd").set_index("period")
    baseline = data[data["t"] == 0]
    pooled = np.sqrt(baseline.groupby("g")["y"].var(ddof=1).mean())  # equal group sizes
    assert d.loc["B", "change_mean"] == pytest.approx((24 * (b1 + g1) + 576 * (b2 + g2)).mean())
    assert d.loc["B", "sd_point"] == pytest.approx(pooled)
    assert d.loc["B", "d_sd_fixed_mean"] == pytest.approx(
        ((24 * (b1 + g1) + 576 * (b2 + g2)) / pooled).mean())


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
    assert list(table.index) == ["intercept", "slope", "at_24"]
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
