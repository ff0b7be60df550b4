"""The concordance table, the plain-words account of each disagreement, and the summary.

Examples
--------
>>> table = assemble(model_choice_questions(pd.DataFrame({
...     "measure": ["gaf"], "aic_linear": [3990.7], "aic_period": [3984.3], "lrt_chi2": [10.5],
...     "lrt_df": [2], "lrt_p_value": [0.005], "elpd_diff": [3.2], "elpd_diff_se": [3.0],
...     "passed": [True]})))
>>> bool(table.loc[0, "agree_predictive_choice"])
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from mbtbayes.compare.frequentist import (
    frequentist_fits,
    model_comparison_table,
    unlike_reasons,
)
from mbtbayes.compare.intake import INTAKE, intake_questions
from mbtbayes.compare.questions import (
    ELPD_MIN,
    LAYER_RULES,
    PERIOD_MODEL,
    WITHIN_PERIOD,
    binary_questions,
    growth_questions,
    model_choice_questions,
    passed_flag,
)
from mbtbayes.core.decisions import ALPHA, NEGLIGIBLE, NONZERO, P_DIRECTION_MIN
from mbtbayes.growth.bayes_factor import bayes_factor_table
from mbtbayes.growth.result import GrowthFit
from mbtbayes.growth.summaries import model_comparison


def concordance(
    fits: list[GrowthFit],
    data: pd.DataFrame,
    *,
    binary: dict[str, pd.DataFrame] | None = None,
    ml: dict | None = None,
    comparison: pd.DataFrame | None = None,
    bayes_factors: pd.DataFrame | None = None,
    intake: pd.DataFrame | None = None,
    log: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """The concordance table: each research question, frequentist and Bayesian side by side.

    Each question is compared in the layers that apply to it, like with like (the rules in
    :data:`mbtbayes.compare.questions.LAYER_RULES`):

    - existence (``agree_existence``): p < 0.05 vs the 95% HDI excluding 0 with
      P(direction) > 0.975; ``role`` says whether a row is a primary question or a
      within-period slope (counted apart);
    - equivalence (``agree_equivalence``): the TOST at alpha = 0.05 (``negligible`` when its
      90% CI lies inside the margin, else ``not shown negligible``) vs the 90% HDI inside the
      margin (``negligible``, ``difference``, ``undecided`` or ``undecided: too imprecise``),
      P(inside the margin) beside; ``equivalence_decidable`` where either interval could fit
      inside the margin;
    - predictive model choice (``agree_predictive_choice``): AIC vs LOO in ELPD units, 4 units
      (and, for LOO, 2 SE) before either prefers a model;
    - tested model choice (``agree_tested_choice``): the likelihood-ratio test vs the
      Savage-Dickey Bayes factor of the period terms (BF10 > 3 / < 1/3), at the spec's
      priors, with their SDs x 0.5 and x 2 beside.

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
    bayes_factors : pandas.DataFrame, optional
        :func:`mbtbayes.growth.bayes_factor.bayes_factor_table` of the fits, if already made.
    intake : pandas.DataFrame, optional
        :func:`mbtbayes.compare.intake.intake_table`, for the intake questions (role
        ``"intake"``, counted apart).
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
    specs = {f.spec.name: f.spec for f in fits}
    ml = ml if ml is not None else frequentist_fits(specs, data, log=log or (lambda _: None))
    if comparison is None:
        comparison = model_comparison_table(model_comparison(fits), ml)
    if bayes_factors is None:
        bayes_factors = bayes_factor_table(fits)
    unlike = {name: unlike_reasons(spec) for name, spec in specs.items()}
    rows = growth_questions(fits, ml, data) + model_choice_questions(
        comparison, unlike=unlike, bayes_factors=bayes_factors)
    rows += binary_questions(**{k: v for k, v in (binary or {}).items()
                                if k in ("remission", "start_end_change", "adherence")})
    if intake is not None:
        rows += intake_questions(intake)
    return assemble(rows)


