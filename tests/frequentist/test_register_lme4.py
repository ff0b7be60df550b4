"""The ML fits of every bundled model on the bundled synthetic register against lme4.

Reference: ``tests/data/lme4_register.csv``, written by ``tests/data/lme4_register.R`` (R
4.2.2, lme4 1.1-31, ``lmer(..., REML = FALSE)`` with BOBYQA at ``rhoend = 1e-12``), which fits
the 9 specs x 2 variants the way the pipeline maps a spec to its ML model, with correlated
patient effects ``(months | patient_id)`` (the bundled specs' default) and uncorrelated ones
``(months || patient_id)`` (the sensitivity suite's alternative). Ours are fitted the way the
pipeline fits them (:func:`mbtbayes.compare.frequentist.frequentist_fits` on
``mb.load_register().data``).

Tolerances: both sides are deterministic optimisers run to tight tolerances; they agree to
about 1e-10 in log-likelihood and 1e-6 SE in the fixed effects. The tests require what the
issue asks (log-likelihood within 1e-4 of lme4's, never below it by more) and 1e-3 SE /
1e-3 relative for the estimates.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mbtbayes as mb
from mbtbayes.compare.frequentist import (
    aic_table,
    frequentist_effect_sizes,
    frequentist_fits,
    frequentist_growth_table,
)
from mbtbayes.compare.questions import model_choice_questions
from mbtbayes.compare.table import assemble
from mbtbayes.frequentist.deviance import ProfiledDeviance
from mbtbayes.frequentist.mixed import SINGULAR_TOL, MixedResult, lme4_checks
from mbtbayes.frequentist.prepare import fixed_design, period_levels, prepare_rows

ROOT = Path(__file__).parents[2]
SCRIPT = ROOT / "tests" / "data" / "lme4_register.R"
REFERENCE = ROOT / "tests" / "data" / "lme4_register.csv"
LOGLIK_TOL = 1e-4  # the issue's bound: at least lme4's log-likelihood minus 1e-4


def read_reference(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values=["NA"])


@pytest.fixture(scope="module")
def lme4() -> pd.DataFrame:
    return read_reference(REFERENCE)


CORRELATED, UNCORRELATED = "correlated", "uncorrelated"
STRUCTURES = (CORRELATED, UNCORRELATED)


def ref(lme4: pd.DataFrame, key: tuple[str, str], quantity: str, column: str = "value",
        structure: str = CORRELATED):
    """One fit's reference values of one quantity, indexed by term."""
    measure, model = key
    rows = lme4[(lme4["structure"] == structure) & (lme4["measure"] == measure)
                & (lme4["model"] == model) & (lme4["quantity"] == quantity)]
    return rows.set_index("term")[column]


def structure_of(res: MixedResult) -> str:
    return UNCORRELATED if "||" in res.formula else CORRELATED


def check_against_lme4(res: MixedResult, lme4: pd.DataFrame, key: tuple[str, str]) -> None:
    """Every reference quantity of one fit: model, log-likelihood, flags, estimates, SDs (and
    the correlation of a correlated fit)."""
    structure = structure_of(res)

    def ref(lme4, key, quantity, column="value"):
        return globals()["ref"](lme4, key, quantity, column, structure)

    assert res.formula == ref(lme4, key, "formula", "message").iloc[0]
    assert res.n_obs == ref(lme4, key, "n_obs").iloc[0]
    assert res.n_groups == ref(lme4, key, "n_groups").iloc[0]
    assert res.n_params == ref(lme4, key, "df").iloc[0]
    expected_ll = ref(lme4, key, "loglik").iloc[0]
    assert res.loglik >= expected_ll - LOGLIK_TOL
    assert res.loglik == pytest.approx(expected_ll, abs=LOGLIK_TOL)
    singular = bool(ref(lme4, key, "singular").iloc[0])
    assert res.singular == singular
    assert res.note.startswith("boundary (singular) fit") == singular
    messages = ref(lme4, key, "messages", "message").iloc[0]
    assert ("failed to converge" in messages) == (not res.converged)
    fixed = res.fixed.set_index("term")
    estimate, se = ref(lme4, key, "estimate"), ref(lme4, key, "se")
    assert sorted(fixed.index) == sorted(estimate.index)
    np.testing.assert_allclose(fixed.loc[estimate.index, "estimate"], estimate,
                               rtol=0, atol=1e-3 * se.to_numpy().min())
    np.testing.assert_allclose(fixed.loc[se.index, "se"], se, rtol=1e-3)
    sds, expected = res.variance.set_index("component")["sd"], ref(lme4, key, "sd")
    at_zero = expected < SINGULAR_TOL * expected["sd_residual"]
    np.testing.assert_allclose(sds[expected.index[~at_zero]], expected[~at_zero], rtol=1e-3)
    assert (sds[expected.index[at_zero]] < SINGULAR_TOL * sds["sd_residual"]).all()
    if structure == CORRELATED and not singular:
        corr = res.variance.set_index("component")["sd"]["corr"]
        assert corr == pytest.approx(ref(lme4, key, "corr").iloc[0], abs=1e-3)


