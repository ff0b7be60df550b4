"""The command line: exit codes, one-line errors, what it says it ran on.

The exit statuses and the one-line form are the CLI's documented contract (docs/usage.md,
"Exit status and error messages"); each test checks one of them from the outside: the status,
the lines printed.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import mbtbayes.pipeline
from mbtbayes.cli import main
from mbtbayes.core.errors import ConvergenceError, DataError


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("mbtbayes: error: ") and "Traceback" not in err
    return lines[0].removeprefix("mbtbayes: error: ")


def test_validate_bad_file_lists_problems_and_exits_2(tmp_path, small, capsys):
    small.loc[0, "bsi"] = "5"
    small.loc[1, "gaf"] = "0"
    path = tmp_path / "bad.csv"
    small.to_csv(path, index=False)
    assert main(["validate", "--data", str(path)]) == 2
    captured = capsys.readouterr()
    assert one_error_line(captured.err) == (f"{path}: 2 problem(s), listed above; fix them and "
                                            "run validate again")
    assert captured.out.splitlines() == [
        f"{path}: 2 problem(s)",
        "  problem: column 'bsi': value(s) outside 0-4 (BSI-18 global mean) '5' at row 1",
        "  problem: column 'gaf': value(s) outside 1-100 (GAF) '0' at row 2"]


def test_validate_good_file_prints_summary(tmp_path, synthetic, capsys):
    path = tmp_path / "ok.csv"
    synthetic.to_csv(path, index=False)
    assert main(["validate", "--data", str(path)]) == 0
    captured = capsys.readouterr()
    assert "SYNTHETIC register" in captured.out and "pct_missing" in captured.out
    assert captured.out.rstrip().endswith("OK: no problems found.") and captured.err == ""


def test_validate_with_warnings_exits_0_and_prints_them(tmp_path, small, capsys):
    small["gaf"] = None
    path = tmp_path / "r.csv"
    path.write_bytes(small.to_csv(index=False, sep=";").replace("SYN", "Søren").encode("cp1252"))
    assert main(["validate", "--data", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"  warning: {path} is not UTF-8 text (line 2); read it as Windows-1252" in out
    assert "  warning: column 'gaf' has no values at all: treated as absent, not analysed" in out
    assert out.rstrip().endswith("OK: no problems found (2 warning(s) above).")
    assert main(["validate", "--data", str(path), "--encoding", "cp1252"]) == 0
    assert "not UTF-8" not in capsys.readouterr().out


def test_bad_mapping_is_an_error_not_a_traceback(tmp_path, capsys):
    mapping = tmp_path / "m.toml"
    mapping.write_text("[colums]\n")
    assert main(["validate", "--data", "x.csv", "--mapping", str(mapping)]) == 2
    assert "did you mean 'columns'" in one_error_line(capsys.readouterr().err)


def test_simulate_writes_csv_and_never_over_a_file_it_did_not_write(tmp_path, capsys):
    out = tmp_path / "sim.csv"
    assert main(["simulate", "--out", str(out), "--seed", "3"]) == 0
    assert out.read_text().startswith("dataset,patient_id,period,months,assessment")
    assert "SYNTHETIC" in capsys.readouterr().out
    assert main(["simulate", "--out", str(out), "--seed", "4"]) == 0  # its own output: replaced
    register = tmp_path / "register.csv"
    register.write_text("patient_id,period\nP1,I\n")
    assert main(["simulate", "--out", str(register)]) == 2
    assert one_error_line(capsys.readouterr().err).startswith(
        f"refusing to write over {register}: it is not a synthetic register")
    assert register.read_text() == "patient_id,period\nP1,I\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["register.csv", "sim.csv"]


class PanicException(BaseException):
    """Stands for pyo3's PanicException (nutpie's Rust panics), which is a BaseException."""


@pytest.mark.parametrize(("error", "status", "line"), [
    (DataError("r.csv: 1 problem(s): x"), 2, "r.csv: 1 problem(s): x"),
    (ConvergenceError("bsi: did not converge"), 2, "bsi: did not converge"),
    (ValueError("cannot convert\nfloat NaN"), 1,
     "unexpected error (this is a bug; please report it): ValueError: cannot convert float NaN"),
    (TypeError("arg must be a list"), 1,
     "unexpected error (this is a bug; please report it): TypeError: arg must be a list"),
    (IndexError("index 2 is out of bounds"), 1,
     "unexpected error (this is a bug; please report it): IndexError: index 2 is out of bounds"),
    (PanicException("called `Option::unwrap()` on a `None` value"), 1,
     "unexpected error (this is a bug; please report it): PanicException: called "
     "`Option::unwrap()` on a `None` value"),
    (KeyboardInterrupt(), 130, "interrupted by the user (Ctrl-C)"),
])
def test_every_failure_is_one_line(monkeypatch, tmp_path, capsys, error, status, line):
    def fail(**_):
        raise error

    monkeypatch.delenv("MBTBAYES_DEBUG", raising=False)
    monkeypatch.setattr(mbtbayes.pipeline, "reanalyze", fail)
    assert main(["reanalyze", "--out", str(tmp_path / "out")]) == status
    assert one_error_line(capsys.readouterr().err) == line


def test_closed_output_pipe_is_not_an_error(monkeypatch, tmp_path, capsys):
    def closed(**_):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(mbtbayes.pipeline, "reanalyze", closed)
    assert main(["reanalyze", "--out", str(tmp_path / "out")]) == 141
    assert capsys.readouterr().err == ""


def test_debug_variable_shows_the_traceback(monkeypatch, tmp_path):
    def fail(**_):
        raise IndexError("index 2 is out of bounds")

    monkeypatch.setattr(mbtbayes.pipeline, "reanalyze", fail)
    monkeypatch.setenv("MBTBAYES_DEBUG", "1")
    with pytest.raises(IndexError):
        main(["reanalyze", "--out", str(tmp_path / "out")])
    monkeypatch.setenv("MBTBAYES_DEBUG", "0")
    assert main(["reanalyze", "--out", str(tmp_path / "out")]) == 1


@pytest.mark.parametrize("option", [["--draws", "0"], ["--chains", "0"], ["--seed", "-1"],
                                    ["--draws", "many"], ["--encoding", "klingon"]])
def test_options_are_checked_before_the_data(monkeypatch, tmp_path, capsys, option):
    def never(**_):
        raise AssertionError("the pipeline must not start")

    monkeypatch.setattr(mbtbayes.pipeline, "reanalyze", never)
    missing = tmp_path / "missing.csv"
    assert main(["reanalyze", "--data", str(missing), *option]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith(f"argument {option[0]}: ") and "missing.csv" not in line
    assert line.endswith("(see mbtbayes reanalyze --help)")


@pytest.mark.parametrize("args", [["--help"], ["validate", "--help"]])
def test_console_script_runs(args):
    done = subprocess.run([sys.executable, "-m", "mbtbayes.cli", *args], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0 and "usage: mbtbayes" in done.stdout


def test_joint_flag_reaches_reanalyze(monkeypatch, tmp_path):
    seen = {}

    def record(**kwargs):
        seen.update(kwargs)
        return tmp_path

    monkeypatch.setattr(mbtbayes.pipeline, "reanalyze", record)
    assert main(["reanalyze", "--quiet", "--out", str(tmp_path / "o")]) == 0
    assert seen["joint"] is False  # off by default
    assert main(["reanalyze", "--quiet", "--joint", "--out", str(tmp_path / "o")]) == 0
    assert seen["joint"] is True


@pytest.mark.parametrize("signum", ["SIGTERM", "SIGINT"])
def test_a_signal_the_sampler_swallows_is_raised_when_it_returns(signum):
    """nutpie and PyMC answer an exception from a signal handler by returning; when they have
    every draw already, the run must still stop: the sampling path raises it again, once."""
    import os
    import signal

    import arviz as az
    import numpy as np

    from mbtbayes.cli import Interrupted, Terminated, _signals_raise
    from mbtbayes.core.sampling import whole

    full = az.from_dict(posterior={"x": np.zeros((2, 5))})
    expected = Terminated if signum == "SIGTERM" else Interrupted
    with _signals_raise():
        try:  # the sampler: checks signals, swallows the exception, returns every draw
            os.kill(os.getpid(), getattr(signal, signum))
            for _ in range(1000):
                pass
        except BaseException:  # noqa: BLE001 (what the sampler does)
            pass
        with pytest.raises(expected):
            whole(full, chains=2, draws=5)
        assert whole(full, chains=2, draws=5) is full


def test_a_signal_raised_in_a_weakref_callback_is_not_printed_and_raised_later(monkeypatch):
    """Python cannot pass on an exception raised in a weakref callback (it reports it to
    ``sys.unraisablehook``, which prints "Exception ignored"): a signal's exception there is
    kept quiet and raised at the next stage; any other such exception is reported as before."""
    import os
    import signal
    import sys
    import weakref

    from mbtbayes.cli import Terminated, _signals_raise
    from mbtbayes.core import interrupts

    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)

    class Thing:
        pass

    def dropped(callback) -> None:
        thing = Thing()
        ref = weakref.ref(thing, callback)
        del thing
        assert ref() is None

    def signalled(_):
        os.kill(os.getpid(), signal.SIGTERM)
        sum(range(1000))  # the handler runs here, inside the callback

    def failing(_):
        raise ValueError("a real problem")

    with _signals_raise():
        dropped(signalled)
        assert reported == []
        with pytest.raises(Terminated):
            interrupts.reraise()
        dropped(failing)
    assert [type(r.exc_value) for r in reported] == [ValueError]
