"""Model specs: the bundled models/ folder, and every class of spec error."""

from __future__ import annotations

import pandas as pd
import pytest

from mbtbayes.core.errors import SpecError
from mbtbayes.growth.specs import load_spec, load_specs, make_spec, spec_from_dict

PAPER_MEASURES = {"wai_goals_tasks", "wai_bonds", "fwc_confident", "fwc_inadequate",
                  "fwc_idealized", "bsi", "cip", "wsas", "gaf"}


def test_bundled_specs_cover_the_papers_nine_measures():
    specs = load_specs()
    assert set(specs) == PAPER_MEASURES
    for spec in specs.values():
        assert spec.variants == ("linear", "period")
        assert spec.rope > 0 and spec.rope_justification
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


def test_misspelled_prior_key_is_rejected_against_the_built_model():
    from mbtbayes.growth.design import check_prior_keys, make_design

    raw = base() | {"priors": {"month": {"dist": "Normal", "mu": 0, "sigma": 1}}}
    spec = spec_from_dict(raw, name="x")
    data = pd.DataFrame({"bsi": [1.0, 1.5, 2.0, 1.0], "months": [0.0, 6, 0, 6],
                         "patient_id": ["a", "a", "b", "b"], "period": ["I", "I", "II", "II"]})
    design = make_design(spec, data, variant="linear")
    with pytest.raises(SpecError, match=r"prior key\(s\) 'month' \(did you mean 'months'\?\)"):
        check_prior_keys(spec, [design])


def test_make_spec_for_other_column_names():
    spec = make_spec(outcome="score", time="week", group="subject", range=(0, 10))
    assert spec.variants == ("linear",)
    assert spec.formulas["linear"] == "score ~ week + (week | subject)"
    assert spec.priors["Intercept"] == {"dist": "Normal", "mu": 5.0, "sigma": 5.0}
