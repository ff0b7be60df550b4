"""Mutation checks: deliberate mistakes in the estimand code, each of which the fast tests must
catch ("kill").

What it does
------------
For each mutant of :data:`MUTANTS` (a file, an exact text that must occur in it exactly once,
and its mistaken replacement), the script copies the repository's ``src/``, ``tests/``,
``models/`` and ``pyproject.toml`` into a temporary folder, applies the mutant there, and runs
the mutant's fast test files with ``pytest -x`` in that copy, the copy's ``src`` first on
``PYTHONPATH`` (ahead of the editable install), so the tests import the mutated code. The work
tree is never changed. A mutant is *killed* when a test fails (the first failing test is
named), *survived* when every listed test passes, and *stale* when its text no longer occurs
exactly once (the code moved: update the list). With ``--full`` a survivor is run once more
against the whole default suite before it is called survived.

Each mutant lists the test files that check its estimand (running the whole default suite
per mutant would take hours on 2 cores); the table prints them.

How to run
----------
    uv run python bench/mutants.py               # every mutant
    uv run python bench/mutants.py --list        # the mutants, without running
    uv run python bench/mutants.py --only kfold_folds_per_variant d_denominator
    uv run python bench/mutants.py --full        # survivors against the whole default suite

The last lines are the table (mutant, result, the test that killed it, seconds) and a summary;
the exit status is 1 when a mutant survived or is stale.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = "src/mbtbayes"


@dataclass(frozen=True)
class Mutant:
    """One deliberate mistake: ``old`` (occurring once in ``path``) replaced by ``new``."""

    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    what: str


MUTANTS = (
    Mutant("remission_bounds_same_imputation", f"{PKG}/sensitivity/remission.py",
           '"lower": low_ii - high_i, "upper": high_ii - low_i',
           '"lower": low_ii - low_i, "upper": high_ii - high_i',
           ("tests/sensitivity/test_remission.py",),
           "Manski bounds of II - I from the same imputation in both periods"),
    Mutant("remission_difference_sign", f"{PKG}/sensitivity/remission.py",
           'diff = (proportion_draws(counts["II"], odds_ratio=odds_ii, rng=rng, case=case_ii)\n'
           '                - proportion_draws(counts["I"], odds_ratio=odds_i, rng=rng, '
           'case=case_i))',
           'diff = (proportion_draws(counts["I"], odds_ratio=odds_i, rng=rng, case=case_i)\n'
           '                - proportion_draws(counts["II"], odds_ratio=odds_ii, rng=rng, '
           'case=case_ii))',
           ("tests/sensitivity/test_remission.py",),
           "remission-sensitivity difference I - II instead of II - I"),
    Mutant("kfold_folds_per_variant", f"{PKG}/growth/loo.py",
           "seed=seed, measure=fit.spec.measure)]",
           "seed=seed, measure=fit.spec.name + fit.variant)]",
           ("tests/growth/test_estimands.py",),
           "K-fold folds drawn per model instead of once per measure"),
    Mutant("joint_loo_no_fallback", f"{PKG}/growth/joint/summaries.py",
           "if not reliable and kfold is not None:", "if False:",
           ("tests/growth/test_joint.py",),
           "joint LOO keeps PSIS (reliable) whatever the Pareto k"),
    Mutant("joint_loo_sign", f"{PKG}/growth/joint/summaries.py",
           'diff = pointwise["period"] - pointwise["no_period"]',
           'diff = pointwise["no_period"] - pointwise["period"]',
           ("tests/growth/test_joint.py",), "joint ELPD difference no period - period"),
    Mutant("pseudo_r2_per_draw", f"{PKG}/growth/summaries.py",
           "return float(1 - np.median(full) ** 2 / np.median(reduced) ** 2)",
           "return float(np.median(1 - full**2 / reduced**2))",
           ("tests/growth/test_estimands.py",),
           "two-model pseudo R-squared per draw (independent fits paired by index)"),
    Mutant("duration_default_weibull", f"{PKG}/binary/duration.py",
           'DEFAULT_MODEL = "bayesian_bootstrap"', 'DEFAULT_MODEL = "weibull"',
           ("tests/binary/test_duration.py", "tests/binary/test_adherence.py"),
           "duration by default from the Weibull, not from the data"),
    Mutant("duration_completion_not_censored", f"{PKG}/binary/duration.py",
           "return np.minimum(y, tau), np.asarray(censored, bool) | (y >= tau)",
           "return np.minimum(y, tau), np.asarray(censored, bool)",
           ("tests/binary/test_duration.py", "tests/binary/test_adherence.py"),
           "parametric duration models: completion at 36 months counted as a stop"),
    Mutant("prior_grid_on_both_terms", f"{PKG}/sensitivity/prior_grid.py",
           "        return {slope: float(spec.d_months[1] - spec.d_months[0])}",
           "        return {slope: float(spec.d_months[1] - spec.d_months[0]), shift: 1.0}",
           ("tests/sensitivity/test_prior_grid.py",),
           "grid prior on the shift and the slope term (the 24-month contrast's prior doubled)"),
    Mutant("d_without_sd_uncertainty", f"{PKG}/sensitivity/quantities.py",
           'Quantity(f"d_{level}", change / sd, ', 'Quantity(f"d_{level}", change / base.sd, ',
           ("tests/growth/test_estimands.py",),
           "sensitivity d divided by the SD's point value (effect_sizes.csv: with its draws)"),
    Mutant("psis_mcse_ignores_weights", f"{PKG}/sensitivity/quantities.py",
           "resampled = w[None, :] * counts[:, order]",
           "resampled = counts[:, order] / len(w) + 0.0 * w[None, :]",
           ("tests/sensitivity/test_prior_grid.py",),
           "Monte Carlo SE of a reweighted row computed as if unweighted"),
    Mutant("ml_boundary_failed", f"{PKG}/frequentist/mixed.py",
           'return True, True, f"boundary (singular) fit:',
           'return True, False, f"boundary (singular) fit:',
           ("tests/frequentist/test_register_lme4.py", "tests/frequentist/test_mixed.py"),
           "an ML fit at the boundary failed (dropped) instead of reported as singular"),
    Mutant("trajectory_over_pooled_mix", f"{PKG}/growth/trajectories.py",
           'mix = {level: "pooled" if standardise == "pooled_mix" else level for level in levels}',
           'mix = {level: "pooled" for level in levels}',
           ("tests/growth/test_trajectories.py", "tests/report/test_trajectories.py"),
           "each period's trajectory over the pooled mix instead of its own"),
    Mutant("reverse_bayes_prior_not_divided_out", f"{PKG}/sensitivity/reverse.py",
           "    if precision <= 0:\n        return mean, sd",
           "    if True:\n        return mean, sd",
           ("tests/sensitivity/test_reverse.py",),
           "reverse-Bayes likelihood = the posterior (the implied prior not divided out)"),
    Mutant("slope_rope_units", f"{PKG}/growth/rope.py",
           "replace(self, half_width=self.half_width / months,",
           "replace(self, half_width=self.half_width,",
           ("tests/growth/test_trajectories.py", "tests/test_compare.py"),
           "the slope contrast's ROPE not converted to per month"),
    Mutant("d_rope_units", f"{PKG}/sensitivity/quantities.py",
           "d_rope = margin.in_sd().half_width", "d_rope = margin.half_width",
           ("tests/growth/test_estimands.py", "tests/growth/test_period_effects.py"),
           "d's ROPE left in measure units instead of baseline SDs"),
    Mutant("d_margin_units", f"{PKG}/growth/rope.py",
           "replace(self, half_width=self.half_width / self.reference_sd,",
           "replace(self, half_width=self.half_width,",
           ("tests/growth/test_rope.py", "tests/growth/test_period_effects.py"),
           "the margin of d(II) - d(I) left in measure units instead of reference SDs"),
    Mutant("reference_sd_from_data", f"{PKG}/growth/rope.py",
           "    if spec.rope_reference_sd is not None:\n        sd, sd_basis",
           "    if False:\n        sd, sd_basis",
           ("tests/growth/test_rope.py",),
           "the reference SD recomputed from the extract instead of the spec's"),
    Mutant("change_sign", f"{PKG}/growth/summaries.py",
           'change = base[later] - base["intercept"]', 'change = base["intercept"] - base[later]',
           ("tests/growth/test_period_effects.py",),
           "difference in change I - II instead of II - I"),
    Mutant("change_is_level", f"{PKG}/growth/summaries.py",
           'change = base[later] - base["intercept"]', "change = base[later]",
           ("tests/growth/test_period_effects.py",),
           "the 24-month level difference (intake included) reported as the difference in "
           "change"),
    Mutant("change_d_point_sd", f"{PKG}/growth/summaries.py",
           '"change_d": change / sd,', '"change_d": change / sd.mean(),',
           ("tests/growth/test_period_effects.py",),
           "d(II) - d(I) divided by the SD's point value (d: by its draws)"),
    Mutant("better_if_flipped", f"{PKG}/growth/summaries.py",
           'return "lower" if known.higher_is == "worse" else "higher"',
           'return "higher" if known.higher_is == "worse" else "lower"',
           ("tests/growth/test_period_effects.py",),
           "direction of improvement read the wrong way round"),
    Mutant("prob_ii_better_side", f"{PKG}/growth/summaries.py",
           '(draws < 0).mean() if better == "lower" else (draws > 0).mean()',
           '(draws > 0).mean() if better == "lower" else (draws < 0).mean()',
           ("tests/growth/test_period_effects.py",),
           "P(Period II better) counted on the worse side"),
    Mutant("rope_curve_in_margin_units", f"{PKG}/growth/rope_curve.py",
           "h = margin.half_width if at_margin else units * sd",
           "h = margin.half_width if at_margin else units * margin.half_width",
           ("tests/growth/test_rope.py",),
           "ROPE curve's half-widths in units of the margin instead of the reference SD"),
    Mutant("decision_limit_wrong_end", f"{PKG}/growth/rope_curve.py",
           "below = min(abs(low), abs(high)) if", "below = max(abs(low), abs(high)) if",
           ("tests/growth/test_rope.py",),
           "'difference' said to hold up to the far end of the HDI"),
    Mutant("headline_course_direction", f"{PKG}/report/headline.py",
           'more = (mean < 0) == (better == "lower")', 'more = (mean > 0) == (better == "lower")',
           ("tests/report/test_headline.py",),
           "headline reads 'II improved more' for the opposite sign"),
    Mutant("headline_intake_direction", f"{PKG}/report/headline.py",
           'worse = (r["mean"] > 0) == (better == "lower")',
           'worse = (r["mean"] < 0) == (better == "lower")',
           ("tests/report/test_headline.py",),
           "headline reads a more severe intake in Period II the wrong way round"),
    Mutant("headline_level_not_change", f"{PKG}/report/headline.py",
           'PRIMARY = "change"', 'PRIMARY = "at_24"',
           ("tests/report/test_headline.py",),
           "headline answers with the 24-month level (intake included) instead of the change"),
    Mutant("d_denominator_df", f"{PKG}/growth/baseline.py",
           "        total_df += n - 1", "        total_df += n",
           ("tests/growth/test_estimands.py",),
           "pooled baseline SD with n instead of n - 1 per period"),
    Mutant("hdi_is_eti", f"{PKG}/core/arviz_api.py",
           "low, high = az.hdi(np.asarray(draws, dtype=float).ravel(), hdi_prob=ci_prob)",
           "low, high = np.quantile(np.asarray(draws, dtype=float).ravel(), "
           "[(1 - ci_prob) / 2, (1 + ci_prob) / 2])", ("tests/core",),
           "equal-tailed interval reported as the HDI"),
    Mutant("contrast_sign", f"{PKG}/growth/trajectories.py",
           "    diff = traj[:, 1] - traj[:, 0]\n", "    diff = traj[:, 0] - traj[:, 1]\n",
           ("tests/growth/test_trajectories.py",), "period contrasts I - II instead of II - I"),
    Mutant("change_not_times_span", f"{PKG}/compare/questions.py",
           "    weights = [{slope_col: span},", "    weights = [{slope_col: 1.0},",
           ("tests/test_compare.py",),
           "concordance: difference in change = the slope contrast per month, not x 24"),
    Mutant("intake_sign", f"{PKG}/compare/questions.py",
           "{period_col: 1.0} | ({slope_col: start} if start else {})",
           "{period_col: -1.0} | ({slope_col: start} if start else {})",
           ("tests/test_compare.py",), "concordance: intake difference I - II"),
    Mutant("slope_margin_not_per_month", f"{PKG}/compare/questions.py",
           "    per_month = (margin / span,", "    per_month = (margin,",
           ("tests/test_compare.py",),
           "concordance: the within-period slope's margin in measure units, not per month"),
    Mutant("equivalence_95_hdi", f"{PKG}/compare/questions.py",
           "EQUIVALENCE_PROB = 1 - 2 * ALPHA", "EQUIVALENCE_PROB = 1 - ALPHA",
           ("tests/test_compare.py",),
           "equivalence: the 95% HDI against the TOST's 90% CI"),
    Mutant("equivalence_decidable_half", f"{PKG}/compare/questions.py",
           "    return bool(high - low <= 2 * margin)", "    return bool(high - low <= margin)",
           ("tests/test_compare.py",),
           "equivalence: decidable only when the 90% HDI fits in half the margin"),
    Mutant("tost_decidable_half", f"{PKG}/frequentist/equivalence.py",
           "return bool(self.ci_high - self.ci_low <= self.high - self.low)",
           "return bool(self.ci_high - self.ci_low <= (self.high - self.low) / 2)",
           ("tests/frequentist/test_equivalence.py",),
           "TOST decidable only when the 90% CI fits in half the margin"),
    Mutant("existence_slopes_as_primary", f"{PKG}/compare/questions.py",
           '("within-period change per month, Period I", WITHIN_PERIOD)',
           '("within-period change per month, Period I", PRIMARY)',
           ("tests/test_compare.py",),
           "existence: a within-period slope counted as a primary question"),
    Mutant("aic_not_in_elpd_units", f"{PKG}/compare/questions.py",
           "    gain = delta_aic / 2\n", "    gain = delta_aic\n",
           ("tests/test_compare.py",), "predictive choice: Delta-AIC read as ELPD units"),
    Mutant("loo_without_4_unit_rule", f"{PKG}/compare/questions.py",
           "if abs(elpd_diff) < ELPD_MIN or abs(elpd_diff) <= ELPD_SE_MARGIN * se:",
           "if abs(elpd_diff) <= ELPD_SE_MARGIN * se:",
           ("tests/test_compare.py",), "predictive choice: LOO by 2 SE only (no 4-unit rule)"),
    Mutant("penalty_flag_direction", f"{PKG}/compare/questions.py",
           "return bool(elpd_diff < 0 and p_loo_diff >= PENALTY_SHARE * -elpd_diff)",
           "return bool(elpd_diff > 0 and p_loo_diff >= PENALTY_SHARE * elpd_diff)",
           ("tests/test_compare.py",),
           "predictive choice: the penalty-only flag on the period model's lead"),
    Mutant("tested_agreement_on_linear", f"{PKG}/compare/questions.py",
           'out["agree_tested_choice"] = (lrt == PERIOD_MODEL) == (bf["bayes_tested_choice"]',
           'out["agree_tested_choice"] = (lrt == PERIOD_MODEL) != (bf["bayes_tested_choice"]',
           ("tests/test_compare.py",), "tested choice: agreement inverted"),
    Mutant("bayes_factor_inverted", f"{PKG}/growth/bayes_factor.py",
           '        log_bf = log_prior - row["log_posterior_density_0"]',
           '        log_bf = row["log_posterior_density_0"] - log_prior',
           ("tests/growth/test_bayes_factor.py",), "Bayes factor BF01 reported as BF10"),
    Mutant("bayes_factor_scales_every_prior", f"{PKG}/growth/bayes_factor.py",
           "        sd[self.tested] *= scale", "        sd *= scale",
           ("tests/growth/test_bayes_factor.py",),
           "Bayes factor: every coefficient's prior widened, not only the period terms'"),
    Mutant("bayes_factor_no_reweighting", f"{PKG}/growth/bayes_factor.py",
           "out[c][0][part], out[c][1][part] = dens, evidence - base",
           "out[c][0][part], out[c][1][part] = dens, 0.0 * base",
           ("tests/growth/test_bayes_factor.py",),
           "Bayes factor at another prior width without reweighting the variance components"),
    Mutant("bayes_factor_threshold_direction", f"{PKG}/growth/bayes_factor.py",
           "return (PERIOD_FAVOURED if bf10 > threshold else",
           "return (PERIOD_FAVOURED if bf10 < threshold else",
           ("tests/growth/test_bayes_factor.py",), "Bayes factor decision read backwards"),
    Mutant("tipping_direction", f"{PKG}/sensitivity/tipping.py",
           "shift = {level: worse * sign * delta", "shift = {level: -worse * sign * delta",
           ("tests/sensitivity/test_tipping.py",),
           "drop-outs shifted towards better instead of worse"),
    Mutant("tipping_completers_shifted", f"{PKG}/sensitivity/tipping.py",
           "(last < t1 - OBSERVED_WINDOW) & dropouts(fit, data)",
           "(last < t1 - OBSERVED_WINDOW)",
           ("tests/sensitivity/test_tipping.py",),
           "drop-outs = every patient last seen early (completers included), not the register's"),
    Mutant("tipping_slope_as_level", f"{PKG}/sensitivity/tipping.py",
           "return np.where(unobserved, (t1 - last) / (t1 - t0), 0.0)",
           "return unobserved.astype(float)",
           ("tests/sensitivity/test_tipping.py",),
           "slope shift applied as a level shift (months since the last assessment ignored)"),
    Mutant("tipping_contrast_same_direction", f"{PKG}/sensitivity/tipping.py",
           "gap = shift[levels[1]] - shift[levels[0]]",
           "gap = shift[levels[1]] + shift[levels[0]]",
           ("tests/sensitivity/test_tipping.py",),
           "contrast moved by the sum of the periods' shifts instead of their difference"),
    Mutant("tipping_slope_per_span", f"{PKG}/sensitivity/tipping.py",
           '"contrast_slope": gap / span,', '"contrast_slope": gap,',
           ("tests/sensitivity/test_tipping.py",),
           "slope contrast moved by the 24-month shift, not per month"),
    Mutant("tipping_d_units", f"{PKG}/sensitivity/tipping.py",
           'moves |= {f"d_{level}": shift[level] / prepared.sd_draws',
           'moves |= {f"d_{level}": shift[level]',
           ("tests/sensitivity/test_tipping.py",),
           "d moved by the shift in measure units instead of baseline SDs"),
    Mutant("large_d_direction", f"{PKG}/sensitivity/tipping.py",
           "LARGE if better * mean >= LARGE_D", "LARGE if mean >= LARGE_D",
           ("tests/sensitivity/test_tipping.py",),
           "d 'large' read without the measure's better direction"),
    Mutant("change_difference_per_month", f"{PKG}/sensitivity/quantities.py",
           'out["contrast_slope"].draws * span,', 'out["contrast_slope"].draws,',
           ("tests/sensitivity/test_quantities.py",),
           "difference in change left per month instead of over 0-24 months"),
    Mutant("d_difference_sign", f"{PKG}/sensitivity/quantities.py",
           "out[d[1]].draws - out[d[0]].draws", "out[d[0]].draws - out[d[1]].draws",
           ("tests/sensitivity/test_quantities.py",), "d_I - d_II instead of d_II - d_I"),
    Mutant("advocacy_prior_at_zero", f"{PKG}/sensitivity/reverse.py",
           "return (rope + limit) / 2, (limit - rope) / (2 * Z)",
           "return limit / 2, limit / (2 * Z)",
           ("tests/sensitivity/test_reverse.py",),
           "advocacy prior anchored at 0 instead of the ROPE edge"),
    Mutant("box_p_without_prior_sd", f"{PKG}/sensitivity/reverse.py",
           "math.sqrt(s**2 + prior_sd**2)", "math.sqrt(s**2)",
           ("tests/sensitivity/test_reverse.py",),
           "Box's p from the likelihood's SD alone (the prior's spread ignored)"),
    Mutant("summary_counts_every_setting", f"{PKG}/sensitivity/suite.py",
           "return bool(not np.isfinite(now[1]) or now[1] < then[1])", "return True",
           ("tests/sensitivity/test_suite.py",),
           "a setting that moved a 'difference' away from the ROPE counted as a test of it"),
    Mutant("prior_sd_as_variance", f"{PKG}/growth/prior_predictive.py",
           "        return rng.normal(mu, float(sigma), size)",
           "        return rng.normal(mu, float(sigma) ** 2, size)",
           ("tests/growth/test_prior_predictive.py",),
           "prior draws with the Normal's SD squared (a unit)"),
    Mutant("prior_share_period_i_only", f"{PKG}/growth/prior_predictive.py",
           "return float(self.inside(self.means).mean())",
           "return float(self.inside(self.means[:, 0]).mean())",
           ("tests/growth/test_prior_predictive.py",),
           "prior share of means counted in Period I only"),
    Mutant("prior_observations_without_patients", f"{PKG}/growth/prior_predictive.py",
           'effects = np.einsum("sij,sgj->sgi", L, rng.standard_normal(',
           'effects = 0 * np.einsum("sij,sgj->sgi", L, rng.standard_normal(',
           ("tests/growth/test_prior_predictive.py",),
           "prior predictive observations without the patient effects"),
    Mutant("prior_d_denominator", f"{PKG}/growth/prior_predictive.py",
           "| _summary(draws / check.sd))", "| _summary(draws / check.sd**2))",
           ("tests/growth/test_prior_predictive.py",),
           "implied prior of d divided by the baseline variance, not the SD"),
    Mutant("pit_weights_direction", f"{PKG}/growth/loo_pit.py",
           "log_w, k = psis_log_weights(patient_loglik(fit)[:, kept])  # (patients, kept",
           "log_w, k = psis_log_weights(-patient_loglik(fit)[:, kept])  # (patients, kept",
           ("tests/growth/test_loo_pit.py",),
           "LOO-PIT weights p(y_i | theta) instead of 1 / p(y_i | theta)"),
    Mutant("pit_in_sample_spread", f"{PKG}/growth/loo_pit.py",
           "sd = np.sqrt(spread + scale**2)", "sd = np.sqrt(scale**2)",
           ("tests/growth/test_loo_pit.py",),
           "the new patient's predictive without the patient-effect variance"),
    Mutant("pit_not_randomised", f"{PKG}/growth/loo_pit.py",
           "np.clip(below[0] + v * (below[1] - below[0]), 0.0, 1.0)",
           "np.clip(below[1] + 0 * v, 0.0, 1.0)",
           ("tests/growth/test_loo_pit.py",),
           "PIT of a recorded score at its interval's upper end, not randomised in it"),
    Mutant("pit_kish_observations", f"{PKG}/growth/loo_pit.py",
           "return float(m.sum() ** 2 / (m**2).sum())", "return float(m.sum())",
           ("tests/growth/test_loo_pit.py",),
           "uniformity test with every observation independent (no Kish size)"),
    Mutant("ppc_new_patient_variance", f"{PKG}/growth/ppc.py",
           "L = np.linalg.cholesky(draws.covariance() + 1e-12 * np.eye(draws.sds.shape[1]))",
           "L = draws.covariance() + 1e-12 * np.eye(draws.sds.shape[1])",
           ("tests/growth/test_ppc.py",),
           "new patients' effects scaled by their variance, not their SD"),
    Mutant("ppc_outside_without_half_step", f"{PKG}/growth/ppc.py",
           "outside = (part < low - half) | (part > high + half)",
           "outside = (part < low) | (part > high)",
           ("tests/growth/test_ppc.py",),
           "outside-the-scale share counts values within half a step of a bound"),
    Mutant("censored_floor_direction", f"{PKG}/growth/censoring.py",
           "out[:, left] = _logcdf((low - eta[:, left]) / scale[:, left],",
           "out[:, left] = _logcdf((eta[:, left] - low) / scale[:, left],",
           ("tests/growth/test_censoring.py",),
           "censored floor: P(Y* >= low) instead of P(Y* <= low)"),
    Mutant("interval_no_mirror", f"{PKG}/growth/censoring.py",
           "upper = a > 0  # both ends above", "upper = a > np.inf  # both ends above",
           ("tests/growth/test_censoring.py",),
           "interval probabilities far above the mode lose all precision"),
    Mutant("intake_smd_sum_of_variances", f"{PKG}/compare/intake.py",
           "return mu[1] - mu[0], (mu[1] - mu[0]) / np.sqrt((var[0] + var[1]) / 2)",
           "return mu[1] - mu[0], (mu[1] - mu[0]) / np.sqrt(var[0] + var[1])",
           ("tests/compare/test_intake.py",),
           "intake standardised difference over the sum, not the mean, of the variances"),
    Mutant("intake_severity_direction", f"{PKG}/compare/intake.py",
           'severe = {"higher": p_up, "lower": 1 - p_up}.get(c.more_severe, np.nan)',
           'severe = {"higher": p_up, "lower": p_up}.get(c.more_severe, np.nan)',
           ("tests/compare/test_intake.py",),
           "P(II more severe) of a higher-is-better characteristic read the wrong way"),
    Mutant("intake_posterior_sd_of_mean", f"{PKG}/compare/intake.py",
           "mu.append(v.mean() + np.sqrt(sigma2 / n) * rng.standard_normal(draws))",
           "mu.append(v.mean() + np.sqrt(sigma2) * rng.standard_normal(draws))",
           ("tests/compare/test_intake.py",),
           "posterior of an intake mean with the SD of a patient, not of the mean"),
    Mutant("intake_pooled_chi_square_yates", f"{PKG}/compare/intake.py",
           "else chi_square(table, correction=False))",
           "else chi_square(table, correction=True))",
           ("tests/compare/test_intake.py",),
           "intake chi-square with Yates' correction (R reference: without)"),
    Mutant("intake_beta_prior_counts", f"{PKG}/compare/intake.py",
           "p = [rng.beta(a + v.sum(), b + len(v) - v.sum(), draws)",
           "p = [rng.beta(a + len(v) - v.sum(), b + v.sum(), draws)",
           ("tests/compare/test_intake.py",),
           "intake proportions' Beta posterior with successes and failures swapped"),
    Mutant("intake_fisher_tolerance", f"{PKG}/frequentist/proportions.py",
           "probs[log_p <= observed + np.log1p(1e-7)].sum()",
           "probs[log_p < observed].sum()",
           ("tests/compare/test_intake.py",),
           "r x 2 Fisher test leaving out the observed table itself"),
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", default=None, help="run only these mutants")
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    parser.add_argument("--full", action="store_true",
                        help="run survivors against the whole default suite")
    return parser.parse_args(argv)


def copy_tree(to: Path) -> None:
    """The parts of the repository the tests need, into ``to``."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    for part in ("src", "tests", "models"):
        shutil.copytree(ROOT / part, to / part, ignore=ignore)
    shutil.copy2(ROOT / "pyproject.toml", to / "pyproject.toml")


