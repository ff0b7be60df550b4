"""Tests of mbtbayes.frequentist.mixed against lme4 and R reference values.

The references are computed outside the package by ``tests/data/lme4_reference.R`` (R 4.2.2,
lme4 1.1-31, ``lmer(..., REML = FALSE)`` with tight optimiser tolerances; ``manova`` and
``p.adjust`` from base R) on the simulated data of ``tests/data/make_mixed_reference.py``, and
stored as CSV, so R is not needed here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mbtbayes.core.errors import ConvergenceError, DataError, SpecError
from mbtbayes.frequentist import mixed as frequentist
from mbtbayes.frequentist.effects import (
    PAPER_BASELINE_THRESHOLD,
    bonferroni,
    compare_aic,
    manova_pillai,
    mixed_cohens_d,
)
from mbtbayes.frequentist.mixed import MixedResult, fit_mixed

DATA = Path(__file__).parents[1] / "data"
RTOL = 1e-3  # required agreement with lme4 (relative)

MODELS = {
    "linear_corr": {"period": None, "correlated": True},
    "linear_uncorr": {"period": None, "correlated": False},
    "period_corr": {"period": "period", "correlated": True},
    "period_uncorr": {"period": "period", "correlated": False},
    "covariates_uncorr": {"period": "period", "correlated": False, "covariates": ("age", "site")},
}


@pytest.fixture(scope="module")
def mixed_data() -> pd.DataFrame:
    return pd.read_csv(DATA / "mixed_reference.csv")


@pytest.fixture(scope="module")
def lme4() -> pd.DataFrame:
    return pd.read_csv(DATA / "lme4_reference.csv", keep_default_na=False, na_values=[])


@pytest.fixture(scope="module")
def fits(mixed_data: pd.DataFrame) -> dict[str, MixedResult]:
    return {name: fit_mixed(mixed_data, outcome="y", **kw) for name, kw in MODELS.items()}


def ref(lme4: pd.DataFrame, model: str, quantity: str) -> pd.Series:
    """Reference values of one model and quantity, indexed by term."""
    rows = lme4[(lme4["model"] == model) & (lme4["quantity"] == quantity)]
    return rows.set_index("term")["value"].astype(float)


def ref_vcov(lme4: pd.DataFrame, model: str) -> pd.DataFrame:
    """lme4's vcov() of the fixed effects as a term x term matrix."""
    pairs = ref(lme4, model, "vcov")
    split = pairs.index.str.split("|", regex=False)
    frame = pd.DataFrame({"i": split.str[0], "j": split.str[1], "v": pairs.to_numpy()})
    return frame.pivot(index="i", columns="j", values="v")


# --- mixed models against lme4 ------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_fixed_effects_and_se_match_lme4(fits, lme4, model):
    fixed = fits[model].fixed.set_index("term")
    expected_est = ref(lme4, model, "estimate")
    expected_se = ref(lme4, model, "se")
    assert sorted(fixed.index) == sorted(expected_est.index)
    np.testing.assert_allclose(fixed.loc[expected_est.index, "estimate"], expected_est, rtol=RTOL)
    np.testing.assert_allclose(fixed.loc[expected_se.index, "se"], expected_se, rtol=RTOL)


@pytest.mark.parametrize("model", MODELS)
def test_variance_components_match_lme4(fits, lme4, model):
    variance = fits[model].variance.set_index("component")["sd"]
    expected = ref(lme4, model, "sd")
    np.testing.assert_allclose(variance.loc[expected.index], expected, rtol=RTOL)
    corr = ref(lme4, model, "corr")
    if MODELS[model]["correlated"]:
        np.testing.assert_allclose(variance["corr"], corr["corr"], rtol=RTOL)
    else:
        assert "corr" not in variance.index and corr.empty


@pytest.mark.parametrize("model", MODELS)
def test_loglik_aic_bic_and_counts_match_lme4(fits, lme4, model):
    res = fits[model]
    for quantity in ("loglik", "aic", "bic"):
        expected = ref(lme4, model, quantity).iloc[0]
        assert getattr(res, quantity) == pytest.approx(expected, rel=RTOL)
    assert res.n_params == ref(lme4, model, "df").iloc[0]
    assert res.n_obs == ref(lme4, model, "n_obs").iloc[0]
    assert res.n_groups == ref(lme4, model, "n_groups").iloc[0]
    assert res.converged and not res.singular


