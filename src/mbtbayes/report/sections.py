"""The report's sections, after the Bayesian Analysis Reporting Guidelines (Kruschke 2021,
*Nat Hum Behav* 5:1282): data, models and priors, computation, posteriors, predictive checks
(prior, posterior, LOO-PIT), decisions with their ROPE, model comparison, concordance with the
frequentist analysis, sensitivity, the joint model, and reproducibility.

Every section renders from the tables the run made; a section whose tables are absent is left
out (sensitivity and joint model appear only when ``sensitivity`` / ``joint_model`` exist).

Examples
--------
>>> blocks = report_blocks(inputs)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from mbtbayes.compare import concordance_summary
from mbtbayes.compare.intake import intake_summary
from mbtbayes.report.document import (
    Banner,
    Bullets,
    Details,
    Heading,
    Image,
    Paragraph,
    Table,
)
from mbtbayes.report.figures_more import SENSITIVITY_FIGURES
from mbtbayes.report.headline import REMISSION_TITLE, decision, headline
from mbtbayes.report.paper_tables import (
    INTAKE_NOTE,
    INTAKE_TITLE,
    NOTE,
    TITLES,
    intake_paper_table,
    paper_tables,
)
from mbtbayes.sensitivity.suite import grouped_summary, summary_text

SYNTHETIC_FLAG = ("SYNTHETIC DATA - simulated to match the paper's published numbers; these "
                  "results say nothing about real patients")


@dataclass(frozen=True)
class ReportInputs:
    """What the report is made from.

    Attributes
    ----------
    tables : dict of str to DataFrame
        The run's tables by file stem (as written, before the ``data_source`` column).
    fits : list of GrowthFit
    specs : dict of str to ModelSpec
    figures : dict of str to Figure
    run : dict
        The ``run.json`` record.
    label : str
        What the data are.
    synthetic : bool
    """

    tables: dict[str, pd.DataFrame]
    fits: list
    specs: dict
    figures: dict
    run: dict = field(default_factory=dict)
    label: str = ""
    synthetic: bool = False

    def table(self, name: str) -> pd.DataFrame | None:
        """A table if the run made it and it has rows."""
        table = self.tables.get(name)
        return None if table is None or table.empty else table


def pick(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The named columns that the table has, in that order."""
    return table[[c for c in columns if c in table.columns]]


def _figure(inputs: ReportInputs, name: str) -> list:
    fig = inputs.figures.get(name)
    return [Image(fig.path, fig.title, f"**{fig.title}.** {fig.caption}")] if fig else []


def _flag(inputs: ReportInputs) -> list:
    return [Banner(SYNTHETIC_FLAG)] if inputs.synthetic else []


def folded(what: str, csv: str, blocks: list, *, rows: int | None = None) -> list:
    """Blocks folded into a closed :class:`Details` whose summary names what is inside and
    the CSV that holds all of it; nothing when there are no blocks."""
    if not blocks:
        return []
    count = f" ({rows} rows)" if rows is not None else ""
    where = f"; `{csv}` holds all of it" if csv else ""
    return [Details(f"{what}{count}{where}", blocks)]


def _folded_figures(inputs: ReportInputs, prefix: str, what: str) -> list:
    """Every figure whose name starts with ``prefix``, folded together."""
    shown = [block for name in inputs.figures if name.startswith(prefix)
             for block in _figure(inputs, name)]
    return folded(f"{what} ({len(shown)} figures)", "", shown)


# ---------------------------------------------------------------- summary and data


def summary_section(inputs: ReportInputs) -> list:
    """The answer first: the headline tables and lines."""
    parts = headline(inputs.tables)
    blocks = [Heading("Summary"), *_flag(inputs), Paragraph(f"Data: {inputs.label}.")]
    if not parts["growth"].empty:
        blocks.append(Table(summary_growth(parts["growth"]), SUMMARY_GROWTH_TITLE))
    if not parts["remission"].empty:
        blocks.append(Table(parts["remission"], REMISSION_TITLE))
    return blocks + [Paragraph(line) for line in parts["lines"]]


SUMMARY_GROWTH_TITLE = (
    "Was improvement sustained? The difference in change 0-24 months, Period II - I "
    "(posterior mean [95% HDI], measure units), decided against the pre-specified margin; "
    "better if: which sign is improvement; d per period (sign as better if); intake II - I: "
    "who was admitted (case mix), not a period effect; preferred model by LOO / AIC. "
    "More under Decisions (period_effects.csv)")


def summary_growth(growth: pd.DataFrame) -> pd.DataFrame:
    """The headline table narrowed to fit a screen: LOO and AIC in one column; the margin at
    which the difference would be negligible left to the Decisions section."""
    table = growth.drop(columns=["negligible if margin >="], errors="ignore")
    if {"LOO", "AIC"} <= set(table.columns):
        table = table.assign(**{"preferred (LOO / AIC)": table["LOO"] + " / " + table["AIC"]})
        table = table.drop(columns=["LOO", "AIC"])
    return table


def data_section(inputs: ReportInputs) -> list:
    """What the data are, how many patients and assessments, what is missing."""
    blocks = [Heading("Data"), *_flag(inputs), Paragraph(f"Source: {inputs.label}.")]
    record = inputs.run.get("data", {})
    if record.get("sha256"):
        blocks.append(Paragraph(f"SHA-256 of {record.get('sha256_of', 'the data')}: "
                                f"`{record['sha256']}`."))
    if inputs.table("data_summary") is not None:
        blocks.append(Table(inputs.tables["data_summary"],
                            "Patients, assessments and assessments per patient by period"))
    missing = inputs.table("missing_values")
    if missing is not None:
        blocks += folded("Missing values per measure", "missing_values.csv", [Table(
            missing, "Missing values per measure (kept; each model uses the observed values, "
                     "nothing is imputed)")], rows=len(missing))
    return blocks


def intake_section(inputs: ReportInputs) -> list:
    """Who came in each period: the paper's tests beside their Bayesian counterparts."""
    table = inputs.table("intake")
    if table is None:
        return []
    return [Heading("Who came in each period"), *_flag(inputs),
            Paragraph("Each characteristic at intake compared between the periods, the "
                      "paper's way and the Bayesian way (`intake.csv` holds every column, "
                      "with the missing values per characteristic). Differences at intake are "
                      "case mix, who was admitted, not an effect of the period's treatment."),
            Bullets(intake_summary(table).splitlines()),
            *_figure(inputs, "intake"),
            *folded("Every characteristic, the paper's way and the Bayesian way", "intake.csv",
                    [Table(intake_paper_table(table), f"{INTAKE_TITLE}. {INTAKE_NOTE}")],
                    rows=len(table))]


