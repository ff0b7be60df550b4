"""Population trajectories and observed means per wave, against hand computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mbtbayes.report.trajectories import observed_waves, population_trajectories


def test_period_fit_gives_one_line_per_period(synthetic, make_fit):
    # columns: Intercept, months, period[II], months:period[II]; three draws
    beta = [[2.0, -0.03, 0.1, 0.001], [2.2, -0.02, 0.3, 0.002], [1.8, -0.04, -0.1, 0.0]]
    fit = make_fit("bsi", synthetic, "period", beta)
    curves = population_trajectories(fit, [0.0, 24.0]).set_index(["period", "months"])
    b = np.array(beta)
    expected = {("I", 0.0): b[:, 0], ("I", 24.0): b[:, 0] + 24 * b[:, 1],
                ("II", 0.0): b[:, 0] + b[:, 2],
                ("II", 24.0): b[:, 0] + b[:, 2] + 24 * (b[:, 1] + b[:, 3])}
    for key, draws in expected.items():
        assert curves.loc[key, "mean"] == pytest.approx(draws.mean())
        assert curves.loc[key, "hdi_low"] >= draws.min() - 1e-12
        assert curves.loc[key, "hdi_high"] <= draws.max() + 1e-12
    assert set(curves["interval"]) == {"95% HDI"}


def test_linear_fit_gives_the_pooled_line(synthetic, make_fit):
    fit = make_fit("bsi", synthetic, "linear", [[2.0, -0.03]] * 4)
    curves = population_trajectories(fit, [0.0, 12.0, 36.0])
    assert list(curves["period"].unique()) == ["pooled"]
    assert curves["mean"].tolist() == pytest.approx([2.0, 1.64, 0.92])
    assert curves["hdi_low"].tolist() == pytest.approx(curves["mean"].tolist())


def test_a_covariate_is_held_at_its_share_in_the_data_used(synthetic, make_fit):
    # wai_bonds: Intercept, months, period[II], months:period[II], wai_version[SR]
    fit = make_fit("wai_bonds", synthetic, "period", [[5.0, 0.0, 0.0, 0.0, 1.0]])
    used = synthetic.dropna(subset=["wai_bonds", "wai_version"])
    share = float((used["wai_version"].astype(str) == "SR").mean())
    curves = population_trajectories(fit, [0.0])
    assert 0 < share < 1
    assert curves["mean"].tolist() == pytest.approx([5.0 + share] * 2)


def test_observed_waves_by_hand():
    data = pd.DataFrame({"y": [1.0, 3.0, np.nan, 2.0, 4.0, 6.0],
                         "months": [0.0, 1.0, 0.5, 6.0, 7.0, 0.0],
                         "assessment": [1, 1, 1, 2, 2, 1], "g": ["I"] * 5 + ["II"]})
    waves = observed_waves(data, outcome="y", time="months", period="g")
    first = waves[(waves["period"] == "I") & (waves["wave"] == 1)].iloc[0]
    assert (first["n"], first["mean"], first["months"]) == (2, 2.0, 0.5)
    assert first["se"] == pytest.approx(np.std([1.0, 3.0], ddof=1) / np.sqrt(2))
    single = waves[waves["period"] == "II"].iloc[0]
    assert single["n"] == 1 and np.isnan(single["se"])
