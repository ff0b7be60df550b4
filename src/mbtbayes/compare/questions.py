"""Concordance rows, one per research question, each compared layer by layer like with like.

Effects (growth contrasts, remission, start-end change, drop-out) get two layers:

- **existence**: p < 0.05 against the 95% HDI excluding 0 with P(direction) > 0.975. The
  *primary* questions (per measure the difference in change over the d span, 24 x the slope
  contrast, and the intake (month-0) difference as case mix; remission, start-end change and
  drop-out) are counted apart from the within-period slopes (``role``), which are trivially
  nonzero or null.
- **equivalence at one error rate**: the TOST at alpha = 0.05, i.e. its 90% CI inside the
  margin, against the **90% HDI** inside the margin (5% outside on either side, as the TOST);
  P(inside the margin) beside. The margin is the measure's
  (:func:`mbtbayes.growth.rope.rope_for`); per month for a slope (the margin over the d span)
  and 5 percentage points for proportions. ``equivalence_decidable`` says whether either
  side's 90% interval is narrow enough to fit inside the margin at all: where neither is, no
  outcome could have shown equivalence and their agreement is automatic.

Model choice (linear vs period model) gets two layers:

- **predictive choice**: AIC against leave-one-patient-out LOO, both in ELPD units (AIC is -2
  x an ELPD estimate, so the AIC side is Delta-AIC / 2). A model is preferred only when its
  advantage is at least 4 ELPD units, and on the LOO side also beyond 2 SE; smaller differences
  are "no difference" (Vehtari's cross-validation FAQ, on the SE of elpd_diff: "Differences
  smaller than 4 are small and then the models have very similar predictive performance";
  Sivula, Magnusson & Vehtari 2020). ``loo_penalty_only`` flags the regime Delta-elpd close to
  -Delta-p_loo: at least half of the linear model's ELPD advantage is the period terms'
  effective parameters, not worse in-sample fit (``lpd_diff = elpd_diff + p_loo_diff``).
- **tested choice**: the likelihood-ratio test (p < 0.05) against the Bayes factor of the period
  terms (:mod:`mbtbayes.growth.bayes_factor`: Savage-Dickey, > 3 period, < 1/3 linear), shown
  at the period priors' SDs x 0.5, 1 and 2.

Examples
--------
>>> row = model_choice_questions(pd.DataFrame({
...     "measure": ["bsi"], "aic_linear": [100.0], "aic_period": [90.0], "lrt_chi2": [14.0],
...     "lrt_df": [2], "lrt_p_value": [0.001], "elpd_diff": [5.0], "elpd_diff_se": [2.0],
...     "passed": [True]}))[0]
>>> row["frequentist_predictive_choice"], row["bayes_predictive_choice"]
('period', 'period')
>>> row["frequentist_tested_choice"], "bayes_tested_choice" in row  # no Bayes factor given
('period', False)
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

from mbtbayes.compare.frequentist import FailedFit, unlike_reasons
from mbtbayes.core.arviz_api import hdi
from mbtbayes.core.decisions import (
    ALPHA,
    NEGLIGIBLE,
    P_DIRECTION_MIN,
    equivalence_test_decision,
    existence_decision,
    rope_decision,
    significance_decision,
)
from mbtbayes.core.defaults import SEED
from mbtbayes.core.errors import DataError
from mbtbayes.core.posterior import summarize_draws
from mbtbayes.core.seeds import seed_for
from mbtbayes.frequentist.equivalence import (
    TostResult,
    tost,
    tost_paired_proportions,
    tost_two_proportions,
)
from mbtbayes.frequentist.mixed import MixedResult
from mbtbayes.frequentist.prepare import wald_interval
from mbtbayes.frequentist.proportions import chi_square, logistic_wald, mcnemar
from mbtbayes.growth.bayes_factor import RULE as BF_RULE
from mbtbayes.growth.bayes_factor import bf_decision
from mbtbayes.growth.modelspec import ModelSpec
from mbtbayes.growth.result import GrowthFit
from mbtbayes.growth.rope import rope_for

PERIOD_MODEL, LINEAR_MODEL, NO_DIFFERENCE = "period", "linear", "no difference"
"""Predictive model-choice labels (both sides)."""
NOT_REJECTED = "linear not rejected"
"""The likelihood-ratio test's label when p >= 0.05 (a test cannot favour the simpler model)."""
ELPD_MIN = 4.0
"""A model is preferred predictively only when its ELPD advantage is at least this (LOO FAQ)."""
ELPD_SE_MARGIN = 2.0
"""... and, on the LOO side, beyond this many standard errors of the ELPD difference."""
PENALTY_SHARE = 0.5
"""``loo_penalty_only`` when at least this share of the linear model's ELPD advantage is the
period model's extra effective parameters (Delta-p_loo)."""
EQUIVALENCE_PROB = 1 - 2 * ALPHA
"""Probability of the intervals of the equivalence layer (0.9: the TOST's 1 - 2 alpha)."""
PRIMARY, WITHIN_PERIOD, MODEL_CHOICE = "primary", "within-period slope", "model choice"
"""``role`` of a concordance row."""
FAQ = ("Vehtari, Cross-validation FAQ, 'How to interpret in Standard error (SE) of elpd "
       "difference (elpd_diff)?': differences smaller than 4 are small, the models have very "
       "similar predictive performance")

