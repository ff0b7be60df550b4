"""Figures of the growth models: trajectories, forest plots of the period contrasts and of d,
the ROPE curve, LOO beside AIC, and prior vs posterior of the period terms.

Each function takes the run's tables (and fits where draws are needed) and returns a
matplotlib figure; :mod:`mbtbayes.report.figures` decides which figures a run gets and
saves them.

Examples
--------
>>> fig = effect_size_forest(tables["effect_sizes"])  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mbtbayes.growth.modelspec import ModelSpec
from mbtbayes.growth.result import GrowthFit
from mbtbayes.growth.trajectories import trajectory_table
from mbtbayes.report.style import INK, ROPE_COLOR, new_figure, period_style
from mbtbayes.report.trajectories import observed_waves

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

def column_prior(fit: GrowthFit, column: str) -> tuple[float, float] | None:
    """``(mu, sigma)`` of a design column's Normal prior (from the spec's prior of the column's
    term), or None when that prior is not a Normal (either engine; a ``sigma ~`` formula or
    the t family do not matter here)."""
    design = fit.design
    prior = design.priors.get(design.terms[design.columns.index(column)])
    if not isinstance(prior, dict) or prior.get("dist") != "Normal":
        return None
    return float(prior.get("mu", 0.0)), float(prior["sigma"])


OFFSET = {"I": -0.26, "II": 0.26, "pooled": 0.0}
"""Vertical offsets of the periods within a forest-plot row."""


def _label(fit_or_spec: GrowthFit | ModelSpec) -> str:
    spec = getattr(fit_or_spec, "spec", fit_or_spec)
    return spec.label if spec.label and spec.label != spec.name else spec.name


TRAJECTORY_COLUMNS = ("measure", "model", "period", "time", "mean", "hdi_low", "hdi_high")
"""Columns of a ``trajectories`` table the figure draws from, when the run made one."""


def _curves(fit: GrowthFit, table: pd.DataFrame | None, end: float | None) -> pd.DataFrame:
    """The fit's population curves: the run's trajectories table's rows if it has them, else
    the same table computed from the fit (:func:`~mbtbayes.growth.trajectories.trajectory_table`,
    the one implementation)."""
    if end is None and table is not None and set(TRAJECTORY_COLUMNS) <= set(table.columns):
        rows = table[(table["measure"] == fit.spec.name) & (table["model"] == fit.variant)]
        if not rows.empty:
            return rows
    return trajectory_table([fit], end=end)


def _mix_note(curves: pd.DataFrame) -> str:
    """At which covariate values the lines are drawn (empty without covariates), e.g.
    "lines: period's observed covariate mix" and a line per period with its values."""
    if "standardisation" not in curves:
        return ""
    rows = curves.drop_duplicates("period")
    rows = rows[rows["standardisation"] != "no covariates"]
    if rows.empty:
        return ""
    head = "lines: " + " / ".join(rows["standardisation"].unique())
    values = rows["covariate_values"].fillna("") if "covariate_values" in rows else None
    if values is None or values.nunique() == 1:
        return head + ("" if values is None else f" ({values.iloc[0]})")
    return "\n".join([head, *(f"{_short(p)}: {v}" for p, v in zip(rows["period"], values,
                                                                  strict=True))])


def _short(label: str) -> str:
    return period_style(str(label))["label"]


def trajectories_figure(fits: list, data: pd.DataFrame, *, months: float | None = None,
                        table: pd.DataFrame | None = None) -> Figure:
    """Population mean per period with its 95% HDI band, over observed means per wave.

    The lines are the rows of the ``trajectories`` table (population means, patient effects at
    zero; a model's covariates standardised over each period's observed mix, which each panel
    states).

    Parameters
    ----------
    fits : list of GrowthFit
        Period fits (linear fits give one pooled curve); one panel each.
    data : pandas.DataFrame
        The register (for the observed means per wave).
    months : float, optional
        End of the time grid (default: the table's, the last observed time).
    table : pandas.DataFrame, optional
        The run's ``trajectories`` table (:data:`TRAJECTORY_COLUMNS`); fits it lacks, or all
        fits when ``months`` is given, are computed with the same function.
    """
    cols = 2 if len(fits) <= 4 else 3
    rows = -(-len(fits) // cols)
    curves_of = [_curves(fit, table, months) for fit in fits]
    notes = [_mix_note(c) for c in curves_of]
    room = 0.4 if any(notes) else 0.0
    fig, axes = new_figure(rows, cols, height=(2.3 + room) * rows + 0.8)
    for ax, fit, curves, note in zip(axes.flat, fits, curves_of, notes, strict=False):
        spec = fit.spec
        period = spec.period if fit.variant == "period" else None
        waves = observed_waves(data, outcome=spec.measure, time=spec.time, period=period)
        for label, curve in curves.groupby("period", sort=False):
            _draw_period(ax, str(label), curve, waves[waves["period"] == label])
        if note:
            ax.annotate(note, xy=(0.0, 0.0), xycoords="axes fraction", xytext=(0, -31),
                        textcoords="offset points", fontsize=6, va="top", ha="left",
                        color=INK)
        ax.set_title(_label(fit))
        ax.set_xlabel(f"{spec.time}")
        end = max(float(curves["time"].max()), float(waves["months"].max()))
        ax.set_xlim(-1, end + 1)
    for ax in list(axes.flat)[len(fits):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), bbox_to_anchor=(0.5, 1.0))
    fig.suptitle("Population mean, patient effects at zero (line, 95% HDI band; covariates as "
                 "each panel states)\nand observed mean per wave (open markers, \u00b11.96 SE)",
                 y=1.06, fontsize=9)
    fig.tight_layout()
    return fig


def _draw_period(ax: Axes, label: str, curve: pd.DataFrame, seen: pd.DataFrame) -> None:
    style = period_style(label)
    ax.fill_between(curve["time"], curve["hdi_low"], curve["hdi_high"],
                    color=style["color"], alpha=0.22, linewidth=0)
    ax.plot(curve["time"], curve["mean"], color=style["color"],
            linestyle=style["linestyle"], label=style["label"])
    shift = 0.4 * (1 if label == "II" else -1 if label == "I" else 0)
    ax.errorbar(seen["months"] + shift, seen["mean"], yerr=1.96 * seen["se"],
                fmt=style["marker"], color=style["color"], markersize=3.5,
                markerfacecolor="white", linewidth=0.9)


def _measure_rows(ax: Axes, measures: list[str], labels: dict[str, str] | None = None) -> None:
    labels = labels or {}
    ax.set_yticks(range(len(measures)), [labels.get(m, m) for m in measures])
    ax.set_ylim(len(measures) - 0.5, -0.5)
    ax.axvline(0.0, color=INK, linewidth=0.8)


def better_labels(table: pd.DataFrame) -> dict[str, str]:
    """A measure's row label with its better sign: ``"bsi (lower better)"``, from the
    table's ``better_if`` (none without it)."""
    if "better_if" not in table:
        return {}
    return {m: f"{m} ({b} better)" for m, b in
            table.drop_duplicates("measure").set_index("measure")["better_if"].items()
            if b in ("lower", "higher")}


FOREST_PANELS = (("intercept", "Intake case mix:\nII - I at month 0"),
                 ("change", "Course (primary):\nII - I in change 0-24 months"),
                 ("at", "Level (secondary):\nII - I at month {months}"))
"""The panels of the period-contrast forest plot: the contrast and its title."""


def period_contrast_forest(period_effects: pd.DataFrame, effect_sizes: pd.DataFrame) -> Figure:
    """Period II - I at intake, in change 0-24 months and at the later d time point, in
    baseline SDs, with the margin.

    Each measure's contrast is divided by its observed pooled baseline SD (``sd_point`` of
    ``effect_sizes``), so measures on different scales share one axis.
    """
    column = "sd_point" if "sd_point" in effect_sizes else "sd_mean"  # the observed SD
    sd = effect_sizes.drop_duplicates("measure").set_index("measure")[column]
    present = set(period_effects["contrast"])
    later = next((c for c in period_effects["contrast"].unique() if c.startswith("at_")), "")
    panels = [(later if c == "at" else c, title.format(months=later[3:]))
              for c, title in FOREST_PANELS if (later if c == "at" else c) in present]
    measures = [m for m in period_effects["measure"].unique() if m in sd.index]
    fig, axes = new_figure(1, len(panels), height=0.32 * len(measures) + 1.3, sharey=True)
    for ax, (contrast, title) in zip(axes.flat, panels, strict=True):
        rows = period_effects[period_effects["contrast"] == contrast].set_index("measure")
        for i, m in enumerate(measures):
            r, s = rows.loc[m], sd[m]
            ax.add_patch(_rope_patch(i, r["rope_low"] / s, r["rope_high"] / s))
            ax.errorbar(r["mean"] / s, i, xerr=[[(r["mean"] - r["hdi_low"]) / s],
                                                 [(r["hdi_high"] - r["mean"]) / s]],
                        fmt="o", color=INK, markersize=4, linewidth=1.2)
        _measure_rows(ax, measures, better_labels(period_effects))
        ax.set_title(title, fontsize=8)
    fig.supxlabel("difference / observed pooled baseline SD (95% HDI; grey: the margin); "
                  "each measure says which sign is better", fontsize=8)
    fig.tight_layout()
    return fig


DECISION_SHADES = {"difference": "#a6a6a6", "negligible": "#e3e3e3"}
"""Background of a half-width range by its decision (undecided: none), readable in grey."""


def rope_curve_figure(curve: pd.DataFrame) -> Figure:
    """P(in ROPE) of the difference in change as the half-width runs from 0 to 0.5 reference
    SD, one panel per measure; background: the decision over each range of half-widths
    (dark: difference, light: negligible, none: undecided); dashed: the pre-specified margin.
    """
    measures = list(curve["measure"].unique())
    cols = min(3, len(measures))
    rows = -(-len(measures) // cols)
    fig, axes = new_figure(rows, cols, height=1.7 * rows + 0.7, sharex=True, sharey=True)
    for ax, m in zip(axes.flat, measures, strict=False):
        part = curve[curve["measure"] == m].sort_values("sd_units")
        x, decisions = part["sd_units"].to_numpy(), part["decision"].to_numpy()
        for i in range(len(x) - 1):  # the decision of a range is that at its left end
            shade = DECISION_SHADES.get(str(decisions[i]).split(":")[0])
            if shade:
                ax.axvspan(x[i], x[i + 1], color=shade, linewidth=0, zorder=0)
        ax.plot(x, part["p_rope"], color=INK, linewidth=1.3)
        at = part[part["margin"].astype(bool)]
        if not at.empty:
            ax.axvline(at["sd_units"].iloc[0], color=INK, linestyle="--", linewidth=0.9)
        better = str(part["better_if"].iloc[0]) if "better_if" in part else ""
        ax.set_title(m + (f" ({better} is better)" if better else "") + "\nat margin: "
                     + (str(at["decision"].iloc[0]) if not at.empty else "n/a"), fontsize=7.5)
        ax.set_ylim(0, 1)
    for ax in axes.flat[len(measures):]:
        ax.set_visible(False)
    fig.supxlabel("ROPE half-width in reference SDs (dashed: the pre-specified margin)",
                  fontsize=8)
    fig.supylabel("P(difference in change inside the ROPE)", fontsize=8)
    fig.tight_layout()
    return fig


def _rope_patch(row: float, low: float, high: float) -> Rectangle:
    from matplotlib.patches import Rectangle

    return Rectangle((low, row - 0.4), high - low, 0.8, color=ROPE_COLOR, linewidth=0,
                     zorder=0)


def effect_size_forest(effect_sizes: pd.DataFrame,
                       frequentist: pd.DataFrame | None = None) -> Figure:
    """Cohen's d of the 0-24 month change per period (95% HDI), frequentist d beside it.

    Filled markers: Bayesian posterior mean and HDI; open markers: the ML estimate and its
    95% CI. Dotted lines at |d| = 0.2, 0.5 and 0.8.
    """
    measures = list(effect_sizes["measure"].unique())
    fig, axes = new_figure(1, 1, height=0.55 * len(measures) + 1.2)
    ax = axes[0, 0]
    for x in (-0.8, -0.5, -0.2, 0.2, 0.5, 0.8):
        ax.axvline(x, color="#bbbbbb", linestyle=":", linewidth=0.7, zorder=0)
    freq = None if frequentist is None else frequentist.set_index(["measure", "period"])
    for i, m in enumerate(measures):
        for _, r in effect_sizes[effect_sizes["measure"] == m].iterrows():
            style = period_style(r["period"])
            y = i + OFFSET.get(str(r["period"]), 0.0)
            ax.errorbar(r["d_mean"], y, xerr=[[r["d_mean"] - r["d_hdi_low"]],
                                              [r["d_hdi_high"] - r["d_mean"]]],
                        fmt=style["marker"], color=style["color"], markersize=4, linewidth=1.3,
                        label=style["label"] + " (Bayes, 95% HDI)")
            if freq is not None and (m, r["period"]) in freq.index:
                f = freq.loc[(m, r["period"])]
                ax.errorbar(f["d"], y + 0.1, xerr=[[f["d"] - f["d_ci_low"]],
                                                    [f["d_ci_high"] - f["d"]]],
                            fmt=style["marker"], color=style["color"], markersize=4,
                            markerfacecolor="white", linewidth=0.7, alpha=0.9,
                            label=style["label"] + " (ML, 95% CI)")
    _measure_rows(ax, measures, better_labels(effect_sizes))
    basis = effect_sizes["sd_basis"].iloc[0]
    months = f"{effect_sizes['months_from'].iloc[0]:g}-{effect_sizes['months_to'].iloc[0]:g}"
    ax.set_xlabel(f"Cohen's d, change over months {months} / {SD_NAMES.get(basis, basis)}")
    _dedupe_legend(ax)
    fig.tight_layout()
    return fig


SD_NAMES = {"observed_baseline_sd": "observed pooled baseline SD",
            "model_total_sd": "model-implied SD at baseline"}


LOO_NAMES = {"psis": "leave-one-patient-out PSIS-LOO on the marginal likelihood",
             "kfold": "grouped K-fold by patient on the marginal likelihood"}


def _dedupe_legend(ax: Axes, **kwargs: object) -> None:
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    ax.legend(unique.values(), unique.keys(), fontsize=7,
              **({"loc": "upper center", "bbox_to_anchor": (0.5, -0.18), "ncol": 3} | kwargs))


def loo_aic_figure(comparison: pd.DataFrame) -> Figure:
    """ELPD(period) - ELPD(linear) +-2 SE beside (AIC_linear - AIC_period) / 2, per measure.

    Both are on the log-likelihood scale and positive values favour the period model
    (-AIC/2 = log-likelihood - parameters).
    """
    measures = list(comparison["measure"])
    fig, axes = new_figure(1, 1, height=0.32 * len(measures) + 1.4)
    ax = axes[0, 0]
    for i, (_, r) in enumerate(comparison.iterrows()):
        ax.errorbar(r["elpd_diff"], i - 0.12, xerr=2 * r["elpd_diff_se"], fmt="o", color=INK,
                    markersize=4, label="ELPD difference +-2 SE (LOO)")
        if "aic_linear" in r and pd.notna(r.get("aic_linear")):
            ax.plot((r["aic_linear"] - r["aic_period"]) / 2, i + 0.12, "s",
                    color=period_style("II")["color"], markersize=5, markerfacecolor="white",
                    markeredgewidth=1.3, label="(AIC linear - AIC period) / 2 (ML)")
    _measure_rows(ax, measures)
    methods = comparison["loo_method"].unique() if "loo_method" in comparison else ["LOO"]
    ax.set_xlabel("period model minus linear model (log scale; > 0 favours period)\n"
                  + "; ".join(LOO_NAMES.get(m.split("_")[0], m) for m in methods))
    _dedupe_legend(ax, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2)
    fig.tight_layout()
    return fig


def prior_posterior_figure(fits: list) -> Figure:
    """Prior (line) and posterior (filled) density of the period terms of each period fit."""
    from scipy import stats

    fits = [f for f in fits if f.variant == "period"]
    fig, axes = new_figure(len(fits), 2, height=1.15 * len(fits) + 0.8)
    for row, fit in zip(axes, fits, strict=True):
        beta = fit.beta()
        terms = [c for c in fit.design.columns if c.startswith(f"{fit.spec.period}[")
                 or c.startswith(f"{fit.spec.time}:{fit.spec.period}[")]
        for ax, term in zip(row, terms, strict=False):
            draws = beta[term].to_numpy()
            half = max(5 * draws.std(), 1e-12)
            grid = np.linspace(draws.mean() - half, draws.mean() + half, 200)
            ax.fill_between(grid, stats.gaussian_kde(draws)(grid), color=period_style("I")
                            ["color"], alpha=0.35, linewidth=0, label="posterior")
            title = f"{fit.spec.name}: {term}"
            prior = column_prior(fit, term)
            if prior is not None:  # else not a Normal prior: the posterior alone
                mu, sd = prior
                ax.plot(grid, stats.norm.pdf(grid, mu, sd), color=period_style("II")["color"],
                        linestyle="--", label="prior")
                title += f"   prior N({mu:g}, {sd:g})"
            ax.set_yticks([])
            ax.set_title(title, fontsize=8)
            ax.axvline(0.0, color=INK, linewidth=0.6)
    axes[0, 0].legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    return fig
