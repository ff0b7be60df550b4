"""Reading what clinics export: .xlsx, ';' with decimal commas, Windows-1252, UTF-16, SPSS labels.

Each file is written here byte by byte (or by openpyxl / pyreadstat, not by the package), and the
values read back are compared with the values put in.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mbtbayes.core.errors import DataError, SpecError
from mbtbayes.io.read import read_raw, read_table
from mbtbayes.io.register import load_register, validate_register

NAMES = ("Ærlig", "Søren", "Åse")


def test_xlsx_written_with_openpyxl(tmp_path, small):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Register"
    columns = ["patient_id", "period", "months", "assessment", "bsi", "gaf"]
    sheet.append(columns)
    for row in small[columns].itertuples(index=False):
        pid, period, months, assessment, bsi, gaf = row
        sheet.append([pid, period, float(months), int(float(assessment)),
                      None if bsi is None else float(bsi), None if gaf is None else float(gaf)])
    book.create_sheet("Notes").append(["not data"])
    path = tmp_path / "register.xlsx"
    book.save(path)

    reg = load_register(path)
    expected = small.sort_values(["patient_id", "assessment"], key=_natural, kind="stable")
    assert reg.data["patient_id"].tolist() == expected["patient_id"].tolist()
    np.testing.assert_allclose(reg.data["bsi"], expected["bsi"].astype(float), equal_nan=True)
    assert reg.measures == ("bsi", "gaf")
    assert reg.warnings == ("register.xlsx has 2 sheets; read the first, 'Register' (put the "
                            "register in the first sheet)",)


def _natural(column: pd.Series) -> pd.Series:
    return column.astype(float) if column.name == "assessment" else column


def test_semicolon_and_decimal_commas(tmp_path):
    text = ("pasnr;periode;mnd;maaling;bsi;kommentar\r\n"
            "P1;I;0;1;1,5;ok, fin\r\n"
            "P1;I;6,5;2;0,25;\r\n"
            "P2;II;0;1;2;\r\n")
    path = tmp_path / "r.csv"
    path.write_bytes(text.encode("utf-8"))
    raw = read_raw(path)
    assert raw.decimal_comma and raw.warnings == ()
    assert raw.frame.columns.tolist() == ["pasnr", "periode", "mnd", "maaling", "bsi", "kommentar"]
    assert raw.frame["kommentar"].tolist()[0] == "ok, fin"  # text outside the schema untouched
    from mbtbayes.io.mapping import ColumnMapping, apply_mapping, convert_types

    spec = ColumnMapping({"patient_id": "pasnr", "period": "periode", "months": "mnd",
                          "assessment": "maaling"}, {})
    frame, _ = apply_mapping(raw.frame, spec)
    frame, problems, _ = convert_types(frame, spec, decimal_comma=raw.decimal_comma)
    assert problems == []
    assert frame["bsi"].tolist() == [1.5, 0.25, 2.0]
    assert frame["months"].tolist() == [0.0, 6.5, 0.0]


def test_comma_separated_file_does_not_take_decimal_commas(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text('patient_id,period,months,assessment,bsi\nP1,I,0,1,"1,5"\n')
    raw = read_raw(path)
    assert not raw.decimal_comma
    problems = validate_register(path).problems
    assert "column 'bsi': non-numeric value(s) '1,5' at row 1" in problems


def test_windows_1252_file_is_detected_with_a_warning(tmp_path):
    rows = "".join(f"{name};I;0;1;1,0\r\n" for name in NAMES)
    path = tmp_path / "r.csv"
    path.write_bytes(("patient_id;period;months;assessment;bsi\r\n" + rows).encode("cp1252"))
    raw = read_raw(path)
    assert raw.frame["patient_id"].tolist() == list(NAMES)
    (warning,) = raw.warnings
    assert warning.startswith(f"{path} is not UTF-8 text (line 2); read it as Windows-1252")
    named = read_raw(path, encoding="cp1252")
    assert named.frame["patient_id"].tolist() == list(NAMES) and named.warnings == ()


def test_named_encoding_that_does_not_fit(tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes("patient_id\nSøren\n".encode("cp1252"))
    with pytest.raises(DataError, match=r"cannot be read as utf-8 text: byte 0xf8 on line 2"):
        read_table(path, encoding="utf-8")
    with pytest.raises(DataError, match="unknown encoding 'klingon'"):
        read_table(path, encoding="klingon")


def test_utf8_with_bom_and_crlf_and_utf16_tabs(tmp_path):
    text = "patient_id,bsi\r\n" + "".join(f"{n},1\r\n" for n in NAMES)
    bom = tmp_path / "bom.csv"
    bom.write_bytes(text.encode("utf-8-sig"))
    raw = read_raw(bom)
    assert raw.frame.columns.tolist() == ["patient_id", "bsi"]  # no BOM in the first name
    assert raw.frame["patient_id"].tolist() == list(NAMES) and raw.warnings == ()
    unicode_text = tmp_path / "export.txt"  # Excel's "Unicode text": UTF-16 with tabs
    unicode_text.write_bytes(text.replace(",", "\t").encode("utf-16"))
    raw = read_raw(unicode_text)
    assert raw.frame["patient_id"].tolist() == list(NAMES) and raw.decimal_comma


def test_spreadsheet_trailing_separators_and_empty_rows(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("patient_id;bsi;;\nP1;1;;\nP2;2;;\n;;;\n;;;\n")
    frame = read_table(path)
    assert frame.columns.tolist() == ["patient_id", "bsi"]
    assert frame["patient_id"].tolist() == ["P1", "P2"]


def test_duplicate_column_names_are_refused_not_renamed(tmp_path, small):
    path = tmp_path / "r.csv"
    text = small.to_csv(index=False).replace(",cip,", ",bsi,", 1)  # dataset,...,bsi,bsi,...
    path.write_text(text)
    assert read_table(path).columns.tolist().count("bsi") == 2  # no 'bsi.1' made up
    result = validate_register(path)
    assert result.problems == ("column name(s) used more than once in the header: 'bsi' "
                               "(columns 6 and 7); give each column its own name",)


def _labelled_sav(tmp_path, synthetic):
    import pyreadstat

    source = synthetic[synthetic["patient_id"].isin(_ids(synthetic))]
    frame = pd.DataFrame({
        "pasnr": source["patient_id"], "periode": source["period"].map({"I": 1.0, "II": 2.0}),
        "mnd": source["months"], "maaling": source["assessment"].astype(float),
        "bsi_gsi": source["bsi"],
        "kjonn": source["gender"].map({"female": 1.0, "male": 2.0, "other": 3.0}),
        "frafall": source["dropout"].map({0.0: 2.0, 1.0: 1.0}),
    })
    path = tmp_path / "register.sav"
    pyreadstat.write_sav(frame, str(path), variable_value_labels={
        "periode": {1.0: "Periode 1", 2.0: "Periode 2"},
        "kjonn": {1.0: "female", 2.0: "male", 3.0: "other"},
        "frafall": {1.0: "Ja", 2.0: "Nei"}})
    return path, source


def _ids(synthetic) -> list[str]:
    return [pid for period in ("I", "II")
            for pid in synthetic.loc[synthetic["period"] == period, "patient_id"].unique()[:8]]


COLUMNS = {"patient_id": "pasnr", "period": "periode", "months": "mnd", "assessment": "maaling",
           "bsi": "bsi_gsi", "gender": "kjonn", "dropout": "frafall"}


@pytest.mark.parametrize("period_values", [
    {"1": "I", "2": "II"},                      # by code, as the README's example
    {"Periode 1": "I", "Periode 2": "II"},      # by SPSS value label
    {"1": "I", "Periode 2": "II"},              # mixed
])
def test_spss_value_labels_by_code_or_by_label(tmp_path, synthetic, period_values):
    path, source = _labelled_sav(tmp_path, synthetic)
    mapping = {"columns": COLUMNS,
               "values": {"period": period_values, "dropout": {"Ja": "1", "Nei": "0"}}}
    reg = load_register(path, mapping=mapping)
    by_id = source.set_index(["patient_id", "assessment"]).sort_index()
    got = reg.data.set_index(["patient_id", "assessment"]).sort_index()
    assert got["period"].astype(str).tolist() == by_id["period"].tolist()
    assert got["gender"].astype(str).tolist() == by_id["gender"].tolist()  # labels = levels
    assert got["dropout"].tolist() == by_id["dropout"].tolist()  # "Ja"/"Nei" by label
    assert reg.warnings == ()


def test_spss_unknown_label_counted_once_and_unused_keys_named(tmp_path, synthetic):
    path, source = _labelled_sav(tmp_path, synthetic)
    mapping = {"columns": COLUMNS, "values": {"period": {"1": "I", "Periode II": "II"}}}
    problems = validate_register(path, mapping=mapping).problems
    n_second = int((source["period"] == "II").sum())
    first_row = int(np.flatnonzero(source["period"].to_numpy() == "II")[0]) + 1
    assert (f"column 'period': unknown label(s) 'Periode 2' (code 2; {n_second} rows, first "
            f"{first_row}); expected I or II (map your codes under [values.period]); the "
            "mapping's key(s) 'Periode II' matched no value in the data") in problems


def test_mapping_onto_a_value_the_schema_does_not_know():
    from mbtbayes.io.mapping import read_mapping

    with pytest.raises(SpecError, match=r"\[values.period\] maps '1' to 'i' \(did you mean "
                                        r"'I'\?\), which the schema does not know; map onto I "
                                        r"or II"):
        read_mapping({"values": {"period": {"1": "i"}}})
    with pytest.raises(SpecError, match=r"maps 'ja' to 'yes'.*map onto 0 or 1"):
        read_mapping({"values": {"dropout": {"ja": "yes"}}})


def test_unreadable_files_name_the_cause(tmp_path, small):
    cases = {
        "empty.csv": (b"", "the file is empty (0 bytes)"),
        "blank.csv": (b"\n \r\n", "the file is empty (no header, no rows)"),
        "zip.csv": (b"PK\x03\x04rest", "looks like an Excel .xlsx workbook (a zip file); "
                                       "rename it to .xlsx"),
        "old.csv": (b"\xd0\xcf\x11\xe0rest", "old Excel .xls workbook"),
        "spss.csv": (b"$FL2rest", "an SPSS .sav file; rename it to .sav"),
        "text.xlsx": (b"patient_id,bsi\n", "it is text, not a workbook; rename it to .csv"),
        "bad.sav": (b"not spss", "cannot read"),
        "bad.parquet": (b"not parquet", "as a Parquet file"),
        "ragged.csv": (b"a;b\n1;2;3\n", "read as semicolon-separated, but line 2 has 3 fields "
                                       "where the header has 2"),
        "x.xls": (b"\xd0\xcf\x11\xe0", "old Excel .xls files are not supported"),
        "x.json": (b"{}", "use a .csv, .xlsx, .parquet or .sav file"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(DataError) as info:
            read_table(path)
        assert message in str(info.value) and str(path) in str(info.value), name
        assert "\n" not in str(info.value)
