"""Figures of individual patients (:mod:`mbtbayes.growth.shrinkage`): observed trajectories of
a reproducible subset of patients with their posterior lines, and the shrinkage plot of each
patient's own least-squares slope against its posterior slope.

Examples
--------
>>> fig = trajectories_figure(fit, data)  # doctest: +SKIP
>>> fig = shrinkage_figure(mb.shrinkage(fits, data), "bsi")  # doctest: +SKIP
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mbtbayes.core.arviz_api import hdi_columns
from mbtbayes.core.defaults import SEED
from mbtbayes.growth.result import GrowthFit
from mbtbayes.growth.shrinkage import patient_frame, patient_lines
from mbtbayes.growth.trajectories import period_levels, trajectories
from mbtbayes.report.style import INK, new_figure, period_style

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

GRID_STEP = 1.0
"""Spacing (months) of the posterior lines' time grid."""
POPULATION = {"color": "#8c8c8c", "linestyle": ":", "linewidth": 1.2}
"""The period's population mean in the trajectory panels."""
WRAP = 105
"""Characters per line of a figure's title (fits the report's width at 8 pt)."""
SIZES = (2, 4, 7)
"""Numbers of assessments shown in the shrinkage plot's size legend."""


def choose_patients(patients: pd.DataFrame, *, n: int, seed: int = SEED) -> pd.DataFrame:
    """``n`` patients per period across the range of assessment counts, reproducibly.

    Each period's patients, ordered by number of assessments (ties in a seeded random order),
    are cut into ``n`` groups of (nearly) equal size; one patient is drawn from each group.

    Parameters
    ----------
    patients : pandas.DataFrame
        ``period`` and ``n_assessments`` per patient (:func:`~mbtbayes.growth.shrinkage.
        patient_frame`).
    n : int
        Patients per period (all of a period's when it has fewer).
    seed : int

    Returns
    -------
    pandas.DataFrame
        The chosen rows, by period and then number of assessments.
    """
    rng = np.random.default_rng(seed)
    chosen = []
    for _, part in patients.groupby("period", sort=True):
        order = part.iloc[rng.permutation(len(part))].sort_values("n_assessments",
                                                                    kind="stable")
        for group in np.array_split(np.arange(len(order)), min(n, len(order))):
            chosen.append(order.iloc[[rng.choice(group)]])
    return pd.concat(chosen).sort_values(["period", "n_assessments"], kind="stable")


def trajectories_figure(fit: GrowthFit, data: pd.DataFrame, *, n: int = 6,
                        seed: int = SEED) -> Figure:
    """Observed trajectories of ``n`` patients per period (:func:`choose_patients`) with each
    one's posterior mean line and 95% HDI band and the period's population mean; one row of
    panels per period, one panel per patient.

    Parameters
    ----------
    fit : GrowthFit
        A period (or linear) fit, either engine.
    data : pandas.DataFrame
        The register the fit was made on: the dots are the patient's recorded scores there.
    n : int
        Patients per period.
    seed : int
        Seed of the choice (the same seed, the same patients).

    Returns
    -------
    matplotlib.figure.Figure
    """
    spec = fit.spec
    t0, t1 = spec.d_months
    chosen = choose_patients(patient_frame(fit), n=n, seed=seed)
    levels = list(period_levels(fit))
    times = np.arange(t0, max(t1, float(fit.design.time.max())) + GRID_STEP / 2, GRID_STEP)
    lines = patient_lines(fit, chosen, times)
    population = trajectories(fit, times).mean(axis=0)
    fig, axes = new_figure(len(levels), n, height=1.9 * len(levels) + 1.0, sharex=True,
                           sharey=True)
    seen = data.dropna(subset=[spec.measure])
    for i, level in enumerate(levels):
        rows = np.flatnonzero((chosen["period"] == level).to_numpy())
        for j, ax in enumerate(axes[i]):
            if j >= len(rows):
                ax.set_visible(False)
                continue
            k = rows[j]
            patient = chosen.iloc[k]
            own = seen[seen[spec.group].astype(str) == str(patient["patient"])]
            _draw_patient(ax, level, times, lines[:, k], own[spec.time], own[spec.measure],
                          population[i])
            k_scores = int(patient["n_assessments"])
            ax.set_title(f"{patient['patient']}\n{k_scores} score{'s' * (k_scores != 1)}",
                         fontsize=8)
        axes[i, 0].set_ylabel(f"{period_style(level)['label']}\n{spec.label or spec.name}")
    for ax in axes[-1]:
        ax.set_xlabel("months")
    axes[0, 0].set_ylim(*_score_limits(seen[spec.measure], spec.range))
    fig.suptitle(_wrap(f"{spec.label or spec.name}: {n} patients per period, one drawn (seed "
                       f"{seed}) from each {_nth(n)} of the period's patients ordered by "
                       "number of scores. Dots: recorded scores; line and band: the "
                       "patient's posterior mean and 95% HDI; dotted grey: the period's "
                       "population mean"), fontsize=8)
    fig.tight_layout()
    return fig


