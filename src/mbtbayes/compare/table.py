"""The concordance table, the plain-words account of each disagreement, and the summary.

Examples
--------
>>> table = assemble(model_choice_questions(pd.DataFrame({
...     "measure": ["gaf"], "aic_linear": [3990.7], "aic_period": [3984.3], "lrt_chi2": [10.5],
...     "lrt_df": [2], "lrt_p_value": [0.005], "elpd_diff": [3.2], "elpd_diff_se": [3.0],
...     "passed": [True]})))
>>> bool(table.loc[0, "agree_model_choice"])
False
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from mbtbayes.compare.frequentist import (
    frequentist_fits,
    model_comparison_table,
    unlike_reasons,
)
from mbtbayes.compare.questions import (
    ELPD_SE_MARGIN,
    LAYER_RULES,
    LINEAR_MODEL,
    PERIOD_MODEL,
    binary_questions,
    growth_questions,
    model_choice_questions,
    passed_flag,
)
from mbtbayes.core.decisions import ALPHA, NEGLIGIBLE, NONZERO, P_DIRECTION_MIN, TOO_IMPRECISE
from mbtbayes.growth.fit import GrowthFit


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

    Each question is compared in the layers that apply to it, like for like:

    - existence (``agree_existence``): p < 0.05 vs the 95% HDI excluding 0 with
      P(direction) > 0.975;
    - practical equivalence (``agree_equivalence``): the TOST on the ROPE at alpha = 0.05
      (``negligible`` when its 90% CI lies inside the ROPE, else ``not shown negligible``) vs
      the 95% HDI inside the ROPE (the shared HDI+ROPE decision: ``negligible``,
      ``difference``, ``undecided`` or ``undecided: too imprecise``);
    - model choice (``agree_model_choice``): the likelihood-ratio test (p < 0.05) vs the
      leave-one-patient-out ELPD difference beyond 2 SE, with the AIC difference (beyond 4,
      about 2 ELPD units) beside.

    A layer that does not apply to a question is empty (missing), not False. Rows of a spec
    whose Bayesian models are not the ML models (another family, a modelled residual SD,
    nonlinear time, other patient effects) have ``models_alike = False`` and say how in
    ``model_difference``; the summary counts them apart.

    Parameters
    ----------
    fits : list of GrowthFit
        Bayesian growth fits (both variants per spec for the model-choice rows).
    data : pandas.DataFrame
        The data the fits used (the ML fits are made on it unless ``ml`` is given).
    binary : dict, optional
        Any of ``{"remission": ..., "start_end_change": ..., "adherence": ...}``, for the
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
        One row per question and subject; columns :data:`COLUMNS`.

    Examples
    --------
    >>> import mbtbayes as mb
    >>> reg = mb.load_register()
    >>> fits = mb.fit_specs(mb.load_specs(), reg.data)  # doctest: +SKIP
    >>> mb.concordance(fits, reg.data)["agree_existence"].mean()  # doctest: +SKIP
    """
    from mbtbayes.growth.summaries import model_comparison

    specs = {f.spec.name: f.spec for f in fits}
    ml = ml if ml is not None else frequentist_fits(specs, data, log=log or (lambda _: None))
    if comparison is None:
        comparison = model_comparison_table(model_comparison(fits), ml)
    unlike = {name: unlike_reasons(spec) for name, spec in specs.items()}
    rows = growth_questions(fits, ml, data) + model_choice_questions(comparison, unlike=unlike)
    rows += binary_questions(**{k: v for k, v in (binary or {}).items()
                                if k in ("remission", "start_end_change", "adherence")})
    return assemble(rows)


COLUMNS: tuple[str, ...] = (
    "question", "subject", "models_alike", "model_difference", "frequentist_estimate",
    "ci_low", "ci_high", "p_value",
    "bayes_estimate", "hdi_low", "hdi_high", "p_direction",
    "frequentist_existence", "bayes_existence", "agree_existence",
    "rope_half_width", "rope_basis", "tost_ci_low", "tost_ci_high", "tost_p_value", "p_rope",
    "frequentist_equivalence", "bayes_equivalence", "agree_equivalence",
    "lrt_chi2", "lrt_df", "lrt_p_value", "delta_aic", "aic_decision", "elpd_diff",
    "elpd_diff_se", "frequentist_model_choice", "bayes_model_choice", "agree_model_choice",
    "decision_rule", "explanation", "passed", "reason", "ml_note")