# ---------------------------------------------------------------- models and priors


def prior_text(prior: dict) -> str:
    """A prior as a formula, e.g. ``Normal(0, 1)`` or ``SD ~ HalfNormal(0.0556)``.

    Examples
    --------
    >>> prior_text({"dist": "Normal", "mu": 0, "sigma": {"dist": "HalfNormal", "sigma": 1.0}})
    'Normal(0, SD), SD ~ HalfNormal(1)'
    """
    args = {k: v for k, v in prior.items() if k != "dist"}
    nested = {k: v for k, v in args.items() if isinstance(v, dict)}
    plain = [f"{v:g}" if isinstance(v, int | float) else str(v) for k, v in args.items()
             if k not in nested]
    text = f"{prior.get('dist', '?')}({', '.join(plain + ['SD'] * len(nested))})"
    return text + "".join(f", SD ~ {prior_text(v)}" for v in nested.values())


def models_section(inputs: ReportInputs) -> list:
    """Likelihood, formulas, every prior written out, ROPE and the effect-size definition."""
    if not inputs.specs:
        return []
    blocks = [Heading("Models and priors"), *_flag(inputs), Paragraph(
        "Growth model per measure (Gaussian): y_ij = x_ij'beta + u0_i + u1_i t_ij + e_ij, with "
        "patient intercept u0_i ~ Normal(0, sd_intercept), patient slope u1_i ~ Normal(0, "
        "sd_slope) (independent unless the spec says correlated, then LKJ) and residual "
        "e_ij ~ Normal(0, sigma). The fixed effects x'beta come from the Bambi formula; the "
        "patient effects are integrated out analytically (marginal likelihood), which is "
        "also the likelihood of the leave-one-patient-out LOO. Each measure has two models, "
        "as the paper: linear, and with the period predictor on intercept and slope.")]
    specs = pd.DataFrame([{"measure": s.name, "label": s.label, "kind": s.kind,
                           "linear": s.formulas.get("linear", ""),
                           "period": s.formulas.get("period", ""),
                           "patient effects": "correlated (LKJ)" if s.correlated
                           else "independent"} for s in inputs.specs.values()])
    blocks.append(Table(specs, "Formulas per measure"))
    priors = pd.DataFrame([{"measure": s.name, **{term: prior_text(p)
                                                  for term, p in s.priors.items()}}
                           for s in inputs.specs.values()]).fillna("")
    if len(priors.columns) > 1:
        blocks += folded("Priors by term, every one written out", "run.json", [Table(
            priors, "Priors by term, as fitted (weakly informative, scaled to each measure's "
                    "range; SDs half-normal). Patient effects: Normal(0, SD) with the SD's "
                    "prior given")], rows=len(priors))
    ropes = _rope_rows(inputs)
    blocks += folded("Margin of practical equivalence per measure, with its source",
                     "period_effects.csv", [Table(
                         ropes, "Margin of practical equivalence (ROPE half-width) per "
                                "measure, fixed in the spec before the data, in the measure's "
                                "units, with its source and the reference SD it is read "
                                "against; the slope contrast's margin is divided by the later "
                                "d month, the margin of a difference in d by the reference "
                                "SD")], rows=len(ropes))
    return blocks + _binary_methods(inputs)


def _rope_rows(inputs: ReportInputs) -> pd.DataFrame:
    """The margin of each measure as the run used it (``period_effects``), with the spec's
    source and reference SD."""
    effects = inputs.tables.get("period_effects", pd.DataFrame())
    rows = []
    for s in inputs.specs.values():
        level = effects[(effects.get("measure") == s.name)
                        & (effects.get("contrast") == "intercept")] if len(effects) else effects
        rows.append({"measure": s.name,
                     "margin": level["rope_high"].iloc[0] if len(level) else None,
                     "label": s.rope_label or ("" if s.rope_half_width is not None
                                               else f"{s.rope_sd_units:g} x observed SD"),
                     "basis": level["rope_basis"].iloc[0] if len(level) else "",
                     "reference_sd": s.rope_reference_sd,
                     "reference_sd_source": s.rope_reference_sd_source,
                     "d_months": f"{s.d_months[0]:g}-{s.d_months[1]:g}",
                     "justification": s.rope_justification})
    return pd.DataFrame(rows)


def _binary_methods(inputs: ReportInputs) -> list:
    rows = []
    for name in ("remission", "start_end_change", "adherence"):
        table = inputs.table(name)
        if table is not None and {"model", "method"} <= set(table.columns):
            cols = ["model", "method"] + (["prior"] if "prior" in table else [])
            for r in table[cols].drop_duplicates().itertuples(index=False):
                rows.append({"table": name, **r._asdict()})
    return folded("Binary and time-to-event models: method and prior", "", [Table(
        pd.DataFrame(rows), "Binary and time-to-event models: method and prior (remission.csv, "
                            "start_end_change.csv, adherence.csv)")], rows=len(rows)) \
        if rows else []


# ---------------------------------------------------------------- computation