def _score_limits(scores: pd.Series, scale: tuple[float, float]) -> tuple[float, float]:
    """The recorded scores' range with a margin of 5% of the scale, within the scale."""
    pad = 0.05 * (scale[1] - scale[0])
    return max(scale[0], float(scores.min()) - pad), min(scale[1], float(scores.max()) + pad)


def _wrap(text: str) -> str:
    return textwrap.fill(text, width=WRAP)


def _nth(n: int) -> str:
    return {2: "half", 3: "third", 4: "quarter"}.get(n, f"{n}th")


def _draw_patient(ax: Axes, level: str, times: np.ndarray, draws: np.ndarray, months: pd.Series,
                  scores: pd.Series, population: np.ndarray) -> None:
    """One patient: its posterior band and mean line, its recorded scores, the population."""
    style = period_style(level)
    bounds = hdi_columns(draws)
    ax.fill_between(times, bounds[:, 0], bounds[:, 1], color=style["color"], alpha=0.2,
                    linewidth=0)
    ax.plot(times, population, **POPULATION)
    ax.plot(times, draws.mean(axis=0), color=style["color"], linestyle=style["linestyle"],
            linewidth=1.4)
    order = np.argsort(months.to_numpy(), kind="stable")
    ax.plot(months.to_numpy()[order], scores.to_numpy()[order], color=INK, linewidth=0.6,
            marker=style["marker"], markersize=3.5, markerfacecolor=INK)


def shrinkage_figure(table: pd.DataFrame, measure: str) -> Figure:
    """Each patient's own least-squares slope (x) against its posterior slope (y), per period:
    the identity line (no pooling), the period's population slope (complete pooling) and a
    segment from each patient's own slope on the identity to its posterior slope (the pull);
    marker size by number of assessments.

    Parameters
    ----------
    table : pandas.DataFrame
        ``shrinkage.csv`` (:func:`mbtbayes.shrinkage`).
    measure : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = table[table["measure"] == measure]
    slopes = rows[rows["ls_slope"].notna()]
    left_out = len(rows) - len(slopes)
    levels = sorted(pd.unique(slopes["period"].astype(str)))
    fig, axes = new_figure(1, len(levels), height=3.6, sharex=True, sharey=True)
    for ax, level in zip(axes[0], levels, strict=True):
        _draw_pull(ax, slopes[slopes["period"].astype(str) == level], level)
    label = rows["label"].iloc[0] if len(rows) else measure
    axes[0, 0].set_ylabel(f"posterior slope ({label} per month)")
    for ax in axes[0]:
        ax.set_xlabel("own least-squares slope (per month)")
    handles = [axes[0, 0].scatter([], [], s=_size(k), facecolor="none", edgecolor=INK)
               for k in SIZES]
    fig.legend(handles, [f"{k} scores" for k in SIZES], loc="lower center", ncol=len(SIZES))
    fig.suptitle(_wrap(f"{label}: each patient's own slope against its posterior slope. "
                       "Solid: identity (no pooling); dashed: the period's population slope "
                       "(complete pooling); grey segment: the pull; marker size: number of "
                       f"scores. {left_out} patients without two distinct months left out."),
                 fontsize=8)
    fig.tight_layout(rect=(0, 0.3 / fig.get_figheight(), 1, 1))
    return fig


def _size(k: float) -> float:
    return 6.0 + 5.0 * k


def _draw_pull(ax: Axes, rows: pd.DataFrame, level: str) -> None:
    style = period_style(level)
    x, y = rows["ls_slope"].to_numpy(float), rows["slope_mean"].to_numpy(float)
    ax.vlines(x, x, y, color="#9a9a9a", linewidth=0.6, zorder=1)
    ax.scatter(x, y, s=_size(rows["n_assessments"].to_numpy(float)), marker=style["marker"],
               facecolor=style["color"], edgecolor="white", linewidth=0.4, alpha=0.8, zorder=2)
    span = np.array([np.nanmin(x), np.nanmax(x)])
    ax.plot(span, span, color=INK, linewidth=0.8, zorder=0)
    population = float(rows["population_slope"].iloc[0])
    ax.axhline(population, color=INK, linestyle="--", linewidth=0.9, zorder=0)
    toward = rows["toward_population"].astype(float).mean()
    ax.set_title(f"{style['label']}: {len(rows)} patients,\n{toward:.0%} pulled toward "
                 f"{population:.3g} per month", fontsize=8)
