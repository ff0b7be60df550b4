"""The command line: exit codes, one-line errors, what it says it ran on."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mbtbayes.cli import main


def test_validate_bad_file_exits_nonzero_with_one_line(tmp_path, small, capsys):
    small.loc[0, "bsi"] = "5"
    path = tmp_path / "bad.csv"
    small.to_csv(path, index=False)
    assert main(["validate", "--data", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"mbtbayes: error: {path}: 1 problem(s): column 'bsi'")


def test_validate_good_file_prints_summary(tmp_path, synthetic, capsys):
    path = tmp_path / "ok.csv"
    synthetic.to_csv(path, index=False)
    assert main(["validate", "--data", str(path)]) == 0
    out = capsys.readouterr().out
    assert "SYNTHETIC register" in out and "assessments_mean" in out and "pct_missing" in out


def test_bad_mapping_is_an_error_not_a_traceback(tmp_path, capsys):
    mapping = tmp_path / "m.toml"
    mapping.write_text("[colums]\n")
    assert main(["validate", "--data", "x.csv", "--mapping", str(mapping)]) == 2
    assert "did you mean 'columns'" in capsys.readouterr().err


def test_simulate_writes_csv(tmp_path, capsys):
    out = tmp_path / "sim.csv"
    assert main(["simulate", "--out", str(out), "--seed", "3"]) == 0
    assert out.read_text().startswith("dataset,patient_id,period,months,assessment")
    assert "SYNTHETIC" in capsys.readouterr().out


@pytest.mark.parametrize("args", [["--help"], ["validate", "--help"]])
def test_console_script_runs(args):
    done = subprocess.run([sys.executable, "-m", "mbtbayes.cli", *args], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0 and "usage: mbtbayes" in done.stdout
