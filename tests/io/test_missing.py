"""Missing cells: marks, per-column and global codes read as missing, counted; nothing valid lost.

Expected counts are counted by hand from the cells each test writes (or, for the README's
example, from the input table by pandas before the package reads it), never by the code under
test.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from mbtbayes.cli import main
from mbtbayes.core.errors import SpecError
from mbtbayes.io.missing import holds
from mbtbayes.io.register import describe, load_register, validate_register

README = Path(__file__).resolve().parents[2] / "README.md"
README_NAMES = {"patient_id": "pasnr", "period": "periode", "months": "mnd",
                "assessment": "maaling", "bsi": "bsi_gsi", "gaf": "gaf_tot"}


def readme_mapping() -> dict:
    """The TOML example of the README's Data section, as a user would copy it."""
    data = README.read_text(encoding="utf-8").split("\n## Data\n", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```toml\n(.*?)```", data, flags=re.S)
    return tomllib.loads(block)


def as_user_file(frame: pd.DataFrame) -> pd.DataFrame:
    """The register under the README's column names with period coded 1/2, as text."""
    user = frame.drop(columns="dataset").rename(columns=README_NAMES).astype(str)
    user = user.replace({"nan": ""})
    user["periode"] = user["periode"].map({"I": "1", "II": "2"})
    return user


def counts(recoded: pd.DataFrame, column: str) -> dict[str, int]:
    rows = recoded[recoded["column"] == column]
    return dict(zip(rows["code"], rows["n"], strict=True))


def test_readme_example_keeps_an_eq_vas_of_99(tmp_path, synthetic):
    frame = synthetic.copy()
    observed = frame.index[frame["eq_vas"].notna()]
    frame.loc[observed[:2], "eq_vas"] = 99.0  # at least two 99s (the register has one)
    frame.loc[observed[2], "wsas"] = 99.0  # 99 cannot be a WSAS sum (0-40): missing
    n_eq_vas = int(frame["eq_vas"].notna().sum())
    n_wsas = int(frame["wsas"].notna().sum())
    assert n_eq_vas == 631 and frame["wsas"].eq(99).sum() == 1
    path = tmp_path / "register.csv"
    as_user_file(frame).to_csv(path, index=False)
    mapping = readme_mapping()
    assert mapping["missing_codes"]["all"] == [99, 999]
    reg = load_register(path, mapping=mapping)
    assert reg.data["eq_vas"].notna().sum() == 631
    assert (reg.data["eq_vas"] == 99).sum() == (frame["eq_vas"] == 99).sum()
    assert reg.data["wsas"].notna().sum() == n_wsas - 1
    assert counts(reg.recoded, "wsas")["99"] == 1
    assert "eq_vas" not in set(reg.recoded.loc[reg.recoded["code"] == "99", "column"])
    (kept,) = [w for w in reg.warnings if w.startswith("missing code 99")]
    assert f"eq_vas ({(frame['eq_vas'] == 99).sum()} cell(s))" in kept


def test_a_code_listed_for_a_column_is_missing_there_always(small):
    small.loc[[0, 5], "gaf"] = "99"  # valid on 1-100, but listed for gaf
    small.loc[1, "wsas"] = "99"  # no code for wsas: a value outside 0-40, a problem
    result = validate_register(small, mapping={"missing_codes": {"gaf": [99]}})
    assert result.problems == ("column 'wsas': value(s) outside 0-40 (WSAS sum) '99' at row 2",)
    assert counts(result.recoded, "gaf")["99"] == 2
    small.loc[1, "wsas"] = "12"
    reg = load_register(small, mapping={"missing_codes": {"gaf": [99]}})
    assert reg.data.loc[reg.data["gaf"].isna()].shape[0] == small["gaf"].isna().sum() + 2


@pytest.mark.parametrize(("column", "code", "valid"), [
    ("eq_vas", 99, True), ("eq_vas", 101, False), ("wsas", 40, True), ("wsas", 41, False),
    ("bsi", 4, True), ("bsi", 9, False), ("gaf", 0, False), ("dropout", 1, True),
    ("dropout", 9, False), ("age", 99, False), ("age", 16, True), ("period", "II", True),
    ("period", 9, False), ("gender", "male", True), ("assessment", 7, True),
    ("assessment", 99, False), ("months", 99, True), ("patient_id", 99, True),
    ("bsi", ".", False),
])
def test_valid_values_by_the_schema(column, code, valid):
    """By hand from the README's table and schema: bsi 0-4, wsas 0-40, gaf 1-100, eq_vas 0-100,
    age 16-70, 0/1 columns, assessment 1-7, months >= 0; an id is never a missing code."""
    assert holds(column, code) is valid


def test_marks_and_empty_cells_are_read_alike_and_counted(tmp_path, small):
    marks = {0: ".", 1: "-", 2: "NA", 3: "n/a", 4: ""}
    for row, mark in marks.items():
        small.loc[row, "bsi"] = mark
    first = small["patient_id"] == small.loc[0, "patient_id"]  # patient fields: every row
    small.loc[first, "gender"] = "NA"
    small.loc[first, "dropout"] = "."
    n_empty = int(small["bsi"].isna().sum()) + 1  # the empty cell written, and those there were
    path = tmp_path / "r.csv"
    small.to_csv(path, index=False)
    reg = load_register(path)
    assert reg.data["bsi"].isna().sum() == small["bsi"].isna().sum() + 5
    assert counts(reg.recoded, "bsi") == {".": 1, "-": 1, "NA": 1, "n/a": 1, "(empty)": n_empty}
    assert counts(reg.recoded, "gender")["NA"] == first.sum()
    assert counts(reg.recoded, "dropout")["."] == first.sum()
    text = describe(reg)
    assert "  bsi: '.' x 1, '-' x 1, 'NA' x 1, 'n/a' x 1" in text


def test_marks_in_an_xlsx_file(tmp_path, small):
    small.loc[0, "bsi"] = "."
    small.loc[1, "bsi"] = "-"
    frame = small.assign(bsi=pd.to_numeric(small["bsi"], errors="coerce").where(
        ~small.index.isin([0, 1]), small["bsi"]))
    path = tmp_path / "r.xlsx"
    frame.to_excel(path, index=False)
    reg = load_register(path)
    assert counts(reg.recoded, "bsi")["."] == 1 and counts(reg.recoded, "bsi")["-"] == 1
    assert reg.data["bsi"].isna().sum() == frame["bsi"].isna().sum() + 2


def test_text_codes_are_accepted(small):
    small.loc[[2, 3, 4], "cip"] = "x"
    reg = load_register(small, mapping={"missing_codes": ["x"]})
    assert counts(reg.recoded, "cip")["x"] == 3
    assert reg.data["cip"].isna().sum() == small["cip"].isna().sum() + 3
    rule = reg.recoded.query("column == 'cip' and code == 'x'")["rule"].item()
    assert rule == "code for all columns"
    # without the code, 'x' is a non-numeric value, a problem
    assert validate_register(small).problems == (
        "column 'cip': non-numeric value(s) 'x' at row 3, 'x' at row 4, 'x' at row 5",)


def test_a_code_mapped_as_a_value_and_listed_as_missing_is_a_mistake():
    with pytest.raises(SpecError, match=r"\[missing_codes\] period lists '9', which "
                                        r"\[values.period\] maps to 'II'"):
        validate_register(None, mapping={"values": {"period": {"9": "II"}},
                                         "missing_codes": {"period": [9]}})


def test_a_mapping_with_two_mistakes_names_both():
    mapping = {"columns": {"patient": "pasnr"}, "values": {"period": {"1": "one"}},
               "missing_codes": {"eqvas": [999]}}
    with pytest.raises(SpecError) as info:
        validate_register(None, mapping=mapping)
    message = str(info.value)
    assert message.startswith("the mapping has 3 mistake(s): ")
    assert "'patient' (did you mean 'patient_id'?)" in message
    assert "[values.period] maps '1' to 'one'" in message
    assert "'eqvas' (did you mean 'eq_vas'?)" in message
    assert "allowed:" not in message and len(message) < 400  # hints, not 36 schema names


def test_an_unknown_key_without_a_hint_lists_the_allowed_keys():
    with pytest.raises(SpecError, match=r"unknown key\(s\) in \[columns\]: 'zzz'; allowed: "
                                        r"patient_id, period"):
        validate_register(None, mapping={"columns": {"zzz": "a"}})


def test_validate_prints_what_was_read_as_missing(tmp_path, small, capsys):
    small.loc[0, "eq_vas"] = "999"
    small.loc[1, "wsas"] = "NA"
    path, mapping = tmp_path / "r.csv", tmp_path / "m.toml"
    small.to_csv(path, index=False)
    mapping.write_text("[missing_codes]\neq_vas = [999]\n", encoding="utf-8")
    assert main(["validate", "--data", str(path), "--mapping", str(mapping)]) == 0
    out = capsys.readouterr().out
    assert "  wsas: 'NA' x 1\n" in out
    assert "  eq_vas: '999' x 1 (code for this column)\n" in out


def three_patients(synthetic: pd.DataFrame) -> pd.DataFrame:
    ids = [p for period in ("I", "II")
           for p in synthetic.loc[synthetic["period"] == period, "patient_id"].unique()[:3]]
    return synthetic[synthetic["patient_id"].isin(ids)]


def test_three_patients_give_one_short_problem(synthetic):
    (problem,) = validate_register(three_patients(synthetic)).problems
    assert len(problem) < 800
    assert problem.startswith("too few patients for a growth model: ")
    for measure in ("bsi", "cip", "eq_vas", "sipp_identity"):
        assert problem.count(f" {measure},") + problem.count(f" {measure};") == 1, measure
    assert problem.count("at least 5 are needed") == 1
    assert problem.endswith("the reanalysis needs more patients")


def test_three_patients_in_validate_and_reanalyze(tmp_path, synthetic, capsys):
    path = tmp_path / "r.csv"
    three_patients(synthetic).to_csv(path, index=False)
    assert main(["validate", "--data", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out.count("  problem: ") == 1 and len(captured.out) < 900
    assert main(["reanalyze", "--data", str(path), "--out", str(tmp_path / "out")]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("mbtbayes: error: ") and len(line) < 900
    assert line.count("too few patients") == 1


def test_some_measures_short_of_patients_are_named_together(small):
    """Two measures emptied down to one value per patient in period II: both in one problem,
    the others analysable, so the remedy is to remove the two."""
    second = small["period"] == "II"
    later = small.groupby("patient_id").cumcount() > 0
    small.loc[second & later, ["bsi", "cip"]] = None
    (problem,) = validate_register(small).problems
    assert "period I has 6, period II has 0 patient(s) with two or more values of bsi, cip;" \
        in problem
    assert problem.endswith("remove the column(s) to analyse the other measures")


def test_a_long_list_of_problems_is_cut_with_a_count(small):
    from mbtbayes.core.errors import DataError
    from mbtbayes.io.schema import MEASURES

    frame = small.assign(**{m: "999" for m in MEASURES})  # 15 measures out of range
    with pytest.raises(DataError) as info:
        load_register(frame)
    assert len(info.value.problems) == 15
    assert len(str(info.value)) < 1400
    assert re.search(r"and \d+ more problem\(s\) \(mbtbayes validate lists every one\)$",
                     str(info.value))