def computation_section(inputs: ReportInputs) -> list:
    """Software, sampler, seeds, the diagnostics gate and every fit's diagnostics."""
    run = inputs.run
    blocks = [Heading("Computation"), *_flag(inputs)]
    versions = run.get("versions", {})
    if versions:
        blocks.append(Paragraph("Software: " + ", ".join(f"{k} {v}" for k, v in
                                                         versions.items()) + "."))
    sampler = run.get("sampler", {})
    if sampler:
        gate = sampler.get("gate", {})
        settings = {k: v for k, v in sampler.items() if k not in ("gate", "retry")}
        blocks.append(Bullets([
            *(["Sampler: " + ", ".join(f"{k} = {v}" for k, v in settings.items())]
              if settings else []),
            "Diagnostics gate: " + ", ".join(f"{k} {v}" for k, v in gate.items())
            + "; a failing fit is refitted once (" + ", ".join(
                f"{k} x{v}" if k != "target_accept" else f"{k} {v}"
                for k, v in sampler.get("retry", {}).items())
            + ") and kept with passed = False if it still fails.",
            f"Seeds: run seed {run.get('seeds', {}).get('run')}; each fit's seed derives "
            "from it and the fit's name (listed in run.json)."]))
    diagnostics = inputs.table("diagnostics")
    if diagnostics is not None:
        failed = diagnostics[~diagnostics["passed"].astype(bool)]
        blocks.append(Paragraph(
            f"{len(diagnostics) - len(failed)} of {len(diagnostics)} growth fits passed the "
            "gate." + ("" if failed.empty else " **FAILED: " + ", ".join(failed["fit"])
                       + "** (flagged passed = False in every table that uses them).")))
        blocks += folded("Diagnostics per growth fit", "diagnostics.csv", [Table(pick(
            diagnostics, ["fit", "max_r_hat", "min_ess_bulk", "min_ess_tail", "divergences",
                          "attempts", "draws", "n_obs", "n_excluded", "n_patients", "passed",
                          "reason"]),
            "Diagnostics per growth fit (R-hat, bulk and tail ESS over every sampled "
            "parameter; rows used and excluded for a missing value)")], rows=len(diagnostics))
    return blocks + _folded_figures(inputs, "rank_", "Rank plots of each measure's period "
                                                     "model, one per measure")


# ---------------------------------------------------------------- posteriors


def posteriors_section(inputs: ReportInputs) -> list:
    """Trajectories, the paper's tables with Bayesian columns, prior vs posterior."""
    blocks = [Heading("Posterior distributions"), *_flag(inputs)]
    for name in inputs.figures:
        if name.startswith("trajectories_"):
            blocks += _figure(inputs, name)
    titles = {name: title for name, title in TITLES.values()}
    for name, table in paper_tables(inputs.tables, inputs.specs).items():
        blocks += [Heading(f"{name}: {titles.get(name, '')}".rstrip(": "), 3),
                   *folded(f"{name} in the paper's layout, ML beside Bayes",
                           "growth_models.csv", [Table(table, NOTE)], rows=len(table))]
    blocks += folded("Prior and posterior of the period terms", "", _figure(
        inputs, "prior_posterior"))
    variance = inputs.table("variance_explained")
    if variance is not None:
        blocks += folded("Between-patient variance explained by period",
                         "variance_explained.csv", [Table(pick(variance, [
            "measure", "quantity", "estimate", "hdi_low", "hdi_high", "sd_at_zero",
            "passed"]),
            "Between-patient variance explained by period (the paper: 0-5% of the intercept "
            "variance, none of the slope's). pseudo_r2_*: the proportional reduction in the "
            "intercept (slope) variance from the linear to the period model, a point value "
            "from the two fits' posterior median SDs (two separate fits have no joint "
            "posterior, so no interval). period_share_*: the share of that variance the "
            "period difference accounts for, from the period model's joint posterior "
            "(posterior median, 95% HDI). sd_at_zero: the SD's posterior piles at zero (95% "
            "HDI starting below a tenth of its median), so the row is not to be read; the "
            "component is hardly identified")], rows=len(variance))
    return blocks


# ---------------------------------------------------------------- predictive checks


def predictive_checks_section(inputs: ReportInputs) -> list:
    """Prior predictive checks, posterior predictive checks (in-sample and for new patients)
    and the new-patient LOO-PIT; absent without their tables."""
    names = ("prior_predictive", "ppc", "loo_pit", "likelihood_comparison")
    if all(inputs.table(n) is None for n in names):
        return []
    blocks = [Heading("Predictive checks"), *_flag(inputs), Paragraph(
        "Before the data: do the priors predict scores on the scale? After: do replicated "
        "data look like the observed ones, for the patients fitted (in-sample) and for new "
        "patients of the same population, and is each observation where a model fitted "
        "without its patient expects it (LOO-PIT)?")]
    blocks += _prior_predictive_blocks(inputs)
    ppc = inputs.table("ppc")
    if ppc is not None:
        blocks += [Heading("Posterior predictive checks", 3), *_figure(inputs, "ppc_overlay"),
                   *_ppc_blocks(inputs, ppc)]
    pit = inputs.table("loo_pit")
    if pit is not None:
        blocks += [Heading("Out-of-sample check: LOO-PIT", 3), *_figure(inputs, "loo_pit"),
                   *_loo_pit_blocks(pit)]
    likelihoods = inputs.table("likelihood_comparison")
    if likelihoods is not None:
        blocks.append(Table(likelihoods, "Specs of one measure with different likelihoods "
                                         "(e.g. Gaussian, censored), compared by the leave-one-"
                                         "patient-out ELPD of the recorded scores: the same data "
                                         "and the same convention (a probability per recorded "
                                         "score) for each; elpd_diff against the measure's best"))
    return blocks


def _flags(values: pd.Series) -> pd.Series:
    """A flag column as booleans, also when read back from a CSV as text."""
    return values.astype(str).str.strip().str.lower().isin(["true", "1", "1.0"])


PPC_CAPTION = ("Posterior predictive checks: floor, ceiling and outside-the-scale shares per "
               "measure, model, predictive (in-sample: each patient's own effects; new "
               "patients: effects drawn from the population) and period, and every flagged "
               "mean or SD")


def _ppc_blocks(inputs: ReportInputs, ppc: pd.DataFrame) -> list:
    """The misfits of the PPC shown; the p-value figure and the shares folded."""
    misfit = ppc[_flags(ppc["misfit"])] if "misfit" in ppc else ppc.iloc[:0]
    shares = ppc[_flags(ppc["misfit"]) | ~ppc["statistic"].isin(["mean", "sd"])] \
        if "misfit" in ppc else ppc
    if misfit.empty:
        shown = [Paragraph(f"None of the {len(ppc)} checks is a misfit (every posterior "
                           "predictive p inside 0.025-0.975).")]
    else:
        shown = [Table(misfit_counts(ppc), f"Misfits per measure: the checks (of {len(ppc)} "
                                           "in all) that the models rarely reproduce "
                                           "(posterior predictive p outside 0.025-0.975), "
                                           "counted by statistic over both models, both "
                                           "predictives, periods and waves"),
                 *folded("Every misfit", "ppc.csv", [Table(misfit, "Every misfit")],
                         rows=len(misfit))]
    return [*shown,
            *folded("Posterior predictive p of every check", "ppc.csv", _figure(inputs, "ppc")),
            *folded("Floor, ceiling and outside-the-scale shares, and every flagged mean or SD",
                    "ppc.csv", [Table(shares, PPC_CAPTION)], rows=len(shares))]


