"""Rounding for people: reference strings written by hand from the rule in the brief
(estimates 3 significant digits, probabilities 2 decimals, counts as integers)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from mbtbayes.core.formatting import (
    column_kind,
    format_table,
    markdown_table,
    p_value,
    significant,
)
from mbtbayes.io.output import write_tables


@pytest.mark.parametrize(("value", "text"), [
    (0.000711216, "0.000711"), (-0.0312, "-0.0312"), (0.16053407, "0.161"), (1.0, "1.00"),
    (-1.0904218, "-1.09"), (26.149, "26.1"), (99.96, "100.0"), (1057.2079, "1057.2"),
    (-528.8796, "-528.9"), (0.0, "0"), (1e-12, "1.00e-12"), (-0.0000123, "-1.23e-05"),
    (math.inf, "inf"),
])
def test_significant_digits(value, text):
    assert significant(value) == text


@pytest.mark.parametrize(("p", "text"), [(0.2123, "0.21"), (0.0537, "0.05"), (0.0054, "0.005"),
                                         (0.001, "0.001"), (5e-27, "< 0.001"), (1.0, "1.00")])
def test_p_values(p, text):
    assert p_value(p) == text


@pytest.mark.parametrize(("name", "kind"), [
    ("n", "count"), ("n_at_risk", "count"), ("divergences", "count"), ("ess_bulk", "count"),
    ("min_ess_tail", "count"), ("lrt_df", "count"), ("assessments_max", "count"),
    ("assessments_mean", "estimate"), ("p_direction", "probability"),
    ("p_rope", "probability"), ("prob_ii_worse", "probability"), ("p_value", "p_value"),
    ("lrt_p_value", "p_value"), ("r_hat", "r_hat"), ("max_r_hat", "r_hat"),
    ("p_mean", "estimate"), ("p_loo_linear", "estimate"), ("d_mean", "estimate"),
])
def test_column_kinds(name, kind):
    assert column_kind(name) == kind


def test_table_cells_by_column():
    table = pd.DataFrame({"measure": ["bsi", "gaf"], "n_at_risk": [55.0, 43.0],
                          "mean": [0.000711216, -2.2591], "p_direction": [0.96153, 0.9995],
                          "passed": [True, False], "hdi_low": [float("nan"), -3.7264]})
    text = format_table(table)
    assert text.to_dict("list") == {
        "measure": ["bsi", "gaf"], "n_at_risk": ["55", "43"], "mean": ["0.000711", "-2.26"],
        "p_direction": ["0.96", "1.00"], "passed": ["True", "False"],
        "hdi_low": ["", "-3.73"]}


def test_markdown_right_aligns_numbers():
    md = markdown_table(pd.DataFrame({"measure": ["bsi"], "mean": [0.16053407]}))
    assert md.splitlines()[1] == "|:----------|-------:|"
    assert "0.161" in md and "0.1605" not in md


def test_written_markdown_is_rounded_and_csv_is_not(tmp_path):
    table = pd.DataFrame({"measure": ["bsi"], "mean": [0.16053407273470194],
                          "p_value": [0.06967658170394621]})
    out = write_tables(tmp_path / "out", {"t": table}, label="test")
    assert "| bsi       |  0.161 |      0.07 |" in (out / "t.md").read_text()
    back = pd.read_csv(out / "t.csv")
    assert back["mean"].iloc[0] == 0.16053407273470194
    assert back["p_value"].iloc[0] == 0.06967658170394621