"""Columns of the concordance table: ``ci_*`` 95% Wald, ``hdi_*`` 95% HDI, ``tost_ci_*`` 90%;
``ml_note``: lme4's messages on the ML fit (e.g. a boundary (singular) fit)."""
LAYERS: tuple[str, ...] = ("existence", "equivalence", "model_choice")


def assemble(rows: list[dict]) -> pd.DataFrame:
    """Assemble concordance rows (from any family of questions) into the contract's table.

    ``agree_*`` columns are nullable booleans: missing where a layer does not apply.
    """
    table = pd.DataFrame(rows).reindex(columns=list(COLUMNS))
    for layer in LAYERS:
        table[f"agree_{layer}"] = table[f"agree_{layer}"].astype("boolean")
    table["models_alike"] = table["models_alike"].map(
        lambda x: True if x is None or pd.isna(x) else bool(x)).astype(bool)
    table["model_difference"] = table["model_difference"].astype(object).fillna("")
    table["ml_note"] = table["ml_note"].astype(object).fillna("")
    table["explanation"] = [explain(r) for r in table.itertuples(index=False)]
    table["passed"] = table["passed"].map(passed_flag).astype(bool)
    return table


# ---------------------------------------------------------------- explanations and summary


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def _interval_text(low: float, high: float) -> str:
    return f"[{_fmt(low)}, {_fmt(high)}]"


def _why_existence(r) -> str:
    hdi = f"the 95% HDI {_interval_text(r.hdi_low, r.hdi_high)}"
    if r.frequentist_existence == NONZERO:
        bayes = (f"{hdi} includes 0" if r.hdi_low <= 0 <= r.hdi_high
                 else f"{hdi} excludes 0 but P(direction) = {r.p_direction:.3f} is not above "
                      f"{P_DIRECTION_MIN:g}")
        return f"existence: p = {r.p_value:.3f} < {ALPHA:g}, but {bayes}; {BORDERLINE}"
    return (f"existence: {hdi} excludes 0 (P(direction) = {r.p_direction:.3f}), but p = "
            f"{r.p_value:.3f} >= {ALPHA:g}; {BORDERLINE}")


BORDERLINE = ("a borderline effect: both analyses put an end of their interval near 0, and the "
              "prior and the different computation (a test against a posterior) place those ends "
              "on either side of it")


def _why_equivalence(r) -> str:
    rope = f"the ROPE +-{_fmt(r.rope_half_width)}"
    tost_ci = f"90% CI {_interval_text(r.tost_ci_low, r.tost_ci_high)}"
    hdi = f"95% HDI {_interval_text(r.hdi_low, r.hdi_high)}"
    if r.frequentist_equivalence == NEGLIGIBLE:
        return (f"equivalence: the TOST shows the effect inside {rope} ({tost_ci}, p = "
                f"{r.tost_p_value:.3f}), but the {hdi} reaches beyond it ('{r.bayes_equivalence}'"
                "): the TOST at alpha = 0.05 uses a 90% interval, the Bayesian rule a 95% one")
    return (f"equivalence: the {hdi} lies inside {rope}, but the TOST's {tost_ci} reaches beyond "
            f"it (p = {r.tost_p_value:.3f}): the posterior is narrower than the Wald interval "
            "(prior information, or the exact posterior against a normal approximation)")