def test_fixed_covariance_matches_lme4_vcov(fits, lme4):
    expected = ref_vcov(lme4, "period_corr")
    got = fits["period_corr"].fixed_cov.loc[expected.index, expected.columns]
    scale = np.sqrt(np.outer(np.diag(expected), np.diag(expected)))
    np.testing.assert_allclose(got / scale, expected / scale, atol=RTOL)


@pytest.mark.parametrize("structure", ["corr", "uncorr"])
def test_compare_aic_matches_lme4_anova(fits, lme4, structure):
    table = compare_aic(fits[f"linear_{structure}"], fits[f"period_{structure}"])
    row = table.iloc[0]
    lrt = f"lrt_{structure}"
    assert row["aic_linear"] == pytest.approx(ref(lme4, f"linear_{structure}", "aic").iloc[0])
    assert row["aic_period"] == pytest.approx(ref(lme4, f"period_{structure}", "aic").iloc[0])
    assert row["lrt_chi2"] == pytest.approx(ref(lme4, lrt, "chi2").iloc[0], rel=RTOL)
    assert row["lrt_df"] == ref(lme4, lrt, "df").iloc[0]
    assert row["lrt_p_value"] == pytest.approx(ref(lme4, lrt, "p_value").iloc[0], rel=RTOL)
    assert row["preferred"] == "linear"  # no true period effect on the slope; small one on level


def test_compare_aic_rejects_non_nested_fits(fits):
    with pytest.raises(SpecError, match="nested"):
        compare_aic(fits["period_uncorr"], fits["linear_uncorr"])
    with pytest.raises(SpecError, match="random-effects structures differ"):
        compare_aic(fits["linear_corr"], fits["period_uncorr"])


def test_term_names_formula_and_period_levels(fits):
    res = fits["covariates_uncorr"]
    assert res.fixed["term"].tolist() == [
        "Intercept",
        "months",
        "period[II]",
        "months:period[II]",
        "age",
        "site[B]",
        "site[C]",
    ]
    assert res.period_levels == ("I", "II")
    assert res.formula == "y ~ months * period + age + site + (months || patient_id)"
    assert fits["linear_corr"].formula == "y ~ months + (months | patient_id)"
    assert res.fixed.columns.tolist() == [
        "term", "estimate", "se", "ci_low", "ci_high", "z", "p_value",
    ]  # fmt: skip


def test_generic_column_names_and_levels(mixed_data, fits):
    renamed = mixed_data.rename(columns={"y": "score", "months": "t", "patient_id": "pid"})
    renamed["phase"] = renamed.pop("period").map({"I": "early", "II": "later"})
    res = fit_mixed(renamed, outcome="score", time="t", group="pid", period="phase")
    assert res.fixed["term"].tolist() == ["Intercept", "t", "phase[later]", "t:phase[later]"]
    np.testing.assert_allclose(
        res.fixed["estimate"], fits["period_uncorr"].fixed["estimate"], rtol=1e-6
    )
    assert res.predict_fixed([0], period_level="later")["period"].tolist() == ["later"]


# --- missing values, validation and convergence -------------------------------------------------


def test_missing_outcomes_are_excluded_and_counted(mixed_data, fits):
    n_missing = int(mixed_data["y"].isna().sum())
    assert n_missing == 6
    for res in fits.values():
        assert res.n_excluded == n_missing
        assert res.n_obs == len(mixed_data) - n_missing


def test_missing_predictor_is_an_error(mixed_data):
    broken = mixed_data.copy()
    broken.loc[[3, 10], "months"] = np.nan
    with pytest.raises(DataError, match="'months': 2"):
        fit_mixed(broken, outcome="y")


def test_bad_columns_are_errors(mixed_data):
    with pytest.raises(DataError, match="not in the data"):
        fit_mixed(mixed_data, outcome="bsi")
    with pytest.raises(DataError, match="1 level"):
        fit_mixed(mixed_data[mixed_data["period"] == "I"], outcome="y", period="period")
    with pytest.raises(DataError, match="numeric"):
        fit_mixed(mixed_data, outcome="site")