LAYER_RULES = {
    "existence": f"p < {ALPHA:g} vs the 95% HDI excluding 0 with P(direction) > "
                 f"{P_DIRECTION_MIN:g}",
    "equivalence": f"the TOST at alpha = {ALPHA:g}, i.e. the 90% CI inside the margin, vs the "
                   "90% HDI inside the margin (one error rate: 5% on either side); P(inside "
                   "the margin) beside",
    "predictive_choice": f"AIC vs leave-one-patient-out LOO, both in ELPD units (Delta-AIC / 2"
                         f"): a model is preferred when its advantage is at least {ELPD_MIN:g}"
                         f" ELPD units (on the LOO side also beyond {ELPD_SE_MARGIN:g} SE), "
                         f"else no difference ({FAQ})",
    "tested_choice": f"likelihood-ratio test p < {ALPHA:g} vs the Bayes factor of the period "
                     f"terms: {BF_RULE}",
}
MODEL_CHOICE_RULE = ("predictive choice: " + LAYER_RULES["predictive_choice"]
                     + "; tested choice: " + LAYER_RULES["tested_choice"])


def growth_questions_for(spec: ModelSpec) -> tuple[tuple[str, str], ...]:
    """The growth questions of a spec and their role, e.g. ``("difference in change 0-24
    months (II - I)", "primary")``.

    Examples
    --------
    >>> from mbtbayes.growth.specs import make_spec
    >>> [q for q, _ in growth_questions_for(make_spec(outcome="y", time="months", group="id",
    ...  period="period", range=(0, 4)))][:2]
    ['difference in change 0-24 months (II - I)', 'intake difference at month 0 (II - I, case mix)']
    """
    start, end = spec.d_months
    return ((f"difference in change {start:g}-{end:g} months (II - I)", PRIMARY),
            (f"intake difference at month {start:g} (II - I, case mix)", PRIMARY),
            ("within-period change per month, Period I", WITHIN_PERIOD),
            ("within-period change per month, Period II", WITHIN_PERIOD))


# ---------------------------------------------------------------- concordance rows


def _rope_half_width(spec: ModelSpec, data: pd.DataFrame) -> tuple[float, str]:
    """The measure's equivalence margin (absolute half-width) and its basis:
    :func:`mbtbayes.growth.rope.rope_for`, as in ``period_effects``."""
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


def bayes_summary(draws: np.ndarray, *, margin: float) -> dict:
    """What the two effect layers read from posterior draws: mean, 95% HDI and P(direction)
    (existence), 90% HDI and P(inside the margin) (equivalence)."""
    out = summarize_draws(draws, rope=margin if margin > 0 else None)
    low, high = hdi(draws, ci_prob=EQUIVALENCE_PROB)
    return out | {"hdi90_low": low, "hdi90_high": high}


