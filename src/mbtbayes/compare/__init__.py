"""The frequentist analysis the paper's way, beside the Bayesian one, and their concordance.

Frequentist side: each spec's two growth models by maximum likelihood (independent patient
intercept and slope, SPSS MIXED's default VC structure and Bambi's), AIC, the likelihood-ratio
test, and Cohen's d from predicted values with the same denominator as the Bayesian d.

Concordance: one row per research question of the paper, compared in layers that each set like
against like (a "p < .05" against "the HDI lies outside the ROPE" answers two different
questions, so it would disagree by construction):

- existence: p < 0.05 against the 95% HDI excluding 0 with P(direction) > 0.975;
- practical equivalence: the TOST on the ROPE at alpha = 0.05 (its 90% CI inside the ROPE)
  against the 95% HDI inside the ROPE (:func:`mbtbayes.core.decisions.rope_decision` on both);
- model choice: the likelihood-ratio test (p < 0.05) against the leave-one-patient-out ELPD
  difference beyond 2 SE, with the AIC difference beside (beyond 4 points, about 2 ELPD units).

Each row carries ``agree_existence``, ``agree_equivalence`` and ``agree_model_choice`` (missing
where a layer does not apply) and an ``explanation`` of every disagreement in plain words. The
table is wide, one row per question, because the question is the unit a reader checks: the
layers of one question sit side by side, each with its own test, interval and decision.

Modules: :mod:`~.frequentist` (the ML side per spec), :mod:`~.questions` (the rows and their
rules), :mod:`~.table` (the table, explanations and summary).

Examples
--------
>>> ml = frequentist_fits(specs, data)  # doctest: +SKIP
>>> concordance(fits, data, ml=ml)  # doctest: +SKIP
"""

from mbtbayes.compare.frequentist import (
    aic_table,
    frequentist_effect_sizes,
    frequentist_fits,
    frequentist_growth_table,
    model_comparison_table,
)
from mbtbayes.compare.questions import (
    PROPORTION_ROPE,
    binary_questions,
    growth_questions,
    model_choice_questions,
)
from mbtbayes.compare.table import COLUMNS, assemble, concordance, concordance_summary, explain

__all__ = ["COLUMNS", "PROPORTION_ROPE", "aic_table", "assemble", "binary_questions",
           "concordance", "concordance_summary", "explain", "frequentist_effect_sizes",
           "frequentist_fits", "frequentist_growth_table", "growth_questions",
           "model_choice_questions", "model_comparison_table"]