COLUMNS: tuple[str, ...] = (
    "question", "subject", "role", "models_alike", "model_difference", "frequentist_estimate",
    "ci_low", "ci_high", "p_value",
    "bayes_estimate", "hdi_low", "hdi_high", "p_direction",
    "frequentist_existence", "bayes_existence", "agree_existence",
    "margin", "margin_basis", "tost_ci_low", "tost_ci_high", "tost_p_value", "hdi90_low",
    "hdi90_high", "p_rope", "frequentist_equivalence", "bayes_equivalence",
    "equivalence_decidable", "agree_equivalence",
    "delta_aic", "aic_elpd_diff", "elpd_diff", "elpd_diff_se", "p_loo_diff", "lpd_diff",
    "loo_penalty_only", "frequentist_predictive_choice", "bayes_predictive_choice",
    "agree_predictive_choice",
    "lrt_chi2", "lrt_df", "lrt_p_value", "bf10", "log_bf10", "log_bf10_mcse",
    "bf10_half_prior_sd", "bf10_double_prior_sd", "bf_density_method", "bf_prior_sensitive",
    "frequentist_tested_choice", "bayes_tested_choice", "agree_tested_choice",
    "decision_rule", "explanation", "passed", "reason", "ml_note")
"""Columns of the concordance table: ``ci_*`` 95% Wald, ``hdi_*`` 95% HDI (existence);
``tost_ci_*`` 90% Wald, ``hdi90_*`` 90% HDI, ``p_rope`` P(inside the margin) (equivalence);
``delta_aic`` AIC(linear) - AIC(period) and ``aic_elpd_diff`` its half, ``elpd_diff`` ELPD(period)
- ELPD(linear), ``lpd_diff`` the in-sample difference ``elpd_diff + p_loo_diff`` (predictive
choice); ``bf10`` p(y | period) / p(y | linear) at the spec's priors, ``bf10_*_prior_sd`` at the
period priors' SDs x 0.5 and x 2 (tested choice); ``ml_note``: lme4's messages on the ML fit."""
LAYERS: tuple[str, ...] = ("existence", "equivalence", "predictive_choice", "tested_choice")
FLAGS: tuple[str, ...] = ("equivalence_decidable", "loo_penalty_only", "bf_prior_sensitive")
"""Boolean columns that are missing where their layer does not apply."""


def assemble(rows: list[dict]) -> pd.DataFrame:
    """Assemble concordance rows (from any family of questions) into the contract's table.

    ``agree_*`` columns (and :data:`FLAGS`) are nullable booleans: missing where a layer does
    not apply.
    """
    table = pd.DataFrame(rows).reindex(columns=list(COLUMNS))
    for column in [f"agree_{layer}" for layer in LAYERS] + list(FLAGS):
        table[column] = table[column].astype("boolean")
    table["models_alike"] = table["models_alike"].map(
        lambda x: True if x is None or pd.isna(x) else bool(x)).astype(bool)
    for column in ("model_difference", "ml_note", "role"):
        table[column] = table[column].astype(object).fillna("")
    table["explanation"] = [explain(r) for r in table.itertuples(index=False)]
    table["passed"] = table["passed"].map(passed_flag).astype(bool)
    return table


# ---------------------------------------------------------------- explanations


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def _interval_text(low: float, high: float) -> str:
    return f"[{_fmt(low)}, {_fmt(high)}]"


def _why_existence(r: tuple) -> str:
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


def _why_equivalence(r: tuple) -> str:
    margin = f"the margin +-{_fmt(r.margin)}"
    tost_ci = f"90% CI {_interval_text(r.tost_ci_low, r.tost_ci_high)}"
    hdi = f"90% HDI {_interval_text(r.hdi90_low, r.hdi90_high)}"
    if r.frequentist_equivalence == NEGLIGIBLE:
        return (f"equivalence: the TOST's {tost_ci} lies inside {margin} (p = "
                f"{r.tost_p_value:.3f}), but the {hdi} reaches beyond it: the posterior is "
                "wider than the Wald interval (the prior, or the exact posterior against a "
                "normal approximation)")
    return (f"equivalence: the {hdi} lies inside {margin}, but the TOST's {tost_ci} reaches "
            f"beyond it (p = {r.tost_p_value:.3f}): the posterior is narrower than the Wald "
            "interval (prior information, or the exact posterior against a normal "
            "approximation)")


