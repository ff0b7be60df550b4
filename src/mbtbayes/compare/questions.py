"""Concordance rows, one per research question, each compared layer by layer like for like.

Effects (growth contrasts, remission, start-end change, drop-out) get the existence layer
(p < 0.05 against the 95% HDI excluding 0 with P(direction) > 0.975) and the practical
equivalence layer (the TOST on the ROPE, its 90% CI inside, against the 95% HDI inside; both
through :func:`mbtbayes.core.decisions.rope_decision`). Model choice gets the likelihood-ratio
test against the leave-one-patient-out ELPD difference, with AIC beside.

Examples
--------
>>> row = model_choice_questions(pd.DataFrame({
...     "measure": ["bsi"], "aic_linear": [100.0], "aic_period": [90.0], "lrt_chi2": [14.0],
...     "lrt_df": [2], "lrt_p_value": [0.001], "elpd_diff": [5.0], "elpd_diff_se": [2.0],
...     "passed": [True]}))[0]
>>> row["frequentist_model_choice"], row["bayes_model_choice"], row["agree_model_choice"]
('period', 'period', True)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

from mbtbayes.core.decisions import (
    ALPHA,
    NEGLIGIBLE,
    P_DIRECTION_MIN,
    equivalence_test_decision,
    existence_decision,
    rope_decision,
    significance_decision,
)
from mbtbayes.core.errors import DataError
from mbtbayes.core.posterior import summarize_draws
from mbtbayes.frequentist.equivalence import (
    TostResult,
    tost,
    tost_paired_proportions,
    tost_two_proportions,
)
from mbtbayes.frequentist.mixed import MixedResult
from mbtbayes.frequentist.prepare import wald_interval
from mbtbayes.frequentist.proportions import chi_square, logistic_wald, mcnemar
from mbtbayes.growth.fit import GrowthFit
from mbtbayes.growth.specs import ModelSpec

PERIOD_MODEL, LINEAR_MODEL, NO_PREFERENCE = "period", "linear", "no clear preference"
"""Model-choice labels."""
ELPD_SE_MARGIN = 2.0
"""LOO prefers a model when the ELPD difference lies beyond this many standard errors."""
AIC_MARGIN = 4.0
"""AIC prefers a model when the AIC difference exceeds this (AIC = -2 ELPD: 2 ELPD units)."""


LAYER_RULES = {
    "existence": f"p < {ALPHA:g} vs the 95% HDI excluding 0 with P(direction) > "
                 f"{P_DIRECTION_MIN:g}",
    "equivalence": "the TOST at alpha = 0.05, i.e. the 90% CI inside the ROPE, vs the 95% HDI "
                   "inside the ROPE",
    "model_choice": f"likelihood-ratio test p < {ALPHA:g} vs ELPD(period) - ELPD(linear) beyond "
                    f"{ELPD_SE_MARGIN:g} SE; AIC(linear) - AIC(period) beyond {AIC_MARGIN:g} "
                    f"(about {AIC_MARGIN / 2:g} ELPD units) beside",
}
MODEL_CHOICE_RULE = "model choice: " + LAYER_RULES["model_choice"]
GROWTH_QUESTIONS = ("period difference in intercept (II - I)",
                    "period difference in slope (II - I, per month)",
                    "within-period change per month, Period I",
                    "within-period change per month, Period II")


# ---------------------------------------------------------------- concordance rows


def _rope_half_width(spec: ModelSpec, data: pd.DataFrame) -> tuple[float, str]:
    """The measure's absolute ROPE half-width and its basis, from the data analysed, as in
    ``period_effects`` (contrasts per month divide it by ``spec.d_months[1]``)."""
    from mbtbayes.growth.rope import rope_for

    rope = rope_for(spec, data)
    return rope.half_width, rope.basis


def passed_flag(value: object) -> bool:
    """A diagnostics flag; a missing one counts as not passed.

    Examples
    --------
    >>> passed_flag(None), passed_flag(float("nan")), passed_flag(True)
    (False, False, True)
    """
    return False if value is None or pd.isna(value) else bool(value)


def _reason(passed: object, reason: object) -> str:
    if passed is None or pd.isna(passed):
        return "diagnostics missing: counted as not passed"
    return "" if reason is None or pd.isna(reason) else str(reason)


def _effect_row(question: str, subject: str, *, freq: dict, bayes: dict, rope: float,
                rope_basis: str, tost: Callable[[], TostResult], passed: object,
                reason: object = "") -> dict:
    """A row for an effect: the existence and the practical-equivalence layers.

    ``freq``: estimate, p_value, test (and ci_low, ci_high where the test gives an interval);
    ``bayes``: mean, hdi_low, hdi_high, p_direction (and p_rope).
    """
    f_exist = significance_decision(freq["p_value"])
    b_exist = existence_decision(bayes["hdi_low"], bayes["hdi_high"],
                                 p_direction=bayes["p_direction"])
    row = {"question": question, "subject": subject,
           "frequentist_estimate": freq["estimate"], "ci_low": freq.get("ci_low", np.nan),
           "ci_high": freq.get("ci_high", np.nan), "p_value": freq["p_value"],
           "bayes_estimate": bayes["mean"], "hdi_low": bayes["hdi_low"],
           "hdi_high": bayes["hdi_high"], "p_direction": bayes["p_direction"],
           "frequentist_existence": f_exist, "bayes_existence": b_exist,
           "agree_existence": f_exist == b_exist, "rope_half_width": rope,
           "rope_basis": rope_basis, "p_rope": bayes.get("p_rope", np.nan)}
    rule = (f"existence: {freq['test']} p < {ALPHA:g} vs 95% HDI excludes 0 and P(direction) > "
            f"{P_DIRECTION_MIN:g}")
    try:
        res = tost() if rope > 0 else "no ROPE half-width"
    except DataError as error:
        res = f"TOST undefined: {error}"
    if isinstance(res, TostResult):
        f_eq = equivalence_test_decision(res.p_value)
        b_eq = rope_decision(bayes["hdi_low"], bayes["hdi_high"], half_width=rope)
        row |= {"tost_ci_low": res.ci_low, "tost_ci_high": res.ci_high,
                "tost_p_value": res.p_value, "frequentist_equivalence": f_eq,
                "bayes_equivalence": b_eq,
                "agree_equivalence": (f_eq == NEGLIGIBLE) == (b_eq == NEGLIGIBLE)}
        rule += (f"; equivalence: {res.method} (90% CI inside +-{rope:.3g}) vs 95% HDI inside "
                 f"+-{rope:.3g}")
    else:
        rule += f"; equivalence: not assessed ({res})"
    return row | {"decision_rule": rule, "passed": passed_flag(passed),
                  "reason": _reason(passed, reason)}


def _combination(res: MixedResult, weights: dict[str, float]) -> dict:
    """Estimate, SE, 95% Wald CI and p of a linear combination of fixed effects."""
    w = pd.Series(weights)
    est = float(res.fixed.set_index("term").loc[w.index, "estimate"] @ w)
    se = float(np.sqrt(w @ res.fixed_cov.loc[w.index, w.index] @ w))
    low, high = wald_interval(est, se)
    return {"estimate": est, "se": se, "ci_low": low, "ci_high": high,
            "p_value": float(2 * stats.norm.sf(abs(est / se))),
            "test": "Wald z (ML mixed model)"}


def growth_questions(fits: list[GrowthFit], ml: dict, data: pd.DataFrame) -> list[dict]:
    """Concordance rows for the growth models: period differences and within-period change.

    Rows of a spec whose models are not the ML models (:func:`~.frequentist.unlike_reasons`)
    say so (``models_alike = False``, ``model_difference``); without the linear time and
    period coefficients there is nothing to compare and the row says why.
    """
    from mbtbayes.compare.frequentist import FailedFit, unlike_reasons

    rows = []
    for fit in (f for f in fits if f.variant == "period" and (f.spec.name, "period") in ml):
        res, spec, beta = ml[(fit.spec.name, "period")], fit.spec, fit.beta()
        alike = _alike(unlike_reasons(spec))
        if isinstance(res, FailedFit):
            rows += [{"question": q, "subject": spec.name, "passed": False,
                      "reason": res.reason, **alike} for q in GROWTH_QUESTIONS]
            continue
        period_col = next((c for c in beta.columns if c.startswith(f"{spec.period}[")), "")
        slope_col = f"{spec.time}:{period_col}"
        missing = [c for c in (period_col, slope_col, spec.time) if c not in beta.columns]
        if missing:
            rows += [{"question": q, "subject": spec.name, "passed": fit.diagnostics.passed,
                      "reason": "not compared: the Bayesian model has no linear "
                                f"{spec.time} x {spec.period} coefficients", **alike}
                     for q in GROWTH_QUESTIONS]
            continue
        rope, basis = _rope_half_width(spec, data)
        later = spec.d_months[1]
        per_month = (rope / later, f"{basis} / {later:g} months")
        checks = list(zip(GROWTH_QUESTIONS, [
            ({period_col: 1.0}, (rope, basis)), ({slope_col: 1.0}, per_month),
            ({spec.time: 1.0}, per_month), ({spec.time: 1.0, slope_col: 1.0}, per_month)],
            strict=True))
        for question, (weights, (half, half_basis)) in checks:
            draws = sum(beta[c].to_numpy() * w for c, w in weights.items())
            freq = _combination(res, weights)
            row = _effect_row(
                question, spec.name, freq=freq, bayes=summarize_draws(draws, rope=half or None),
                rope=half, rope_basis=half_basis, passed=fit.diagnostics.passed,
                reason=fit.diagnostics.reason,
                tost=lambda f=freq, h=half: tost(f["estimate"], f["se"], margin=h,
                                                 method="Wald TOST (ML mixed model)"))
            rows.append(row | alike | _ml_flags(row, res))
    return rows


def _ml_flags(row: dict, res: MixedResult) -> dict:
    """lme4's note on the ML fit; a fit failing lme4's convergence checks fails the row."""
    if res.converged:
        return {"ml_note": res.note}
    reason = "; ".join(x for x in (row["reason"], f"ML fit failed lme4's convergence checks: "
                                                  f"{res.note}") if x)
    return {"ml_note": res.note, "passed": False, "reason": reason}


def _alike(reasons: tuple[str, ...]) -> dict:
    return {"models_alike": not reasons, "model_difference": "; ".join(reasons)}


def _choice(value: float, margin: float) -> str:
    return (PERIOD_MODEL if value > margin else LINEAR_MODEL if value < -margin
            else NO_PREFERENCE)


def model_choice_questions(comparison: pd.DataFrame, *,
                           unlike: dict[str, tuple[str, ...]] | None = None) -> list[dict]:
    """Concordance rows for model choice: the likelihood-ratio test against marginal LOO.

    The frequentist decision is the LRT's (``period`` when p < 0.05; the test cannot favour
    the simpler model), from the same test as ``lrt_p_value``. The Bayesian decision is
    ``period`` / ``linear`` when ELPD(period) - ELPD(linear) lies beyond +-2 SE. AIC(linear) -
    AIC(period) is shown beside with its own decision at +-4 (AIC is -2 x an ELPD estimate, so
    4 AIC points are 2 ELPD units). ``agree_model_choice``: both or neither prefer the period
    model. ``unlike`` maps a measure to how its Bayesian models differ from the ML ones
    (:func:`~.frequentist.unlike_reasons`); its rows say so. Where an ML fit could not be made
    (``ml_reason``), the row keeps the LOO verdict and says why the LRT is missing; lme4's
    messages on the ML fits (a singular fit, say) are in ``ml_note``.
    """
    rows = []
    for r in comparison.itertuples(index=False):
        alike = _alike((unlike or {}).get(r.measure, ()))
        elpd = _choice(r.elpd_diff, ELPD_SE_MARGIN * r.elpd_diff_se)
        ml_reason = getattr(r, "ml_reason", np.nan)
        if isinstance(ml_reason, str) and ml_reason:  # no ML side: the LOO verdict stands
            rows.append({"question": "model choice (linear vs period)", "subject": r.measure,
                         "elpd_diff": r.elpd_diff, "elpd_diff_se": r.elpd_diff_se,
                         "bayes_model_choice": elpd, "decision_rule": MODEL_CHOICE_RULE,
                         "passed": False, "reason": ml_reason} | alike)
            continue
        if pd.isna(getattr(r, "aic_linear", np.nan)):
            continue  # no ML side for this measure (the data have no period)
        lrt = PERIOD_MODEL if r.lrt_p_value < ALPHA else NO_PREFERENCE
        reliable = passed_flag(getattr(r, "loo_reliable", True))
        ml_passed = passed_flag(getattr(r, "ml_passed", True))
        reasons = [_reason(r.passed, "" if passed_flag(r.passed)
                           else "a growth fit failed the diagnostics gate")]
        if not reliable:
            k = getattr(r, "max_pareto_k", np.nan)
            reasons.append(f"LOO unreliable (max Pareto k {k:.2f})")
        if not ml_passed:
            reasons.append(f"ML fit failed lme4's convergence checks: {r.ml_note}")
        rows.append({"question": "model choice (linear vs period)", "subject": r.measure,
                     "lrt_chi2": r.lrt_chi2, "lrt_df": r.lrt_df, "lrt_p_value": r.lrt_p_value,
                     "delta_aic": r.aic_linear - r.aic_period,
                     "aic_decision": _choice(r.aic_linear - r.aic_period, AIC_MARGIN),
                     "elpd_diff": r.elpd_diff, "elpd_diff_se": r.elpd_diff_se,
                     "frequentist_model_choice": lrt, "bayes_model_choice": elpd,
                     "agree_model_choice": (lrt == PERIOD_MODEL) == (elpd == PERIOD_MODEL),
                     "decision_rule": MODEL_CHOICE_RULE,
                     "passed": passed_flag(r.passed) and reliable and ml_passed,
                     "reason": "; ".join(x for x in reasons if x),
                     "ml_note": getattr(r, "ml_note", "")} | alike)
    return rows

# ---------------------------------------------------------------- binary outcomes

PROPORTION_ROPE = 0.05
"""ROPE half-width for differences of proportions: 5 percentage points."""
PROPORTION_ROPE_BASIS = "5 percentage points"


def _binary_row(question: str, subject: str, freq: dict, post: dict, prob: float,
                passed: object, reason: object, tost_fn: Callable[[], TostResult]) -> dict:
    """A concordance row from a posterior summary (mean, HDI, P(one direction))."""
    bayes = post | {"p_direction": max(prob, 1 - prob)}
    return _effect_row(question, subject, freq=freq, bayes=bayes, rope=PROPORTION_ROPE,
                       rope_basis=PROPORTION_ROPE_BASIS, tost=tost_fn, passed=passed,
                       reason=reason)


def binary_questions(remission: pd.DataFrame | None = None,
                     start_end_change: pd.DataFrame | None = None,
                     adherence: pd.DataFrame | None = None) -> list[dict]:
    """Concordance rows for remission by period, start-end change, and drop-out by period.

    Frequentist tests of existence as the paper: logistic-regression Wald for remission (the
    variant that reproduces both published p-values), McNemar for start-end change, chi-square
    for drop-out; of equivalence, Wald TOSTs on the same differences of proportions. Bayesian
    side: the conjugate models of :mod:`mbtbayes.binary.remission`, :mod:`~.change` and
    :mod:`~.adherence`.
    """
    rows = []
    if remission is not None:
        rows += _remission_rows(remission)
    if start_end_change is not None:
        rows += _change_rows(start_end_change)
    if adherence is not None:
        rows += _dropout_rows(adherence)
    return rows


def _remission_rows(remission: pd.DataFrame) -> list[dict]:
    rows = []
    conj = remission[remission["model"] == "beta_binomial"].set_index(["behaviour", "period"])
    for behaviour in conj.index.get_level_values(0).unique():
        one, two = conj.loc[(behaviour, "I")], conj.loc[(behaviour, "II")]
        counts = (int(one.n_remitted), int(one.n_at_risk), int(two.n_remitted),
                  int(two.n_at_risk))
        freq = {"estimate": counts[2] / counts[3] - counts[0] / counts[1],
                "p_value": logistic_wald(*counts).p_value, "test": "logistic-regression Wald"}
        post = {"mean": one.p_period_diff, "hdi_low": one.p_diff_hdi_low,
                "hdi_high": one.p_diff_hdi_high}
        rows.append(_binary_row("remission difference (II - I)", behaviour, freq, post,
                                one.prob_ii_worse, one.passed, one.get("reason"),
                                lambda c=counts: tost_two_proportions(
                                    *c, margin=PROPORTION_ROPE)))
    return rows


def _change_rows(change: pd.DataFrame) -> list[dict]:
    rows = []
    for r in change[change["model"] == "dirichlet"].itertuples(index=False):
        if r.period == "pooled":
            continue
        test = mcnemar(int(r.n_yes_no), int(r.n_no_yes))
        freq = {"estimate": (r.n_no_yes - r.n_yes_no) / r.n_pairs, "p_value": test.p_value,
                "test": test.method}
        post = {"mean": r.change_mean, "hdi_low": r.change_hdi_low,
                "hdi_high": r.change_hdi_high}
        counts = (int(r.n_yes_no), int(r.n_no_yes), int(r.n_pairs))
        rows.append(_binary_row(f"start-end change, Period {r.period}", r.behaviour, freq, post,
                                r.prob_decrease, r.passed, getattr(r, "reason", None),
                                lambda c=counts: tost_paired_proportions(
                                    *c, margin=PROPORTION_ROPE)))
    return rows


def _dropout_rows(adherence: pd.DataFrame) -> list[dict]:
    drop = adherence[adherence["outcome"] == "dropout"].set_index("period")
    if not {"I", "II"} <= set(drop.index):
        return []
    events = drop.loc[["I", "II"], ["n_events", "n"]].to_numpy(float)
    table = np.column_stack([events[:, 0], events[:, 1] - events[:, 0]])
    freq = {"estimate": events[1, 0] / events[1, 1] - events[0, 0] / events[0, 1],
            "p_value": chi_square(table).p_value, "test": "Pearson chi-square"}
    one = drop.loc["I"]
    post = {"mean": one.diff_mean, "hdi_low": one.diff_hdi_low, "hdi_high": one.diff_hdi_high}
    counts = (int(events[0, 0]), int(events[0, 1]), int(events[1, 0]), int(events[1, 1]))
    return [_binary_row("drop-out difference (II - I)", "dropout", freq, post,
                        one.prob_ii_worse, one.passed, one.get("reason"),
                        lambda: tost_two_proportions(*counts, margin=PROPORTION_ROPE))]
