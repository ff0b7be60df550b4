"""Loading, mapping and validating register extracts: every class of bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mbtbayes.core.errors import DataError, SpecError
from mbtbayes.io.mapping import read_mapping
from mbtbayes.io.register import describe, load_register, prepare_register, summarise


def problems_of(frame: pd.DataFrame, **kwargs) -> list[str]:
    with pytest.raises(DataError) as info:
        prepare_register(frame, **kwargs)
    return info.value.problems


def test_valid_table_loads_and_keeps_missing_values(small):
    small.loc[3, "bsi"] = None
    reg = prepare_register(small)
    assert len(reg.data) == len(small)  # nothing dropped
    assert reg.data["bsi"].isna().sum() == small["bsi"].isna().sum()
    missing = summarise(reg)["missing"].set_index("measure")
    assert missing.loc["bsi", "n_missing"] == small["bsi"].isna().sum()
    assert reg.data["period"].cat.categories.tolist() == ["I", "II"]


def test_missing_required_column(small):
    found = problems_of(small.drop(columns=["months", "assessment"]))
    assert found == ["missing required column(s): months, assessment; "
                     "map your names onto them with --mapping"]


def test_unknown_period_label_each_distinct_value_once_with_its_count(small):
    small.loc[4, "period"] = "III"
    small.loc[[7, 9, 12], "period"] = "3"
    assert problems_of(small) == [
        "column 'period': unknown label(s) 'III' (row 5), '3' (3 rows, first 8); expected I or "
        "II (map your codes under [values.period])"]


def test_out_of_range_value(small):
    small.loc[0, "bsi"] = "4.5"
    small.loc[1, "gaf"] = "0"
    found = problems_of(small)
    assert "column 'bsi': value(s) outside 0-4 (BSI-18 global mean) '4.5' at row 1" in found
    assert "column 'gaf': value(s) outside 1-100 (GAF) '0' at row 2" in found


def test_non_numeric_value(small):
    small.loc[2, "wsas"] = "twelve"
    assert "column 'wsas': non-numeric value(s) 'twelve' at row 3" in problems_of(small)


def test_duplicate_patient_assessment(small):
    frame = pd.concat([small, small.iloc[[0]]], ignore_index=True)
    pid = small.loc[0, "patient_id"]
    assert (f"duplicate (patient_id, assessment) rows: '{pid}/1' at row 1, "
            f"'{pid}/1' at row {len(small) + 1}") in problems_of(frame)


def test_patient_in_both_periods(small):
    pid = small.loc[1, "patient_id"]
    rows = small.index[small["patient_id"] == pid]
    small.loc[rows[-1], "period"] = "II"
    assert f"patient(s) in both periods: {pid}" in problems_of(small)


def test_negative_and_decreasing_months(small):
    pid = small.loc[1, "patient_id"]
    rows = small.index[small["patient_id"] == pid]
    assert len(rows) >= 2
    small.loc[rows[1], "months"] = "-2"
    found = problems_of(small)
    assert f"column 'months': negative value(s) '-2' at row {rows[1] + 1}" in found
    assert (f"months not increasing with assessment number: '{pid} months -2' "
            f"at row {rows[1] + 1}") in found


def test_patient_with_no_assessment(small):
    from mbtbayes.io.schema import MEASURES

    pid = small.loc[0, "patient_id"]
    rows = small["patient_id"] == pid
    small.loc[rows, list(MEASURES)] = None
    assert f"patient(s) with no assessment (every measure missing): {pid}" in problems_of(small)


def test_missing_key_value(small):
    small.loc[6, "assessment"] = None
    assert "column 'assessment': missing value(s) at row(s) 7" in problems_of(small)


def test_patient_field_must_be_constant(small):
    pid = small.loc[1, "patient_id"]
    rows = small.index[small["patient_id"] == pid]
    small.loc[rows[-1], "dropout"] = "1" if small.loc[rows[0], "dropout"] == "0.0" else "0"
    assert (f"column 'dropout' differs within patient(s) {pid} "
            "(it must be constant per patient)") in problems_of(small)


def test_every_problem_reported_at_once_in_one_line(small):
    small.loc[0, "bsi"] = "9"
    small.loc[1, "period"] = "3"
    small.loc[2, "cip"] = "x"
    with pytest.raises(DataError) as info:
        prepare_register(small, source="bad.csv")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("bad.csv: 3 problem(s): ")
    assert len(info.value.problems) == 3


def test_long_problem_lists_are_shortened(small):
    small["bsi"] = "7"
    (problem,) = problems_of(small)
    assert problem.endswith(f"and {len(small) - 5} more")


def test_csv_file_round_trip(tmp_path, synthetic):
    path = tmp_path / "register.csv"
    synthetic.to_csv(path, index=False)
    reg = load_register(path)
    assert reg.synthetic
    assert reg.data.shape[0] == synthetic.shape[0]
    np.testing.assert_allclose(reg.data["bsi"], synthetic.sort_values(
        ["patient_id", "assessment"])["bsi"], equal_nan=True)


def test_parquet_and_missing_codes(tmp_path, synthetic):
    frame = synthetic.drop(columns="dataset").copy()
    frame.loc[frame.index[:3], "gaf"] = 999
    path = tmp_path / "register.parquet"
    frame.to_parquet(path)
    reg = load_register(path, mapping={"missing_codes": [999]})
    assert not reg.synthetic
    assert reg.data["gaf"].isna().sum() == synthetic["gaf"].isna().sum() + 3


def test_spss_file_with_other_names_and_value_labels(tmp_path, synthetic):
    import pyreadstat

    ids = [p for period in ("I", "II")
           for p in synthetic.loc[synthetic["period"] == period, "patient_id"].unique()[:8]]
    source = synthetic[synthetic["patient_id"].isin(ids)]
    frame = pd.DataFrame({
        "pasnr": source["patient_id"].str.replace("SYN", "P"),
        "periode": source["period"].map({"I": 1.0, "II": 2.0}),
        "mnd": source["months"], "maaling": source["assessment"].astype(float),
        "bsi_gsi": source["bsi"], "gaf_tot": source["gaf"],
        "waiversjon": source["wai_version"].map({"S": 1.0, "SR": 2.0}),
    })
    path = tmp_path / "register.sav"
    pyreadstat.write_sav(frame, str(path), variable_value_labels={
        "periode": {1.0: "Periode 1", 2.0: "Periode 2"},
        "waiversjon": {1.0: "WAI-S", 2.0: "WAI-SR"}})
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        '[columns]\npatient_id = "pasnr"\nperiod = "periode"\nmonths = "mnd"\n'
        'assessment = "maaling"\nbsi = "bsi_gsi"\ngaf = "gaf_tot"\nwai_version = "waiversjon"\n'
        '[values.period]\n"Periode 1" = "I"\n"Periode 2" = "II"\n'
        '[values.wai_version]\n"WAI-S" = "S"\n"WAI-SR" = "SR"\n')
    reg = load_register(path, mapping=mapping)
    assert reg.measures == ("bsi", "gaf")
    assert reg.data["period"].tolist() == sorted(source["period"].tolist(), key=["I", "II"].index)
    assert set(reg.data["wai_version"]) == set(source["wai_version"])
    assert reg.data["patient_id"].str.startswith("P").all()
    assert "Measures not in the data (not analysed): cip" in describe(reg)


def test_numeric_period_codes_without_mapping_are_rejected(small):
    small["period"] = small["period"].map({"I": "1", "II": "2"})
    n1, n2 = (small["period"] == "1").sum(), (small["period"] == "2").sum()
    assert problems_of(small) == [
        f"column 'period': unknown label(s) '1' ({n1} rows, first 1), '2' ({n2} rows, first "
        f"{n1 + 1}); expected I or II (map your codes under [values.period])"]


def test_mapping_unknown_key_has_hint():
    with pytest.raises(SpecError, match=r"'colums' \(did you mean 'columns'\?\)"):
        read_mapping({"colums": {}})
    with pytest.raises(SpecError, match=r"'patient' \(did you mean 'patient_id'\?\)"):
        read_mapping({"columns": {"patient": "id"}})


def test_mapping_to_absent_column(small):
    found = problems_of(small, mapping={"columns": {"bsi": "bsi_total"}})
    assert found[0] == ("the mapping names column 'bsi_total' for bsi, "
                        "but the file has no such column")


def test_unreadable_inputs(tmp_path):
    with pytest.raises(DataError, match="data file not found"):
        load_register(tmp_path / "nope.csv")
    (tmp_path / "x.ods").write_text("")
    with pytest.raises(DataError, match="use a .csv, .xlsx, .parquet or .sav file"):
        load_register(tmp_path / "x.ods")
    with pytest.raises(SpecError, match="mapping file not found"):
        read_mapping(tmp_path / "nope.toml")


def test_a_synthetic_table_given_as_a_dataframe_is_labelled_synthetic():
    from mbtbayes.io.synthetic import simulate_register

    assert load_register(simulate_register(seed=2)).synthetic
    real = simulate_register(seed=2).drop(columns="dataset")
    assert not load_register(real).synthetic