def misfit_counts(ppc: pd.DataFrame) -> pd.DataFrame:
    """One row per measure: its checks, its misfits, and the misfits by statistic.

    Examples
    --------
    >>> t = pd.DataFrame({"measure": ["bsi"] * 3, "statistic": ["sd", "sd", "mean"],
    ...                   "misfit": [True, True, False]})
    >>> misfit_counts(t).to_dict("records")
    [{'measure': 'bsi', 'checks': 3, 'misfits': 2, 'by statistic': 'sd 2'}]
    """
    flags = _flags(ppc["misfit"])
    rows = []
    for measure, part in ppc.groupby("measure", sort=False):
        bad = part[flags.loc[part.index]]
        counts = bad["statistic"].value_counts(sort=False)
        rows.append({"measure": measure, "checks": len(part), "misfits": len(bad),
                     "by statistic": ", ".join(f"{k} {v}" for k, v in counts.items())})
    return pd.DataFrame(rows)


LOO_PIT_CAPTION = ("New-patient LOO-PIT per fit and period: mean and SD of the PIT (uniform: "
                   "0.5 and 0.289), shares below 0.025 and above 0.975 (0.025 each), "
                   "Kolmogorov-Smirnov distance and p-value at the Kish effective size n_eff "
                   "(conservative for the dependence within patients), the largest Pareto k "
                   "of the patients' weights")


def _loo_pit_blocks(pit: pd.DataFrame) -> list:
    """The fits and periods whose PIT is not uniform shown; every row folded."""
    table = pick(pit, ["measure", "model", "period", "n_obs", "n_patients", "n_eff",
                       "pit_mean", "pit_sd", "share_low", "share_high", "ks_distance", "ks_p",
                       "uniform", "max_pareto_k", "passed"])
    off = table[~_flags(table["uniform"])] if "uniform" in table else table.iloc[:0]
    shown = ([Table(off, f"Not uniform: {len(off)} of {len(table)} fits and periods. "
                         + LOO_PIT_CAPTION)] if len(off) else
             [Paragraph(f"The LOO-PIT is uniform in all {len(table)} fits and periods.")])
    return [*shown, *folded("LOO-PIT of every fit and period", "loo_pit.csv",
                            [Table(table, LOO_PIT_CAPTION)], rows=len(table))]


def _prior_predictive_blocks(inputs: ReportInputs) -> list:
    table = inputs.table("prior_predictive")
    if table is None:
        return []
    shares = table[table["scale"] == "share"].pivot_table(
        index=["measure", "model"], columns="quantity", values="value").reset_index()
    implied = table[(table["scale"] == "baseline_sd")]
    implied = implied.assign(interval=implied["q_low"].map("{:.2f}".format) + " to "
                             + implied["q_high"].map("{:.2f}".format)).pivot_table(
        index=["measure", "model"], columns="quantity", values="interval",
        aggfunc="first").reset_index()
    merged = shares.merge(implied, on=["measure", "model"], how="left")
    return [Heading("Prior predictive checks", 3), *_prior_share_line(shares), *folded(
        "Prior predictive check of every fit", "prior_predictive.csv", [Table(
            merged, "Prior predictive checks: share of prior population means (both periods, "
                    "months 0-36) and of prior predictive observations inside the scale "
                    "(target for the means: at least 0.95), and the 95% central interval of "
                    "the implied prior of each change and of the difference in change, in "
                    "observed pooled baseline SDs (prior_predictive.csv has them in units)")],
        rows=len(merged)),
        *_folded_figures(inputs, "prior_predictive_", "Prior predictive figures, one per "
                                                      "measure")]


def _prior_share_line(shares: pd.DataFrame) -> list:
    """One line: the lowest share of prior population means inside the scale."""
    column = "population_mean_in_range"
    if column not in shares or shares.empty:
        return []
    low = shares.loc[shares[column].idxmin()]
    return [Paragraph(f"Prior population means inside the scale: at least {low[column]:.2f} "
                      f"in every fit (lowest: {low['measure']} {low['model']}; target 0.95).")]


# ---------------------------------------------------------------- decisions


def change_section(inputs: ReportInputs) -> list:
    """Patients who changed: reliable and clinically significant change per period."""
    table = inputs.table("reliable_change")
    if table is None:
        return []
    short = table[table["category"] == "recovered"].copy()
    short["Bayes share [95% HDI]"] = [
        f"{r.share_mean:.2f} [{r.share_hdi_low:.2f}, {r.share_hdi_high:.2f}]"
        for r in short.itertuples(index=False)]
    short = pick(short, ["measure", "period", "Bayes share [95% HDI]", "share_observed",
                         "n_patients", "cutoff_basis"])
    return [Heading("Patients who changed"), *_flag(inputs),
            Paragraph("Reliable and clinically significant change (Jacobson and Truax 1991) "
                      "from month 0 to 24 months, or to the last assessment: reliable when the "
                      "change exceeds 1.96 standard errors of a difference (from the "
                      "instrument's reliability and the baseline SD), recovered when it is "
                      "reliable and crosses the cut-off towards the functional population. "
                      "The Bayesian share counts, per posterior draw, the patients whose own "
                      "expected trajectory says so (no measurement error at either end, so "
                      "fewer deteriorate than by observed scores); the classical share "
                      "classifies observed scores. Reliabilities, cut-offs and their sources "
                      "are columns of `reliable_change.csv`."),
            *_figure(inputs, "reliable_change"),
            Table(short, "Recovered per period (Bayesian share, classical share of observed "
                         "scores) and the difference II - I"),
            *folded("Every category, both periods and II - I", "reliable_change.csv",
                    [Table(table)], rows=len(table))]


