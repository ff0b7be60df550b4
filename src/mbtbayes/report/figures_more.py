"""Figures beyond the growth models: remission, posterior predictive checks, the sensitivity
curve and the joint model.

The PPC, sensitivity and joint-model figures are drawn from their tables when those carry the
columns named here (:data:`PPC_COLUMNS`, :data:`SENSITIVITY_COLUMNS`, :data:`JOINT_COLUMNS`);
the report shows the tables themselves either way.

Examples
--------
>>> fig = remission_figure(tables["remission"])  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mbtbayes.growth.summaries import better_if
from mbtbayes.report.style import INK, new_figure, period_style
from mbtbayes.sensitivity.tipping import TIP_SETTING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

PPC_COLUMNS = ("measure", "model", "statistic", "ppp")
"""Columns of ``ppc.csv`` the PPC figure reads (one row per check: statistic, period, wave)."""

MISFIT = "#b00020"
"""Colour of a check outside the limits."""

PPP_LIMITS = (0.025, 0.975)
"""Posterior predictive p-values outside these limits mark a check the model misses."""

SENSITIVITY_COLUMNS = ("measure", "analysis", "setting", "quantity", "mean", "hdi_low",
                       "hdi_high", "conclusion_changed")
"""Columns of ``sensitivity.csv`` the sensitivity figure reads (DESIGN.md's contract)."""

JOINT_COLUMNS = ("outcome", "quantity", "joint_mean", "joint_hdi_low", "joint_hdi_high")
"""Columns of ``joint_model.csv`` the joint-model figure reads (``single_mean``,
``single_hdi_low``, ``single_hdi_high`` are drawn beside them when present)."""

MODEL_MARKER = {"beta_binomial": "filled", "logistic": "open"}


def has_columns(table: pd.DataFrame | None, columns: Iterable[str]) -> bool:
    """True when ``table`` exists, has rows, and has every one of ``columns``."""
    return table is not None and not table.empty and set(columns) <= set(table.columns)


def _interval(ax: Axes, x: float, y: float, low: float, high: float, *, color: str,
              marker: str = "o", filled: bool = True, label: str | None = None,
              size: float = 4.5) -> None:
    ax.errorbar(x, y, xerr=[[x - low], [high - x]], fmt=marker, color=color, markersize=size,
                markerfacecolor=color if filled else "white", linewidth=1.2, label=label)


def remission_figure(remission: pd.DataFrame) -> Figure:
    """Remission probability per period (95% HDI) and the difference II - I with P(II worse)."""
    behaviours = list(remission["behaviour"].unique())
    models = [m for m in MODEL_MARKER if m in set(remission["model"])]
    fig, axes = new_figure(1, 2, height=0.9 * len(behaviours) + 1.6,
                           gridspec_kw={"width_ratios": [3, 2]})
    left, right = axes[0]
    for i, behaviour in enumerate(behaviours):
        rows = remission[remission["behaviour"] == behaviour]
        for j, model in enumerate(models):
            filled = MODEL_MARKER[model] == "filled"
            part = rows[rows["model"] == model]
            for k, (_, r) in enumerate(part.iterrows()):
                style = period_style(r["period"])
                y = i + (k - 1) * 0.22 + j * 0.07
                _interval(left, r["p_mean"], y, r["p_hdi_low"], r["p_hdi_high"],
                          color=style["color"], marker=style["marker"], filled=filled,
                          label=f"{style['label']}, {model.replace('_', '-')}")
            if part.empty:
                continue
            r = part.iloc[0]
            y = i + (j - 0.5) * 0.25
            _interval(right, r["p_period_diff"], y, r["p_diff_hdi_low"], r["p_diff_hdi_high"],
                      color=INK, filled=filled, label=model.replace("_", "-"))
            right.annotate(f"P(II worse) = {r['prob_ii_worse']:.2f}", (r["p_diff_hdi_high"], y),
                           xytext=(4, -3), textcoords="offset points", fontsize=7)
    for ax in (left, right):
        ax.set_yticks(range(len(behaviours)), [b.replace("_", " ") for b in behaviours])
        ax.set_ylim(len(behaviours) - 0.4, -0.6)
    right.set_yticklabels([])
    right.axvline(0.0, color=INK, linewidth=0.8)
    right.margins(x=0.45)
    left.set_xlim(0, 1)
    left.set_xlabel("remission probability (95% HDI)")
    right.set_xlabel("Period II - I (95% HDI)")
    handles, labels = left.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    fig.legend(unique.values(), unique.keys(), loc="lower center", ncol=2, fontsize=7,
               bbox_to_anchor=(0.4, -0.02 - 0.06 * len(unique) / 2))
    fig.tight_layout()
    return fig


def ppc_figure(ppc: pd.DataFrame) -> Figure:
    """Posterior predictive p-values of every check, per measure and model.

    Each row of ``ppc.csv`` (a statistic of one period and wave) is one marker; values near 0
    or 1 (outside the grey band, 0.025-0.975) mean the model rarely reproduces that
    statistic. Look for patterns, not single rows: among many checks some fall out by chance.
    """
    panel = ppc["model"] + " model"
    if "predictive" in ppc:  # in-sample and new-patient checks in their own panels
        panel = panel + ", " + ppc["predictive"]
    models = list(dict.fromkeys(panel))
    measures = list(dict.fromkeys(ppc["measure"]))
    stats = list(dict.fromkeys(ppc["statistic"]))
    markers = dict(zip(stats, "osD^v<>p", strict=False))
    cols = min(2, len(models))
    rows_n = -(-len(models) // cols)
    fig, axes = new_figure(rows_n, cols, height=rows_n * (0.36 * len(measures) + 0.9) + 0.6,
                           sharey=True)
    for ax in axes.flat[len(models):]:
        ax.set_visible(False)
    rng = np.random.default_rng(0)  # jitter only, for legibility
    for ax, model in zip(axes.flat, models, strict=False):
        ax.axvspan(PPP_LIMITS[0], PPP_LIMITS[1], color="#eeeeee", zorder=0)
        rows = ppc[panel == model]
        for stat in stats:
            part = rows[rows["statistic"] == stat]
            y = part["measure"].map({m: i for i, m in enumerate(measures)}).to_numpy(float)
            y = y + rng.uniform(-0.25, 0.25, len(part))
            ax.plot(part["ppp"], y, markers[stat], color=INK, markersize=3.5,
                    markerfacecolor="white", alpha=0.8, linestyle="none", label=str(stat))
            out = ~part["ppp"].between(*PPP_LIMITS).to_numpy()
            ax.plot(part["ppp"].to_numpy()[out], y[out], markers[stat], color=MISFIT,
                    markersize=4.5, linestyle="none")
        ax.set_yticks(range(len(measures)), measures)
        ax.set_ylim(len(measures) - 0.5, -0.5)
        ax.set_xlim(-0.02, 1.02)
        ax.set_title(model)
        ax.set_xlabel("posterior predictive p-value")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    fig.legend(unique.values(), unique.keys(), loc="lower center", ncol=len(unique),
               fontsize=7, bbox_to_anchor=(0.5, -0.06))
    fig.tight_layout()
    return fig


SENSITIVITY_FIGURES = {
    "sensitivity": ("Sensitivity of the 24-month period contrast",
                    "the Period II - I contrast at the later d time point", "contrast_at_"),
    "sensitivity_d": ("Sensitivity of Cohen's d per period",
                      "d (0-24 month change / observed pooled baseline SD) per period and "
                      "d_II - d_I", "d_"),
    "sensitivity_change": ("Sensitivity of the difference in change",
                           "the II - I difference of the 0-24 month change (measure units)",
                           "change_difference"),
    "sensitivity_remission": ("Sensitivity of the remission difference",
                              "the remission difference II - I under each missing-data "
                              "scenario", "remission_diff"),
}
"""Figure name -> (title, what it draws, prefix of the quantities it draws)."""


def sensitivity_entry(name: str) -> tuple:
    """The figure-plan entry of one sensitivity figure (see ``report.figures``)."""
    title, what, prefix = SENSITIVITY_FIGURES[name]
    caption = (f"Specification curve of {what} under each sensitivity setting (95% HDI); "
               "square: the baseline analysis; grey: the ROPE; red cross: the conclusion "
               "changes.")
    return (name, title, caption, {"sensitivity": SENSITIVITY_COLUMNS},
            lambda t: sensitivity_figure(t["sensitivity"], prefix=prefix))


def sensitivity_figure(sensitivity: pd.DataFrame, *, prefix: str = "") -> Figure | None:
    """Specification curve: each quantity (name starting with ``prefix``) per measure across
    every setting (95% HDI; a row without a point, such as Manski bounds, as a dashed bar
    between its bounds), the baseline setting as a filled square, the ROPE as a grey band,
    and a red cross where the conclusion changes. Reverse-Bayes and drop-out tipping-point
    rows (thresholds) and power-scaling rows (flags on the baseline posterior) are left out.
    None when no row's quantity starts with ``prefix``."""
    table = sensitivity[sensitivity["quantity"].astype(str).str.startswith(prefix)]
    table = table[~table["analysis"].isin(("reverse-Bayes", "power-scaling"))
                  & ~table["setting"].astype(str).str.contains(TIP_SETTING)]
    if table.empty:
        return None
    panels = list(table.groupby(["measure", "quantity"], sort=False).groups)
    cols = min(len(panels), 2)
    rows = -(-len(panels) // cols)
    fig, axes = new_figure(rows, cols, width=9.0, height=3.0 * rows + 1.2)
    for ax, (measure, quantity) in zip(axes.flat, panels, strict=False):
        part = table[(table["measure"] == measure) & (table["quantity"] == quantity)]
        _specification_panel(ax, part)
        better = better_if(str(measure))
        sign = f" ({better} is better)" if better else ""
        ax.set_title(f"{measure}{sign}: {quantity}", fontsize=9)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    fig.legend(unique.values(), unique.keys(), loc="lower center", ncol=len(unique),
               fontsize=7, bbox_to_anchor=(0.5, -0.02))
    fig.supylabel("posterior mean (95% HDI)", fontsize=8)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def _specification_panel(ax: Axes, part: pd.DataFrame) -> None:
    """One specification curve: settings on x, mean and HDI on y."""
    x = np.arange(len(part))
    mean = part["mean"].to_numpy(float)
    h = float(part["rope_half_width"].iloc[0]) if "rope_half_width" in part else np.nan
    if np.isfinite(h):
        ax.axhspan(-h, h, color="0.85", zorder=0, label="ROPE")
    ax.errorbar(x, mean, yerr=[mean - part["hdi_low"].to_numpy(float),
                               part["hdi_high"].to_numpy(float) - mean],
                fmt="o", color=INK, markersize=3, linewidth=0.9, label="setting")
    bounds = np.isnan(mean)  # a row with bounds and no point (e.g. Manski bounds)
    if bounds.any():
        ax.vlines(x[bounds], part["hdi_low"].to_numpy(float)[bounds],
                  part["hdi_high"].to_numpy(float)[bounds], colors=INK, linestyles="dashed",
                  linewidth=0.9, label="bounds (no point estimate)")
    if "baseline" in part:
        base = part["baseline"].astype(bool).to_numpy()
        ax.plot(x[base], mean[base], "s", color=period_style("II")["color"], markersize=7,
                label="baseline (as specified)")
    changed = part["conclusion_changed"].astype(bool).to_numpy()
    ax.plot(x[changed], mean[changed], "x", color=MISFIT, markersize=8, markeredgewidth=2,
            label="conclusion changes")
    ax.axhline(0.0, color=INK, linewidth=0.6)
    labels = [s if a in ("baseline",) else f"{a}: {s}"
              for a, s in zip(part["analysis"], part["setting"], strict=True)]
    ax.set_xticks(x, labels, rotation=60, ha="right", fontsize=5.5)


def joint_figure(joint: pd.DataFrame) -> Figure:
    """Joint-model estimates (filled) beside the single-outcome ones (open), 95% HDI.

    Tables of :func:`mbtbayes.growth.joint.summaries.joint_table` show their forest rows (the
    24-month period contrast per outcome and pooled, in baseline SDs, higher = better).
    """
    from mbtbayes.growth.joint.summaries import FOREST_QUANTITIES, STD  # numba: on first use

    forest = joint[joint["quantity"].isin(FOREST_QUANTITIES)]
    if not forest.empty:
        joint = forest.reset_index(drop=True)
    keys = list(zip(joint["outcome"], joint["quantity"], strict=True))
    fig, axes = new_figure(1, 1, height=0.36 * len(keys) + 1.2)
    ax = axes[0, 0]
    single = {"single_mean", "single_hdi_low", "single_hdi_high"} <= set(joint.columns)
    for i, (_, r) in enumerate(joint.iterrows()):
        _interval(ax, r["joint_mean"], i - 0.1, r["joint_hdi_low"], r["joint_hdi_high"],
                  color=INK, label="joint model")
        if single and pd.notna(r["single_mean"]):
            _interval(ax, r["single_mean"], i + 0.1, r["single_hdi_low"], r["single_hdi_high"],
                      color=period_style("II")["color"], marker="s", filled=False,
                      label="single-outcome model")
    ax.set_yticks(range(len(keys)), [f"{o}: {q}" if forest.empty else o for o, q in keys])
    ax.set_ylim(len(keys) - 0.5, -0.5)
    ax.axvline(0.0, color=INK, linewidth=0.6)
    ax.set_xlabel("posterior mean (95% HDI)" if forest.empty else
                  f"Period II - I at 24 months, {STD} (> 0 favours Period II)")
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    ax.legend(unique.values(), unique.keys(), fontsize=7, loc="lower center",
              bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    fig.tight_layout()
    return fig
