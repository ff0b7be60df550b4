"""The frequentist analysis the paper's way, beside the Bayesian one, and their concordance.

Frequentist side: each spec's two growth models by maximum likelihood (independent patient
intercept and slope, SPSS MIXED's default VC structure and Bambi's), AIC, the likelihood-ratio
test, and Cohen's d from predicted values with the same denominator as the Bayesian d.

Concordance: one row per research question of the paper, compared in layers that each set like
against like (a "p < .05" against "the HDI lies outside the ROPE" answers two different
questions, so it would disagree by construction):

- existence: p < 0.05 against the 95% HDI excluding 0 with P(direction) > 0.975, the primary
  questions (difference in change, intake difference, remission, start-end change, drop-out)
  counted apart from the within-period slopes and from the intake characteristics (who came in
  each period, :mod:`~.intake`);
- equivalence at one error rate: the TOST at alpha = 0.05 (its 90% CI inside the margin)
  against the 90% HDI inside the margin, counted only where either side could have shown it;
- predictive model choice: AIC against leave-one-patient-out LOO in ELPD units, no difference
  under 4 units (or, for LOO, within 2 SE);
- tested model choice: the likelihood-ratio test against the Savage-Dickey Bayes factor of the
  period terms, shown across prior widths.

Each row carries ``agree_existence``, ``agree_equivalence``, ``agree_predictive_choice`` and
``agree_tested_choice`` (missing where a layer does not apply) and an ``explanation`` of every
disagreement in plain words. The table is wide, one row per question, because the question is
the unit a reader checks: the layers of one question sit side by side, each with its own test,
interval and decision.

Modules: :mod:`~.frequentist` (the ML side per spec), :mod:`~.questions` (the rows and their
rules), :mod:`~.intake` (the intake comparison and its rows), :mod:`~.table` (the table,
explanations and summary).

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
from mbtbayes.compare.intake import intake_questions, intake_table
from mbtbayes.compare.questions import (
    PROPORTION_ROPE,
    binary_questions,
    growth_questions,
    model_choice_questions,
)
from mbtbayes.compare.table import (
    COLUMNS,
    assemble,
    concordance,
    concordance_summary,
    explain,
    layer_counts,
)

__all__ = ["COLUMNS", "PROPORTION_ROPE", "aic_table", "assemble", "binary_questions",
           "concordance", "concordance_summary", "explain", "frequentist_effect_sizes",
           "frequentist_fits", "frequentist_growth_table", "growth_questions", "intake_questions",
           "intake_table", "layer_counts",
           "model_choice_questions", "model_comparison_table"]
