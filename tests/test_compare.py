"""Concordance rules and the frequentist linear combinations (reference: SciPy, hand algebra)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mbtbayes.compare import (
    _bayes_decision,
    _combination,
    _row,
    assemble,
    concordance_summary,
    model_choice_questions,
)


@pytest.mark.parametrize(("low", "high", "want"), [
    (0.2, 0.5, "difference"), (-0.5, -0.2, "difference"), (-0.05, 0.05, "negligible"),
    (-0.05, 0.3, "undecided"), (-0.3, 0.3, "undecided")])
def test_hdi_rope_rule(low, high, want):
    assert _bayes_decision(low, high, 0.1) == want


def test_row_agreement_and_bayes_summaries():
    draws = np.random.default_rng(1).normal(0.5, 0.1, 20000)
    freq = {"estimate": 0.5, "ci_low": 0.3, "ci_high": 0.7, "p_value": 0.001}
    row = _row("q", "m", freq, draws, 0.1, True)
    assert row["bayes_decision"] == "difference" and row["agree"]
    assert row["p_direction"] == pytest.approx(stats.norm.cdf(5), abs=1e-3)
    assert row["p_rope"] == pytest.approx(stats.norm.cdf(-4) - stats.norm.cdf(-6), abs=1e-3)
    assert row["hdi_low"] == pytest.approx(0.5 - 1.96 * 0.1, abs=0.01)
    weak = _row("q", "m", freq | {"p_value": 0.4}, draws, 0.1, True)
    assert not weak["agree"]


def test_linear_combination_matches_hand_algebra():
    class Result:
        fixed = pd.DataFrame({"term": ["a", "b"], "estimate": [1.0, 2.0]})
        fixed_cov = pd.DataFrame([[0.04, 0.01], [0.01, 0.09]], index=["a", "b"],
                                 columns=["a", "b"])

    got = _combination(Result(), {"a": 1.0, "b": 1.0})
    se = np.sqrt(0.04 + 0.09 + 2 * 0.01)
    assert got["estimate"] == 3.0
    assert got["p_value"] == pytest.approx(2 * stats.norm.sf(3 / se))
    assert got["ci_low"] == pytest.approx(3 - stats.norm.ppf(0.975) * se)


def test_model_choice_rows_and_summary():
    comparison = pd.DataFrame({
        "measure": ["x", "y"], "aic_linear": [100.0, 100.0], "aic_period": [90.0, 101.0],
        "lrt_p_value": [0.001, 0.6], "elpd_diff": [0.5, -0.2], "elpd_diff_se": [1.0, 0.5],
        "passed": [True, True]})
    table = assemble(model_choice_questions(comparison))
    assert table["frequentist_decision"].tolist() == ["period", "no clear preference"]
    assert table["bayes_decision"].tolist() == ["no clear preference", "no clear preference"]
    assert table["agree"].tolist() == [False, True]
    text = concordance_summary(table)
    assert "agree on 1 of 2" in text and "Disagreement: model choice" in text


def test_binary_questions_reproduce_the_papers_p_values(synthetic):
    """On the synthetic register (counts 41/55 vs 27/43, 17/19 vs 13/15) the remission rows
    carry the paper's p = 0.212 and 0.801."""
    from mbtbayes.binary.adherence import adherence_table
    from mbtbayes.binary.change import start_end_change
    from mbtbayes.binary.remission import remission_table
    from mbtbayes.compare import binary_questions

    rows = assemble(binary_questions(
        remission_table(synthetic, models=("beta_binomial",)),
        start_end_change(synthetic, models=("dirichlet",)), adherence_table(synthetic)))
    remission = rows[rows["question"] == "remission difference (II - I)"].set_index("subject")
    assert round(remission.loc["self_harm", "p_value"], 3) == 0.212
    assert round(remission.loc["suicide_attempt", "p_value"], 3) == 0.801
    assert (remission["frequentist_decision"] == "no evidence").all()
    change = rows[rows["question"].str.startswith("start-end change")]
    assert len(change) == 4 and (change["p_value"] < 0.001).sum() >= 2
    assert "drop-out difference (II - I)" in set(rows["question"])
