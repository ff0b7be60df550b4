"""The figure of patients who changed (``reliable_change.csv``): per measure, the share of each
period's patients who recovered, improved, were unchanged or deteriorated (Jacobson and Truax
1991), the Bayesian share (dot, 95% HDI) beside the classical share of observed scores (cross).

Examples
--------
>>> fig = change_figure(tables["reliable_change"])  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from mbtbayes.report.style import INK, new_figure, period_style

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CHANGE_COLUMNS = ("measure", "label", "period", "category", "share_mean", "share_hdi_low",
                  "share_hdi_high", "share_observed")
"""Columns of ``reliable_change.csv`` the figure reads."""
ORDER = ("recovered", "improved", "unchanged", "deteriorated")
"""The categories from top to bottom."""
OFFSET = 0.18
"""Vertical distance of the two periods' rows within a category."""


def change_figure(change: pd.DataFrame) -> Figure | None:
    """A dot plot per measure: each category's share per period (Bayesian mean and 95% HDI;
    the classical share of observed scores as a cross); None when the table has no period rows.
    """
    rows = change[~change["period"].astype(str).str.contains(" - ")]
    if rows.empty:
        return None
    measures = list(pd.unique(rows["measure"]))
    fig, axes = new_figure(len(measures), 1, height=1.5 * len(measures) + 0.8, sharex=True)
    periods = sorted(pd.unique(rows["period"].astype(str)))
    for ax, measure in zip(axes[:, 0], measures, strict=True):
        part = rows[rows["measure"] == measure]
        for j, period in enumerate(periods):
            style = period_style(period)
            shift = (j - (len(periods) - 1) / 2) * OFFSET
            for r in part[part["period"].astype(str) == period].itertuples(index=False):
                y = ORDER.index(r.category) + shift
                # a share's draws are discrete: a mean beside a one-value HDI ([0, 0]) is drawn
                # with the bar's empty side at zero length
                xerr = [[max(r.share_mean - r.share_hdi_low, 0.0)],
                        [max(r.share_hdi_high - r.share_mean, 0.0)]]
                ax.errorbar(r.share_mean, y, xerr=xerr,
                            fmt=style["marker"], color=style["color"], markersize=4,
                            linewidth=1.2, label=style["label"] if r.category == ORDER[0] else None)
                ax.plot(r.share_observed, y, "x", color=style["color"], markersize=5,
                        alpha=0.8)
        ax.set_yticks(range(len(ORDER)), ORDER)
        ax.set_ylim(len(ORDER) - 0.5, -0.5)
        ax.set_xlim(0, 1)
        ax.set_title(str(part["label"].iloc[0]), loc="left")
        ax.axvline(0.0, color=INK, linewidth=0.6)
    axes[0, 0].plot([], [], "x", color=INK, label="observed scores (classical)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels))
    axes[-1, 0].set_xlabel("share of the period's patients (dot: posterior mean, bar: 95% HDI)")
    fig.tight_layout(rect=(0, 0.35 / fig.get_figheight(), 1, 1))
    return fig
