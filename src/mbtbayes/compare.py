"""The frequentist analysis the paper's way, beside the Bayesian one, and their concordance.

Frequentist side: each spec's two growth models by maximum likelihood (independent patient
intercept and slope, SPSS MIXED's default VC structure and Bambi's), AIC, the likelihood-ratio
test, and Cohen's d from predicted values with the same denominator as the Bayesian d.

Concordance: one row per research question of the paper. Frequentist decision at alpha = 0.05
(``"difference"`` / ``"no evidence"``); Bayesian decision by the HDI + ROPE rule
(``"difference"`` when the 95% HDI lies wholly outside the ROPE, ``"negligible"`` when wholly
inside, otherwise ``"undecided"``). ``agree`` is True when both conclude a difference or
neither does. Model choice compares AIC (a difference of more than 2) with the marginal
leave-one-patient-out ELPD (a difference of more than 2 standard errors).

Examples
--------
>>> ml = frequentist_fits(specs, data)  # doctest: +SKIP
>>> concordance(fits, ml)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from mbtbayes.core.posterior import summarize_draws
from mbtbayes.frequentist.effects import compare_aic, mixed_cohens_d
from mbtbayes.frequentist.mixed import MixedResult, fit_mixed
from mbtbayes.growth.fit import GrowthFit
from mbtbayes.growth.specs import ModelSpec
from mbtbayes.growth.summaries import observed_baseline_sd

ALPHA = 0.05
RULE = "95% HDI vs ROPE: outside = difference, inside = negligible, else undecided"
AIC_MARGIN = 2.0
ELPD_SE_MARGIN = 2.0


# ---------------------------------------------------------------- frequentist side


def frequentist_fits(
    specs: dict[str, ModelSpec],
    data: pd.DataFrame,
    *,
    log: Callable[[str], None] = print,
) -> dict[tuple[str, str], MixedResult]:
    """ML fits of every variant of every spec (the paper's rows 1 and 2).

    Rows with a missing covariate are left out before fitting and logged.

    Returns
    -------
    dict
        ``(spec name, variant) -> MixedResult``.
    """
    fits = {}
    for spec in specs.values():
        for variant in spec.variants:
            if variant == "period" and spec.period not in data:
                continue
            covariates = spec.covariates(variant)
            used = data.dropna(subset=list(covariates))
            if len(used) < len(data):
                log(f"{spec.name} {variant} (ML): left out {len(data) - len(used)} rows with a "
                    f"missing {', '.join(covariates)}")
            fits[(spec.name, variant)] = fit_mixed(
                used, outcome=spec.measure, time=spec.time, group=spec.group,
                period=spec.period if variant == "period" else None, covariates=covariates,
                correlated=spec.correlated)
    return fits


def frequentist_growth_table(ml: dict[tuple[str, str], MixedResult]) -> pd.DataFrame:
    """Fixed effects and variance components of every ML fit.

    Returns
    -------
    pandas.DataFrame
        measure, model, term, estimate, se, ci_low, ci_high, p_value, interval, method.
    """
    rows = []
    for (name, variant), res in ml.items():
        fixed = res.fixed[["term", "estimate", "se", "ci_low", "ci_high", "p_value"]].copy()
        var = res.variance.rename(columns={"component": "term", "sd": "estimate"})
        table = pd.concat([fixed, var], ignore_index=True)
        table.insert(0, "model", variant)
        table.insert(0, "measure", name)
        table["interval"] = "95% Wald CI"
        table["method"] = f"ML (statsmodels MixedLM), {res.formula}"
        rows.append(table)
    return pd.concat(rows, ignore_index=True)


def aic_table(ml: dict[tuple[str, str], MixedResult]) -> pd.DataFrame:
    """AIC of the linear and period models and their likelihood-ratio test, per measure."""
    rows = []
    for name in dict.fromkeys(n for n, _ in ml):
        if (name, "period") in ml:
            row = compare_aic(ml[(name, "linear")], ml[(name, "period")]).iloc[0].to_dict()
            rows.append({"measure": name, "aic_linear": row["aic_linear"],
                         "aic_period": row["aic_period"], "lrt_chi2": row["lrt_chi2"],
                         "lrt_df": row["lrt_df"], "lrt_p_value": row["lrt_p_value"]})
    return pd.DataFrame(rows)


def frequentist_effect_sizes(
    ml: dict[tuple[str, str], MixedResult],
    specs: dict[str, ModelSpec],
    data: pd.DataFrame,
) -> pd.DataFrame:
    """Cohen's d from ML-predicted values, divided by the observed pooled baseline SD.

    Periods from the period model; ``pooled`` from the linear model (the paper's rows).
    """
    rows = []
    for (name, _variant), res in ml.items():
        spec = specs[name]
        sd = observed_baseline_sd(data, outcome=spec.measure, time=spec.time, group=spec.group,
                                  period=spec.period if spec.period in data else None,
                                  start=spec.d_months[0])
        table = mixed_cohens_d(res, sd=sd, sd_basis="observed_baseline_sd",
                               months=spec.d_months)
        table.insert(0, "measure", name)
        rows.append(table)
    return pd.concat(rows, ignore_index=True)


def model_comparison_table(loo: pd.DataFrame, ml: dict) -> pd.DataFrame:
    """The Bayesian LOO comparison (``summaries.model_comparison``) with AIC columns beside it."""
    return loo.merge(aic_table(ml), on="measure", how="left") if ml else loo


# ---------------------------------------------------------------- concordance


def _freq_decision(p: float) -> str:
    return "difference" if p < ALPHA else "no evidence"


def _bayes_decision(low: float, high: float, rope: float) -> str:
    if high < -rope or low > rope:
        return "difference"
    if -rope <= low and high <= rope:
        return "negligible"
    return "undecided"


def _row(question: str, subject: str, freq: dict, draws: np.ndarray, rope: float,
         passed: bool) -> dict:
    post = summarize_draws(draws, rope=rope)
    low, high = post["hdi_low"], post["hdi_high"]
    bayes = _bayes_decision(low, high, rope)
    fdec = _freq_decision(freq["p_value"])
    return {"question": question, "subject": subject,
            "frequentist_estimate": freq["estimate"], "ci_low": freq["ci_low"],
            "ci_high": freq["ci_high"], "p_value": freq["p_value"], "frequentist_decision": fdec,
            "bayes_estimate": post["mean"], "hdi_low": low, "hdi_high": high,
            "p_direction": post["p_direction"], "rope_half_width": rope, "p_rope": post["p_rope"],
            "bayes_decision": bayes, "decision_rule": RULE,
            "agree": (fdec == "difference") == (bayes == "difference"), "passed": passed}


def _combination(res: MixedResult, weights: dict[str, float]) -> dict:
    """Estimate, 95% Wald CI and p of a linear combination of fixed effects."""
    from scipy import stats

    w = pd.Series(weights)
    est = float(res.fixed.set_index("term").loc[w.index, "estimate"] @ w)
    se = float(np.sqrt(w @ res.fixed_cov.loc[w.index, w.index] @ w))
    z = stats.norm.ppf(0.975)
    return {"estimate": est, "ci_low": est - z * se, "ci_high": est + z * se,
            "p_value": float(2 * stats.norm.sf(abs(est / se)))}


def growth_questions(fits: list[GrowthFit], ml: dict) -> list[dict]:
    """Concordance rows for the growth models: period differences and within-period change."""
    rows = []
    for fit in (f for f in fits if f.variant == "period" and (f.spec.name, "period") in ml):
        res, spec, beta = ml[(fit.spec.name, "period")], fit.spec, fit.beta()
        period_col = next(c for c in beta.columns if c.startswith(f"{spec.period}["))
        slope_col = f"{spec.time}:{period_col}"
        later = spec.d_months[1]
        checks = [
            ("period difference in intercept (II - I)", {period_col: 1.0}, spec.rope),
            ("period difference in slope (II - I, per month)", {slope_col: 1.0},
             spec.rope / later),
            ("within-period change per month, Period I", {spec.time: 1.0}, spec.rope / later),
            ("within-period change per month, Period II", {spec.time: 1.0, slope_col: 1.0},
             spec.rope / later),
        ]
        for question, weights, rope in checks:
            draws = sum(beta[c].to_numpy() * w for c, w in weights.items())
            rows.append(_row(question, spec.name, _combination(res, weights), draws, rope,
                             fit.diagnostics.passed))
    return rows


def model_choice_questions(comparison: pd.DataFrame) -> list[dict]:
    """Concordance rows for model choice: AIC (the paper) against marginal LOO."""
    rows = []
    for r in comparison.dropna(subset=["aic_linear"]).itertuples(index=False):
        d_aic = r.aic_linear - r.aic_period
        freq = ("period" if d_aic > AIC_MARGIN else "linear" if d_aic < -AIC_MARGIN
                else "no clear preference")
        margin = ELPD_SE_MARGIN * r.elpd_diff_se
        bayes = ("period" if r.elpd_diff > margin else "linear" if r.elpd_diff < -margin
                 else "no clear preference")
        rows.append({"question": "model choice (linear vs period)", "subject": r.measure,
                     "frequentist_estimate": d_aic, "p_value": r.lrt_p_value,
                     "frequentist_decision": freq, "bayes_estimate": r.elpd_diff,
                     "hdi_low": r.elpd_diff - 2 * r.elpd_diff_se,
                     "hdi_high": r.elpd_diff + 2 * r.elpd_diff_se,
                     "bayes_decision": bayes,
                     "decision_rule": ("AIC(linear) - AIC(period) beyond +-2; ELPD(period) - "
                                       "ELPD(linear) beyond +-2 SE (interval = +-2 SE)"),
                     "agree": freq == bayes, "passed": r.passed})
    return rows


def concordance(
    fits: list[GrowthFit],
    data: pd.DataFrame,
    *,
    binary: dict[str, pd.DataFrame] | None = None,
    ml: dict | None = None,
    comparison: pd.DataFrame | None = None,
    log: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """The concordance table: each research question, frequentist and Bayesian side by side.

    Parameters
    ----------
    fits : list of GrowthFit
        Bayesian growth fits (both variants per spec for the model-choice rows).
    data : pandas.DataFrame
        The data the fits used (the ML fits are made on it unless ``ml`` is given).
    binary : dict, optional
        ``{"remission": ..., "start_end_change": ..., "adherence": ...}`` tables, for the
        binary questions.
    ml : dict, optional
        ML fits from :func:`frequentist_fits`, if already made.
    comparison : pandas.DataFrame, optional
        :func:`model_comparison_table`, if already made.
    log : callable, optional
        Receives progress messages.

    Returns
    -------
    pandas.DataFrame
        One row per question and subject.

    Examples
    --------
    >>> import mbtbayes as mb
    >>> reg = mb.load_register()
    >>> fits = mb.fit_specs(mb.load_specs(), reg.data)  # doctest: +SKIP
    >>> mb.concordance(fits, reg.data)["agree"].mean()  # doctest: +SKIP
    """
    from mbtbayes.growth.summaries import model_comparison

    specs = {f.spec.name: f.spec for f in fits}
    ml = ml if ml is not None else frequentist_fits(specs, data, log=log or (lambda _: None))
    if comparison is None:
        comparison = model_comparison_table(model_comparison(fits), ml)
    rows = growth_questions(fits, ml) + model_choice_questions(comparison)
    if binary and {"remission", "start_end_change", "adherence"} <= set(binary):
        rows += binary_questions(binary["remission"], binary["start_end_change"],
                                 binary["adherence"])
    return assemble(rows)


def assemble(rows: list[dict]) -> pd.DataFrame:
    """Assemble concordance rows (from any family of questions) into the contract's table."""
    columns = ["question", "subject", "frequentist_estimate", "ci_low", "ci_high", "p_value",
               "frequentist_decision", "bayes_estimate", "hdi_low", "hdi_high", "p_direction",
               "rope_half_width", "p_rope", "bayes_decision", "decision_rule", "agree",
               "passed"]
    return pd.DataFrame(rows).reindex(columns=columns)


def _why(r) -> str:
    if r.question.startswith("model choice"):
        return (" (AIC charges a fixed 2 points per parameter; the LOO rule asks for a "
                "predictive gain beyond 2 standard errors)")
    if r.frequentist_decision == "difference" and r.bayes_decision == "undecided":
        return (" (significant, but the 95% HDI reaches into the ROPE: the effect may be too "
                "small to matter)")
    if r.frequentist_decision == "no evidence" and r.bayes_decision == "difference":
        return " (the HDI excludes the ROPE while the Wald interval includes zero)"
    return ""


def concordance_summary(table: pd.DataFrame) -> str:
    """A short plain-language account of where the two approaches differ, and why."""
    n, agree = len(table), int(table["agree"].sum())
    lines = [f"The frequentist and Bayesian conclusions agree on {agree} of {n} questions."]
    negligible = table[table["bayes_decision"] == "negligible"]
    if len(negligible):
        lines.append(f"On {len(negligible)} questions the Bayesian analysis goes further: the "
                     "95% HDI lies inside the ROPE, so the difference is practically "
                     "negligible, which a non-significant p-value cannot show.")
    undecided = table[(table["bayes_decision"] == "undecided")
                      & (table["frequentist_decision"] == "no evidence")]
    if len(undecided):
        lines.append(f"On {len(undecided)} questions neither finds a difference, but the data "
                     "cannot rule out a relevant one either (HDI overlaps the ROPE edge).")
    for r in table[~table["agree"].astype(bool)].itertuples(index=False):
        lines.append(f"Disagreement: {r.question}, {r.subject}: frequentist "
                     f"'{r.frequentist_decision}' (p = {r.p_value:.3f}), Bayesian "
                     f"'{r.bayes_decision}'{_why(r)}.")
    if not table["passed"].all():
        lines.append("Some rows rest on fits that failed the diagnostics gate (passed = False).")
    return "\n".join(lines)


# ---------------------------------------------------------------- binary outcomes

PROPORTION_ROPE = 0.05
"""ROPE half-width for differences of proportions: 5 percentage points."""


def _summary_row(question: str, subject: str, freq: dict, mean: float, low: float,
                 high: float, prob: float, passed: object) -> dict:
    """A concordance row from a posterior summary (mean, HDI, P(one direction))."""
    bayes = _bayes_decision(low, high, PROPORTION_ROPE)
    fdec = _freq_decision(freq["p_value"])
    return {"question": question, "subject": subject,
            "frequentist_estimate": freq["estimate"], "ci_low": freq.get("ci_low"),
            "ci_high": freq.get("ci_high"), "p_value": freq["p_value"],
            "frequentist_decision": fdec, "bayes_estimate": mean, "hdi_low": low,
            "hdi_high": high, "p_direction": max(prob, 1 - prob),
            "rope_half_width": PROPORTION_ROPE, "bayes_decision": bayes,
            "decision_rule": RULE + f" (ROPE +-{PROPORTION_ROPE} in proportion)",
            "agree": (fdec == "difference") == (bayes == "difference"),
            "passed": True if pd.isna(passed) else bool(passed)}


def binary_questions(remission: pd.DataFrame, change: pd.DataFrame,
                     adherence: pd.DataFrame) -> list[dict]:
    """Concordance rows for remission by period, start-end change, and drop-out by period.

    Frequentist tests as the paper: logistic-regression Wald for remission (the variant that
    reproduces both published p-values), McNemar for start-end change, chi-square for drop-out.
    Bayesian side: the conjugate models of :mod:`mbtbayes.binary.remission` and
    :mod:`mbtbayes.binary.adherence`.
    """
    from mbtbayes.frequentist.proportions import chi_square, logistic_wald, mcnemar

    rows = []
    conj = remission[remission["model"] == "beta_binomial"].set_index(["behaviour", "period"])
    for behaviour in conj.index.get_level_values(0).unique():
        one, two = conj.loc[(behaviour, "I")], conj.loc[(behaviour, "II")]
        counts = (int(one.n_remitted), int(one.n_at_risk), int(two.n_remitted),
                  int(two.n_at_risk))
        freq = {"estimate": counts[2] / counts[3] - counts[0] / counts[1],
                "p_value": logistic_wald(*counts).p_value}
        rows.append(_summary_row("remission difference (II - I)", behaviour, freq,
                                 one.p_period_diff, one.p_diff_hdi_low, one.p_diff_hdi_high,
                                 one.prob_ii_worse, one.passed))
    for r in change[change["model"] == "dirichlet"].itertuples(index=False):
        if r.period == "pooled":
            continue
        freq = {"estimate": (r.n_no_yes - r.n_yes_no) / r.n_pairs,
                "p_value": mcnemar(int(r.n_yes_no), int(r.n_no_yes)).p_value}
        rows.append(_summary_row(f"start-end change, Period {r.period}", r.behaviour, freq,
                                 r.change_mean, r.change_hdi_low, r.change_hdi_high,
                                 r.prob_decrease, r.passed))
    drop = adherence[(adherence["outcome"] == "dropout")].set_index("period")
    if {"I", "II"} <= set(drop.index):
        events = drop.loc[["I", "II"], ["n_events", "n"]].to_numpy(float)
        table = np.column_stack([events[:, 0], events[:, 1] - events[:, 0]])
        freq = {"estimate": events[1, 0] / events[1, 1] - events[0, 0] / events[0, 1],
                "p_value": chi_square(table).p_value}
        one = drop.loc["I"]
        rows.append(_summary_row("drop-out difference (II - I)", "dropout", freq,
                                 one.diff_mean, one.diff_hdi_low, one.diff_hdi_high,
                                 one.prob_ii_worse, one.passed))
    return rows
