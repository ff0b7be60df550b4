"""The intake figure: standardised differences between the periods, in a love-plot layout.

Each characteristic's standardised difference (Period II - I over the square root of the mean
of the two periods' variances) is drawn with its 95% HDI, turned so that right means Period II
was more severe (red: the 95% HDI of the difference excludes 0 on that side, the table's
reading); a characteristic without a severity direction (age, gender) is drawn as
Period II higher to the right, with an open marker. The sample standardised difference of the
paper's side is the cross beside it; the band is the margin.

Examples
--------
>>> fig = intake_figure(tables["intake"])  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mbtbayes.report.style import INK, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

INTAKE_COLUMNS = ("label", "kind", "more_severe_if", "smd", "smd_mean", "smd_hdi_low",
                  "smd_hdi_high", "p_ii_more_severe", "margin_smd", "source", "reading")
"""Columns of ``intake.csv`` the figure reads."""
SEVERE = "#b00020"


def severity_sign(more_severe_if: object) -> float:
    """-1 where a lower value (or "no") is the more severe, else +1."""
    return -1.0 if str(more_severe_if) in ("lower", "no") else 1.0


def intake_figure(intake: pd.DataFrame) -> Figure | None:
    """Standardised differences II - I with 95% HDIs, turned to severity (see the module)."""
    rows = intake[intake["kind"] != "multivariate"].dropna(subset=["smd_mean"])
    if rows.empty:
        return None
    fig, axes = new_figure(1, 1, height=0.26 * len(rows) + 1.3)
    ax = axes[0, 0]
    margin = float(rows["margin_smd"].iloc[0])
    ax.axvspan(-margin, margin, color="#e8e8e8", zorder=0)
    ax.axvline(0.0, color=INK, linewidth=0.8)
    for y, r in enumerate(rows.itertuples(index=False)):
        sign = severity_sign(r.more_severe_if)
        directed = bool(str(r.more_severe_if) not in ("", "nan"))
        low, high = sorted((sign * r.smd_hdi_low, sign * r.smd_hdi_high))
        mean = sign * r.smd_mean
        color = SEVERE if r.reading == "Period II more severe" else INK
        ax.errorbar(mean, y, xerr=[[mean - low], [high - mean]], fmt="o", color=color,
                    markersize=4.5, markerfacecolor=color if directed else "white",
                    linewidth=1.2)
        ax.plot(sign * r.smd, y + 0.28, "x", color="#777777", markersize=4)
        text = (f"P(II more severe) = {r.p_ii_more_severe:.2f}" if directed
                else "no severity direction")
        ax.annotate(text, (high, y), xytext=(5, -3), textcoords="offset points", fontsize=7)
    labels = [str(x) for x in rows["label"]]
    ax.set_yticks(range(len(rows)), labels)
    split = np.flatnonzero(rows["source"].to_numpy() == "baseline")
    if split.size and split[0] > 0:
        ax.axhline(split[0] - 0.5, color="#bbbbbb", linewidth=0.6)
    ax.set_ylim(len(rows) - 0.4, -0.7)
    ax.margins(x=0.35)
    ax.set_xlabel(f"standardised difference Period II - I, 95% HDI\n(right: Period II more "
                  f"severe; grey band: the margin, +-{margin:g} SD)")
    fig.tight_layout()
    return fig
