"""Rank plots of a fit's population terms: one figure per measure (its period model), drawn by
ArviZ's ``plot_rank`` through :mod:`mbtbayes.core.arviz_api`.

A rank plot shows, per chain, where that chain's draws fall among the draws of all chains: if
the chains sample the same distribution, every chain's ranks are uniform (the dashed line);
a chain stuck in one region shows a slope or a hump (Vehtari, Gelman, Simpson, Carpenter &
Bürkner 2021, *Bayesian Analysis* 16:667).

Examples
--------
>>> fig = rank_figure(fit)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mbtbayes.core.arviz_api import plot_rank
from mbtbayes.growth.result import GrowthFit
from mbtbayes.report.style import new_figure

if TYPE_CHECKING:
    import xarray as xr
    from matplotlib.figure import Figure

COLUMNS = 4
"""Panels per row of a rank figure."""


def population_posterior(fit: GrowthFit) -> xr.Dataset:
    """The fit's population terms (fixed effects, patient-effect SDs and correlations, residual
    SD or its terms, Student-t nu): every variable without a patient dimension.

    Both engines' fits carry them in :attr:`GrowthFit.params` (the names they share); a fit
    without ``params`` gives its posterior minus the patient effects (``*|*``) and transformed
    helpers (``*_log__``).
    """
    source = fit.params if fit.params is not None else fit.idata.posterior
    names = [name for name, values in source.data_vars.items()
             if "|" not in name and not name.endswith("__") and values.ndim <= 3]
    return source[names]


def panels_needed(posterior: xr.Dataset) -> int:
    """How many panels ``plot_rank`` draws: one per variable and coordinate."""
    return int(sum(np.prod(v.shape[2:], dtype=int) for v in posterior.data_vars.values()))


def rank_figure(fit: GrowthFit) -> Figure:
    """Rank plot of every population term of one fit, one panel per term."""
    posterior = population_posterior(fit)
    n = panels_needed(posterior)
    rows = int(np.ceil(n / COLUMNS))
    fig, axes = new_figure(rows, COLUMNS, height=1.45 * rows + 0.5)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    plot_rank(posterior, axes=axes.flat[:n])
    for ax in axes.flat[:n]:
        ax.set_title(ax.get_title(), fontsize=7)
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.tick_params(labelsize=6)
    fig.suptitle(f"{fit.spec.name} ({fit.variant} model): rank of each chain's draws",
                 fontsize=9)
    fig.tight_layout()
    return fig