def _why_predictive(r: tuple) -> str:
    aic = (f"AIC puts the period model's gain at {r.aic_elpd_diff:.1f} ELPD units "
           f"(Delta-AIC / 2) and says '{r.frequentist_predictive_choice}'")
    loo = (f"leave-one-patient-out LOO puts it at {r.elpd_diff:.1f} (SE {r.elpd_diff_se:.1f}) "
           f"and says '{r.bayes_predictive_choice}'")
    return (f"predictive choice: {aic}, {loo}: the in-sample fit with AIC's penalty of one "
            "unit per parameter against the out-of-sample fit of a new patient, each read "
            f"with the same {ELPD_MIN:g}-unit rule")


def _why_tested(r: tuple) -> str:
    lrt = (f"the likelihood-ratio test (chi2 = {r.lrt_chi2:.1f}, df = {r.lrt_df:g}, p = "
           f"{r.lrt_p_value:.3f})")
    bf = (f"the Bayes factor BF10 = {r.bf10:.3g} (period priors' SDs x 0.5: "
          f"{r.bf10_half_prior_sd:.3g}, x 2: {r.bf10_double_prior_sd:.3g})")
    if r.frequentist_tested_choice == PERIOD_MODEL:
        return (f"tested choice: {lrt} rejects the linear model, but {bf} does not favour the "
                "period model: a test of a point null at p < .05 weighs less than a Bayes "
                "factor that averages the period terms over their prior (the Jeffreys-Lindley "
                "effect; the wider the prior, the more it favours the linear model)")
    return f"tested choice: {bf} favours the period model, but {lrt} does not reject the linear"


def _disagrees(agree: object) -> bool:
    return not pd.isna(agree) and not bool(agree)


WHY = {"existence": _why_existence, "equivalence": _why_equivalence,
       "predictive_choice": _why_predictive, "tested_choice": _why_tested}


def explain(r: tuple) -> str:
    """Each disagreement of a concordance row in plain words (empty when all layers agree)."""
    parts = [WHY[layer](r) for layer in LAYERS if _disagrees(getattr(r, f"agree_{layer}"))]
    if parts and not r.models_alike:
        parts.insert(0, f"unlike models ({r.model_difference}), so the two analyses answer "
                        "different questions")
    return "; ".join(parts)


# ---------------------------------------------------------------- counts and summary


@dataclass(frozen=True)
class LayerCount:
    """Agreement in one layer (or one part of it) over the rows that count.

    ``agreed`` of ``counted`` rows agree; ``apart`` rows are left out of the count and said
    so (within-period slopes in the existence layer, undecidable rows in the equivalence
    layer); ``unlike`` rows compare unlike models (not counted).
    """

    layer: str
    part: str
    agreed: int
    counted: int
    apart: int = 0
    unlike: int = 0


def _known(table: pd.DataFrame, column: str) -> pd.Series:
    return table[column].dropna().astype(bool)


def layer_counts(table: pd.DataFrame) -> list[LayerCount]:
    """How many questions agree, layer by layer, counted so that no agreement is automatic.

    Existence: primary questions and within-period slopes separately. Equivalence: only the
    decidable rows (either 90% interval narrow enough to fit inside the margin); the others
    are ``apart``. Rows on unlike models are never counted (``unlike``).

    Examples
    --------
    >>> t = assemble([{"question": "q", "subject": "m", "role": "primary",
    ...                "agree_existence": True, "agree_equivalence": True,
    ...                "equivalence_decidable": False, "passed": True}])
    >>> [(c.layer, c.part, c.agreed, c.counted, c.apart) for c in layer_counts(t)]
    [('existence', 'primary questions', 1, 1, 0), ('equivalence', 'decidable questions', 0, 0, 1)]
    """
    table = table.reindex(columns=list(dict.fromkeys([*table.columns, *COLUMNS])))
    alike = table["models_alike"].map(lambda x: True if pd.isna(x) else bool(x)).astype(bool)
    like, unlike = table[alike], table[~alike]
    counts = []

    def add(layer: str, part: str, rows: pd.DataFrame, other: pd.DataFrame, apart: int = 0) -> None:
        agree = _known(rows, f"agree_{layer}")
        n_unlike = len(_known(other, f"agree_{layer}"))
        if len(agree) or apart or n_unlike:
            counts.append(LayerCount(layer, part, int(agree.sum()), len(agree), apart, n_unlike))

    role, other_role = like["role"].astype(str), unlike["role"].astype(str)
    apart_roles = (WITHIN_PERIOD, INTAKE)
    add("existence", "primary questions", like[~role.isin(apart_roles)],
        unlike[~other_role.isin(apart_roles)])
    add("existence", "within-period slopes", like[role == WITHIN_PERIOD],
        unlike[other_role == WITHIN_PERIOD])
    add("existence", "intake characteristics", like[role == INTAKE],
        unlike[other_role == INTAKE])
    decidable = like["equivalence_decidable"].astype("boolean").fillna(False).astype(bool)
    undecidable = int((~decidable & like["agree_equivalence"].notna()).sum())
    add("equivalence", "decidable questions", like[decidable], unlike, undecidable)
    add("predictive_choice", "measures", like, unlike)
    add("tested_choice", "measures", like, unlike)
    return counts


