"""The headline from small constructed tables (values chosen by hand)."""

from __future__ import annotations

import pandas as pd

from mbtbayes.compare import assemble
from mbtbayes.report.headline import (
    concordance_line,
    decision,
    gate_line,
    headline,
    headline_text,
)


def tables() -> dict[str, pd.DataFrame]:
    effects = pd.DataFrame({
        "measure": ["bsi", "bsi", "gaf"], "contrast": ["intercept", "at_24", "at_24"],
        "mean": [0.16, 0.1755, -2.47], "hdi_low": [-0.01, -0.07, -4.41],
        "hdi_high": [0.33, 0.41, -0.9], "rope_low": [-0.065, -0.065, -0.55],
        "rope_high": [0.065, 0.065, 0.55], "passed": [True, True, False]})
    d = pd.DataFrame({"measure": ["bsi", "bsi", "gaf", "gaf"], "period": ["I", "II"] * 2,
                      "d_mean": [-1.0962, -1.0734, 1.53, 1.5]})
    remission = pd.DataFrame({
        "behaviour": ["self_harm"] * 3, "period": ["I", "II", "pooled"],
        "model": ["beta_binomial"] * 3, "n_at_risk": [55, 43, 98], "n_remitted": [41, 27, 68],
        "p_mean": [0.7368, 0.6222, 0.69], "p_hdi_low": [0.62, 0.48, 0.6],
        "p_hdi_high": [0.85, 0.76, 0.78], "p_period_diff": [-0.1146] * 3,
        "p_diff_hdi_low": [-0.295] * 3, "p_diff_hdi_high": [0.0648] * 3,
        "prob_ii_worse": [0.8934] * 3})
    concordance = assemble([
        {"question": "difference in change 0-24 months (II - I)", "subject": "bsi",
         "role": "primary", "agree_existence": True, "passed": True},
        {"question": "model choice (linear vs period)", "subject": "gaf", "role": "model choice",
         "frequentist_predictive_choice": "period", "bayes_predictive_choice": "no difference",
         "agree_predictive_choice": False, "passed": True}])
    diagnostics = pd.DataFrame({"fit": ["bsi/period", "gaf/period"], "passed": [True, False]})
    return {"period_effects": effects, "effect_sizes": d, "remission": remission,
            "concordance": concordance, "diagnostics": diagnostics}


def test_growth_rows():
    rows = headline(tables())["growth"].set_index("measure")
    assert rows.loc["bsi", "II - I, month 24 [95% HDI]"] == "0.18 [-0.070, 0.41]"
    assert rows.loc["bsi", "decision"] == "too imprecise"
    assert rows.loc["gaf", "decision"] == "difference (FAILED gate)"
    assert (rows.loc["bsi", "d I"], rows.loc["bsi", "d II"]) == ("-1.10", "-1.07")
    assert (rows.loc["gaf", "LOO"], rows.loc["gaf", "AIC"]) == ("neither", "period")
    assert (rows.loc["bsi", "LOO"], rows.loc["bsi", "AIC"]) == ("", "")


def test_remission_row():
    row = headline(tables())["remission"].iloc[0]
    assert row["behaviour"] == "self harm"
    assert row["Period I"] == "0.74 (41/55)" and row["Period II"] == "0.62 (27/43)"
    assert row["II - I [95% HDI]"] == "-0.11 [-0.29, 0.06]"
    assert row["P(II worse)"] == "0.89"


def test_lines_count_agreement_and_flag_failed_fits():
    """The line counts as the concordance summary: existence of primary questions apart from
    within-period slopes, equivalence only where decidable, unlike models not counted."""
    rows = [{"question": f"q{i}", "subject": "bsi", "role": role, "agree_existence": agree,
             "agree_equivalence": True, "equivalence_decidable": decidable, "passed": True}
            for i, (role, agree, decidable) in enumerate([
                ("primary", True, True), ("primary", False, False),
                ("within-period slope", True, False), ("within-period slope", True, True)])]
    rows.append({"question": "model choice (linear vs period)", "subject": "gaf",
                 "role": "model choice", "agree_predictive_choice": False,
                 "agree_tested_choice": True, "passed": True})
    t = tables() | {"concordance": assemble(rows)}
    assert concordance_line(t) == (
        "Frequentist and Bayesian conclusions agree on: existence 1 of 2 primary questions; "
        "existence 2 of 2 within-period slopes; equivalence 2 of 2 decidable questions (2 not "
        "decidable by either side, not counted); predictive choice 0 of 1 measures; tested "
        "choice 1 of 1 measures.")
    rows[0] |= {"models_alike": False, "model_difference": "t likelihood"}
    t["concordance"] = assemble(rows)
    assert concordance_line(t).startswith("Frequentist and Bayesian conclusions agree on: "
                                          "existence 0 of 1 primary questions;")
    assert concordance_line(t).endswith("(2 on unlike models not counted).")
    assert gate_line(t) == ("1 of 2 growth fits FAILED the diagnostics gate (flagged in every "
                            "table): gaf/period.")
    assert "All 1 growth fits passed" in gate_line({"diagnostics": t["diagnostics"][:1]})


def test_text_and_missing_tables():
    text = headline_text(tables())
    assert "Growth models:" in text and "Remission among" in text and "agree on" in text
    assert headline_text({}) == ""


def test_decisions_use_the_spec_rope():
    assert decision(0.07, 0.4, 0.065) == "difference"
    assert decision(-0.065, 0.065, 0.065) == "negligible"
    assert decision(-0.1, 0.06, 0.065) == "too imprecise"  # wider than the ROPE
    assert decision(-0.07, 0.0, 0.065) == "undecided"
    assert decision(-0.07, 0.0, 0.0) == "no ROPE set"


def test_model_choice_from_a_layered_concordance():
    t = tables()
    t["concordance"] = pd.DataFrame({
        "question": ["model choice (linear vs period)"], "subject": ["gaf"],
        "frequentist_predictive_choice": ["period"], "bayes_predictive_choice": ["no difference"],
        "agree_predictive_choice": [False]})
    rows = headline(t)["growth"].set_index("measure")
    assert (rows.loc["gaf", "LOO"], rows.loc["gaf", "AIC"]) == ("neither", "period")


def test_a_model_choice_side_without_a_decision_reads_n_a_not_nan():
    """A failed ML fit leaves the AIC side without a decision: the headline says "n/a"
    (before issue 19 it printed NaN, and the LOO side was lost with it)."""
    t = tables()
    t["concordance"] = pd.DataFrame({
        "question": ["model choice (linear vs period)"], "subject": ["gaf"],
        "bayes_predictive_choice": ["period"], "frequentist_predictive_choice": [float("nan")],
        "agree_predictive_choice": [pd.NA]})
    rows = headline(t)["growth"].set_index("measure")
    assert (rows.loc["gaf", "LOO"], rows.loc["gaf", "AIC"]) == ("period", "n/a")
    assert "NaN" not in headline_text(t) and "nan" not in headline_text(t)