def apply(mutant: Mutant, tree: Path) -> bool:
    """Apply the mutant in ``tree``; False when its text does not occur exactly once."""
    path = tree / mutant.path
    text = path.read_text()
    if text.count(mutant.old) != 1:
        return False
    path.write_text(text.replace(mutant.old, mutant.new))
    return True


def run_tests(tree: Path, tests: tuple[str, ...]) -> tuple[int, str]:
    """Exit status and the first failing test of ``pytest -x`` on ``tests`` in ``tree``."""
    env = os.environ | {"PYTHONPATH": str(tree / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
               "--no-header", *tests]
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    failed = re.search(r"^(?:FAILED|ERROR) (\S+)", done.stdout, flags=re.MULTILINE)
    return done.returncode, failed.group(1) if failed else ""


def check_import(tree: Path) -> None:
    """The copy's package is the one the tests import (else every mutant would survive)."""
    env = os.environ | {"PYTHONPATH": str(tree / "src")}
    where = subprocess.run([sys.executable, "-c", "import mbtbayes; print(mbtbayes.__file__)"],
                           env=env, capture_output=True, text=True, cwd=tree).stdout.strip()
    if not where.startswith(str(tree)):
        raise SystemExit(f"the copy's package is not the one imported ({where}); stopping")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    chosen = [m for m in MUTANTS if args.only is None or m.name in args.only]
    if args.list:
        for m in chosen:
            print(f"{m.name:38s} {m.path}: {m.what}")
        return 0
    rows = []
    with tempfile.TemporaryDirectory(prefix="mbtbayes-mutants-") as scratch:
        pristine = Path(scratch) / "pristine"
        copy_tree(pristine)
        check_import(pristine)
        for m in chosen:
            tree = Path(scratch) / m.name
            shutil.copytree(pristine, tree)
            start = time.perf_counter()
            if not apply(m, tree):
                rows.append((m, "STALE", "text not found exactly once", 0.0))
                continue
            status, test = run_tests(tree, m.tests)
            if status == 0 and args.full:
                status, test = run_tests(tree, ())
            result = {0: "SURVIVED", 1: "killed"}.get(status, f"error (exit {status})")
            rows.append((m, result, test, time.perf_counter() - start))
            print(f"{m.name}: {result} {test} ({rows[-1][3]:.0f} s)", flush=True)
            shutil.rmtree(tree)
    print()
    print(f"{'mutant':38s} {'result':9s} {'killed by':70s} {'s':>5s}")
    for m, result, test, seconds in rows:
        print(f"{m.name:38s} {result:9s} {test:70s} {seconds:5.0f}")
    killed = sum(r[1] == "killed" for r in rows)
    print(f"\n{killed} of {len(rows)} mutants killed "
          f"(tests run per mutant: the files listed in bench/mutants.py)")
    return 0 if killed == len(rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