def patients_section(inputs: ReportInputs) -> list:
    """Patients one by one: individual trajectories and the shrinkage of their slopes."""
    table = inputs.table("shrinkage")
    if table is None or table.empty:
        return []
    rows = []
    for measure, group in table.groupby("measure", sort=False):
        fewer = group["n_months"] <= 3
        rows.append({"measure": measure, "patients": len(group),
                     "own slope SD": group["ls_slope"].std(),
                     "posterior slope SD": group["slope_mean"].std(),
                     "pulled toward the population": pd.to_numeric(
                         group["toward_population"], errors="coerce").mean(),
                     "median pull, 2-3 months": _pull(group[fewer]),
                     "median pull, 4+ months": _pull(group[~fewer])})
    return [Heading("Patients one by one"), *_flag(inputs),
            Paragraph("Each patient's own least-squares line (no pooling) beside its posterior "
                      "line from the period model (partial pooling: the patient's effects "
                      "drawn toward the period's population line, the more so the fewer its "
                      "scores). The pull is the share of the distance from the own slope to "
                      "the population slope that the posterior slope moves; slopes per month "
                      "in the measure's units (`shrinkage.csv`, one row per patient)."),
            Table(pd.DataFrame(rows), "Slopes per month: spread of own and posterior slopes, "
                                      "share pulled toward the period's population slope, "
                                      "median pull by number of distinct months"),
            *_folded_figures(inputs, "shrinkage_", "Shrinkage plot per measure"),
            *_folded_figures(inputs, "patients_", "Patient trajectories per measure")]


def _pull(rows: pd.DataFrame) -> float:
    """Median share of the way from the own slope to the population slope."""
    gap = rows["ls_slope"] - rows["population_slope"]
    moved = rows["ls_slope"] - rows["slope_mean"]
    keep = gap.abs() > 1e-12
    return float((moved[keep] / gap[keep]).median()) if keep.any() else float("nan")


def stacking_section(inputs: ReportInputs) -> list:
    """Model averaging: LOO stacking weights and the stacked conclusions."""
    table = inputs.table("stacking")
    if table is None or table.empty:
        return []
    weights = table[table["kind"] == "weight"].assign(
        candidate=lambda t: [_candidate(m, a) for m, a in zip(t["model"], t["analysis"],
                                                                strict=True)],
        weight=lambda t: t["weight"].round(3))
    weights = weights.pivot_table(index="measure", columns="candidate", values="weight",
                                  sort=False).reset_index()
    stacked = table[(table["kind"] == "stacked")
                    & table["quantity"].isin(["change_difference", "d_difference"])].copy()
    for side, prefix in (("stacked", ""), ("as specified", "baseline_")):
        stacked[side] = [f"{r[prefix + 'mean']:.3g} [{r[prefix + 'hdi_low']:.3g}, "
                         f"{r[prefix + 'hdi_high']:.3g}] {r[prefix + 'decision']}"
                         for r in stacked.to_dict("records")]
    stacked = pick(stacked, ["measure", "quantity", "stacked", "as specified",
                             "conclusion_changed", "n_patients", "passed",
                             "note"]).reset_index(drop=True)
    changed = int(table["conclusion_changed"].fillna(False).astype(bool).sum())
    return [Heading("Averaged over the models the data support"), *_flag(inputs),
            Paragraph("LOO stacking (Yao et al. 2018) weighs each measure's candidate models "
                      "(the period model as specified, the other patient-effect structure, "
                      "Student-t residuals, a period-specific residual SD, the case-mix "
                      "adjusted model) by how well their mixture predicts a new patient "
                      "(leave-one-patient-out, over the patients every candidate has); the "
                      "stacked posterior mixes the candidates' draws by these weights. A weight "
                      "is not the probability that a model is true. "
                      f"Conclusions changed by stacking: {changed} of "
                      f"{int((table['kind'] == 'stacked').sum())} (`stacking.csv`)."),
            Table(weights, "Stacking weights per measure (sum to 1 per row; 'other "
                           "structure': the patient-effect structure the spec does not use; "
                           "'(uncorrelated)': the Bambi engine's refit also drops a "
                           "correlated spec's intercept-slope correlation; each model in full "
                           "in stacking.csv)"),
            Table(stacked, "Difference in change 0-24 months (units; and d_II - d_I): stacked "
                           "posterior mean [95% HDI] and HDI + ROPE decision beside the model "
                           "as specified")]


def _candidate(model: str, analysis: str) -> str:
    """A stacking candidate's short name, the same for every measure."""
    if analysis == "baseline":
        return "as specified"
    both = " (uncorrelated)" if model.endswith(", uncorrelated intercept and slope") else ""
    if model.startswith("period-specific"):
        return "sigma ~ period" + both
    return {"robust likelihood": "Student-t", "case-mix adjustment": "adjusted",
            "random-effect structure": "other structure"}.get(analysis, model) + both


def adjusted_section(inputs: ReportInputs) -> list:
    """The period contrasts adjusted for intake case mix beside the unadjusted ones."""
    table = inputs.table("adjusted_effects")
    if table is None:
        return []
    short = table.copy()
    for side in ("unadjusted", "adjusted"):
        short[side] = [f"{getattr(r, side + '_mean'):.3g} [{getattr(r, side + '_hdi_low'):.3g},"
                       f" {getattr(r, side + '_hdi_high'):.3g}] {getattr(r, side + '_decision')}"
                       for r in short.itertuples(index=False)]
    short["left out I / II"] = [f"{r.n_left_out_I} / {r.n_left_out_II}"
                                for r in short.itertuples(index=False)]
    short = pick(short, ["measure", "contrast", "better_if", "unadjusted", "adjusted", "shift",
                         "left out I / II"])
    return [Heading("A fair comparison of unlike cohorts"), *_flag(inputs),
            Paragraph("Period II - I adjusted for intake case mix: each spec's `covariates` "
                      "on the intercept and the slope of the period model, the contrast "
                      "standardised over the pooled cohort (g-computation), so the estimand is "
                      "the unadjusted one; patients with a missing covariate are left out of "
                      "the adjusted fit and counted (`adjusted_effects.csv`)."),
            Table(short, "Unadjusted beside adjusted: posterior mean [95% HDI] and decision "
                         "against the spec's margin")]


