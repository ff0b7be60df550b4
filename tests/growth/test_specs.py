"""Model specs: the bundled models/ folder, and every class of spec error."""

from __future__ import annotations

import pandas as pd
import pytest

from mbtbayes.core.errors import SpecError
from mbtbayes.growth.engine_choice import resolve_engine
from mbtbayes.growth.specs import load_spec, load_specs, make_spec, spec_from_dict

PAPER_MEASURES = {"wai_goals_tasks", "wai_bonds", "fwc_confident", "fwc_inadequate",
                  "fwc_idealized", "bsi", "cip", "wsas", "gaf"}


def test_bundled_specs_cover_the_papers_nine_measures():
    specs = load_specs()
    assert set(specs) == PAPER_MEASURES
    for spec in specs.values():
        assert spec.variants == ("linear", "period")
        assert spec.rope_half_width > 0 and spec.rope_sd_units is None  # a fixed margin
        assert spec.rope_reference_sd > 0 and spec.rope_reference_sd_source
        assert spec.rope_label and spec.rope_source and spec.rope_justification
        assert spec.d_months == (0.0, 24.0)
        assert spec.formulas["period"].startswith(f"{spec.measure} ~ months * period")
        assert {"Intercept", "months", "period", "months:period", "sigma"} <= set(spec.priors)
    assert specs["wai_bonds"].covariates("period") == ("wai_version",)
    assert specs["bsi"].covariates("period") == ()


def base() -> dict:
    return {"measure": "bsi", "formulas": {"linear": "bsi ~ months + (months | patient_id)"}}


def test_unknown_key_gets_a_hint():
    raw = base() | {"formula": {}}
    with pytest.raises(SpecError, match=r"'formula' \(did you mean 'formulas'\?\)"):
        spec_from_dict(raw, name="x")
    raw = base() | {"rope": {"halfwidth": 1}}
    with pytest.raises(SpecError, match=r"'halfwidth' \(did you mean 'half_width'\?\)"):
        spec_from_dict(raw, name="x")


def test_range_must_agree_with_the_schema():
    with pytest.raises(SpecError, match="range 0-5 disagrees with the schema's 0-4 for bsi"):
        spec_from_dict(base() | {"range": [0, 5]}, name="x")


def test_formula_must_model_the_measure():
    raw = base() | {"formulas": {"linear": "cip ~ months + (months | patient_id)"}}
    with pytest.raises(SpecError, match="formula 'linear' models 'cip', but measure is 'bsi'"):
        spec_from_dict(raw, name="x")


def test_prior_distribution_is_checked():
    raw = base() | {"priors": {"months": {"dist": "Normall", "mu": 0, "sigma": 1}}}
    with pytest.raises(SpecError, match=r"did you mean 'Normal'"):
        spec_from_dict(raw, name="x")


def test_bad_toml_names_the_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("measure = \n")
    with pytest.raises(SpecError, match="bad.toml: not valid TOML"):
        load_spec(path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SpecError, match="no \\*.toml model specs"):
        load_specs(tmp_path / "empty")


def test_misspelled_prior_key_is_rejected_at_load_time_and_against_the_built_model():
    from dataclasses import replace

    from mbtbayes.growth.design import check_prior_keys, make_design

    raw = base() | {"priors": {"month": {"dist": "Normal", "mu": 0, "sigma": 1}}}
    with pytest.raises(SpecError, match=r"prior key\(s\) 'month' \(did you mean 'months'\?\)"):
        spec_from_dict(raw, name="x")
    spec = replace(spec_from_dict(base(), name="x"), priors=raw["priors"])  # skips the loader
    data = pd.DataFrame({"bsi": [1.0, 1.5, 2.0, 1.0], "months": [0.0, 6, 0, 6],
                         "patient_id": ["a", "a", "b", "b"], "period": ["I", "I", "II", "II"]})
    design = make_design(spec, data, variant="linear")
    with pytest.raises(SpecError, match=r"prior key\(s\) 'month' \(did you mean 'months'\?\)"):
        check_prior_keys(spec, [design])


