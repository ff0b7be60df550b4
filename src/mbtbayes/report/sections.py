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
from mbtbayes.report.document import Banner, Bullets, Heading, Image, Paragraph, Table
from mbtbayes.report.figures_more import SENSITIVITY_FIGURES
from mbtbayes.report.headline import GROWTH_TITLE, REMISSION_TITLE, decision, headline
from mbtbayes.report.paper_tables import (
    INTAKE_NOTE,
    INTAKE_TITLE,
    NOTE,
    TITLES,
    intake_paper_table,
    paper_tables,
)
from mbtbayes.sensitivity.suite import summary_text

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


# ---------------------------------------------------------------- summary and data


def summary_section(inputs: ReportInputs) -> list:
    """The answer first: the headline tables and lines."""
    parts = headline(inputs.tables)
    blocks = [Heading("Summary"), *_flag(inputs), Paragraph(f"Data: {inputs.label}.")]
    if not parts["growth"].empty:
        blocks.append(Table(parts["growth"], GROWTH_TITLE))
    if not parts["remission"].empty:
        blocks.append(Table(parts["remission"], REMISSION_TITLE))
    return blocks + [Paragraph(line) for line in parts["lines"]]


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
    if inputs.table("missing_values") is not None:
        blocks.append(Table(inputs.tables["missing_values"],
                            "Missing values per measure (kept; each model uses the observed "
                            "values, nothing is imputed)"))
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
            Table(intake_paper_table(table), f"{INTAKE_TITLE}. {INTAKE_NOTE}")]


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
        blocks.append(Table(priors, "Priors by term, as fitted (weakly informative, scaled "
                                    "to each measure's range; SDs half-normal). Patient "
                                    "effects: Normal(0, SD) with the SD's prior given"))
    ropes = _rope_rows(inputs)
    blocks += [Table(ropes, "Margin of practical equivalence (ROPE half-width) per measure, "
                            "fixed in the spec before the data, in the measure's units, with "
                            "its source and the reference SD it is read against; the slope "
                            "contrast's margin is divided by the later d month, the margin of "
                            "a difference in d by the reference SD"), *_binary_methods(inputs)]
    return blocks


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
    return [Table(pd.DataFrame(rows), "Binary and time-to-event models: method and prior")] \
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
        blocks.append(Table(pick(diagnostics, [
            "fit", "max_r_hat", "min_ess_bulk", "min_ess_tail", "divergences", "attempts",
            "draws", "n_obs", "n_excluded", "n_patients", "passed", "reason"]),
            "Diagnostics per growth fit (R-hat, bulk and tail ESS over every sampled "
            "parameter; rows used and excluded for a missing value)"))
    return blocks


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
                   Table(table, NOTE)]
    blocks += _figure(inputs, "prior_posterior")
    if inputs.table("variance_explained") is not None:
        blocks.append(Table(pick(inputs.tables["variance_explained"], [
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
            "component is hardly identified"))
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
        shown = ppc[ppc["misfit"].astype(bool) | ~ppc["statistic"].isin(["mean", "sd"])]
        blocks += [Heading("Posterior predictive checks", 3), *_figure(inputs, "ppc"),
                   *_figure(inputs, "ppc_overlay"),
                   Table(shown, "Posterior predictive checks: floor, ceiling and outside-the-"
                                "scale shares per measure, model, predictive (in-sample: each "
                                "patient's own effects; new patients: effects drawn from the "
                                "population) and period, and every flagged mean or SD (all "
                                "rows in ppc.csv)")]
    pit = inputs.table("loo_pit")
    if pit is not None:
        blocks += [Heading("Out-of-sample check: LOO-PIT", 3), *_figure(inputs, "loo_pit"),
                   Table(pick(pit, ["measure", "model", "period", "n_obs", "n_patients",
                                    "n_eff", "pit_mean", "pit_sd", "share_low", "share_high",
                                    "ks_distance", "ks_p", "uniform", "max_pareto_k",
                                    "passed"]),
                         "New-patient LOO-PIT per fit and period: mean and SD of the PIT "
                         "(uniform: 0.5 and 0.289), shares below 0.025 and above 0.975 "
                         "(0.025 each), Kolmogorov-Smirnov distance and p-value at the Kish "
                         "effective size n_eff (conservative for the dependence within "
                         "patients), the largest Pareto k of the patients' weights")]
    likelihoods = inputs.table("likelihood_comparison")
    if likelihoods is not None:
        blocks.append(Table(likelihoods, "Specs of one measure with different likelihoods "
                                         "(e.g. Gaussian, censored), compared by the leave-one-"
                                         "patient-out ELPD of the recorded scores: the same data "
                                         "and the same convention (a probability per recorded "
                                         "score) for each; elpd_diff against the measure's best"))
    return blocks


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
    blocks = [Heading("Prior predictive checks", 3),
              Table(shares.merge(implied, on=["measure", "model"], how="left"),
                    "Prior predictive checks: share of prior population means (both periods, "
                    "months 0-36) and of prior predictive observations inside the scale "
                    "(target for the means: at least 0.95), and the 95% central interval of "
                    "the implied prior of each change and of the difference in change, in "
                    "observed pooled baseline SDs (prior_predictive.csv has them in units)")]
    for name in inputs.figures:
        if name.startswith("prior_predictive_"):
            blocks += _figure(inputs, name)
    return blocks


# ---------------------------------------------------------------- decisions


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
        blocks += _figure(inputs, "period_contrasts")
        blocks.append(Table(pick(decided, [
            "measure", "contrast", "role", "estimand", "better_if", "mean", "hdi_low",
            "hdi_high", "p_direction", "prob_ii_better", "rope_high", "p_rope", "decision",
            "passed"]),
            "Period II - I per measure. role: the month-0 difference is who was admitted "
            "(intake case mix), not a period effect; the primary question, whether improvement "
            "was sustained, is the difference in change 0-24 months (measure units, and in d "
            "units: d(II) - d(I) per draw, the SD's uncertainty included); the difference at 24 "
            "months is secondary (it holds the intake difference). better_if: which sign is "
            "improvement; prob_ii_better: P(Period II on the better side: improved more, or "
            "admitted less severe). rope_high: the margin (per month for the slope, in SDs for "
            "d). A model's covariates (e.g. the WAI version) are standardised over the same "
            "mix in both periods, that of all rows used (column standardisation of "
            "period_effects.csv)"))
    blocks += _rope_curve_blocks(inputs)
    if inputs.table("effect_sizes") is not None:
        blocks += _figure(inputs, "effect_sizes")
        blocks.append(Table(pick(inputs.tables["effect_sizes"], [
            "measure", "period", "better_if", "change_mean", "sd_basis", "sd_point",
            "n_sd_patients", "d_mean", "d_hdi_low", "d_hdi_high", "d_sd_fixed_hdi_low",
            "d_sd_fixed_hdi_high", "passed"]),
            "Cohen's d of the 0-24 month change (95% HDI); better_if: the sign of improvement "
            "(lower: a negative d is improvement, higher: a positive d). d_hdi: the change's "
            "and the SD's uncertainty (Bayesian bootstrap of the observed pooled baseline SD "
            "over the n_sd_patients patients with a baseline value, paired with the posterior "
            "draws); d_sd_fixed_hdi: the SD fixed at sd_point, as the paper"))
    blocks += _binary_decisions(inputs)
    return blocks


def _rope_curve_blocks(inputs: ReportInputs) -> list:
    """The ROPE curve: its figure and, per measure, the decision at the margin and the
    margins at which each conclusion holds."""
    curve = inputs.table("rope_curve")
    if curve is None:
        return []
    at = curve[curve["margin"].astype(bool)].drop_duplicates("measure")
    return [*_figure(inputs, "rope_curve"), Table(pick(at, [
        "measure", "better_if", "hdi_low", "hdi_high", "half_width", "sd_units", "p_rope",
        "decision", "difference_below_sd", "negligible_from_sd", "reference_sd", "passed"]),
        "The difference in change 0-24 months at the pre-specified margin (half_width, in "
        "the measure's units; sd_units: in reference SDs) and where the decision turns: "
        "'difference' for every margin below difference_below_sd reference SDs (0: the HDI "
        "holds 0), 'negligible' from negligible_from_sd on, undecided in between "
        "(rope_curve.csv has the whole curve from 0 to 0.5 SD)")]


def _binary_decisions(inputs: ReportInputs) -> list:
    blocks = []
    if inputs.table("remission") is not None:
        blocks += [Heading("Remission", 3), *_figure(inputs, "remission"),
                   Table(pick(inputs.tables["remission"], [
                       "behaviour", "period", "model", "n_at_risk", "n_remitted", "p_mean",
                       "p_hdi_low", "p_hdi_high", "p_period_diff", "p_diff_hdi_low",
                       "p_diff_hdi_high", "prob_ii_worse", "passed"]),
                       "Remission per period; prob_ii_worse = P(remission lower in Period II)")]
    if inputs.table("start_end_change") is not None:
        blocks += [Heading("Start-end change", 3), Table(pick(
            inputs.tables["start_end_change"], [
                "behaviour", "period", "model", "n_pairs", "p_start_mean", "p_end_mean",
                "change_mean", "change_hdi_low", "change_hdi_high", "prob_decrease",
                "prob_ii_worse", "passed"]), "Paired change from start to end of treatment")]
    if inputs.table("adherence") is not None:
        blocks += [Heading("Adherence", 3), Table(pick(inputs.tables["adherence"], [
            "outcome", "period", "model", "role", "quantity", "n", "n_events", "mean",
            "hdi_low", "hdi_high", "diff_mean", "prob_ii_worse", "worse_if", "passed"]),
            "Drop-out, short treatments, duration and attendance by period; role: the default "
            "estimate or an alternative model (adherence.csv says what each assumes)")]
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
              Table(pick(table, CONCORDANCE_COLUMNS),
                    "Each research question, frequentist and Bayesian side by side, layer by "
                    "layer: existence (p vs 95% HDI), equivalence (TOST's 90% CI vs 90% HDI "
                    "inside the margin), predictive choice (AIC vs LOO in ELPD units), tested "
                    "choice (likelihood-ratio test vs Bayes factor); full table with tests, "
                    "intervals and rules: concordance.csv")]
    factors = inputs.table("bayes_factors")
    if factors is not None:
        blocks.append(Table(pick(factors, BAYES_FACTOR_COLUMNS), BAYES_FACTOR_CAPTION))
    return blocks


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
    blocks = [Heading("Sensitivity"), *_flag(inputs), *_sensitivity_verdicts(table)]
    figures = [block for name in SENSITIVITY_FIGURES for block in _figure(inputs, name)]
    return blocks + [*figures,
                     Table(table, "Sensitivity analyses (sensitivity.csv)")]


SENSITIVITY_SUMMARY_COLUMNS = {"measure", "analysis", "setting", "quantity", "decision",
                               "baseline", "passed", "conclusion_changed"}
"""Columns of ``sensitivity.csv`` the per-conclusion verdicts need."""


def _sensitivity_verdicts(table: pd.DataFrame) -> list:
    """Per measure and quantity, robust or fragile over the settings that could have changed
    the conclusion (the suite's summary); a table without those columns: the changed rows."""
    if set(table.columns) >= SENSITIVITY_SUMMARY_COLUMNS:
        return [Paragraph("Each conclusion, robust or fragile, counted over the settings that "
                          "could have changed it (that moved its posterior toward another "
                          "decision); settings that left it or moved it away are no test. "
                          "Drop-out tipping points and reverse-Bayes limits (with Box's "
                          "prior-data conflict p) follow each verdict."),
                Bullets(summary_text(table).splitlines())]
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
              Table(table, "Joint model of the outcomes (joint_model.csv)")]
    comparison = inputs.table("joint_model_comparison")
    if comparison is not None:
        blocks.append(Table(comparison, "Joint model with and without the period terms, "
                                        "leave-one-patient-out (joint_model_comparison.csv)"))
    return blocks


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
        blocks.append(Table(pd.DataFrame([{"spec": k, "file": v.get("file") or "(made in code)",
                                           "sha256": v["sha256"]} for k, v in specs.items()]),
                            "Model specs and their SHA-256"))
    return blocks


SECTIONS = (summary_section, data_section, intake_section, models_section, computation_section,
            posteriors_section, predictive_checks_section, decisions_section,
            comparison_section, concordance_section, sensitivity_section, joint_section,
            reproducibility_section)
"""The report's sections, in order."""


def report_blocks(inputs: ReportInputs) -> list:
    """Every block of the report, section by section."""
    blocks = []
    for section in SECTIONS:
        blocks += section(inputs)
    return blocks