def decisions_section(inputs: ReportInputs) -> list:
    """Period contrasts with their ROPE decisions, effect sizes, remission and adherence."""
    blocks = [Heading("Decisions"), *_flag(inputs), Paragraph(
        "Decision rule (Kruschke 2018): a difference when the 95% HDI lies wholly outside the "
        "ROPE, negligible when wholly inside it, otherwise undecided (\"too imprecise\" when "
        "the HDI is wider than the ROPE, so that no amount of shifting could put it inside). "
        "p_direction is the posterior probability of the sign; p_rope the posterior "
        "probability inside the ROPE.")]
    effects = inputs.table("period_effects")
    if effects is not None:
        decided = effects.assign(decision=[decision(r.hdi_low, r.hdi_high, r.rope_high)
                                           for r in effects.itertuples(index=False)])
        columns = ["measure", "contrast", "role", "estimand", "better_if", "mean", "hdi_low",
                   "hdi_high", "p_direction", "prob_ii_better", "rope_high", "p_rope",
                   "decision", "passed"]
        primary = decided[decided["contrast"] == "change"] if "contrast" in decided else decided
        blocks += _figure(inputs, "period_contrasts")
        blocks.append(Table(pick(primary, [c for c in columns if c not in ("contrast", "role")]),
                            "The primary question, was improvement sustained: the difference "
                            "in change 0-24 months, Period II - I, in measure units; better_if: "
                            "which sign is improvement; prob_ii_better: P(Period II improved "
                            "more); rope_high: the margin"))
        blocks += folded("Every period contrast: intake, change in units and in d, slope, "
                         "level at the later time point", "period_effects.csv", [Table(pick(
                             decided, columns),
            "Period II - I per measure. role: the month-0 difference is who was admitted "
            "(intake case mix), not a period effect; the primary question, whether improvement "
            "was sustained, is the difference in change 0-24 months (measure units, and in d "
            "units: d(II) - d(I) per draw, the SD's uncertainty included); the difference at 24 "
            "months is secondary (it holds the intake difference). better_if: which sign is "
            "improvement; prob_ii_better: P(Period II on the better side: improved more, or "
            "admitted less severe). rope_high: the margin (per month for the slope, in SDs for "
            "d). A model's covariates (e.g. the WAI version) are standardised over the same "
            "mix in both periods, that of all rows used (column standardisation of "
            "period_effects.csv)")], rows=len(decided))
    blocks += _rope_curve_blocks(inputs)
    sizes = inputs.table("effect_sizes")
    if sizes is not None:
        blocks += folded("Cohen's d of the 0-24 month change per period", "effect_sizes.csv", [
            *_figure(inputs, "effect_sizes"), Table(pick(sizes, [
            "measure", "period", "better_if", "change_mean", "sd_basis", "sd_point",
            "n_sd_patients", "d_mean", "d_hdi_low", "d_hdi_high", "d_sd_fixed_hdi_low",
            "d_sd_fixed_hdi_high", "passed"]),
            "Cohen's d of the 0-24 month change (95% HDI); better_if: the sign of improvement "
            "(lower: a negative d is improvement, higher: a positive d). d_hdi: the change's "
            "and the SD's uncertainty (Bayesian bootstrap of the observed pooled baseline SD "
            "over the n_sd_patients patients with a baseline value, paired with the posterior "
            "draws); d_sd_fixed_hdi: the SD fixed at sd_point, as the paper")],
            rows=len(sizes))
    blocks += _binary_decisions(inputs)
    return blocks


def _rope_curve_blocks(inputs: ReportInputs) -> list:
    """The ROPE curve: its figure and, per measure, the decision at the margin and the
    margins at which each conclusion holds."""
    curve = inputs.table("rope_curve")
    if curve is None:
        return []
    at = curve[_flags(curve["margin"])].drop_duplicates("measure")
    return folded("The decision as the margin varies (ROPE curve)", "rope_curve.csv", [
        *_figure(inputs, "rope_curve"), Table(pick(at, [
        "measure", "better_if", "hdi_low", "hdi_high", "half_width", "sd_units", "p_rope",
        "decision", "difference_below_sd", "negligible_from_sd", "reference_sd", "passed"]),
        "The difference in change 0-24 months at the pre-specified margin (half_width, in "
        "the measure's units; sd_units: in reference SDs) and where the decision turns: "
        "'difference' for every margin below difference_below_sd reference SDs (0: the HDI "
        "holds 0), 'negligible' from negligible_from_sd on, undecided in between "
        "(rope_curve.csv has the whole curve from 0 to 0.5 SD)")], rows=len(at))


def _binary_decisions(inputs: ReportInputs) -> list:
    blocks = []
    if inputs.table("remission") is not None:
        remission = inputs.tables["remission"]
        blocks += [Heading("Remission", 3), *_figure(inputs, "remission"), *folded(
            "Remission per period, every model", "remission.csv", [Table(pick(remission, [
                "behaviour", "period", "model", "n_at_risk", "n_remitted", "p_mean",
                "p_hdi_low", "p_hdi_high", "p_period_diff", "p_diff_hdi_low",
                "p_diff_hdi_high", "prob_ii_worse", "passed"]),
                "Remission per period; prob_ii_worse = P(remission lower in Period II)")],
            rows=len(remission))]
    if inputs.table("start_end_change") is not None:
        change = inputs.tables["start_end_change"]
        blocks += [Heading("Start-end change", 3), *folded(
            "Paired change from start to end of treatment", "start_end_change.csv", [Table(pick(
                change, ["behaviour", "period", "model", "n_pairs", "p_start_mean",
                         "p_end_mean", "change_mean", "change_hdi_low", "change_hdi_high",
                         "prob_decrease", "prob_ii_worse", "passed"]),
                "Paired change from start to end of treatment")], rows=len(change))]
    if inputs.table("adherence") is not None:
        adherence = inputs.tables["adherence"]
        blocks += [Heading("Adherence", 3), *folded(
            "Drop-out, short treatments, duration and attendance by period", "adherence.csv",
            [Table(pick(adherence, [
                "outcome", "period", "model", "role", "quantity", "n", "n_events", "mean",
                "hdi_low", "hdi_high", "diff_mean", "prob_ii_worse", "worse_if", "passed"]),
                "Drop-out, short treatments, duration and attendance by period; role: the "
                "default estimate or an alternative model (adherence.csv says what each "
                "assumes)")], rows=len(adherence))]
    return blocks


# ---------------------------------------------------------------- comparison, concordance