def test_make_spec_for_other_column_names():
    spec = make_spec(outcome="score", time="week", group="subject", range=(0, 10))
    assert spec.variants == ("linear",)
    assert spec.formulas["linear"] == "score ~ week + (week | subject)"
    assert spec.priors["Intercept"] == {"dist": "Normal", "mu": 5.0, "sigma": 1.667}  # R / 6


# ---------------------------------------------------------------- load-time refusals


def with_prior(key: str, prior: dict) -> dict:
    return base() | {"priors": {key: prior}}


@pytest.mark.parametrize(("raw", "message"), [
    (base() | {"family": "poisson"}, "family 'poisson' is not supported"),
    (base() | {"family": "student"}, "family 'student'.*use one of gaussian, t"),
    (base() | {"engine": "stan"}, "engine 'stan' is not one of auto, marginal, bambi"),
    (with_prior("months", {"dist": "Normal", "mu": 0, "sigma": -0.1}),
     "prior for 'months': sigma must be > 0, got -0.1"),
    (with_prior("months", {"dist": "Normal", "mu": 0, "sigma": 0}),
     "prior for 'months': sigma must be > 0, got 0"),
    (with_prior("sigma", {"dist": "Exponential", "lam": -1}), "lam must be > 0"),
    (with_prior("1|patient_id", {"dist": "Normal", "mu": 0,
                                 "sigma": {"dist": "HalfNormal", "sigma": -2}}),
     r"prior for '1\|patient_id.sigma': sigma must be > 0"),
    (with_prior("sigma", {"dist": "Cauchy", "beta": 1}), "dist must be one of Normal"),
    (with_prior("months", {"dist": "Normal", "mu": 0, "sd": 1}),
     r"unknown key\(s\) in the Normal prior for 'months': 'sd'"),
    (with_prior("sigma", {"dist": "HalfNormal"}), "HalfNormal needs sigma"),
    (with_prior("months", {"dist": "Normal", "mu": 0, "sigma": "wide"}),
     "sigma must be a number"),
    (with_prior("1|patient_id", {"dist": "Normal", "mu": 0, "sigma": 1}),
     r"prior for '1\|patient_id' must be Normal with mu = 0 and a prior on its sigma"),
    (with_prior("nu", {"dist": "Gamma", "alpha": 2, "beta": 0.1}),
     r"'nu' .*name no term"),  # a Gaussian model has no nu
])
def test_what_no_engine_can_fit_is_refused_at_load_time(raw, message):
    with pytest.raises(SpecError, match=message):
        spec_from_dict(raw, name="x")


def test_each_engine_refuses_what_it_cannot_fit_and_says_where_to_go():
    t = base() | {"family": "t"}
    with pytest.raises(SpecError, match="the marginal engine cannot fit family 't'.*bambi"):
        spec_from_dict(t | {"engine": "marginal"}, name="x")
    assert resolve_engine(spec_from_dict(t, name="x")) == "bambi"
    with pytest.raises(SpecError, match="correlated = true needs the marginal engine, which "
                                        "cannot fit family 't'"):
        spec_from_dict(t | {"correlated": True}, name="x")
    with pytest.raises(SpecError, match="Bambi engine cannot fit correlated = true.*"
                                        "use engine = \"marginal\""):
        spec_from_dict(base() | {"correlated": True, "engine": "bambi"}, name="x")
    spline = {"linear": "bsi ~ bs(months, df=4) + (1 | patient_id)"}
    with pytest.raises(SpecError, match=r"'bs\(months, df=4\)'.*bs4\(months\)"):
        spec_from_dict(base() | {"formulas": spline}, name="x")
    lognormal_sd = with_prior("sigma", {"dist": "Exponential", "lam": 1.0})
    assert resolve_engine(spec_from_dict(lognormal_sd, name="x")) == "bambi"
    with pytest.raises(SpecError, match="the Exponential prior on 'sigma'"):
        spec_from_dict(lognormal_sd | {"engine": "marginal"}, name="x")