APART = {"existence": "", "equivalence": (
    "; {apart} more where neither 90% interval is narrow enough to fit inside the margin, so "
    "neither side could show equivalence and their agreement is automatic (not counted)")}


def _count_line(c: LayerCount) -> str:
    name = c.layer.replace("_", " ")
    line = (f"- {name}, {c.part} ({LAYER_RULES[c.layer]}): agree on {c.agreed} of {c.counted}"
            + APART.get(c.layer, "").format(apart=c.apart) * bool(c.apart))
    if c.unlike:
        line += f"; besides, {c.unlike} on unlike models (not counted)"
    return line + "."


def concordance_summary(table: pd.DataFrame) -> str:
    """A short plain-language account, layer by layer, of where the two approaches differ, and why.

    Examples
    --------
    >>> rows = [{"question": "q", "subject": "m", "role": "primary", "agree_existence": True,
    ...          "passed": True}]
    >>> print(concordance_summary(assemble(rows)).splitlines()[1])
    - existence, primary questions (p < 0.05 vs the 95% HDI excluding 0 with P(direction) >
      0.975): agree on 1 of 1.
    """
    lines = ["Frequentist and Bayesian conclusions, compared like with like, layer by layer:"]
    lines += [_count_line(c) for c in layer_counts(table)]
    alike = table["models_alike"].astype(bool)
    for r in table.loc[~alike].drop_duplicates("subject").itertuples(index=False):
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


def _count(n: int, noun: str) -> str:
    """``"1 measure"``, ``"2 measures"``."""
    return f"{n} {noun}{'s' * (n != 1)}"


def _notes(table: pd.DataFrame) -> list[str]:
    notes = []
    both = table[(table["frequentist_equivalence"] == NEGLIGIBLE)
                 & (table["bayes_equivalence"] == NEGLIGIBLE)]
    if len(both):
        notes.append(f"On {_count(len(both), 'question')} both show the effect is practically "
                     "negligible (inside the margin), which a non-significant p-value alone "
                     "cannot show.")
    penalty = table[table["loo_penalty_only"].fillna(False).astype(bool)]
    if len(penalty):
        notes.append(
            f"On {_count(len(penalty), 'measure')} ({', '.join(penalty['subject'])}) LOO's lead "
            "for the linear model is mostly the period terms' effective parameters (Delta-elpd "
            "close to -Delta-p_loo; loo_penalty_only): the period model fits about as well in "
            "sample (lpd_diff), and the SE of so small a difference is unreliable (Sivula, "
            "Magnusson & Vehtari 2020); it is not evidence for the linear model.")
    sensitive = table[table["bf_prior_sensitive"].fillna(False).astype(bool)]
    if len(sensitive):
        notes.append(f"On {_count(len(sensitive), 'measure')} "
                     f"({', '.join(sensitive['subject'])}) the Bayes factor's decision changes "
                     "between the period priors' SDs x 0.5, 1 and 2 (bf10_half_prior_sd, bf10, "
                     "bf10_double_prior_sd).")
    return notes
