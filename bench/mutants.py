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
           "return Rope(self.half_width / months,", "return Rope(self.half_width,",
           ("tests/growth/test_trajectories.py", "tests/test_compare.py"),
           "the slope contrast's ROPE not converted to per month"),
    Mutant("d_rope_units", f"{PKG}/sensitivity/quantities.py",
           '"baseline SD", rope / base.sd)', '"baseline SD", rope)',
           ("tests/sensitivity",),
           "d's ROPE left in measure units instead of baseline SDs"),
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
    Mutant("tipping_direction", f"{PKG}/sensitivity/tipping.py",
           "    shift = worse * delta", "    shift = -worse * delta",
           ("tests/sensitivity/test_tipping.py",),
           "drop-outs shifted towards better instead of worse"),
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