@pytest.mark.parametrize("correlated", [True, False])
def test_fwc_confident_matches_lme4(lme4, correlated):
    """The model statsmodels gave up on (issue 19): with uncorrelated effects lme4 fits it at
    logLik -374.77, slope SD 0.0016 (an interior optimum near the boundary, not a singular
    fit); with correlated effects (the bundled default) at -374.55."""
    spec = replace(mb.load_specs()["fwc_confident"], correlated=correlated)
    ml = frequentist_fits({"fwc_confident": spec}, mb.load_register().data,
                          log=lambda _: None)
    assert set(ml) == {("fwc_confident", "linear"), ("fwc_confident", "period")}
    for key, res in ml.items():
        assert isinstance(res, MixedResult), res
        check_against_lme4(res, lme4, key)
    expected = (-374.55, -372.31) if correlated else (-374.77, -372.69)
    assert ml[("fwc_confident", "linear")].loglik == pytest.approx(expected[0], abs=0.005)
    assert ml[("fwc_confident", "period")].loglik == pytest.approx(expected[1], abs=0.005)


@pytest.fixture(scope="module")
def register_fits() -> dict:
    return frequentist_fits(mb.load_specs(), mb.load_register().data, log=lambda _: None)


@pytest.mark.slow
def test_every_bundled_model_matches_lme4(lme4, register_fits):
    """The 9 specs x 2 variants: log-likelihood at least lme4's minus 1e-4, and the rest."""
    keys = set(zip(lme4["measure"], lme4["model"], strict=True))
    assert set(register_fits) == keys and len(keys) == 18
    assert all(structure_of(res) == CORRELATED for res in register_fits.values())
    for key, res in register_fits.items():
        assert isinstance(res, MixedResult), (key, res)
        check_against_lme4(res, lme4, key)
    gaps = {key: ref(lme4, key, "loglik").iloc[0] - res.loglik
            for key, res in register_fits.items()}
    assert max(gaps.values()) <= LOGLIK_TOL