def _decidable(low: float, high: float, margin: float) -> bool:
    """Could an interval this wide lie inside the margin at all?"""
    return bool(high - low <= 2 * margin)


def _equivalence_layer(bayes: dict, margin: float,
                       tost_fn: Callable[[], TostResult]) -> tuple[dict, str]:
    """The equivalence layer's columns and its rule text (or why it was not assessed)."""
    try:
        res = tost_fn() if margin > 0 else "no margin"
    except DataError as error:
        res = f"TOST undefined: {error}"
    if not isinstance(res, TostResult):
        return {}, f"equivalence: not assessed ({res})"
    f_eq = equivalence_test_decision(res.p_value)
    b_eq = rope_decision(bayes["hdi90_low"], bayes["hdi90_high"], half_width=margin)
    cols = {"tost_ci_low": res.ci_low, "tost_ci_high": res.ci_high, "tost_p_value": res.p_value,
            "frequentist_equivalence": f_eq, "bayes_equivalence": b_eq,
            "agree_equivalence": (f_eq == NEGLIGIBLE) == (b_eq == NEGLIGIBLE),
            "equivalence_decidable": res.decidable or _decidable(
                bayes["hdi90_low"], bayes["hdi90_high"], margin)}
    rule = (f"equivalence: {res.method} (90% CI inside +-{margin:.3g}) vs 90% HDI inside "
            f"+-{margin:.3g}")
    return cols, rule