def test_tiny_maxiter_raises_convergence_error(mixed_data):
    with pytest.raises(ConvergenceError, match="did not converge.*maxiter"):
        fit_mixed(mixed_data, outcome="y", period="period", maxiter=2)


@pytest.mark.parametrize("correlated", [False, True])
def test_boundary_fit_matches_lme4_singular_fit(lme4, correlated):
    """ML optimum on the boundary: reported with its estimate and flagged, as lme4 does.

    lme4 (tests/data/lme4_reference.R): slope SD 0 without a correlation; with one, the
    correlation is -1. Both are "boundary (singular) fit"s.
    """
    data = pd.read_csv(DATA / "lme4_boundary_data.csv")
    res = fit_mixed(data, outcome="y", correlated=correlated)
    model = "boundary_corr" if correlated else "boundary_uncorr"
    fixed = res.fixed.set_index("term")
    np.testing.assert_allclose(fixed["estimate"], ref(lme4, model, "estimate"), rtol=RTOL)
    np.testing.assert_allclose(fixed["se"], ref(lme4, model, "se"), rtol=RTOL)
    sds = res.variance.set_index("component")["sd"]
    expected = ref(lme4, model, "sd")
    if correlated:
        np.testing.assert_allclose(sds[expected.index], expected, rtol=RTOL)
        assert sds["corr"] == pytest.approx(ref(lme4, model, "corr").iloc[0], abs=1e-6)
        assert "correlation on the boundary" in res.note
    else:
        assert expected["sd_slope"] < 1e-6 and sds["sd_slope"] < 1e-6
        np.testing.assert_allclose(sds[expected.index[[0, 2]]], expected.iloc[[0, 2]], rtol=RTOL)
        assert "slope SD on the boundary" in res.note
    assert res.loglik >= ref(lme4, model, "loglik").iloc[0] - 1e-6
    assert res.loglik == pytest.approx(ref(lme4, model, "loglik").iloc[0], abs=1e-6)
    assert res.aic == pytest.approx(ref(lme4, model, "aic").iloc[0], abs=1e-5)
    assert res.singular and res.converged and res.note.startswith("boundary (singular) fit")


@pytest.mark.parametrize("method", frequentist.METHODS)
@pytest.mark.parametrize("model", ["period_corr", "period_uncorr"])
def test_every_method_reaches_lme4_optimum(mixed_data, lme4, method, model):
    """Each bounded minimiser on offer reaches lme4's log-likelihood (tight tolerances)."""
    res = fit_mixed(mixed_data, outcome="y", period="period", method=method,
                    correlated=MODELS[model]["correlated"])
    assert res.loglik == pytest.approx(ref(lme4, model, "loglik").iloc[0], abs=1e-6)
    assert res.converged and not res.singular and res.note == ""


def test_unknown_method_is_a_spec_error(mixed_data):
    with pytest.raises(SpecError, match="not one of"):
        fit_mixed(mixed_data, outcome="y", method="lbfgs")


def test_unidentifiable_model_raises_convergence_error(mixed_data):
    """One observation per patient: random intercept, slope and residual are confounded.

    lme4 refuses such a model before fitting (observations <= random effects of a term);
    so does ``fit_mixed``, by counting, not by the sign of a Hessian eigenvalue on a flat
    ridge (which rounding decides, differently on different machines).
    """
    first = mixed_data.dropna(subset=["y"]).groupby("patient_id").head(1).head(80).copy()
    first["months"] = np.random.default_rng(1).uniform(0, 30, len(first))
    for correlated in (False, True):
        with pytest.raises(ConvergenceError, match="several observations"):
            fit_mixed(first, outcome="y", correlated=correlated)


