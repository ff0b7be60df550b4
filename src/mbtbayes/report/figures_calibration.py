"""Figures of the calibration study: the power of the design per decision rule, and the SBC
rank histograms.

Examples
--------
>>> import pandas as pd
>>> rows = [{"kind": k, "effect_sd": e, "rule": r, "power": p, "power_low": p / 2,
...          "power_high": (1 + p) / 2}
...         for k in ("level", "slope") for e, p in ((0.0, 0.05), (0.5, 0.6))
...         for r in ("p < .05", "HDI outside ROPE")]
>>> fig = power_figure(pd.DataFrame(rows))
>>> [ax.get_title() for ax in fig.axes]
['level: Period II - I at month 0', 'slope: II - I per month']
>>> ranks = pd.DataFrame({"parameter": ["a"] * 40 + ["b"] * 40, "rank": list(range(0, 80, 2)) * 2})
>>> len(rank_figure(ranks, bins=20, top=99).axes)
2
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from mbtbayes.report.style import INK, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

POWER_COLUMNS = ("kind", "effect_sd", "rule", "power", "power_low", "power_high")
"""Columns the power figure needs (the ``power`` table of ``mbtbayes calibrate``)."""
RULE_STYLE = {"p < .05": ("#1f77b4", "o"), "HDI excludes 0": ("#ff7f0e", "s"),
              "HDI outside ROPE": ("#2ca02c", "^")}
KIND_TITLE = {"level": "level: Period II - I at month 0", "slope": "slope: II - I per month"}


def power_figure(power: pd.DataFrame) -> Figure:
    """Power against the true difference (baseline-SD units), one line per decision rule,
    with 95% binomial intervals; one panel per kind of difference (level, slope)."""
    kinds = [k for k in ("level", "slope") if k in set(power["kind"])]
    fig, axes = new_figure(1, len(kinds), height=3.2)
    for ax, kind in zip(axes.flat, kinds, strict=False):
        part = power[power["kind"] == kind]
        for rule, rows in part.groupby("rule", sort=False):
            color, marker = RULE_STYLE.get(rule, (INK, "o"))
            rows = rows.sort_values("effect_sd")
            ax.errorbar(rows["effect_sd"], rows["power"],
                        yerr=[rows["power"] - rows["power_low"],
                              rows["power_high"] - rows["power"]],
                        fmt=f"{marker}-", color=color, markersize=4, linewidth=1.1,
                        capsize=2, label=rule)
        ax.axhline(0.05, color=INK, linewidth=0.6, linestyle=":")
        ax.axhline(0.8, color=INK, linewidth=0.6, linestyle="--")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(KIND_TITLE.get(kind, kind))
    fig.supxlabel("true difference in baseline SDs (a slope difference: reached by the later "
                  "d time point)", fontsize=8)
    axes.flat[0].set_ylabel("probability of detecting it")
    axes.flat[0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def rank_figure(ranks: pd.DataFrame, *, bins: int, top: int, title: str = "") -> Figure:
    """SBC rank histograms (Talts et al. 2018), one panel per ranked parameter, with the
    central 99% band of a bin's count under uniform ranks (binomial).

    Parameters
    ----------
    ranks : pandas.DataFrame
        ``parameter`` and ``rank`` (0..``top``; rows without a rank are left out).
    bins : int
        Bins of the histogram (ranks ``r`` fall in bin ``r * bins // (top + 1)``).
    top : int
        The largest rank (the number of thinned draws).
    title : str
    """
    ranked = ranks.dropna(subset=["rank"])
    names = list(dict.fromkeys(ranked["parameter"]))
    cols = min(4, len(names))
    rows = -(-len(names) // cols)
    fig, axes = new_figure(rows, cols, height=1.5 * rows + 0.6)
    for ax, name in zip(axes.flat, names, strict=False):
        values = ranked.loc[ranked["parameter"] == name, "rank"].astype(int).to_numpy()
        counts = np.bincount(values * bins // (top + 1), minlength=bins)
        low, high = stats.binom.ppf([0.005, 0.995], values.size, 1 / bins)
        ax.axhspan(low, high, color="#dddddd", linewidth=0)
        ax.bar(np.arange(bins), counts, width=0.9, color=INK)
        ax.set_title(name, fontsize=7)
        ax.set_xticks([])
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.supxlabel(f"rank of the true value among {top} thinned draws ({bins} bins; grey: "
                  "99% band of uniform ranks)", fontsize=8)
    fig.tight_layout()
    return fig
