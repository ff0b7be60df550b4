"""``mbtbayes reanalyze --quick --sensitivity`` on one spec writes the contract: sensitivity.csv
with its columns, the summary, and a specification-curve figure per main quantity."""

import contextlib
import io
import shutil

import pandas as pd
import pytest

from mbtbayes.sensitivity.quantities import COLUMNS, METHODS


@pytest.mark.slow
def test_reanalyze_sensitivity_writes_table_summary_and_figures(tmp_path):
    from mbtbayes.cli import main
    from mbtbayes.growth.specs import models_dir

    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(models_dir() / "bsi.toml", models / "bsi.toml")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["reanalyze", "--quick", "--sensitivity", "--models", str(models),
                       "--out", str(tmp_path / "results")])
    assert status == 0
    results = tmp_path / "results"
    table = pd.read_csv(results / "sensitivity.csv")
    assert set(COLUMNS) <= set(table.columns)
    assert {"baseline", "prior grid", "reverse-Bayes", "drop-out tipping point",
            "power-scaling", "remission: missing end data"} <= set(table["analysis"])
    assert set(table["method"]) <= set(METHODS)
    grid = table[table["analysis"] == "prior grid"]
    assert grid["diagnostic"].str.contains("Pareto k").all()
    summary = (results / "sensitivity_summary.txt").read_text()
    assert "bsi contrast_at_24" in summary
    assert (results / "figures" / "sensitivity.png").exists()
    assert (results / "figures" / "sensitivity_d.png").exists()
    # the plain-language summary is in the run's log (stderr, with the progress lines)
    assert "bsi contrast_at_24:" in err.getvalue()
    assert "robust" in err.getvalue() or "FRAGILE" in err.getvalue()
