"""The trajectories figure draws the trajectories table (one implementation, in growth/), and
observed means per wave against hand computation.

The figure's plotted lines and bands are read back from the matplotlib artists and compared
with ``trajectory_table`` for a spline spec and for a spec with a covariate (the WAI version);
the panel's note is checked against the version shares counted in the data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mbtbayes as mb
from mbtbayes.growth.trajectories import trajectory_table
from mbtbayes.report.figures_growth import trajectories_figure
from mbtbayes.report.style import period_style
from mbtbayes.report.trajectories import observed_waves


def _spline_fit(synthetic):
    """bsi ~ bs4(months) * period with chosen draws of the fixed effects (no sampling)."""
    import arviz as az

    from mbtbayes.core.sampling import Diagnostics
    from mbtbayes.growth.design import make_design
    from mbtbayes.growth.result import GrowthFit

    spec = mb.make_spec(outcome="bsi", time="months", group="patient_id", period="period",
                        range=(0, 4), time_terms=("bs4(months)",))
    design = make_design(spec, synthetic, variant="period")
    beta = np.random.default_rng(7).normal(0, 0.5, (1, 20, len(design.columns)))
    beta[..., 0] += 2.0
    idata = az.from_dict(posterior={"beta": beta}, dims={"beta": ["coef"]},
                         coords={"coef": list(design.columns)})
    return GrowthFit(spec, "period", design, idata, Diagnostics(1.0, 1e3, 1e3, 0, True, 1, 20),
                     "test", 0.0)


def _wai_fit(synthetic, make_fit):
    # wai_bonds: Intercept, months, period[II], months:period[II], wai_version[SR]
    beta = np.random.default_rng(8).normal([5.0, 0.0, 0.1, 0.0, 1.0], 0.05, (1, 20, 5))
    return make_fit("wai_bonds", synthetic, "period", beta)


def _drawn(fig) -> dict[str, dict[str, np.ndarray]]:
    """Per period label: the plotted line (x, y) and the band's vertices."""
    ax = fig.axes[0]
    out = {}
    for level in ("I", "II"):
        line = next(ln for ln in ax.lines if ln.get_label() == period_style(level)["label"])
        out[level] = {"x": np.asarray(line.get_xdata(), float),
                      "y": np.asarray(line.get_ydata(), float)}
    bands = [c for c in ax.collections if type(c).__name__ in ("PolyCollection",
                                                              "FillBetweenPolyCollection")]
    for level, band in zip(("I", "II"), bands, strict=True):
        out[level]["band"] = band.get_paths()[0].vertices
    return out


@pytest.mark.parametrize("kind", ["spline", "covariate"])
@pytest.mark.parametrize("given", [False, True], ids=["computed", "run_table"])
def test_the_figure_draws_the_table(kind, given, synthetic, make_fit):
    fit = _spline_fit(synthetic) if kind == "spline" else _wai_fit(synthetic, make_fit)
    table = trajectory_table([fit])
    fig = trajectories_figure([fit], synthetic, table=table if given else None)
    drawn = _drawn(fig)
    notes = [t.get_text() for t in fig.axes[0].texts]
    assert bool(notes) == (kind == "covariate")  # the mix is stated where there is one
    for level, rows in table.groupby("period"):
        np.testing.assert_allclose(drawn[level]["x"], rows["time"])
        np.testing.assert_allclose(drawn[level]["y"], rows["mean"], rtol=1e-12)
        band = drawn[level]["band"]
        for t, low, high in rows[["time", "hdi_low", "hdi_high"]].itertuples(index=False):
            at = band[np.isclose(band[:, 0], t), 1]
            assert np.isclose(at, low).any() and np.isclose(at, high).any()


def test_the_public_plot_draws_the_table_and_states_the_covariate_mix(synthetic, make_fit):
    fit = _wai_fit(synthetic, make_fit)
    fig = mb.plot_trajectories([fit], synthetic)
    table = trajectory_table([fit])
    two = table[table["period"] == "II"]
    np.testing.assert_allclose(_drawn(fig)["II"]["y"], two["mean"], rtol=1e-12)
    used = synthetic.dropna(subset=["wai_bonds", "wai_version"])
    counts = used.groupby(["period", "wai_version"], observed=True).size()
    share = counts["II", "SR"] / counts["II"].sum()  # 288 of 293 rows in the register
    note = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "lines: period's observed covariate mix" in note
    assert f"Period II: wai_version: S {1 - share:.0%}, SR {share:.0%}" in note
    assert "covariates as each panel states" in fig._suptitle.get_text()


def test_a_figure_with_a_later_end_extends_the_same_table(synthetic, make_fit):
    fit = _wai_fit(synthetic, make_fit)
    fig = trajectories_figure([fit], synthetic, months=48.0)
    drawn = _drawn(fig)
    longer = trajectory_table([fit], end=48.0)
    assert drawn["I"]["x"].max() == 48.0
    np.testing.assert_allclose(drawn["I"]["y"], longer[longer["period"] == "I"]["mean"])


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