def comparison_section(inputs: ReportInputs) -> list:
    """LOO beside AIC."""
    table = inputs.table("model_comparison")
    if table is None:
        return []
    return [Heading("Model comparison"), *_flag(inputs), *_figure(inputs, "loo_aic"),
            Table(pick(table, ["measure", "elpd_diff", "elpd_diff_se", "max_pareto_k",
                               "loo_method", "loo_reliable", "aic_linear", "aic_period",
                               "lrt_p_value", "passed", "ml_note"]),
                  "ELPD(period) - ELPD(linear) by leave-one-patient-out LOO on the marginal "
                  "likelihood (> 0 favours period), beside AIC and the likelihood-ratio test "
                  "(ml_note: lme4's messages on the ML fits, e.g. a boundary (singular) fit)")]


def concordance_section(inputs: ReportInputs) -> list:
    """Where the frequentist and Bayesian conclusions agree, layer by layer, and why they
    differ; the Bayes factors of the period terms across prior widths."""
    table = inputs.table("concordance")
    if table is None:
        return []
    blocks = [Heading("Concordance with the frequentist analysis"), *_flag(inputs),
              *[Paragraph(line) for line in concordance_summary(table).splitlines()],
              *_disagreements(table, better_signs(inputs)),
              *folded("Every research question, layer by layer", "concordance.csv", [Table(
                  pick(table, CONCORDANCE_COLUMNS),
                  "Each research question, frequentist and Bayesian side by side, layer by "
                  "layer: existence (p vs 95% HDI), equivalence (TOST's 90% CI vs 90% HDI "
                  "inside the margin), predictive choice (AIC vs LOO in ELPD units), tested "
                  "choice (likelihood-ratio test vs Bayes factor); full table with tests, "
                  "intervals and rules: concordance.csv")], rows=len(table))]
    factors = inputs.table("bayes_factors")
    if factors is not None:
        blocks += folded("Bayes factors of the period terms across prior widths",
                         "bayes_factors.csv", [Table(pick(factors, BAYES_FACTOR_COLUMNS),
                                                     BAYES_FACTOR_CAPTION)], rows=len(factors))
    return blocks


def _disagreements(table: pd.DataFrame, better_if: dict[str, str]) -> list:
    """The questions on which the two analyses disagree in some layer, with the measure's
    better sign."""
    layers = [c for c in table.columns if c.startswith("agree_")]
    if not layers:
        return []
    apart = table[table[layers].apply(lambda c: c.astype(str).str.lower().isin(
        ["false", "0", "0.0"])).any(axis=1)]
    if apart.empty:
        return []
    apart = apart.assign(better_if=apart["subject"].map(better_if).fillna(""))
    columns = ["question", "subject", "better_if", "frequentist_estimate", "p_value",
               "bayes_estimate", "hdi_low", "hdi_high",
               *[c for c in CONCORDANCE_COLUMNS if c.endswith(("_existence", "_tested_choice"))
                 or c == "bf10"], *layers]
    return [Table(pick(apart, list(dict.fromkeys(columns))),
                  f"The {len(apart)} questions (of {len(table)}) on which the two analyses "
                  "disagree in some layer; better_if: which sign of II - I is better")]


CONCORDANCE_COLUMNS = [
    "question", "subject", "role", "models_alike", "frequentist_estimate", "p_value",
    "bayes_estimate", "hdi_low", "hdi_high", "frequentist_existence", "bayes_existence",
    "agree_existence", "margin", "frequentist_equivalence", "bayes_equivalence", "p_rope",
    "equivalence_decidable", "agree_equivalence", "frequentist_predictive_choice",
    "bayes_predictive_choice", "loo_penalty_only", "agree_predictive_choice",
    "frequentist_tested_choice", "bf10", "bayes_tested_choice", "agree_tested_choice",
    "passed"]
"""Concordance columns the report shows (those the table has): one decision per approach and
layer (existence, equivalence, predictive and tested model choice)."""
BAYES_FACTOR_COLUMNS = ["measure", "prior_scale", "prior_sd", "bf10", "log_bf10",
                        "log_bf10_mcse", "decision", "density_method", "weights_ess", "passed"]
BAYES_FACTOR_CAPTION = (
    "Bayes factor BF10 = p(y | period model) / p(y | linear model) of the period terms "
    "(Savage-Dickey: their prior density at 0 over their posterior density at 0; "
    "rao_blackwell: exact given the variance components), with the period terms' prior SDs "
    "multiplied by prior_scale; > 3 favours the period model, < 1/3 the linear model "
    "(bayes_factors.csv)")


# ---------------------------------------------------------------- sensitivity, joint model


def sensitivity_section(inputs: ReportInputs) -> list:
    """How the conclusions move under other priors, likelihoods and structures."""
    table = inputs.table("sensitivity")
    if table is None:
        return []
    blocks = [Heading("Sensitivity"), *_flag(inputs),
              *_sensitivity_verdicts(table, better_if=better_signs(inputs))]
    figures = [block for name in SENSITIVITY_FIGURES for block in _figure(inputs, name)]
    blocks += folded(f"Specification curves ({len(figures)} figures: every setting's "
                     "estimate and 95% HDI)", "sensitivity.csv", figures)
    if "conclusion_changed" in table:
        changed = table[table["conclusion_changed"].astype(str).str.lower().isin(
            ["true", "1", "1.0"])]
        blocks += folded(f"The settings that changed a conclusion ({len(changed)} of "
                         f"{len(table)} rows)", "sensitivity.csv", [Table(pick(changed, [
                             "measure", "analysis", "setting", "quantity", "mean", "hdi_low",
                             "hdi_high", "decision", "baseline_decision", "passed"]),
                             "Rows of sensitivity.csv whose decision differs from the "
                             "baseline's (sensitivity.csv has every row)")])
    return blocks


def better_signs(inputs: ReportInputs) -> dict[str, str]:
    """Each measure's better sign (``better_if`` of ``period_effects``): lower or higher."""
    effects = inputs.table("period_effects")
    if effects is None or "better_if" not in effects:
        return {}
    return effects.drop_duplicates("measure").set_index("measure")["better_if"].to_dict()


SENSITIVITY_SUMMARY_COLUMNS = {"measure", "analysis", "setting", "quantity", "decision",
                               "baseline", "passed", "conclusion_changed"}
"""Columns of ``sensitivity.csv`` the per-conclusion verdicts need."""


