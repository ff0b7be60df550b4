"""What ``mb.calibrate`` says while it runs: each part (calibration, power) when it starts, as
the display's line ``[i/n] calibration: ...`` on stderr by default (a bar on a terminal), and
when it ends, with its seconds, through ``log`` (``print``); with ``progress=False`` the start
of each part goes to ``log`` instead. The replicates are faked (their own tests are in
tests/sensitivity); what is checked is what the user is told, and that the tables are written."""

from __future__ import annotations

import pandas as pd

import mbtbayes as mb
from mbtbayes import pipeline


def _fake_sbc(spec, data, *, replicates, seed, scheduler):
    ranks = pd.DataFrame({"replicate": range(replicates), "parameter": "b", "rank": 1})
    return ranks, pd.DataFrame({"parameter": ["b"], "p_uniform": [0.5]})


def _fake_power(spec, data, *, effects, replicates, seed, scheduler):
    return pd.DataFrame({"effect": list(effects), "power": 0.5})


def test_calibrate_shows_its_parts_by_default_and_not_with_progress_false(
        tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pipeline, "sbc", _fake_sbc)
    monkeypatch.setattr(pipeline, "power_table", _fake_power)
    out = mb.calibrate(out=tmp_path / "a", replicates=3, power_replicates=2, effects=(0.0, 0.4))
    said = capsys.readouterr()
    assert said.err.splitlines() == [
        "[1/2] calibration: simulation-based calibration of bsi: 3 replicates ...",
        "[2/2] calibration: power of the design for bsi: 4 scenarios x 2 simulated registers ..."]
    assert [line.split(": done in ")[0] for line in said.out.splitlines()] == [
        "simulation-based calibration of bsi", "power of the design for bsi"]
    assert (out / "sbc_ranks.csv").is_file() and (out / "power.csv").is_file()

    mb.calibrate(out=tmp_path / "b", replicates=3, power_replicates=0, progress=False)
    said = capsys.readouterr()
    assert said.err == "" and said.out.splitlines()[0] == (
        "simulation-based calibration of bsi: 3 replicates")
    assert said.out.splitlines()[1].startswith("simulation-based calibration of bsi: done in ")