def _why_model_choice(r) -> str:
    lrt = (f"the likelihood-ratio test (chi2 = {r.lrt_chi2:.1f}, df = {r.lrt_df:g}, p = "
           f"{r.lrt_p_value:.3f})")
    loo = (f"leave-one-patient-out puts the predictive gain of the period model at "
           f"{r.elpd_diff:.1f} ELPD units (SE {r.elpd_diff_se:.1f})")
    aic = (f"AIC difference {r.delta_aic:.1f}, about {r.delta_aic / 2:.1f} ELPD units")
    if r.frequentist_model_choice == PERIOD_MODEL:
        return (f"model choice: {lrt} finds the period terms improve the fit ({aic}), but {loo}, "
                f"within {ELPD_SE_MARGIN:g} SE of 0: the in-sample gain is too uncertain out of "
                "sample to prefer the period model")
    return (f"model choice: {loo}, beyond {ELPD_SE_MARGIN:g} SE, but {lrt} does not reject the "
            f"linear model ({aic})")


def _disagrees(agree: object) -> bool:
    return not pd.isna(agree) and not bool(agree)


def explain(r) -> str:
    """Each disagreement of a concordance row in plain words (empty when all layers agree)."""
    parts = []
    if _disagrees(r.agree_existence):
        parts.append(_why_existence(r))
    if _disagrees(r.agree_equivalence):
        parts.append(_why_equivalence(r))
    if _disagrees(r.agree_model_choice):
        parts.append(_why_model_choice(r))
    if parts and not r.models_alike:
        parts.insert(0, f"unlike models ({r.model_difference}), so the two analyses answer "
                        "different questions")
    return "; ".join(parts)


def concordance_summary(table: pd.DataFrame) -> str:
    """A short plain-language account, layer by layer, of where the two approaches differ, and why.

    Examples
    --------
    >>> rows = [{"question": "q", "subject": "m", "agree_existence": True, "passed": True}]
    >>> print(concordance_summary(assemble(rows)).splitlines()[1])
    - existence (p < 0.05 vs the 95% HDI excluding 0 with P(direction) > 0.975): agree on 1 of 1
      questions.
    """
    lines = ["Frequentist and Bayesian conclusions, compared like for like, layer by layer:"]
    alike = table["models_alike"].astype(bool)
    for layer, rule in LAYER_RULES.items():
        agree = table.loc[alike, f"agree_{layer}"].dropna()
        unlike = table.loc[~alike, f"agree_{layer}"].dropna()
        if len(agree) or len(unlike):
            lines.append(f"- {layer.replace('_', ' ')} ({rule}): agree on {int(agree.sum())} of "
                         f"{len(agree)} questions" + (
                             f"; besides, {int(unlike.sum())} of {len(unlike)} questions on "
                             "unlike models (not counted)" if len(unlike) else "") + ".")
    unlike_specs = table.loc[~alike].drop_duplicates("subject")
    for r in unlike_specs.itertuples(index=False):
        lines.append(f"Unlike models for {r.subject}: {r.model_difference}; its rows compare "
                     "different models and are not counted above.")
    lines += _notes(table)
    for r in table[table["explanation"].fillna("") != ""].itertuples(index=False):
        lines.append(f"Disagreement, {r.question}, {r.subject}: {r.explanation}.")
    failed = table[~table["passed"].astype(bool)]
    if len(failed):
        lines.append(f"{len(failed)} rows rest on fits that failed the diagnostics gate, an "
                     "unreliable LOO or missing diagnostics (passed = False; see reason).")
    return "\n".join(lines)


def _notes(table: pd.DataFrame) -> list[str]:
    notes = []
    both = table[(table["frequentist_equivalence"] == NEGLIGIBLE)
                 & (table["bayes_equivalence"] == NEGLIGIBLE)]
    if len(both):
        notes.append(f"On {len(both)} questions both show the effect is practically negligible "
                     "(inside the ROPE), which a non-significant p-value alone cannot show.")
    wide = table[table["bayes_equivalence"] == TOO_IMPRECISE]
    if len(wide):
        notes.append(f"On {len(wide)} questions the 95% HDI is wider than the ROPE: the data are "
                     "too imprecise for the ROPE to decide either way.")
    linear = table[table["bayes_model_choice"] == LINEAR_MODEL]
    if len(linear):
        notes.append(f"On {len(linear)} measures LOO prefers the linear model (the period terms "
                     "cost predictive accuracy); the LRT can only fail to reject it, and AIC can "
                     "favour it by at most 2 points per extra parameter, so this is agreement.")
    return notes

