"""Figures of the predictive checks: the prior predictive check of each spec, the new-patient
LOO-PIT of every fit, and the observed density over posterior predictive draws (ArviZ's
``plot_ppc``, through :mod:`mbtbayes.core.arviz_api`).

Examples
--------
>>> fig = loo_pit_figure(fits)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from mbtbayes.core.arviz_api import plot_ppc
from mbtbayes.growth.loo_pit import kish_size, loo_pit
from mbtbayes.growth.prior_predictive import PriorPredictive, prior_predictive
from mbtbayes.growth.result import GrowthFit
from mbtbayes.report.style import INK, ROPE_COLOR, new_figure, period_style

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

MODEL_LINE = {"linear": ":", "period": "-"}
"""Line style of each model in the LOO-PIT figure."""

SPAGHETTI = 30
"""Prior draws drawn as single trajectories in the prior predictive figure."""


def _panels(n: int, *, cols: int = 3, height: float = 2.0) -> tuple[Figure, np.ndarray]:
    rows = int(np.ceil(n / cols))
    fig, axes = new_figure(rows, cols, height=height * rows + 0.7)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat[:n]


def prior_predictive_figure(fit: GrowthFit, data: pd.DataFrame) -> Figure:
    """The prior predictive check of one spec: prior population-mean trajectories against the
    scale, and the implied priors of d per period and of d_II - d_I.

    Left: per period, the central 50% and 95% of the prior population means at each month
    (bands), a few single draws (thin lines), the scale's bounds (dashed); the title gives the
    share inside. Right: densities of the implied prior of the 0-24 month change in observed
    baseline SDs (d) per period, and of d_II - d_I.
    """
    check = prior_predictive(fit.spec, data, variant=fit.variant, design=fit.design)
    low, high = fit.spec.range
    fig, axes = new_figure(1, 2, height=2.6)
    left, right = axes[0]
    for i, level in enumerate(check.levels):
        style = period_style(level)
        means = check.means[:, i]
        for q, alpha in ((0.025, 0.15), (0.25, 0.3)):
            lo, hi = np.quantile(means, [q, 1 - q], axis=0)
            left.fill_between(check.months, lo, hi, color=style["color"], alpha=alpha,
                              linewidth=0)
        left.plot(check.months, means[:SPAGHETTI].T, color=style["color"], linewidth=0.4,
                  alpha=0.5)
        left.plot([], [], color=style["color"], linewidth=4, alpha=0.4, label=style["label"])
    for bound in (low, high):
        left.axhline(bound, color=INK, linestyle="--", linewidth=0.8)
    left.set_xlabel("months")
    left.set_ylabel(f"prior population mean of {fit.spec.measure}")
    left.set_title(f"{fit.spec.name}: {check.mean_share():.1%} inside [{low:g}, {high:g}]",
                   fontsize=9)
    left.legend(loc="upper right", fontsize=7)
    _implied_d(right, check)
    fig.tight_layout()
    return fig


def _implied_d(ax: Axes, check: PriorPredictive) -> None:
    """Densities of the implied prior of d per period and of d_II - d_I."""
    curves = {level: change / check.sd for level, change in check.changes.items()}
    if set(curves) >= {"I", "II"}:
        curves["II - I"] = curves["II"] - curves["I"]
    limit = max(float(np.quantile(np.abs(v), 0.99)) for v in curves.values())
    grid = np.linspace(-limit, limit, 200)
    for name, values in curves.items():
        style = period_style(name)
        color, line, label = style["color"], style["linestyle"], f"d, {style['label']}"
        if name == "II - I":
            color, line, label = INK, "-", "d II - d I"
        ax.plot(grid, stats.gaussian_kde(values)(grid), color=color, linestyle=line,
                label=label)
    ax.set_yticks([])
    ax.set_xlabel("implied prior, observed baseline SDs")
    t0, t1 = check.spec.d_months
    ax.set_title(f"change months {t0:g}-{t1:g}", fontsize=9)
    ax.legend(loc="upper right", fontsize=7)


def loo_pit_figure(fits: list) -> Figure:
    """The empirical CDF of each fit's new-patient LOO-PIT minus the uniform CDF, per measure.

    A calibrated model stays inside the grey band (a 95% Kolmogorov-Smirnov band at the Kish
    effective size of the period fit); a curve above the band in the lower half means too
    many small PIT values (observations below what the model predicts), and so on.
    """
    by_measure: dict[str, list] = {}
    for fit in fits:
        by_measure.setdefault(fit.spec.name, []).append(fit)
    fig, axes = _panels(len(by_measure))
    grid = np.linspace(0, 1, 201)
    for ax, (name, group) in zip(axes, by_measure.items(), strict=True):
        n_eff = kish_size(group[-1].design.group)
        band = stats.kstwo.ppf(0.95, int(n_eff))
        ax.fill_between(grid, -band, band, color=ROPE_COLOR, linewidth=0)
        for fit in group:
            pit, _ = loo_pit(fit)
            ecdf = np.searchsorted(np.sort(pit), grid, side="right") / pit.size
            ax.plot(grid, ecdf - grid, color=INK, linestyle=MODEL_LINE.get(fit.variant, "-"),
                    linewidth=1.1, label=f"{fit.variant} model")
        ax.axhline(0.0, color=INK, linewidth=0.5)
        ax.set_title(name, fontsize=9)
        ax.set_xlim(0, 1)
    axes[0].legend(loc="lower left", fontsize=7)
    for ax in axes:
        ax.set_xlabel("LOO-PIT", fontsize=8)
    axes[0].set_ylabel("ECDF - uniform", fontsize=8)
    fig.tight_layout()
    return fig


def ppc_overlay_figure(fits: list) -> Figure:
    """``az.plot_ppc`` of each measure's period fit (linear when it has none): the observed
    density (dark) over the densities of 40 in-sample posterior predictive draws and their
    mean; dashed: the scale's bounds."""
    chosen: dict[str, object] = {}
    for fit in fits:
        if fit.variant == "period" or fit.spec.name not in chosen:
            chosen[fit.spec.name] = fit
    fig, axes = _panels(len(chosen))
    for ax, (name, fit) in zip(axes, chosen.items(), strict=True):
        plot_ppc(fit.idata, var_name=fit.spec.measure, ax=ax, num_pp_samples=40)
        for bound in fit.spec.range:
            ax.axvline(bound, color=INK, linestyle="--", linewidth=0.8)
        ax.set_title(f"{name} ({fit.variant})", fontsize=9)
        ax.set_xlabel(fit.spec.measure, fontsize=8)
    fig.tight_layout()
    return fig