@pytest.mark.parametrize(("formulas", "message"), [
    ({"linear": "bsi ~ months + (months | therapist)"}, "not by the group column"),
    ({"linear": "bsi ~ months"}, r"no patient effects.*\(1 \| patient_id\)"),
    ({"linear": "bsi ~ months + (I(months**2) | patient_id)"}, "must vary an intercept or one"),
    ({"linear": ["bsi ~ months + (1 | patient_id)", "nu ~ period"]}, "must model one of sigma"),
    ({"linear": ["bsi ~ months + (1 | patient_id)", "sigma ~ (1 | patient_id)"]},
     "group-specific terms"),
    ({"linear": "bsi ~ months + (months | patient_id"}, "cannot parse the formula"),
    ({"linear": 3}, "must be a string or a list of strings"),
])
def test_formulas_are_checked_at_load_time(formulas, message):
    with pytest.raises(SpecError, match=message):
        spec_from_dict(base() | {"formulas": formulas}, name="x")


def test_uncorrelated_double_bar_is_read_as_bambis_bar_and_contradicts_correlated():
    raw = base() | {"formulas": {"linear": "bsi ~ months + (months || patient_id)"}}
    spec = spec_from_dict(raw, name="x")
    assert spec.formula("linear").bambi == "bsi ~ months + (months | patient_id)"
    assert resolve_engine(spec) == "marginal"  # (months || id) is the marginal engine's structure
    with pytest.raises(SpecError, match=r"uncorrelated patient effects \(\|\|\) but "
                                        "correlated = true"):
        spec_from_dict(raw | {"correlated": True}, name="x")


def test_sigma_formula_priors_nest_as_in_bambi_and_are_checked():
    raw = base() | {"family": "t", "formulas": {
        "linear": ["bsi ~ months + (1 | patient_id)", "sigma ~ period"]},
        "priors": {"sigma": {"Intercept": {"dist": "Normal", "mu": -1, "sigma": 0.5},
                             "period": {"dist": "Normal", "mu": 0, "sigma": 0.3}},
                   "nu": {"dist": "Gamma", "alpha": 2, "beta": 0.1}}}
    spec = spec_from_dict(raw, name="x")
    assert set(spec.priors) == {"sigma_Intercept", "sigma_period", "nu"}
    assert spec.sigma_modelled("linear") and resolve_engine(spec) == "bambi"
    typo = raw | {"priors": {"sigma": {"periodd": {"dist": "Normal", "mu": 0, "sigma": 1}}}}
    with pytest.raises(SpecError, match="'sigma_periodd' \\(did you mean 'sigma_period'"):
        spec_from_dict(typo, name="x")
    constant = raw | {"priors": {"sigma": {"dist": "HalfNormal", "sigma": 1}}}
    with pytest.raises(SpecError, match="'sigma' .*name no term"):  # sigma is modelled
        spec_from_dict(constant, name="x")


def test_make_spec_for_the_bambi_engines_models():
    spec = make_spec(outcome="y", time="t", group="id", period="g", range=(0, 10), family="t",
                     random="intercept", time_terms=("t", "I(t**2)"), sigma="g",
                     covariates=("age",))
    assert spec.formulas["period"] == "y ~ (t + I(t**2)) * g + age + (1 | id)"
    assert spec.auxiliary == {"linear": ("sigma ~ g",), "period": ("sigma ~ g",)}
    assert resolve_engine(spec) == "bambi"
    assert "t|id" not in spec.priors and "sigma" not in spec.priors  # no such parameters
    assert spec.covariates("period") == ("age",)
    with pytest.raises(SpecError, match="random must be 'slope' or 'intercept'"):
        make_spec(outcome="y", time="t", group="id", range=(0, 1), random="none")


def test_example_specs_load_and_go_to_the_bambi_engine():
    from mbtbayes.growth.specs import models_dir

    specs = load_specs(models_dir() / "examples")
    censored = specs["bsi_censored"]
    assert censored.censored and censored.family == "gaussian"
    assert resolve_engine(censored) == "bambi"  # no closed-form marginal
    robust = specs["bsi_robust"]
    assert robust.family == "t" and resolve_engine(robust) == "bambi"
    assert robust.sigma_modelled("period") and {"sigma_Intercept", "sigma_period", "nu"} <= set(
        robust.priors)
