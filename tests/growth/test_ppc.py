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
from mbtbayes.growth.fit import GrowthFit
from mbtbayes.growth.ppc import ppc_table, ppp


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
    assert set(same["statistic"]) == {"mean", "sd", "floor_share", "ceiling_share"}
    assert len(same) == 2 * (3 * 2 + 2)  # periods x (waves x {mean, sd} + floor, ceiling)
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