def test_observations_per_random_effect_as_lme4(mixed_data):
    """lme4 counts random effects per term (tests/data/lme4_identifiability.R): with 1.5
    observations per patient, ``(months | id)`` (2 effects per patient in one term) is
    refused and ``(months || id)`` (two terms of 1) is fitted."""
    rows = mixed_data.dropna(subset=["y"])
    first = rows.groupby("patient_id").head(1).head(80)
    second = rows.groupby("patient_id").nth(1).head(40)
    data = pd.concat([first, second])
    assert len(data) == 120 and data["patient_id"].nunique() == 80
    with pytest.raises(ConvergenceError, match="random effects per term, here 160"):
        fit_mixed(data, outcome="y", correlated=True)
    assert fit_mixed(data, outcome="y").n_obs == 120


# --- predictions and Cohen's d against lme4's fixed effects -------------------------------------


def test_predict_fixed_matches_lme4_by_hand(fits, lme4):
    beta = ref(lme4, "period_corr", "estimate")
    vcov = ref_vcov(lme4, "period_corr")
    terms = ["Intercept", "months", "period[II]", "months:period[II]"]
    row = pd.Series([1.0, 24.0, 1.0, 24.0], index=terms)  # period II at month 24
    expected = float(row @ beta[terms])
    expected_se = float(np.sqrt(row @ vcov.loc[terms, terms] @ row))
    got = fits["period_corr"].predict_fixed([0, 24], period_level="II").iloc[1]
    assert got["time"] == 24 and got["period"] == "II"
    assert got["estimate"] == pytest.approx(expected, rel=RTOL)
    assert got["se"] == pytest.approx(expected_se, rel=RTOL)
    assert got["ci_high"] - got["ci_low"] == pytest.approx(2 * 1.959964 * expected_se, rel=RTOL)


def test_predict_fixed_validates_period_level(fits):
    with pytest.raises(SpecError, match="not a level"):
        fits["period_corr"].predict_fixed([0], period_level="III")
    with pytest.raises(SpecError, match="no period term"):
        fits["linear_corr"].predict_fixed([0], period_level="I")
    assert fits["period_corr"].predict_fixed([0, 24])["period"].tolist() == ["I", "I", "II", "II"]


def test_cohens_d_matches_hand_computation_from_lme4(fits, lme4):
    beta = ref(lme4, "period_uncorr", "estimate")
    vcov = ref_vcov(lme4, "period_uncorr")
    sd = {"I": 0.71, "II": 0.64}
    got = mixed_cohens_d(
        fits["period_uncorr"], sd=sd, sd_basis="observed_baseline_sd", months=(0, 24)
    ).set_index("period")
    z = stats.norm.ppf(0.975)
    for level, contrast in {"I": [24.0, 0.0], "II": [24.0, 24.0]}.items():
        c = pd.Series(contrast, index=["months", "months:period[II]"])
        diff = float(c @ beta[c.index])
        se = float(np.sqrt(c @ vcov.loc[c.index, c.index] @ c))
        row = got.loc[level]
        assert row["d"] == pytest.approx(diff / sd[level], rel=RTOL)
        assert row["d_ci_low"] == pytest.approx((diff - z * se) / sd[level], rel=RTOL)
        assert row["d_ci_high"] == pytest.approx((diff + z * se) / sd[level], rel=RTOL)
        assert row["sd_basis"] == "observed_baseline_sd" and row["sd"] == sd[level]
    assert (got["d"] < 0).all()  # symptoms fall: change (later minus earlier) is negative


def test_cohens_d_pooled_for_linear_model(fits, lme4):
    slope = ref(lme4, "linear_uncorr", "estimate")["months"]
    got = mixed_cohens_d(fits["linear_uncorr"], sd=0.7, sd_basis="pooled_sd", months=(6, 30))
    assert got["period"].tolist() == ["pooled"]
    assert got["d"].iloc[0] == pytest.approx(24 * slope / 0.7, rel=RTOL)


def test_cohens_d_with_covariates_cancels_them(fits, lme4):
    beta = ref(lme4, "covariates_uncorr", "estimate")
    got = mixed_cohens_d(fits["covariates_uncorr"], sd=1.0, sd_basis="x").set_index("period")
    assert got.loc["I", "difference"] == pytest.approx(24 * beta["months"], rel=RTOL)