def _sensitivity_verdicts(table: pd.DataFrame, *, better_if: dict[str, str]) -> list:
    """Per measure, its quantities grouped by verdict (robust or fragile over the settings
    that could have changed them), each setting named once; the suite's line per quantity
    folded below. A table without those columns: the changed rows."""
    if set(table.columns) >= SENSITIVITY_SUMMARY_COLUMNS:
        lines = grouped_summary(table, better_if=better_if)
        return [Paragraph("Each conclusion, robust or fragile, counted over the settings that "
                          "could have changed it (that moved its posterior toward another "
                          "decision); settings that left it or moved it away are no test. "
                          "Quantities are Period II - I unless named for a period (d_I, "
                          "d_II); each measure says which sign is better. "
                          + lines[0]),
                Bullets(lines[1:]),
                *folded("Every conclusion in full: counts per analysis, every drop-out "
                        "tipping point, every reverse-Bayes limit", "sensitivity.csv",
                        [Bullets(summary_text(table).splitlines())])]
    if "conclusion_changed" not in table:
        return []
    changed = table[table["conclusion_changed"].astype(bool)]
    return [Paragraph(f"The conclusion changes in {len(changed)} of {len(table)} settings."
                      + ("" if changed.empty else " Changed: " + "; ".join(
                          f"{r.measure} {r.analysis} {r.setting}"
                          for r in changed.itertuples(index=False)) + "."))]


def joint_section(inputs: ReportInputs) -> list:
    """The joint model of the outcomes beside the single-outcome models."""
    table = inputs.table("joint_model")
    if table is None:
        return []
    blocks = [Heading("Joint model"), *_flag(inputs), *_figure(inputs, "joint_model"),
              *joint_table(table)]
    comparison = inputs.table("joint_model_comparison")
    if comparison is not None:
        blocks.append(Table(comparison, "Joint model with and without the period terms, "
                                        "leave-one-patient-out (joint_model_comparison.csv)"))
    return blocks + pooling_blocks(inputs.table("joint_pooling"))


def pooling_blocks(table: pd.DataFrame | None) -> list:
    """The joint model's pooling sensitivity: each outcome's difference in change under every
    width of the between-outcome SD's prior and unpooled."""
    if table is None or table.empty:
        return []
    rows = table[table["quantity"] == "change_difference_std"].copy()
    rows["cell"] = [f"{r['mean']:.2f} [{r['hdi_low']:.2f}, {r['hdi_high']:.2f}] "
                    f"{r['rope_decision']}" + ("" if r["passed"] else " (gate FAILED)")
                    for r in rows.to_dict("records")]
    wide = rows.pivot_table(index="outcome", columns="setting", values="cell",
                            aggfunc="first", sort=False).reset_index()
    moved = int(rows["conclusion_changed"].fillna(False).astype(bool).sum())
    return [Paragraph("The joint model's pooling, tested: the period terms refitted with the "
                      "between-outcome SD's prior at x0.5 (narrow), x1 (default) and x2 (wide) "
                      "of its scale and unpooled. Differences in change whose existence or "
                      f"HDI + ROPE decision differs from the default's: {moved} "
                      "(`joint_pooling.csv` also holds the difference at 24 months and the "
                      "between-outcome SDs)."),
            Table(wide, "Difference in change 0-24 months, Period II - I in observed pooled "
                        "baseline SDs (> 0 favours Period II): posterior mean [95% HDI] and "
                        "HDI + ROPE decision per setting of the between-outcome SD's prior")]


JOINT_CAPTION = ("Joint model of the outcomes beside the single-outcome models (95% HDI); "
                 "direction: on the standardised scale outcomes are sign-aligned so that > 0 "
                 "favours Period II, on an outcome's own scale its better sign is named")


def joint_table(table: pd.DataFrame) -> list:
    """The joint model's rows with each quantity's estimand said once, in a list below the
    table rather than in a column (where it wrapped to many lines); correlations folded."""
    estimands = (table.drop_duplicates("quantity")[["quantity", "estimand"]]
                 if {"quantity", "estimand"} <= set(table.columns) else pd.DataFrame())
    shown = table.drop(columns=["estimand", "interval", "reason"], errors="ignore")
    correlation = (shown["scale"] == "correlation") if "scale" in shown else \
        pd.Series(False, index=shown.index)
    blocks = [Table(shown[~correlation], JOINT_CAPTION + " (joint_model.csv)")]
    if len(estimands):
        blocks.append(Bullets([f"`{r.quantity}`: {r.estimand}"
                               for r in estimands.itertuples(index=False)
                               if not str(r.quantity).endswith("_corr")]))
    return blocks + folded("Correlations across outcomes (patient slopes, intercepts, "
                           "residuals)", "joint_model.csv",
                           [Table(shown[correlation], "Correlations across outcomes")]
                           if correlation.any() else [], rows=int(correlation.sum()))


# ---------------------------------------------------------------- reproducibility


def reproducibility_section(inputs: ReportInputs) -> list:
    """How to repeat the run and check that nothing changed."""
    run = inputs.run
    blocks = [Heading("Reproducibility"), *_flag(inputs)]
    items = []
    if run.get("command_line"):
        items.append(f"Command: `{run['command_line']}`")
    if run.get("data", {}).get("sha256"):
        items.append(f"Data SHA-256: `{run['data']['sha256']}`")
    if run.get("mapping"):
        items.append(f"Mapping SHA-256: `{run['mapping']['sha256']}`")
    items += ["`run.json`: command line, options, versions, sampler settings, seeds of every "
              "fit, SHA-256 of data and specs.",
              "`fits/*.nc`: posterior draws of every growth fit (ArviZ netCDF).",
              "Every table as CSV (full precision) and Markdown (rounded), each with a "
              "`data_source` column."]
    blocks.append(Bullets(items))
    specs = run.get("specs", {})
    if specs:
        blocks += folded("Model specs and their SHA-256", "run.json", [Table(pd.DataFrame(
            [{"spec": k, "file": v.get("file") or "(made in code)", "sha256": v["sha256"]}
             for k, v in specs.items()]), "Model specs and their SHA-256")], rows=len(specs))
    return blocks


SECTIONS = (summary_section, data_section, intake_section, models_section,
            computation_section, posteriors_section, predictive_checks_section,
            decisions_section, change_section, patients_section, adjusted_section,
            stacking_section, comparison_section, concordance_section, sensitivity_section,
            joint_section, reproducibility_section)
"""The report's sections, in order."""


def report_blocks(inputs: ReportInputs) -> list:
    """Every block of the report, section by section."""
    blocks = []
    for section in SECTIONS:
        blocks += section(inputs)
    return blocks