@pytest.mark.slow
def test_reference_script_reproduces_the_committed_csv(lme4, tmp_path):
    """Rerun tests/data/lme4_register.R where R and lme4 are installed (skipped otherwise)."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        pytest.skip("Rscript is not installed")
    has_lme4 = subprocess.run([rscript, "-e", "library(lme4)"], capture_output=True)
    if has_lme4.returncode != 0:
        pytest.skip("the R package lme4 is not installed")
    out = tmp_path / "lme4_register.csv"
    subprocess.run([rscript, str(SCRIPT), str(out)], cwd=ROOT, check=True,
                   capture_output=True, timeout=600)
    again = read_reference(out)
    pd.testing.assert_frame_equal(again.drop(columns=["value", "message"]),
                                  lme4.drop(columns=["value", "message"]))
    numeric = again["value"].notna()
    assert (numeric == lme4["value"].notna()).all()
    np.testing.assert_allclose(again.loc[numeric, "value"], lme4.loc[numeric, "value"],
                               rtol=1e-6, atol=1e-9)
    formulas = again["quantity"] == "formula"
    assert (again.loc[formulas, "message"] == lme4.loc[formulas, "message"]).all()


KEYS = [(m, v) for m in ("bsi", "cip", "fwc_confident", "fwc_idealized", "fwc_inadequate",
                         "gaf", "wai_bonds", "wai_goals_tasks", "wsas")
        for v in ("linear", "period")]


@pytest.fixture(scope="module")
def bundled() -> tuple[dict, pd.DataFrame]:
    return mb.load_specs(), mb.load_register().data


def deviance_of(key: tuple[str, str], specs: dict, data: pd.DataFrame, *,
                structure: str = CORRELATED) -> ProfiledDeviance:
    """The profiled deviance of a bundled model on the bundled register, as fit_mixed builds it."""
    measure, model = key
    spec = replace(specs[measure], correlated=structure == CORRELATED)
    period = spec.period if model == "period" else None
    covariates = spec.covariates(model)
    used, _ = prepare_rows(data, measure, spec.time, spec.group, period, covariates)
    x = fixed_design(used, spec.time, period, period_levels(used, period), covariates)
    return ProfiledDeviance(y=used[measure].to_numpy(float), x=x.to_numpy(),
                            time=used[spec.time].to_numpy(float),
                            group=used[spec.group].to_numpy(), correlated=spec.correlated)


@pytest.mark.parametrize("structure", STRUCTURES)
@pytest.mark.parametrize("key", KEYS, ids="-".join)
def test_lme4_checks_say_what_lme4_says(lme4, bundled, key, structure):
    """At the theta where lme4 stopped, our deviance is lme4's and our checks give lme4's
    messages: with its defaults (several "Model failed to converge with max|grad| = ..." and
    the singular fits) and at tight tolerances (only the singular fits). The gradient is a
    finite difference (step 1e-4) of deviances that agree to about 1e-10, so max|grad| agrees
    to about 1e-5 relative; the test asks 1e-3."""
    deviance = deviance_of(key, *bundled, structure=structure)
    for suffix in ("", "_default"):
        theta = ref(lme4, key, f"theta{suffix}", structure=structure).to_numpy(float)
        assert -deviance(theta) / 2 == pytest.approx(
            ref(lme4, key, f"loglik{suffix}", structure=structure).iloc[0], abs=1e-8)
        singular, converged, note = lme4_checks(deviance, theta)
        said = ref(lme4, key, f"messages{suffix}", "message", structure=structure).iloc[0]
        assert singular == said.startswith("boundary (singular) fit")
        assert converged == ("failed to converge" not in said)
        if "failed to converge" in said:  # the same message; max|grad| to 1e-3 relative
            number = r"max\|grad\| = ([0-9.e-]+)"
            # the component holding max|grad| can differ where two are about equal (seen once:
            # fwc_idealized linear, correlated): the message is compared without it
            parts = number + r"|, component \d+"
            assert re.sub(parts, "", note) == re.sub(parts, "", said)
            assert float(re.search(number, note)[1]) == pytest.approx(
                float(re.search(number, said)[1]), rel=1e-3)


def test_fits_near_and_on_the_boundary_in_every_frequentist_table(lme4, bundled):
    """fwc_confident (near the boundary) has its AIC, logLik, LRT and d in the tables, every
    row passed; wai_goals_tasks (slope SD 0, lme4's singular fit) too, every row flagged.

    AIC and the LRT by hand from lme4's log-likelihoods and parameter counts; the LRT's p
    from SciPy's chi-square.
    """
    specs, data = bundled
    chosen = {k: specs[k] for k in ("fwc_confident", "wai_goals_tasks")}
    ml = frequentist_fits(chosen, data, log=lambda _: None)
    growth = frequentist_growth_table(ml)
    aic = aic_table(ml).set_index("measure")
    d = frequentist_effect_sizes(ml, chosen, data)
    for measure, singular in (("fwc_confident", False), ("wai_goals_tasks", True)):
        ll = {v: ref(lme4, (measure, v), "loglik").iloc[0] for v in ("linear", "period")}
        df = {v: ref(lme4, (measure, v), "df").iloc[0] for v in ("linear", "period")}
        row = aic.loc[measure]
        for v in ("linear", "period"):
            assert row[f"aic_{v}"] == pytest.approx(-2 * ll[v] + 2 * df[v], abs=2 * LOGLIK_TOL)
            assert row[f"loglik_{v}"] == pytest.approx(ll[v], abs=LOGLIK_TOL)
        chi2 = 2 * (ll["period"] - ll["linear"])
        assert row["lrt_chi2"] == pytest.approx(chi2, abs=4 * LOGLIK_TOL)
        assert row["lrt_df"] == df["period"] - df["linear"] == 2
        assert row["lrt_p_value"] == pytest.approx(stats.chi2.sf(chi2, 2), rel=1e-3)
        assert bool(row["ml_passed"]) and row["ml_reason"] == ""
        assert (row["ml_note"].count("boundary (singular) fit") == 2) == singular
        for table in (growth, d):
            rows = table[table["measure"] == measure]
            assert len(rows) > 0 and rows["passed"].all() and (rows["reason"] == "").all()
            assert (rows["singular"] == singular).all()
            assert rows["ml_note"].str.startswith("boundary (singular) fit").eq(singular).all()
        slope = ref(lme4, (measure, "linear"), "estimate")["months"]
        pooled = d[(d["measure"] == measure) & (d["period"] == "pooled")]
        assert pooled["difference"].iloc[0] == pytest.approx(24 * slope, rel=1e-4)
        assert np.isfinite(d.loc[d["measure"] == measure, "d"]).all()
    # the concordance's model-choice rows carry the LRT, both verdicts and lme4's note
    comparison = aic.reset_index().assign(elpd_diff=0.5, elpd_diff_se=1.0, passed=True,
                                          loo_reliable=True)
    rows = assemble(model_choice_questions(comparison)).set_index("subject")
    assert rows["lrt_p_value"].to_numpy() == pytest.approx(aic["lrt_p_value"].to_numpy())
    assert rows["bayes_predictive_choice"].eq("no difference").all()  # 0.5 under 4 units
    assert rows["frequentist_tested_choice"].notna().all() and rows["passed"].all()
    assert rows.loc["fwc_confident", "ml_note"] == ""
    assert "boundary (singular) fit" in rows.loc["wai_goals_tasks", "ml_note"]
