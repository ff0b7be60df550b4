"""Case-mix adjusted period contrasts (growth/adjusted): recovery of a known period effect in a
register where intake severity differs by period and drives the outcome, patients with a
missing covariate counted, the coding over the pooled cohort, g-computation, spec checks.

Reference values are the simulation truth: the period has no effect on intercept or slope;
BPD criteria and substance use move the intercept (and BPD criteria the slope) and are more
common in Period II, so the unadjusted contrasts are biased by ``sum_k beta_k (mean_II(c_k) -
mean_I(c_k))`` over the simulated patients, computed here by hand from the truth. The tests
that sample (two fits on one compiled graph, about 30 s on 2 idle cores) are ``slow``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import mbtbayes as mb
from mbtbayes.core.defaults import SEED
from mbtbayes.core.errors import DataError, SpecError
from mbtbayes.core.sampling import Sampler, SamplerOptions
from mbtbayes.growth.adjusted import ANALYSIS, adjusted_spec, adjustment, fit_adjusted
from mbtbayes.growth.engines import Engines
from mbtbayes.growth.specs import load_spec, models_dir
from mbtbayes.growth.trajectories import period_contrasts

COVARIATES = ["age", "gender", "bpd_criteria", "substance_use", "self_harm_start"]
BPD_ON_INTERCEPT, BPD_ON_SLOPE, SUBSTANCE_ON_INTERCEPT = 0.15, -0.006, 0.2
"""True covariate effects: bsi units per criterion (intercept), per criterion per month
(slope), and for substance use (intercept). Period itself has no effect."""
WIDTH = 14
"""Fixed-effect columns of the adjusted design: 4 of months * period, 2 x 5 of the covariates."""
LEFT_OUT = {"I": 4, "II": 2}
"""Patients per period whose BPD criteria are set missing (after the outcome is simulated)."""


def simulate(seed: int = 5, n: int = 150) -> pd.DataFrame:
    """A register in the schema's names: ``n`` patients per period, 2-6 assessments at 0-36
    months; Period II has about 2 more BPD criteria and more substance use."""
    rng = np.random.default_rng(seed)
    rows = []
    for period, bpd_mean, sub_rate in (("I", 6.0, 0.2), ("II", 8.0, 0.5)):
        for i in range(n):
            bpd = float(np.clip(np.round(rng.normal(bpd_mean, 1.0)), 0, 9))
            substance = float(rng.random() < sub_rate)
            covariates = {"age": float(rng.integers(18, 45)),
                          "gender": "female" if rng.random() < 0.85 else "male",
                          "bpd_criteria": bpd, "substance_use": substance,
                          "self_harm_start": float(rng.random() < 0.8)}
            level = (1.5 + BPD_ON_INTERCEPT * (bpd - 7) + SUBSTANCE_ON_INTERCEPT * substance
                     + rng.normal(0, 0.4))
            slope = -0.02 + BPD_ON_SLOPE * (bpd - 7) + rng.normal(0, 0.004)
            months = np.sort(rng.choice(np.arange(0, 37, 6), size=rng.integers(2, 7),
                                        replace=False))
            for t in months:
                rows.append({"patient_id": f"{period}{i}", "period": period,
                             "months": float(t),
                             "bsi": level + slope * t + rng.normal(0, 0.25), **covariates})
    data = pd.DataFrame(rows)
    data["period"] = pd.Categorical(data["period"], categories=["I", "II"])
    data["gender"] = pd.Categorical(data["gender"], categories=["female", "male", "other"])
    return data


def known_bias(data: pd.DataFrame) -> dict[str, float]:
    """The unadjusted contrasts' bias from the truth: the covariates' effects times their
    difference in mean between the periods (every patient once)."""
    patients = data.drop_duplicates("patient_id").set_index("period")
    diff = (patients.loc["II", ["bpd_criteria", "substance_use"]].mean()
            - patients.loc["I", ["bpd_criteria", "substance_use"]].mean())
    return {"intercept": BPD_ON_INTERCEPT * diff["bpd_criteria"]
            + SUBSTANCE_ON_INTERCEPT * diff["substance_use"],
            "change": BPD_ON_SLOPE * 24 * diff["bpd_criteria"]}


def with_missing(data: pd.DataFrame) -> pd.DataFrame:
    """BPD criteria missing for the first :data:`LEFT_OUT` patients of each period."""
    out = data.copy()
    for period, k in LEFT_OUT.items():
        ids = out.loc[out["period"] == period, "patient_id"].unique()[:k]
        out.loc[out["patient_id"].isin(ids), "bpd_criteria"] = np.nan
    return out


@pytest.fixture(scope="module")
def spec():
    base = mb.load_specs()["bsi"]
    assert base.adjust_for == tuple(COVARIATES)  # the bundled default list
    return base


@pytest.fixture(scope="module")
def truth_data() -> pd.DataFrame:
    return simulate()


@pytest.fixture(scope="module")
def data(truth_data: pd.DataFrame) -> pd.DataFrame:
    return with_missing(truth_data)


@pytest.fixture(scope="module")
def engines():
    """Both fits on one compiled graph: the unadjusted design padded to the adjusted width."""
    return Engines(Sampler(SamplerOptions(draws=500, tune=500, chains=4)), width=WIDTH)


@pytest.fixture(scope="module")
def fit(spec, data, engines):
    return mb.fit_growth(spec, data, variant="period", engines=engines)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("adjusted_cache") / "cache"


@pytest.fixture(scope="module")
def table(fit, data, engines, cache_dir) -> pd.DataFrame:
    return mb.adjusted_effects([fit], data, engines=engines, cache=cache_dir).set_index(
        "contrast")


# ---------------------------------------------------------------- recovery of the truth


@pytest.mark.slow
@pytest.mark.parametrize("contrast", ["intercept", "change"])
def test_unadjusted_contrast_is_biased_by_the_known_amount(table, truth_data, contrast):
    row, bias = table.loc[contrast], known_bias(truth_data)[contrast]
    sd = row["unadjusted_sd"]
    assert abs(bias) > 4 * sd  # the design makes the bias visible
    assert abs(row["unadjusted_mean"] - bias) < 3 * sd


@pytest.mark.slow
@pytest.mark.parametrize("contrast", ["intercept", "change"])
def test_adjusted_contrast_recovers_the_true_zero(table, contrast):
    row = table.loc[contrast]
    assert abs(row["adjusted_mean"]) < 3 * row["adjusted_sd"]
    assert row["adjusted_hdi_low"] < 0 < row["adjusted_hdi_high"]
    assert row["adjusted_passed"]


@pytest.mark.slow
def test_the_table_counts_the_patients_left_out(table):
    for period, k in LEFT_OUT.items():
        assert (table[f"n_left_out_{period}"] == k).all()
        assert (table[f"n_used_{period}"] == 150 - k).all()
    assert (table["note"] == "bpd_criteria: missing for 6 patient(s)").all()
    assert (table["covariates"] == ", ".join(COVARIATES)).all()


@pytest.mark.slow
def test_decisions_against_the_specs_margin(table):
    half = mb.load_specs()["bsi"].rope_half_width
    row = table.loc["intercept"]
    assert (row["rope_low"], row["rope_high"]) == (-half, half)
    assert table.loc["change", "unadjusted_decision"] == "difference"  # bias -0.48 >> 0.16


@pytest.mark.slow
def test_g_computation_over_the_pooled_mix_is_the_period_coefficients(fit, data, engines,
                                                                      cache_dir, table):
    """No period x covariate term: every patient has the same II - I contrast, so standardising
    over the pooled cohort gives the coefficients (``months:c`` rebuilt at the grid time)."""
    adjusted, adj = fit_adjusted(fit, data, engines=engines, cache=cache_dir)
    assert adjusted.design.X.shape[1] == WIDTH
    beta = adjusted.beta()
    contrasts = period_contrasts(adjusted, standardise="pooled_mix")
    np.testing.assert_allclose(contrasts["intercept"], beta["period[II]"], atol=1e-10)
    np.testing.assert_allclose(contrasts["at_24"] - contrasts["intercept"],
                               24 * beta["months:period[II]"], atol=1e-10)


@pytest.mark.slow
def test_the_sensitivity_refit_is_the_same_fit(fit, data, engines, cache_dir, table):
    """The suite's "case-mix adjustment" row refits the same model with the same seed: read
    from the cache that :func:`adjusted_effects` filled."""
    from mbtbayes.sensitivity.refits import refit_rows

    lines = []
    rows = pd.DataFrame(refit_rows(fit, data, engines=engines, seed=SEED,
                                   analyses=(ANALYSIS,), cache=cache_dir, kfold=None,
                                   log=lines.append))
    assert any("from the fit cache" in line for line in lines), lines
    assert set(rows["analysis"]) == {ANALYSIS}
    assert rows["note"].str.startswith("complete cases: 6 patient(s) left out").all()
    assert rows["passed"].all()


# ---------------------------------------------------------------- coding and counting


def test_covariates_coded_over_the_pooled_cohort_each_patient_once(spec, truth_data):
    adj = adjustment(spec, truth_data)
    assert adj.terms == ("age_z", "gender_male_c", "bpd_criteria_z", "substance_use_c",
                         "self_harm_start_c")  # no dummy for the unused level "other"
    patients = adj.data.drop_duplicates("patient_id")
    first = truth_data.drop_duplicates("patient_id").set_index("patient_id")
    bpd = first.loc[patients["patient_id"], "bpd_criteria"].to_numpy()
    np.testing.assert_allclose(patients["bpd_criteria_z"], (bpd - bpd.mean()) / bpd.std(ddof=1))
    male = (first.loc[patients["patient_id"], "gender"] == "male").to_numpy(float)
    np.testing.assert_allclose(patients["gender_male_c"], male - male.mean())
    assert "+ bpd_criteria_z + months:bpd_criteria_z" in adj.spec.formulas["period"]
    assert adj.spec.adjust_for == ()


def test_missing_covariates_are_counted_not_dropped_silently(spec, data):
    adj = adjustment(spec, data)
    assert adj.left_out == LEFT_OUT
    assert adj.used == {p: 150 - k for p, k in LEFT_OUT.items()}
    assert adj.missing == {"age": 0, "gender": 0, "bpd_criteria": 6, "substance_use": 0,
                           "self_harm_start": 0}
    assert adj.data["patient_id"].nunique() == 300 - 6
    assert adj.data["bpd_criteria"].notna().all()


def test_only_patients_with_the_measure_are_counted(spec, data):
    """A patient without any bsi score is in neither fit, so not 'left out' of this one."""
    gone = data["patient_id"].isin(data.loc[data["bpd_criteria"].isna(), "patient_id"]
                                   .unique()[:1])
    adj = adjustment(spec, data.assign(bsi=data["bsi"].where(~gone)))
    assert sum(adj.left_out.values()) == 5


def test_a_constant_covariate_is_left_out_and_said(spec, truth_data):
    adj = adjustment(spec, truth_data.assign(self_harm_start=1.0))
    assert "self_harm_start_c" not in adj.terms
    assert adj.constant == ("self_harm_start",)
    assert "constant among the patients used" in adj.note


def test_no_covariates_no_adjusted_fit(spec, truth_data):
    assert adjustment(replace(spec, adjust_for=()), truth_data) is None


def test_a_covariate_absent_from_the_data_is_a_data_error_with_a_hint(spec, truth_data):
    renamed = truth_data.rename(columns={"bpd_criteria": "bpd_criterias"})
    with pytest.raises(DataError, match="'bpd_criteria'.*did you mean 'bpd_criterias'"):
        adjustment(spec, renamed)


def test_a_covariate_that_varies_within_a_patient_is_refused(spec, truth_data):
    varied = truth_data.assign(age=truth_data["age"] + truth_data["months"])
    with pytest.raises(DataError, match="age differ within a patient"):
        adjustment(spec, varied)


def test_adjusted_spec_adds_intercept_and_slope_terms(spec):
    formula = adjusted_spec(spec, ["a_z", "b_c"]).formulas["period"]
    parsed = adjusted_spec(spec, ["a_z", "b_c"]).formula("period")
    assert formula.endswith("+ a_z + months:a_z + b_c + months:b_c")
    assert {"a_z", "months:a_z", "b_c", "months:b_c"} <= set(parsed.common)


# ---------------------------------------------------------------- spec checks


def _spec_file(tmp_path, line: str):
    text = (models_dir() / "bsi.toml").read_text(encoding="utf-8")
    lines = [line if x.startswith("covariates =") else x for x in text.splitlines()]
    path = tmp_path / "bsi.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("line", "message"), [
    ('covariates = ["age", "bpd_criterion"]',
     "'bpd_criterion' is not an intake characteristic.*did you mean 'bpd_criteria'"),
    ('covariates = ["bsi"]', "'bsi' is a measure; a measure's baseline is in the growth model"),
    ('covariates = ["dropout"]', "'dropout' is recorded during or after treatment"),
    ('covariates = "age"', "covariates must be a list of column names"),
    ('covariates = ["age", "age"]', "a name is given twice"),
])
def test_spec_refuses_bad_covariates(tmp_path, line, message):
    with pytest.raises(SpecError, match=f"bsi.toml: covariates.*{message}|{message}"):
        load_spec(_spec_file(tmp_path, line))


def test_a_spec_without_covariates_has_none(tmp_path):
    assert load_spec(_spec_file(tmp_path, "")).adjust_for == ()


def test_misspelt_key_gets_a_hint(tmp_path):
    with pytest.raises(SpecError, match="'covariate' \\(did you mean 'covariates'\\?\\)"):
        load_spec(_spec_file(tmp_path, 'covariate = ["age"]'))
