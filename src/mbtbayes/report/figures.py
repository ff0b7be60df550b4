"""Which figures a run gets, and writing them to ``figures/*.png``.

A figure is made only when the tables (and fits) it needs exist; every figure of synthetic
data carries a ``SYNTHETIC data`` stamp.

Examples
--------
>>> made = make_figures(folder, tables=tables, fits=fits, data=reg.data,  # doctest: +SKIP
...                     synthetic=True)
>>> sorted(made)  # doctest: +SKIP
['effect_sizes', 'loo_aic', 'period_contrasts', ...]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pandas as pd

from mbtbayes.core.forked import map_forked, usable_cpus
from mbtbayes.report import figures_calibration as calibration
from mbtbayes.report import figures_change as change
from mbtbayes.report import figures_checks as checks
from mbtbayes.report import figures_growth as growth
from mbtbayes.report import figures_intake as intake
from mbtbayes.report import figures_more as more
from mbtbayes.report import figures_patients as patients
from mbtbayes.report import figures_rank as rank
from mbtbayes.report.style import figure_style, save, stamp

FOLDER = "figures"
"""Subfolder of the output that holds the PNG files."""

KIND_TITLES = {"outcome": "outcome measures (the paper's Table 5)",
               "process": "process measures: alliance and countertransference (Table 3)"}


@dataclass(frozen=True)
class Figure:
    """A figure written by the run.

    Attributes
    ----------
    name : str
        File stem, e.g. ``"effect_sizes"``.
    title : str
    caption : str
        What is drawn, with its interval.
    path : str
        Relative to the output folder, e.g. ``"figures/effect_sizes.png"``.
    """

    name: str
    title: str
    caption: str
    path: str


def _period_fits(fits: list) -> dict[str, list]:
    """The fit to draw per measure (period if fitted, else linear), grouped by spec kind."""
    chosen: dict[str, object] = {}
    for fit in fits:
        if fit.variant == "period" or fit.spec.name not in chosen:
            chosen[fit.spec.name] = fit
    kinds: dict[str, list] = {}
    for fit in chosen.values():
        kinds.setdefault(fit.spec.kind, []).append(fit)
    return kinds


TABLE_FIGURES: tuple[tuple[str, str, str, dict, Callable], ...] = (
    ("intake", "Who came in each period",
     "Standardised difference Period II - I of each characteristic at intake (difference over "
     "the square root of the mean of the two periods' variances): posterior mean and 95% HDI, "
     "turned so that right means Period II more severe (red: Period II more severe, the 95% "
     "HDI of the difference excluding 0; open: no severity direction, right = Period II "
     "higher); cross: the sample standardised difference; grey band: the margin. Below the "
     "line: the measures at baseline.",
     {"intake": intake.INTAKE_COLUMNS}, lambda t: intake.intake_figure(t["intake"])),
    ("period_contrasts", "Period contrasts across measures",
     "Period II - I at month 0 (intake case mix: who was admitted), in the change 0-24 months "
     "(the primary question: was improvement sustained?) and at the later d time point "
     "(secondary), divided by the measure's observed pooled baseline SD; 95% HDI; grey: the "
     "pre-specified margin.",
     {"period_effects": ("measure", "contrast"), "effect_sizes": ("sd_mean",)},
     lambda t: growth.period_contrast_forest(t["period_effects"], t["effect_sizes"])),
    ("rope_curve", "ROPE curve: the decision as the margin varies",
     "Posterior probability that the difference in change 0-24 months (Period II - I) lies "
     "inside the ROPE, as its half-width runs from 0 to 0.5 reference SD; background: the "
     "HDI + ROPE decision over each range (dark: difference, light: negligible, none: "
     "undecided); dashed: the margin fixed in the spec.",
     {"rope_curve": ("measure", "sd_units", "p_rope", "decision", "margin")},
     lambda t: growth.rope_curve_figure(t["rope_curve"])),
    ("effect_sizes", "Effect sizes (Cohen's d) across measures",
     "d of the 0-24 month change per period: posterior mean and 95% HDI (filled; the "
     "uncertainty of the baseline SD included, by the Bayesian bootstrap over patients), ML "
     "estimate and 95% Wald CI (open; the SD taken as known, as the paper).",
     {"effect_sizes": ("d_mean",)},
     lambda t: growth.effect_size_forest(t["effect_sizes"], t.get("frequentist_effect_sizes"))),
    ("reliable_change", "Patients who changed",
     "Share of each period's patients recovered, improved (reliably, without crossing the "
     "cut-off), unchanged or deteriorated from month 0 to 24 months (or their last "
     "assessment): Bayesian share from each patient's posterior trajectory (posterior mean "
     "and 95% HDI) beside the classical share of observed scores (cross); Jacobson and Truax "
     "(1991), reliabilities and cut-offs in reliable_change.csv.",
     {"reliable_change": change.CHANGE_COLUMNS},
     lambda t: change.change_figure(t["reliable_change"])),
    ("remission", "Remission per period",
     "Remission probability among start-positive patients with end data, per period (95% "
     "HDI), and the difference II - I with P(II worse); filled: conjugate Beta-binomial, open: "
     "Bambi logistic.",
     {"remission": ("p_mean", "p_period_diff", "prob_ii_worse")},
     lambda t: more.remission_figure(t["remission"])),
    ("loo_aic", "Model comparison: LOO beside AIC",
     "ELPD(period) - ELPD(linear) +-2 SE by leave-one-patient-out LOO, beside (AIC linear - "
     "AIC period) / 2 of the ML fits; > 0 favours the period model.",
     {"model_comparison": ("elpd_diff", "elpd_diff_se")},
     lambda t: growth.loo_aic_figure(t["model_comparison"])),
    ("ppc", "Posterior predictive checks",
     "Posterior predictive p-value of every check (statistic x period x wave) per measure and "
     "model; outside the grey band (0.025-0.975) the model rarely reproduces the observed "
     "statistic.",
     {"ppc": more.PPC_COLUMNS}, lambda t: more.ppc_figure(t["ppc"])),
    *(more.sensitivity_entry(name) for name in more.SENSITIVITY_FIGURES),
    ("joint_model", "Joint model of the outcomes",
     "Joint-model estimates (filled) beside the single-outcome estimates (open), 95% HDI.",
     {"joint_model": more.JOINT_COLUMNS}, lambda t: more.joint_figure(t["joint_model"])),
    ("power", "Power of the design",
     "Probability that this design detects a true Period II - I difference, per decision "
     "rule (p < .05 of the ML Wald test; 95% HDI excluding 0; 95% HDI outside the ROPE), over "
     "simulated registers with the study's patients, visits and missing values; bars: 95% "
     "binomial intervals; dotted: 0.05, dashed: 0.8.",
     {"power": calibration.POWER_COLUMNS}, lambda t: calibration.power_figure(t["power"])),
)
"""Figures drawn from tables: (name, title, caption, {table: columns it needs}, build)."""

PRIOR_POSTERIOR = ("prior_posterior", "Prior and posterior of the period terms",
                   "Prior density (dashed) and posterior density (filled) of the period shift "
                   "and the period x time term of each period model.")


PRIOR_PREDICTIVE = ("Prior predictive check: {name}",
                    "Before the data: the prior population mean per period at months 0-36 "
                    "(bands: central 50% and 95% of 4000 prior draws; thin lines: single draws; "
                    "dashed: the scale) and the implied prior of d (0-24 month change in "
                    "observed pooled baseline SDs) per period and of d_II - d_I.")
LOO_PIT = ("loo_pit", "Out-of-sample check: new-patient LOO-PIT",
           "Empirical CDF of the leave-one-patient-out PIT of every observation (its value's "
           "place in a new patient's predictive distribution, PSIS on the patient's marginal "
           "likelihood) minus the uniform CDF; solid: period model, dotted: linear; grey: 95% "
           "Kolmogorov-Smirnov band at the Kish effective size (observations of one patient "
           "are dependent). A calibrated model stays inside the band.")
PPC_OVERLAY = ("ppc_overlay", "Observed data over posterior predictive draws",
               "ArviZ plot_ppc of each measure's period model: density of the observed scores "
               "(dark), of 40 in-sample posterior predictive data sets (light) and their mean "
               "(dashed); vertical dashed lines: the scale's bounds, beyond which a Gaussian "
               "model predicts impossible scores.")


RANK = ("Rank plot: {name}",
        "Convergence, seen: the rank of each chain's draws among all chains' draws, per "
        "population term of the measure's period model (fixed effects, patient-effect SDs "
        "and correlation, residual SD); one line per chain, dashed: the uniform count. Chains "
        "that sample the same distribution stay near the dashed line; a slope or hump in one "
        "chain is a chain stuck apart (the gate's R-hat and ESS in diagnostics.csv).")


def _chosen(fits: list) -> dict[str, object]:
    """The fit to draw per measure: its period fit, else its linear one."""
    chosen: dict[str, object] = {}
    for fit in fits:
        if fit.variant == "period" or fit.spec.name not in chosen:
            chosen[fit.spec.name] = fit
    return chosen


def _rank_figures(fits: list) -> list:
    """A rank plot per measure (its period fit)."""
    title, caption = RANK
    return [(f"rank_{name}", title.format(name=name), caption,
             lambda f=fit: rank.rank_figure(f)) for name, fit in _chosen(fits).items()]


PATIENTS = ("Patients one by one: {name}",
            "Six patients per period, one drawn (fixed seed, in the title) from each sixth of "
            "the period's patients ordered by number of scores: recorded scores (markers), the "
            "patient's own posterior mean line and 95% HDI (population terms plus the "
            "patient's effects), and the period's population mean (dotted).")
SHRINKAGE = ("Shrinkage: {name}",
             "Each patient's own least-squares slope per month (no pooling) against its "
             "posterior slope from the period model (partial pooling); solid: identity; "
             "dashed: the period's population slope (complete pooling); grey segment: the pull "
             "toward it, larger for patients with fewer scores (marker size); patients with "
             "fewer than two distinct months left out and counted (shrinkage.csv).")


def _patient_figures(fits: list, data: pd.DataFrame, table: pd.DataFrame | None) -> list:
    """Per measure with a period fit: patient trajectories and the shrinkage plot."""
    plan = []
    for name, fit in _chosen(fits).items():
        if fit.variant != "period":
            continue
        title, caption = PATIENTS
        plan.append((f"patients_{name}", title.format(name=name), caption,
                     lambda f=fit: patients.trajectories_figure(f, data)))
        if table is not None and (table["measure"] == fit.spec.name).any():
            title, caption = SHRINKAGE
            plan.append((f"shrinkage_{name}", title.format(name=name), caption,
                         lambda m=fit.spec.name: patients.shrinkage_figure(table, m)))
    return plan


def _check_figures(fits: list, data: pd.DataFrame) -> list:
    """The predictive-check figures: a prior predictive check per spec, the LOO-PIT and the
    PPC overlay."""
    chosen = _chosen(fits)
    title, caption = PRIOR_PREDICTIVE
    plan = [(f"prior_predictive_{name}", title.format(name=name), caption,
             lambda f=fit: checks.prior_predictive_figure(f, data))
            for name, fit in chosen.items()]
    if fits:
        plan += [(*LOO_PIT, lambda: checks.loo_pit_figure(fits)),
                 (*PPC_OVERLAY, lambda: checks.ppc_overlay_figure(fits))]
    return plan


def figure_plan(tables: dict[str, pd.DataFrame], fits: list,
                data: pd.DataFrame) -> list[tuple[str, str, str, Callable]]:
    """(name, title, caption, build) of every figure the inputs allow, in report order."""
    plan = []
    for kind, group in _period_fits(fits).items():
        plan.append((f"trajectories_{kind}", "Trajectories: " + KIND_TITLES.get(kind, kind),
                     "Posterior population mean per period on a month grid (line; band: 95% "
                     "HDI; patient effects at zero, a model's covariates standardised over each "
                     "period's observed mix, stated in its panel) over the observed mean of "
                     "each wave (open markers; bars: +-1.96 SE).",
                     lambda g=group: growth.trajectories_figure(
                         g, data, table=tables.get("trajectories"))))
    if any(f.variant == "period" for f in fits):
        plan.append((*PRIOR_POSTERIOR, lambda: growth.prior_posterior_figure(fits)))
    plan += _check_figures(fits, data) + _rank_figures(fits)
    plan += _patient_figures(fits, data, tables.get("shrinkage"))
    for name, title, caption, needs, build in TABLE_FIGURES:
        if all(more.has_columns(tables.get(t), cols) for t, cols in needs.items()):
            plan.append((name, title, caption, lambda b=build: b(tables)))
    return plan


def make_figures(folder: str | Path, *, tables: dict[str, pd.DataFrame], fits: list,
                 data: pd.DataFrame, synthetic: bool,
                 workers: int | None = None) -> dict[str, Figure]:
    """Draw every figure the run's tables allow into ``folder/figures``.

    Parameters
    ----------
    folder : path
        The output folder (being written).
    tables : dict of str to DataFrame
        The run's tables, by file stem.
    fits : list of GrowthFit
    data : pandas.DataFrame
        The register (observed means per wave).
    synthetic : bool
        Stamp every figure ``SYNTHETIC data``.
    workers : int, optional
        Processes that draw the figures (default: the CPUs this process may use, at most
        :data:`MAX_WORKERS`). Above 1, on Linux, the figures are drawn by forked copies of this
        process (the fits are shared, not copied or pickled); the files are the same.

    Returns
    -------
    dict of str to Figure
        By name, in report order.
    """
    target = Path(folder) / FOLDER
    target.mkdir(parents=True, exist_ok=True)
    plan = figure_plan(tables, fits, data)
    made = _draw_all(plan, target, synthetic=synthetic, workers=_workers(workers, len(plan)))
    return {name: Figure(name, title, caption, f"{FOLDER}/{name}.png")
            for (name, title, caption, _), drawn in zip(plan, made, strict=True) if drawn}


MAX_WORKERS = 4
"""Most processes drawing figures at once."""


def _workers(workers: int | None, n: int) -> int:
    """Workers for ``n`` figures: at least 4 figures each."""
    workers = min(MAX_WORKERS, usable_cpus()) if workers is None else workers
    return max(1, min(workers, n // 4))


def _draw_all(plan: list, target: Path, *, synthetic: bool, workers: int) -> list[bool]:
    """Whether each figure of the plan was drawn (a builder may find nothing to draw)."""
    return map_forked([partial(_draw, entry, target, synthetic=synthetic) for entry in plan],
                      workers=workers)


def _draw(entry: tuple[str, str, str, Callable], target: Path, *, synthetic: bool) -> bool:
    name, _, caption, build = entry
    with figure_style():
        fig = build()
        if fig is None:  # nothing of that kind in the table
            return False
        if synthetic:
            stamp(fig, "SYNTHETIC data")
        save(fig, target / f"{name}.png", caption=caption)
    return True
