"""What the reanalysis needs of a register, and the warnings validation gives.

Expected counts and values are worked out by hand from the tables built here (or from the
synthetic register's own months before rescaling), not from the code under test.
"""

from __future__ import annotations

import pandas as pd
import pytest

from mbtbayes.core.errors import SpecError
from mbtbayes.io.register import describe, load_register, validate_register
from mbtbayes.io.requirements import MIN_PATIENTS_PER_PERIOD


def long_table(values_per_patient: dict[str, list[float]], periods: dict[str, str]) -> pd.DataFrame:
    """One row per value: patient, period, months 0, 6, 12, ..., assessment 1, 2, ..., bsi."""
    rows = [{"patient_id": pid, "period": periods[pid], "months": 6.0 * k,
             "assessment": float(k + 1), "bsi": value}
            for pid, values in values_per_patient.items() for k, value in enumerate(values)]
    return pd.DataFrame(rows)


def patients(prefix: str, n: int, values: list[float]) -> dict[str, list[float]]:
    return {f"{prefix}{i}": list(values) for i in range(1, n + 1)}


def table(n_first: int, n_second: int, *, values=(1.0, 1.5, 2.0), singles: int = 0):
    first, second = patients("a", n_first, values), patients("b", n_second, values)
    lone = patients("c", singles, [1.0])
    periods = {p: "I" for p in first} | {p: "II" for p in second} | {
        p: "I" if i % 2 else "II" for i, p in enumerate(lone)}
    return long_table(first | second | lone, periods)


def test_enough_patients_passes():
    result = validate_register(table(5, 5))
    assert result.ok and result.warnings == ()
    assert result.register.measures == ("bsi",)


def test_single_period_is_a_problem():
    assert validate_register(table(6, 0)).problems == (
        "every patient is in period I; the reanalysis compares periods I and II and needs "
        "patients in both",)


def test_every_patient_with_one_assessment():
    frame = table(6, 6, values=[2.0])
    (problem,) = validate_register(frame).problems
    assert problem.startswith("every patient has a single assessment; the growth models need "
                              "repeated assessments: at least 5 patients in each period with "
                              "two or more")


def test_too_few_patients_says_how_many_are_needed_and_why():
    assert MIN_PATIENTS_PER_PERIOD == 5
    (problem,) = validate_register(table(6, 4)).problems
    assert problem.startswith("too few patients for a growth model: period I has 6, period II "
                              "has 4 patient(s) with two or more values of bsi; at least 5 are "
                              "needed in each period (the model gives each patient an intercept "
                              "and a slope")
    # values missing for a patient do not count: b1..b5 with one observed bsi value each
    frame = table(5, 5)
    frame.loc[frame["patient_id"].str.startswith("b") & (frame["assessment"] > 1), "bsi"] = None
    (problem,) = validate_register(frame).problems
    assert "period I has 5, period II has 0 patient(s)" in problem


def test_more_values_than_twice_the_patients():
    """The same three tables as tests/data/lme4_identifiability.R: lme4 1.1-31 refuses the
    first two ("number of observations (=30) <= number of random effects (=40)", then 40 <=
    40) and fits the third (50 values)."""
    (problem,) = validate_register(table(5, 5, values=[1.0, 2.0], singles=10)).problems
    assert problem.startswith("too few values for a growth model: bsi (30 values from 20 "
                              "patients, > 40 needed); a random intercept and slope per patient "
                              "needs more values than twice the patients (lme4's check)")
    # 10 x 3 + 10 = 40 values: still not more than 40; 10 x 4 + 10 = 50 is
    assert not validate_register(table(5, 5, values=[1.0, 2.0, 3.0], singles=10)).ok
    assert validate_register(table(5, 5, values=[1.0, 2.0, 3.0, 3.5], singles=10)).ok


def test_empty_measure_is_absent_with_a_warning(small):
    small["gaf"] = None
    reg = load_register(small)
    assert "gaf" not in reg.measures and "gaf" not in reg.data
    assert reg.warnings == ("column 'gaf' has no values at all: treated as absent, not analysed",)
    text = describe(reg)
    assert "Measures not in the data (not analysed): gaf" in text
    assert "  warning: column 'gaf' has no values at all" in text


def test_every_measure_empty_is_a_problem(small):
    from mbtbayes.io.schema import MEASURES

    small[list(MEASURES)] = None
    problems = validate_register(small).problems
    assert problems[0].startswith("patient(s) with no assessment (every measure missing): ")


@pytest.mark.parametrize(("unit", "per_month"), [("days", 365.25 / 12), ("weeks", 365.25 / 84)])
def test_months_that_look_like_days_or_weeks(small, unit, per_month):
    months = small["months"].astype(float)
    top = months.max()
    gaps = small.assign(m=months).groupby("patient_id")["m"].diff()
    gap = gaps[gaps > 0].median()
    small["months"] = (months * per_month).round(1).astype(str)
    result = validate_register(small)
    assert result.ok
    (warning,) = result.warnings
    assert warning.startswith("column 'months': the values look like days or weeks, not months")
    assert f"as {unit} they would be {top:.0f} and {gap:.1f} months" in warning


def test_months_in_months_give_no_warning(small):
    assert validate_register(small).warnings == ()


def test_header_only():
    result = validate_register(pd.DataFrame(columns=["patient_id", "period", "months",
                                                     "assessment", "bsi"]))
    assert result.problems == ("the file has a header but no data rows",)


def test_two_schema_names_on_one_column_is_a_spec_error(small):
    with pytest.raises(SpecError, match=r"\[columns\] names the same column for two schema "
                                        r"names: 'gaf' for bsi and cip"):
        validate_register(small, mapping={"columns": {"bsi": "gaf", "cip": "gaf"}})


def test_renaming_onto_a_column_the_file_has(small):
    small["bsi_gsi"] = small["bsi"]
    result = validate_register(small, mapping={"columns": {"bsi": "bsi_gsi"}})
    assert result.problems == (
        "the mapping takes column 'bsi_gsi' as bsi, but the file also has a column named "
        "'bsi'; rename or remove one of them in the file",)
    result = validate_register(small, mapping={"columns": {"bsi": "cip"}})
    assert "the mapping takes column 'cip' as bsi" in result.problems[0]


def test_mapping_keys_that_match_nothing_are_warned(small):
    mapping = {"values": {"period": {"I": "I", "3": "II"}, "gender": {"k": "female"}}}
    small = small.drop(columns="gender")
    result = validate_register(small, mapping=mapping)
    assert result.ok
    assert result.warnings == ("[values.gender] is not used: the data have no column 'gender'",
                               "[values.period]: key(s) '3' matched no value in the data")


@pytest.mark.parametrize(("mapping", "message"), [
    ({"missing_codes": [True]}, "missing_codes must be a list of codes, numbers or text"),
    ({"missing_codes": {"eq_vas": [[999]]}}, r"\[missing_codes\] eq_vas must be a list of codes"),
    ({"missing_codes": {"eqvas": [999]}}, r"'eqvas' \(did you mean 'eq_vas'\?\)"),
    ({"columns": "pasnr"}, r"\[columns\] must be a table"),
    ({"values": {"period": "1"}}, r"\[values.period\] must be a table"),
])
def test_malformed_mapping(small, mapping, message):
    with pytest.raises(SpecError, match=message):
        validate_register(small, mapping=mapping)