def _effect_row(question: str, subject: str, *, role: str, freq: dict, bayes: dict,
                margin: float, margin_basis: str, tost: Callable[[], TostResult],
                passed: object, reason: object = "") -> dict:
    """A row for an effect: the existence and the equivalence layers.

    ``freq``: estimate, p_value, test (and ci_low, ci_high where the test gives an interval);
    ``bayes``: mean, hdi_low, hdi_high, p_direction, hdi90_low, hdi90_high (and p_rope).
    """
    f_exist = significance_decision(freq["p_value"])
    b_exist = existence_decision(bayes["hdi_low"], bayes["hdi_high"],
                                 p_direction=bayes["p_direction"])
    row = {"question": question, "subject": subject, "role": role,
           "frequentist_estimate": freq["estimate"], "ci_low": freq.get("ci_low", np.nan),
           "ci_high": freq.get("ci_high", np.nan), "p_value": freq["p_value"],
           "bayes_estimate": bayes["mean"], "hdi_low": bayes["hdi_low"],
           "hdi_high": bayes["hdi_high"], "p_direction": bayes["p_direction"],
           "frequentist_existence": f_exist, "bayes_existence": b_exist,
           "agree_existence": f_exist == b_exist, "margin": margin,
           "margin_basis": margin_basis, "hdi90_low": bayes["hdi90_low"],
           "hdi90_high": bayes["hdi90_high"], "p_rope": bayes.get("p_rope", np.nan)}
    rule = (f"existence: {freq['test']} p < {ALPHA:g} vs 95% HDI excludes 0 and P(direction) > "
            f"{P_DIRECTION_MIN:g}")
    cols, eq_rule = _equivalence_layer(bayes, margin, tost)
    return row | cols | {"decision_rule": f"{rule}; {eq_rule}", "passed": passed_flag(passed),
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


def _growth_checks(spec: ModelSpec, period_col: str, slope_col: str, margin: float,
                   basis: str) -> list[tuple[str, str, dict, float, str]]:
    """Question, role, fixed-effect weights, margin and its basis of each growth question.

    The difference in change over the d span is span x the slope contrast (margin: the
    measure's); the intake difference at the first d time is the period shift there; the
    within-period slopes are per month (margin over the span).
    """
    start, end = spec.d_months
    span = end - start
    per_month = (margin / span, f"{basis} / {span:g} months")
    weights = [{slope_col: span}, {period_col: 1.0} | ({slope_col: start} if start else {}),
               {spec.time: 1.0}, {spec.time: 1.0, slope_col: 1.0}]
    margins = [(margin, basis), (margin, basis), per_month, per_month]
    return [(q, role, w, *m) for (q, role), w, m in
            zip(growth_questions_for(spec), weights, margins, strict=True)]


def growth_questions(fits: list[GrowthFit], ml: dict, data: pd.DataFrame) -> list[dict]:
    """Concordance rows for the growth models: the primary period questions (difference in
    change, intake difference) and the within-period slopes.

    Rows of a spec whose models are not the ML models (:func:`~.frequentist.unlike_reasons`)
    say so (``models_alike = False``, ``model_difference``); without the linear time and
    period coefficients there is nothing to compare and the row says why.
    """
    rows = []
    for fit in (f for f in fits if f.variant == "period" and (f.spec.name, "period") in ml):
        res, spec, beta = ml[(fit.spec.name, "period")], fit.spec, fit.beta()
        alike = _alike(unlike_reasons(spec))
        questions = growth_questions_for(spec)
        if isinstance(res, FailedFit):
            rows += [{"question": q, "subject": spec.name, "role": role, "passed": False,
                      "reason": res.reason, **alike} for q, role in questions]
            continue
        period_col = next((c for c in beta.columns if c.startswith(f"{spec.period}[")), "")
        slope_col = f"{spec.time}:{period_col}"
        missing = [c for c in (period_col, slope_col, spec.time) if c not in beta.columns]
        if missing:
            rows += [{"question": q, "subject": spec.name, "role": role,
                      "passed": fit.diagnostics.passed,
                      "reason": "not compared: the Bayesian model has no linear "
                                f"{spec.time} x {spec.period} coefficients", **alike}
                     for q, role in questions]
            continue
        margin, basis = _rope_half_width(spec, data)
        for question, role, weights, half, half_basis in _growth_checks(
                spec, period_col, slope_col, margin, basis):
            draws = sum(beta[c].to_numpy() * w for c, w in weights.items())
            freq = _combination(res, weights)
            row = _effect_row(
                question, spec.name, role=role, freq=freq,
                bayes=bayes_summary(draws, margin=half), margin=half, margin_basis=half_basis,
                passed=fit.diagnostics.passed, reason=fit.diagnostics.reason,
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


# ---------------------------------------------------------------- model choice


def aic_choice(delta_aic: float) -> str:
    """AIC's predictive choice in ELPD units: ``Delta-AIC / 2`` against :data:`ELPD_MIN`.

    ``delta_aic`` is AIC(linear) - AIC(period) (> 0 favours the period model).

    Examples
    --------
    >>> aic_choice(9.0), aic_choice(7.9), aic_choice(-9.0)
    ('period', 'no difference', 'linear')
    """
    if pd.isna(delta_aic):
        return ""
    gain = delta_aic / 2
    return PERIOD_MODEL if gain >= ELPD_MIN else LINEAR_MODEL if gain <= -ELPD_MIN else (
        NO_DIFFERENCE)


def loo_choice(elpd_diff: float, se: float) -> str:
    """LOO's predictive choice: at least :data:`ELPD_MIN` ELPD units and beyond
    :data:`ELPD_SE_MARGIN` SE, else no difference.

    Examples
    --------
    >>> loo_choice(5.0, 2.0), loo_choice(5.0, 3.0), loo_choice(3.9, 0.5), loo_choice(-6, 1)
    ('period', 'no difference', 'no difference', 'linear')
    """
    if pd.isna(elpd_diff) or pd.isna(se):
        return ""
    if abs(elpd_diff) < ELPD_MIN or abs(elpd_diff) <= ELPD_SE_MARGIN * se:
        return NO_DIFFERENCE
    return PERIOD_MODEL if elpd_diff > 0 else LINEAR_MODEL


def penalty_only(elpd_diff: float, p_loo_diff: float) -> bool:
    """Is LOO's lead for the linear model mostly the period terms' effective parameters?

    True when ELPD(period) - ELPD(linear) < 0 and p_loo(period) - p_loo(linear) is at least
    :data:`PENALTY_SHARE` of that lead: the regime Delta-elpd close to -Delta-p_loo, where the
    period model fits as well in sample and its SE is unreliable.

    Examples
    --------
    >>> penalty_only(-2.0, 2.05), penalty_only(-2.0, 0.5), penalty_only(1.0, 2.0)
    (True, False, False)
    """
    if pd.isna(elpd_diff) or pd.isna(p_loo_diff):
        return False
    return bool(elpd_diff < 0 and p_loo_diff >= PENALTY_SHARE * -elpd_diff)


def _predictive_layer(r: tuple) -> dict:
    delta_aic = r.aic_linear - r.aic_period
    p_loo_diff = getattr(r, "p_loo_period", np.nan) - getattr(r, "p_loo_linear", np.nan)
    freq, bayes = aic_choice(delta_aic), loo_choice(r.elpd_diff, r.elpd_diff_se)
    return {"delta_aic": delta_aic, "aic_elpd_diff": delta_aic / 2,
            "p_loo_diff": p_loo_diff, "lpd_diff": r.elpd_diff + p_loo_diff,
            "loo_penalty_only": penalty_only(r.elpd_diff, p_loo_diff),
            "frequentist_predictive_choice": freq, "bayes_predictive_choice": bayes,
            "agree_predictive_choice": freq == bayes}


def _bayes_factor_layer(measure: str, factors: pd.DataFrame | None) -> dict:
    """The Bayes factor's columns for a measure (empty when there is none)."""
    if factors is None or factors.empty or measure not in set(factors["measure"]):
        return {}
    by = factors[factors["measure"] == measure].set_index("prior_scale")
    if 1.0 not in by.index or pd.isna(by.loc[1.0, "bf10"]):
        reason = by["reason"].iloc[0] if "reason" in by else ""
        return {"bf_reason": reason}
    one = by.loc[1.0]
    decisions = {bf_decision(v) for v in by["bf10"] if pd.notna(v)}
    return {"bf10": one.bf10, "log_bf10": one.log_bf10, "log_bf10_mcse": one.log_bf10_mcse,
            "bf10_half_prior_sd": by["bf10"].get(0.5, np.nan),
            "bf10_double_prior_sd": by["bf10"].get(2.0, np.nan),
            "bf_density_method": one.density_method, "bayes_tested_choice": bf_decision(one.bf10),
            "bf_prior_sensitive": len(decisions) > 1, "bf_passed": passed_flag(one.passed)}


def _tested_layer(r: tuple, factors: pd.DataFrame | None) -> dict:
    lrt = PERIOD_MODEL if r.lrt_p_value < ALPHA else NOT_REJECTED
    bf = _bayes_factor_layer(r.measure, factors)
    out = {"lrt_chi2": r.lrt_chi2, "lrt_df": r.lrt_df, "lrt_p_value": r.lrt_p_value,
           "frequentist_tested_choice": lrt} | bf
    if "bayes_tested_choice" in bf:
        out["agree_tested_choice"] = (lrt == PERIOD_MODEL) == (bf["bayes_tested_choice"]
                                                              == PERIOD_MODEL)
    return out


def model_choice_questions(comparison: pd.DataFrame, *,
                           unlike: dict[str, tuple[str, ...]] | None = None,
                           bayes_factors: pd.DataFrame | None = None) -> list[dict]:
    """Concordance rows for model choice: a predictive and a tested layer.

    Predictive (``agree_predictive_choice``): AIC's choice (:func:`aic_choice`, Delta-AIC / 2
    in ELPD units) against LOO's (:func:`loo_choice`), with ``loo_penalty_only``
    (:func:`penalty_only`). Tested (``agree_tested_choice``): the likelihood-ratio test
    (``period`` when p < 0.05, else ``linear not rejected``) against the Bayes factor of the
    period terms at the spec's priors (``bayes_factors``:
    :func:`mbtbayes.growth.bayes_factor.bayes_factor_table`), its values at the period
    priors' SDs x 0.5 and x 2 beside and ``bf_prior_sensitive`` when the decision changes
    across them; the layer agrees when both or neither favour the period model.

    ``unlike`` maps a measure to how its Bayesian models differ from the ML ones
    (:func:`~.frequentist.unlike_reasons`); its rows say so. Where an ML fit could not be made
    (``ml_reason``), the row keeps the Bayesian verdicts and says why the frequentist ones are
    missing; lme4's messages on the ML fits (a singular fit, say) are in ``ml_note``.
    """
    rows = []
    for r in comparison.itertuples(index=False):
        alike = _alike((unlike or {}).get(r.measure, ()))
        base = {"question": "model choice (linear vs period)", "subject": r.measure,
                "role": MODEL_CHOICE, "decision_rule": MODEL_CHOICE_RULE}
        bf = _bayes_factor_layer(r.measure, bayes_factors)
        loo = {"elpd_diff": r.elpd_diff, "elpd_diff_se": r.elpd_diff_se,
               "bayes_predictive_choice": loo_choice(r.elpd_diff, r.elpd_diff_se)}
        ml_reason = getattr(r, "ml_reason", np.nan)
        if isinstance(ml_reason, str) and ml_reason:  # no ML side: the Bayesian verdicts stand
            rows.append(base | loo | bf | {"passed": False, "reason": ml_reason} | alike)
            continue
        if pd.isna(getattr(r, "aic_linear", np.nan)):
            continue  # no ML side for this measure (the data have no period)
        reliable = passed_flag(getattr(r, "loo_reliable", True))
        ml_passed = passed_flag(getattr(r, "ml_passed", True))
        reasons = [_reason(r.passed, "" if passed_flag(r.passed)
                           else "a growth fit failed the diagnostics gate")]
        if not reliable:
            k = getattr(r, "max_pareto_k", np.nan)
            reasons.append(f"LOO unreliable (max Pareto k {k:.2f})")
        if not ml_passed:
            reasons.append(f"ML fit failed lme4's convergence checks: {r.ml_note}")
        rows.append(base | loo | _predictive_layer(r) | _tested_layer(r, bayes_factors) | {
            "passed": passed_flag(r.passed) and reliable and ml_passed,
            "reason": "; ".join(x for x in reasons if x),
            "ml_note": getattr(r, "ml_note", "")} | alike)
    return rows

# ---------------------------------------------------------------- binary outcomes

PROPORTION_ROPE = 0.05
"""Equivalence margin for differences of proportions: 5 percentage points."""
PROPORTION_ROPE_BASIS = "5 percentage points"
BINARY_DRAWS = 200_000
"""Exact conjugate draws for the 90% HDI and P(inside the margin) of a binary question."""


def _prior_numbers(text: object, kind: str, default: tuple[float, ...]) -> tuple[float, ...]:
    """The parameters of a ``Beta(a, b)`` or ``Dirichlet(c, ...)`` prior named in a table's
    ``prior`` column (the binary tables' own wording), else ``default``.

    Examples
    --------
    >>> _prior_numbers("Beta(1, 1) on each remission probability", "Beta", (2.0, 2.0))
    (1.0, 1.0)
    >>> _prior_numbers(float("nan"), "Beta", (1.0, 1.0))
    (1.0, 1.0)
    """
    match = re.search(rf"{kind}\(([^)]*)\)", text) if isinstance(text, str) else None
    return tuple(float(x) for x in match.group(1).split(",")) if match else default


def _difference_summary(draws: np.ndarray, post: dict) -> dict:
    """The tables' 95% summary of a difference of proportions, with the 90% HDI and
    P(inside the margin) from exact conjugate draws."""
    low, high = hdi(draws, ci_prob=EQUIVALENCE_PROB)
    return post | {"hdi90_low": low, "hdi90_high": high,
                   "p_rope": float((np.abs(draws) < PROPORTION_ROPE).mean())}


def _beta_difference(x1: int, n1: int, x2: int, n2: int, prior: tuple, what: str) -> np.ndarray:
    """Exact posterior draws of p2 - p1 under independent Beta priors."""
    a, b = (prior + (1.0, 1.0))[:2]
    rng = np.random.default_rng(seed_for(SEED, "concordance", what))
    return (rng.beta(a + x2, b + n2 - x2, BINARY_DRAWS)
            - rng.beta(a + x1, b + n1 - x1, BINARY_DRAWS))


def _binary_row(question: str, subject: str, freq: dict, post: dict, prob: float,
                passed: object, reason: object, tost_fn: Callable[[], TostResult]) -> dict:
    """A concordance row from a posterior summary (mean, HDIs, P(one direction))."""
    bayes = post | {"p_direction": max(prob, 1 - prob)}
    return _effect_row(question, subject, role=PRIMARY, freq=freq, bayes=bayes,
                       margin=PROPORTION_ROPE, margin_basis=PROPORTION_ROPE_BASIS, tost=tost_fn,
                       passed=passed, reason=reason)


def binary_questions(remission: pd.DataFrame | None = None,
                     start_end_change: pd.DataFrame | None = None,
                     adherence: pd.DataFrame | None = None) -> list[dict]:
    """Concordance rows for remission by period, start-end change, and drop-out by period.

    Frequentist tests of existence as the paper: logistic-regression Wald for remission (the
    variant that reproduces both published p-values), McNemar for start-end change, chi-square
    for drop-out; of equivalence, Wald TOSTs on the same differences of proportions. Bayesian
    side: the conjugate models of :mod:`mbtbayes.binary.remission`, :mod:`~.change` and
    :mod:`~.adherence` (the tables' 95% HDI for existence; the 90% HDI and P(inside the
    margin) from exact draws of the same conjugate posterior, its prior read from the table's
    ``prior`` column). All are primary questions.
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
        draws = _beta_difference(*counts, _prior_numbers(one.get("prior"), "Beta", (1.0, 1.0)),
                                 f"remission {behaviour}")
        post = _difference_summary(draws, {"mean": one.p_period_diff,
                                           "hdi_low": one.p_diff_hdi_low,
                                           "hdi_high": one.p_diff_hdi_high})
        rows.append(_binary_row("remission difference (II - I)", behaviour, freq, post,
                                one.prob_ii_worse, one.passed, one.get("reason"),
                                lambda c=counts: tost_two_proportions(
                                    *c, margin=PROPORTION_ROPE)))
    return rows


def _dirichlet_change(r: tuple, concentration: float) -> np.ndarray:
    """Exact posterior draws of p_end - p_start from the Dirichlet of the paired cells."""
    rng = np.random.default_rng(seed_for(SEED, "concordance", "change", r.behaviour, r.period))
    cells = np.array([r.n_yes_yes, r.n_yes_no, r.n_no_yes, r.n_no_no], float)
    theta = rng.dirichlet(concentration + cells, size=BINARY_DRAWS)
    return theta[:, 2] - theta[:, 1]


def _change_rows(change: pd.DataFrame) -> list[dict]:
    rows = []
    for r in change[change["model"] == "dirichlet"].itertuples(index=False):
        if r.period == "pooled":
            continue
        test = mcnemar(int(r.n_yes_no), int(r.n_no_yes))
        freq = {"estimate": (r.n_no_yes - r.n_yes_no) / r.n_pairs, "p_value": test.p_value,
                "test": test.method}
        concentration = _prior_numbers(getattr(r, "prior", None), "Dirichlet", (0.5,))[0]
        post = _difference_summary(_dirichlet_change(r, concentration), {
            "mean": r.change_mean, "hdi_low": r.change_hdi_low, "hdi_high": r.change_hdi_high})
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
    counts = (int(events[0, 0]), int(events[0, 1]), int(events[1, 0]), int(events[1, 1]))
    draws = _beta_difference(*counts, _prior_numbers(one.get("prior"), "Beta", (1.0, 1.0)),
                             "dropout")
    post = _difference_summary(draws, {"mean": one.diff_mean, "hdi_low": one.diff_hdi_low,
                                       "hdi_high": one.diff_hdi_high})
    return [_binary_row("drop-out difference (II - I)", "dropout", freq, post,
                        one.prob_ii_worse, one.passed, one.get("reason"),
                        lambda: tost_two_proportions(*counts, margin=PROPORTION_ROPE))]
