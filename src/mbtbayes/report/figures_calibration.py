"""Figures of the calibration study: the power of the design per decision rule.

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
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

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
