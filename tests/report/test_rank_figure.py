"""The rank plot of a fit's population terms: one panel per term, one rank curve per chain,
patient effects left out; a chain stuck apart shows in its ranks."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from mbtbayes.report.figures import figure_plan
from mbtbayes.report.figures_rank import panels_needed, population_posterior, rank_figure
from mbtbayes.report.style import figure_style

CHAINS, DRAWS = 4, 200


@pytest.fixture
def fit(synthetic, make_fit):
    # wai_bonds: Intercept, months, period[II], months:period[II], wai_version[SR]
    beta = np.random.default_rng(3).normal(0.0, 1.0, (CHAINS, DRAWS, 5))
    return make_fit("wai_bonds", synthetic, "period", beta)


def test_one_panel_per_population_term_and_one_curve_per_chain(fit):
    posterior = population_posterior(fit)
    assert set(posterior.data_vars) == {"beta", "sd_intercept", "sd_slope", "sigma"}
    assert panels_needed(posterior) == 5 + 3
    with figure_style():
        fig = rank_figure(fit)
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert len(shown) == 8
    titles = " ".join(ax.get_title() for ax in shown)
    for term in ("Intercept", "months:period[II]", "wai_version[SR]", "sd_slope", "sigma"):
        assert term in titles
    # ArviZ's "vlines" rank plot: per chain, one marker line of its rank counts
    assert all(len([line for line in ax.get_lines() if line.get_marker() == "o"]) == CHAINS
               for ax in shown)


def _intercept(fig):
    return next(ax for ax in fig.axes if "Intercept" in ax.get_title())


def _rank_counts(ax) -> np.ndarray:
    """Per chain, the plotted height of each rank bin (ArviZ draws a density: the uniform
    height is the mean of them all)."""
    return np.array([line.get_ydata() for line in ax.get_lines() if line.get_marker() == "o"])


def test_a_chain_stuck_apart_shows_in_its_ranks(synthetic, make_fit):
    """Mixed chains: every chain's counts near the uniform count; one chain shifted by 3 SD
    holds the top ranks alone (its counts pile in the upper bins, the others' in the lower)."""
    rng = np.random.default_rng(4)
    beta = rng.normal(0.0, 1.0, (CHAINS, DRAWS, 5))
    stuck = beta.copy()
    stuck[3, :, 0] += 3.0
    with figure_style():
        mixed = _rank_counts(_intercept(rank_figure(
            make_fit("wai_bonds", synthetic, "period", beta))))
        apart = _rank_counts(_intercept(rank_figure(
            make_fit("wai_bonds", synthetic, "period", stuck))))
    assert np.abs(mixed - mixed.mean()).max() < 0.8 * mixed.mean()  # 200 draws in 17 bins
    half = apart.shape[1] // 2
    assert apart[3, half + 1:].sum() > 0.95 * apart[3].sum()
    assert apart[:3, :half].sum() > 0.6 * apart[:3].sum()


def test_params_are_used_when_the_fit_has_them(fit):
    params = xr.Dataset({"sigma": fit.idata.posterior["sigma"],
                         "1|patient_id": fit.idata.posterior["sigma"]})
    assert list(population_posterior(fit.__class__(**{**fit.__dict__, "params": params}))
                .data_vars) == ["sigma"]


def test_the_run_gets_a_rank_figure_per_measure(fit, synthetic):
    names = [name for name, *_ in figure_plan({}, [fit], synthetic)]
    assert "rank_wai_bonds" in names
