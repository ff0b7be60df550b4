"""Every bad input reaches the user as one line and a non-zero exit, and leaves nothing behind.

Table-driven: each case builds one bad input in a temporary folder (a data file, a mapping, an
option value, a model-spec folder, an output folder), runs ``mbtbayes.cli.main`` and checks

- the exit status (2: bad input; docs/usage.md, "Exit status and error messages"),
- exactly one ``mbtbayes: error: ...`` line on stderr, the last one, saying what is wrong,
- no traceback,
- that the folder holds exactly what the case put there: no output folder, no temporary folder.

Cases that fail before any data are read print nothing else on stderr. Every ``reanalyze`` case
fails before sampling, so each takes well under a second once the package is imported.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from mbtbayes.cli import main
from mbtbayes.growth.specs import models_dir


@dataclass(frozen=True)
class Case:
    """One bad input: ``build(folder, small)`` makes the files and returns the arguments."""

    name: str
    build: Callable[[Path, pd.DataFrame], list[str]]
    says: str
    status: int = 2
    silent: bool = True  # nothing but the error line on stderr (failed before any logging)


def data(write: Callable[[Path, pd.DataFrame], None], *extra: str, name: str = "r.csv",
         command: str = "reanalyze"):
    """Arguments that run ``command`` on a data file written by ``write``."""

    def build(folder: Path, small: pd.DataFrame) -> list[str]:
        path = folder / name
        write(path, small)
        out = [] if command == "validate" else ["--out", str(folder / "out")]
        return [command, "--data", str(path), *out, *extra]

    return build


def csv(change: Callable[[pd.DataFrame], pd.DataFrame | None]):
    """Write ``small`` as CSV after ``change`` (which may change it in place)."""

    def write(path: Path, small: pd.DataFrame) -> None:
        changed = change(small)
        (small if changed is None else changed).to_csv(path, index=False)

    return write


def raw_bytes(content: bytes):
    def write(path: Path, _: pd.DataFrame) -> None:
        path.write_bytes(content)

    return write


def with_mapping(text: str | bytes, change=lambda s: None):
    """Reanalyze the (changed) small register with a mapping file holding ``text``."""

    def build(folder: Path, small: pd.DataFrame) -> list[str]:
        path, mapping = folder / "r.csv", folder / "mapping.toml"
        csv(change)(path, small)
        if isinstance(text, bytes):
            mapping.write_bytes(text)
        else:
            mapping.write_text(text, encoding="utf-8")
        return ["reanalyze", "--data", str(path), "--mapping", str(mapping),
                "--out", str(folder / "out")]

    return build


def options(*args: str):
    def build(folder: Path, small: pd.DataFrame) -> list[str]:
        csv(lambda s: None)(folder / "r.csv", small)
        return [*args[:1], "--data", str(folder / "r.csv"), "--out", str(folder / "out"),
                *args[1:]]

    return build


def specs(edit: Callable[[str], str] | None, *, files: dict[str, str] | None = None):
    """Reanalyze the bundled register with a specs folder: bsi.toml changed by ``edit``."""

    def build(folder: Path, _: pd.DataFrame) -> list[str]:
        models = folder / "models"
        models.mkdir()
        if edit is not None:
            text = (models_dir() / "bsi.toml").read_text(encoding="utf-8")
            changed = edit(text)
            assert changed != text, "the edit no longer matches bsi.toml: the case tests nothing"
            (models / "bsi.toml").write_text(changed, encoding="utf-8")
        for name, text in (files or {}).items():
            (models / name).write_text(text, encoding="utf-8")
        return ["reanalyze", "--models", str(models), "--out", str(folder / "out")]

    return build


def output(make: Callable[[Path], Path], command: str = "reanalyze"):
    def build(folder: Path, small: pd.DataFrame) -> list[str]:
        return [command, "--out", str(make(folder))]

    return build


def user_folder(folder: Path) -> Path:
    (folder / "mine").mkdir()
    (folder / "mine" / "notes.txt").write_text("mine")
    return folder / "mine"


def user_file(folder: Path) -> Path:
    (folder / "register.csv").write_text("patient_id,period\nP1,I\n")
    return folder / "register.csv"


def period_only(label: str):
    def change(s: pd.DataFrame) -> pd.DataFrame:
        return s[s["period"] == label]

    return change


def patients(n: int):
    def change(s: pd.DataFrame) -> pd.DataFrame:
        keep = [p for period in ("I", "II")
                for p in s.loc[s["period"] == period, "patient_id"].unique()[:n]]
        return s[s["patient_id"].isin(keep)]

    return change


def setting(column: str, row: int, value: str | None):
    def change(s: pd.DataFrame) -> None:
        s.loc[row, column] = value

    return change


def both_periods(s: pd.DataFrame) -> None:
    first = s["patient_id"].iloc[0]
    s.loc[s.index[s["patient_id"] == first][-1], "period"] = "II"


def varying_dropout(s: pd.DataFrame) -> None:
    first = s["patient_id"].iloc[0]
    last = s.index[s["patient_id"] == first][-1]
    s.loc[last, "dropout"] = "1" if s.loc[0, "dropout"] in ("0", "0.0") else "0"


def measures_empty(s: pd.DataFrame) -> None:
    from mbtbayes.io.schema import MEASURES

    s[[m for m in MEASURES if m in s]] = None


def duplicated_header(path: Path, small: pd.DataFrame) -> None:
    path.write_text(small.to_csv(index=False).replace(",cip,", ",bsi,", 1))


def xlsx_bytes() -> bytes:
    import io

    from openpyxl import Workbook

    buffer = io.BytesIO()
    Workbook().save(buffer)
    return buffer.getvalue()


def sav_with_labels(path: Path, small: pd.DataFrame) -> None:
    import pyreadstat

    frame = small[["patient_id", "months", "assessment", "bsi"]].astype(
        {"months": float, "assessment": float, "bsi": float})
    frame.insert(1, "period", small["period"].map({"I": 1.0, "II": 2.0}))
    pyreadstat.write_sav(frame, str(path), variable_value_labels={
        "period": {1.0: "Periode 1", 2.0: "Periode 2"}})


MAPPING_COLUMNS = '[columns]\npatient_id = "patient_id"\n'
CASES: list[Case] = [
    # option values: checked before any data is read
    Case("draws 0", options("reanalyze", "--draws", "0"),
         "argument --draws: must be a whole number >= 1, got '0'"),
    Case("chains 0", options("reanalyze", "--chains", "0"),
         "argument --chains: must be a whole number >= 1, got '0'"),
    Case("draws negative", options("reanalyze", "--draws", "-5"), "argument --draws"),
    Case("draws not a number", options("reanalyze", "--draws", "many"),
         "must be a whole number >= 1, got 'many'"),
    Case("seed negative", options("reanalyze", "--seed", "-1"),
         "argument --seed: must be a whole number >= 0"),
    Case("unknown sampler", options("reanalyze", "--sampler", "stan"),
         "argument --sampler: invalid choice: 'stan'"),
    Case("unknown encoding", options("reanalyze", "--encoding", "klingon"),
         "unknown encoding 'klingon'"),
    Case("unknown option", options("reanalyze", "--iterations", "10"), "unrecognized arguments"),
    Case("models folder missing", options("reanalyze", "--models", "no-such-folder"),
         "--models no-such-folder: no such folder of model specs"),
    Case("scale 0", lambda f, s: ["simulate", "--out", str(f / "s.csv"), "--scale", "0"],
         "argument --scale: must be a whole number >= 1, got '0'"),
    Case("validate without data", lambda f, s: ["validate"],
         "the following arguments are required: --data"),
    # files that cannot be read
    Case("data file missing", lambda f, s: ["reanalyze", "--data", str(f / "no.csv"), "--out",
                                            str(f / "out")], "data file not found"),
    Case("data is a folder", lambda f, s: ["reanalyze", "--data", str(f), "--out",
                                           str(f / "out")], "is a folder; --data takes a file"),
    Case("empty file", data(raw_bytes(b"")), "the file is empty (0 bytes)"),
    Case("blank lines only", data(raw_bytes(b"\r\n\r\n")), "the file is empty (no header"),
    Case("xlsx renamed csv", data(raw_bytes(xlsx_bytes())),
         "looks like an Excel .xlsx workbook (a zip file); rename it to .xlsx"),
    Case("xls renamed csv", data(raw_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")),
         "old Excel .xls workbook (or a password-protected one); save it from Excel as .xlsx"),
    Case("sav renamed csv", data(sav_with_labels, name="r.sav.csv"),
         "an SPSS .sav file; rename it to .sav"),
    Case("csv renamed xlsx", data(csv(lambda s: None), name="r.xlsx"),
         "it is text, not a workbook; rename it to .csv"),
    Case("old xls", data(raw_bytes(b"\xd0\xcf\x11\xe0"), name="r.xls"),
         "old Excel .xls files are not supported"),
    Case("unknown suffix", data(raw_bytes(b"{}"), name="r.json"),
         "use a .csv, .xlsx, .parquet or .sav file"),
    Case("damaged sav", data(raw_bytes(b"$FL2 not really"), name="r.sav"),
         "cannot read"),
    Case("damaged parquet", data(raw_bytes(b"PAR1 not really"), name="r.parquet"),
         "as a Parquet file"),
    Case("ragged lines", data(raw_bytes(b"patient_id;period\nP1;I;3\n")),
         "line 2 has 3 fields where the header has 2"),
    Case("named encoding does not fit",
         data(raw_bytes("patient_id\nSøren\n".encode("cp1252")), "--encoding", "utf-8"),
         "cannot be read as utf-8 text: byte 0xf8 on line 2"),
    # data that do not fit the schema
    Case("header only", data(csv(lambda s: s.head(0))),
         "the file has a header but no data rows"),
    Case("duplicated column names", data(duplicated_header),
         "column name(s) used more than once in the header: 'bsi' (columns 6 and 7)"),
    Case("missing key columns", data(csv(lambda s: s.drop(columns=["months", "assessment"]))),
         "missing required column(s): months, assessment"),
    Case("no measure column", data(csv(lambda s: s[["patient_id", "period", "months",
                                                     "assessment"]])),
         "no measure column found"),
    Case("unknown period label", data(csv(setting("period", 4, "III"))),
         "column 'period': unknown label(s) 'III' (row 5)"),
    Case("single period", data(csv(period_only("I"))), "every patient is in period I"),
    Case("one assessment each", data(csv(lambda s: s.groupby("patient_id").head(1))),
         "every patient has a single assessment"),
    Case("too few patients", data(csv(patients(3))),
         "too few patients for a growth model: period I has 3, period II has 3"),
    Case("two patients", data(csv(patients(1))), "too few patients for a growth model"),
    Case("value out of range", data(csv(setting("bsi", 0, "4.5"))),
         "column 'bsi': value(s) outside 0-4"),
    Case("non-numeric value", data(csv(setting("wsas", 2, "twelve"))),
         "column 'wsas': non-numeric value(s) 'twelve' at row 3"),
    Case("negative months", data(csv(setting("months", 1, "-2"))),
         "column 'months': negative value(s) '-2' at row 2"),
    Case("missing patient id", data(csv(setting("patient_id", 3, None))),
         "column 'patient_id': missing value(s) at row(s) 4"),
    Case("duplicate assessment", data(csv(lambda s: pd.concat([s, s.head(1)]))),
         "duplicate (patient_id, assessment) rows"),
    Case("patient in both periods", data(csv(both_periods)), "patient(s) in both periods"),
    Case("patient field varies", data(csv(varying_dropout)), "column 'dropout' differs"),
    Case("every measure empty", data(csv(measures_empty)),
         "patient(s) with no assessment (every measure missing)"),
    Case("validate: bad value", data(csv(setting("bsi", 0, "9")), command="validate"),
         "1 problem(s), listed above"),
    # mappings
    Case("mapping file missing", lambda f, s: ["reanalyze", "--mapping", str(f / "m.toml"),
                                               "--out", str(f / "out")],
         "mapping file not found"),
    Case("mapping not TOML", with_mapping("[columns\n"), "is not valid TOML"),
    Case("mapping unknown table", with_mapping("[colums]\n"), "did you mean 'columns'"),
    Case("mapping unknown schema name", with_mapping('[columns]\npatient = "pasnr"\n'),
         "'patient' (did you mean 'patient_id'?)"),
    Case("mapping two names one column", with_mapping('[columns]\nbsi = "gaf"\ncip = "gaf"\n'),
         "names the same column for two schema names: 'gaf' for bsi and cip"),
    Case("mapping renames onto a column the file has",
         with_mapping('[columns]\nbsi = "bsi_gsi"\n',
                      lambda s: s.assign(bsi_gsi=s["bsi"])),
         "the mapping takes column 'bsi_gsi' as bsi, but the file also has a column named 'bsi'"),
    Case("mapping names an absent column", with_mapping('[columns]\nbsi = "bsi_total"\n'),
         "the mapping names column 'bsi_total' for bsi, but the file has no such column"),
    Case("mapping onto an unknown value", with_mapping('[values.period]\n"1" = "one"\n'),
         "[values.period] maps '1' to 'one', which the schema does not know"),
    Case("mapping missing codes not codes", with_mapping('missing_codes = [true, 99]\n'),
         "missing_codes must be a list of codes, numbers or text"),
    Case("mapping with two mistakes", with_mapping('[columns]\npatient = "pasnr"\n'
                                                   '[values.period]\n"1" = "one"\n'),
         "the mapping has 2 mistake(s): unknown key(s) in [columns]: 'patient' (did you mean "
         "'patient_id'?)"),
    Case("mapping not UTF-8", with_mapping('[columns]\nbsi = "sk\xe5r"\n'.encode("cp1252")),
         "is not UTF-8 text"),
    Case("mapping is a folder", lambda f, s: ["reanalyze", "--mapping", str(f), "--out",
                                              str(f / "out")], "is a folder"),
    Case("labels left unmapped", data(sav_with_labels, name="r.sav"),
         "unknown label(s) 'Periode 1' (code 1;"),
    # model specs (fail after the data are described, before any sampling)
    Case("specs folder empty", specs(None), "no *.toml model specs in", silent=False),
    Case("spec unknown key", specs(lambda t: t.replace("kind =", "knid =")),
         "'knid' (did you mean 'kind'?)", silent=False),
    Case("spec not TOML", specs(lambda t: t + "\n[rope\n"), "bsi.toml: not valid TOML",
         silent=False),
    Case("spec formula of another measure",
         specs(lambda t: t.replace('linear = "bsi ~', 'linear = "cip ~')),
         "formula 'linear' models 'cip', but measure is 'bsi'", silent=False),
    Case("spec unknown distribution",
         specs(lambda t: t.replace('sigma = { dist = "HalfNormal", sigma = 0.5 }',
                                   'sigma = { dist = "HalfNormall", sigma = 0.5 }')),
         "dist must be one of", silent=False),
    Case("spec unknown family", specs(lambda t: t.replace('"gaussian"', '"poisson"')),
         "family 'poisson' is not supported", silent=False),
    # output folders: refused before any work
    Case("out is a file", output(user_file), "is a file, not a folder"),
    Case("out holds other files", output(user_folder),
         "it holds files mbtbayes did not write (notes.txt)"),
    Case("out holds the data", lambda f, s: ["reanalyze", "--data", str(user_file(f)), "--out",
                                             str(f)], "would replace the data file"),
    Case("published into a user folder", output(user_folder, "published"),
         "it holds files mbtbayes did not write"),
    Case("simulate over a user file", output(user_file, "simulate"),
         "refusing to write over"),
    Case("simulate into a folder", output(user_folder, "simulate"),
         "is a folder; name a .csv file to write"),
]


def files_in(folder: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None
            for p in folder.rglob("*")}


def test_there_are_enough_cases():
    assert len(CASES) >= 40
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Case, tmp_path, small, capsys, monkeypatch):
    monkeypatch.delenv("MBTBAYES_DEBUG", raising=False)
    monkeypatch.chdir(tmp_path)
    args = case.build(tmp_path, small)
    before = files_in(tmp_path)
    capsys.readouterr()
    assert main(args) == case.status
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.splitlines()
    errors = [line for line in lines if line.startswith("mbtbayes: error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], err
    assert case.says in errors[0], errors[0]
    if case.silent:
        assert len(lines) == 1, err
    assert files_in(tmp_path) == before  # no output, no temporary folder, nothing changed


def test_a_real_process_prints_one_line_and_exits_2(tmp_path):
    """The installed entry point, in a fresh interpreter: status and stderr as a user sees them."""
    (tmp_path / "r.csv").write_bytes(b"PK\x03\x04 an xlsx renamed")
    done = subprocess.run([sys.executable, "-m", "mbtbayes.cli", "reanalyze", "--data",
                           str(tmp_path / "r.csv"), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, check=False, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == (f"mbtbayes: error: cannot read {tmp_path / 'r.csv'} as text: it "
                           "looks like an Excel .xlsx workbook (a zip file); rename it to .xlsx\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv"]


@pytest.mark.slow
def test_a_sampler_failure_in_a_real_process(tmp_path):
    """A negative prior scale, which nutpie fails on (RuntimeError "All initialization points
    failed"; measured exit status 139 at the interpreter's shutdown before the CLI ended such
    failures at once). Once specs reject negative scales when loaded, the run stops at the spec
    (status 2) instead. Slow: nutpie compiles the model first (about a minute on 2 cores)."""
    models = tmp_path / "models"
    models.mkdir()
    text = (models_dir() / "bsi.toml").read_text(encoding="utf-8")
    bad = 'sigma = { dist = "HalfNormal", sigma = -1.0 }'
    (models / "bsi.toml").write_text(
        text.replace('sigma = { dist = "HalfNormal", sigma = 0.5 }', bad, 1), encoding="utf-8")
    assert bad in (models / "bsi.toml").read_text(encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "mbtbayes.cli", "reanalyze", "--models",
                           str(models), "--quick", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, check=False, cwd=tmp_path)
    assert done.returncode in (1, 2), done.returncode
    lines = done.stderr.splitlines()
    assert "Traceback" not in done.stderr and "Stack backtrace" not in done.stderr
    assert [line for line in lines if line.startswith("mbtbayes: error: ")] == [lines[-1]]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models"]
