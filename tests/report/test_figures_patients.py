"""Figures of individual patients: the seeded choice across assessment counts, one panel per
chosen patient with its known posterior line, and the shrinkage plot's points and lines."""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

import mbtbayes as mb
from mbtbayes.core.sampling import Diagnostics
from mbtbayes.growth.design import make_design
from mbtbayes.growth.groups import patient_dim
from mbtbayes.growth.result import GrowthFit
from mbtbayes.growth.shrinkage import shrinkage
from mbtbayes.report.figures_patients import (
    choose_patients,
    shrinkage_figure,
    trajectories_figure,
)
from mbtbayes.report.style import figure_style

BETA = np.array([2.0, -0.02, 0.3, 0.01])
"""Intercept, months, period[II], months:period[II]."""


def register() -> pd.DataFrame:
    """12 patients per period with 1 to 6 assessments (two each) at months 0, 6, 12, ..."""
    rows = []
    for period in ("I", "II"):
        for i in range(12):
            pid, k = f"{period}{i:02d}", 1 + i // 2
            rows += [(pid, period, 6.0 * j, 2.0 - 0.02 * j + 0.1 * (i % 3)) for j in range(k)]
    return pd.DataFrame(rows, columns=["patient_id", "period", "months", "bsi"])


def known_fit(data: pd.DataFrame, draws: int = 50) -> GrowthFit:
    """Fixed effects at BETA; every patient's effects +0.1 (intercept) and -0.01 (slope) with
    a little noise: each patient's posterior line is 2.1 - 0.03 t (I), 2.4 - 0.02 t (II)."""
    spec = mb.make_spec(outcome="bsi", time="months", group="patient_id", period="period",
                        range=(0, 4))
    design = make_design(spec, data, variant="period")
    ids = [design.groups[i] for i in design.observed]
    rng = np.random.default_rng(0)
    u = np.array([0.1, -0.01]) + rng.normal(0, [0.01, 0.0005], (draws, len(ids), 2))
    posterior = xr.Dataset(
        {"beta": (("chain", "draw", "coef"), np.tile(BETA, (1, draws, 1))),
         **{name: (("chain", "draw", patient_dim(spec)), u[None, :, :, k])
            for k, name in enumerate(design.effects)}},
        coords={"coef": list(design.columns), patient_dim(spec): ids})
    return GrowthFit(spec, "period", design, az.InferenceData(posterior=posterior),
                     Diagnostics(1.0, 1e3, 1e3, 0, True), "test", 0.0)


def title(fig: Figure) -> str:
    return " ".join(fig._suptitle.get_text().split())


def test_the_choice_spans_the_assessment_counts_and_is_reproducible():
    patients = register().groupby("patient_id").agg(period=("period", "first"),
                                                    n_assessments=("bsi", "size"))
    chosen = choose_patients(patients.reset_index(), n=6, seed=3)
    for _, part in chosen.groupby("period"):
        assert part["n_assessments"].tolist() == [1, 2, 3, 4, 5, 6]   # one from each sixth
    again = choose_patients(patients.reset_index(), n=6, seed=3)
    assert again["patient_id"].tolist() == chosen["patient_id"].tolist()
    others = [choose_patients(patients.reset_index(), n=6, seed=s)["patient_id"].tolist()
              for s in range(4, 10)]
    assert any(o != chosen["patient_id"].tolist() for o in others)
    assert len(choose_patients(patients.reset_index(), n=30, seed=3)) == 24  # all of them


def test_trajectories_figure_has_a_panel_per_chosen_patient_with_its_posterior_line():
    data = register()
    with figure_style():
        fig = trajectories_figure(known_fit(data), data, n=4, seed=1)
    assert isinstance(fig, Figure)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 8
    assert "4 patients per period" in title(fig)
    assert "seed 1" in title(fig)
    first_two = {0: (2.1, -0.03), 4: (2.4, -0.02)}   # a panel of each period
    for index, (intercept, slope) in first_two.items():
        months, line = visible[index].lines[1].get_data()   # [population, posterior, scores]
        assert line[0] == pytest.approx(intercept, abs=0.01)
        assert (line[-1] - line[0]) / (months[-1] - months[0]) == pytest.approx(slope,
                                                                               abs=0.001)


def test_shrinkage_figure_draws_each_patient_and_its_period_slope():
    data = register()
    table = shrinkage([known_fit(data)], data)
    with figure_style():
        fig = shrinkage_figure(table, "bsi")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    for ax, period in zip(fig.axes, ("I", "II"), strict=True):
        rows = table[(table["period"] == period) & table["ls_slope"].notna()]
        (points,) = [c for c in ax.collections if isinstance(c, PathCollection)
                     and len(c.get_offsets())]
        np.testing.assert_allclose(points.get_offsets(),
                                   rows[["ls_slope", "slope_mean"]].to_numpy())
        dashed = [line for line in ax.lines if line.get_linestyle() == "--"]
        assert dashed[0].get_ydata()[0] == pytest.approx(BETA[1] + (period == "II") * BETA[3])
    assert "4 patients without two distinct months" in title(fig)