def test_cohens_d_rejects_bad_input(fits):
    with pytest.raises(SpecError, match="must differ"):
        mixed_cohens_d(fits["linear_corr"], sd=1.0, sd_basis="x", months=(12, 12))
    with pytest.raises(SpecError, match="positive"):
        mixed_cohens_d(fits["linear_corr"], sd=0.0, sd_basis="x")
    with pytest.raises(SpecError, match="no entry for period 'II'"):
        mixed_cohens_d(fits["period_corr"], sd={"I": 1.0}, sd_basis="x")


# --- MANOVA and Bonferroni against R ------------------------------------------------------------


@pytest.fixture(scope="module")
def manova_data() -> pd.DataFrame:
    return pd.read_csv(DATA / "manova_data.csv")


@pytest.fixture(scope="module")
def manova_ref() -> pd.DataFrame:
    return pd.read_csv(DATA / "manova_reference.csv").set_index("term")


@pytest.mark.parametrize("group", ["period", "site"])
def test_manova_pillai_matches_r(manova_data, manova_ref, group):
    got = manova_pillai(manova_data, outcomes=["bsi", "sipp", "lpi"], group=group).iloc[0]
    expected = manova_ref.loc[group]
    for col in ("pillai", "f", "num_df", "den_df", "p_value"):
        assert got[col] == pytest.approx(expected[col], rel=1e-6), col
    assert got["n_obs"] == len(manova_data) and got["n_excluded"] == 0


def test_manova_counts_excluded_rows(manova_data):
    broken = manova_data.copy()
    broken.loc[[0, 5], "sipp"] = np.nan
    broken.loc[7, "period"] = None
    got = manova_pillai(broken, outcomes=["bsi", "sipp", "lpi"], group="period").iloc[0]
    assert got["n_excluded"] == 3 and got["n_obs"] == len(manova_data) - 3


def test_bonferroni_matches_r_p_adjust(manova_ref):
    got = bonferroni(manova_ref["p_value"])
    np.testing.assert_allclose(got["p_adjusted"], manova_ref["p_bonferroni"], rtol=1e-12)
    assert got["test"].tolist() == ["period", "site"]
    assert got["threshold"].iloc[0] == pytest.approx(0.025)


def test_bonferroni_paper_threshold():
    p = {"bsi": 0.0004, "sipp": 0.002, "lpi": 0.3}
    by_count = bonferroni(p, n_tests=50)
    by_threshold = bonferroni(p, threshold=PAPER_BASELINE_THRESHOLD)
    assert by_count["threshold"].iloc[0] == pytest.approx(PAPER_BASELINE_THRESHOLD)
    assert by_count["significant"].tolist() == [True, False, False]
    assert by_threshold["significant"].tolist() == by_count["significant"].tolist()
    assert by_count["p_adjusted"].tolist() == pytest.approx([0.02, 0.1, 1.0])
    with pytest.raises(SpecError, match="smaller"):
        bonferroni(p, n_tests=2)


def test_correlated_effects_are_invariant_to_the_time_origin():
    """Shifting time by 12 months reparametrises the correlated model exactly: the same
    log-likelihood, and the same Period II - I predictions at the same calendar months (a
    property of ``(t | id)``, as lme4's). The uncorrelated ``(t || id)`` model is not: its
    log-likelihood changes with the origin (which is why the bundled specs are correlated)."""
    import mbtbayes as mb

    data = mb.load_register().data
    shifted = data.assign(months=data["months"] - 12.0)
    fits = {(correlated, shift): fit_mixed(frame, outcome="bsi", period="period",
                                           correlated=correlated)
            for correlated in (True, False)
            for shift, frame in ((0, data), (12, shifted))}

    def contrast(res, at):
        pred = res.predict_fixed([at]).set_index("period")["estimate"]
        return pred["II"] - pred["I"]

    a, b = fits[(True, 0)], fits[(True, 12)]
    assert a.loglik == pytest.approx(b.loglik, abs=1e-5)
    for month in (0.0, 24.0):
        assert contrast(a, month) == pytest.approx(contrast(b, month - 12.0), abs=1e-4)
    assert abs(fits[(False, 0)].loglik - fits[(False, 12)].loglik) > 0.5
