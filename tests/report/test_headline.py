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
    # bsi (lower is better): Period II improved less (+0.25 in change, HDI above the margin
    # 0.16) and was admitted more severe (+0.16 at month 0, HDI above 0); gaf (higher is
    # better): Period II improved less (-2.47, HDI below -1.12), its fit failed the gate, and
    # its intake difference has an HDI holding 0 (no reading).
    effects = pd.DataFrame({
        "measure": ["bsi", "bsi", "bsi", "gaf", "gaf"],
        "contrast": ["intercept", "change", "at_24", "intercept", "change"],
        "better_if": ["lower", "lower", "lower", "higher", "higher"],
        "mean": [0.16, 0.2512, 0.1755, 0.4, -2.47], "hdi_low": [0.01, 0.17, -0.07, -1.2, -4.41],
        "hdi_high": [0.33, 0.33, 0.41, 2.0, -1.3], "rope_low": [-0.16, -0.16, -0.16, -1.12,
                                                                -1.12],
        "rope_high": [0.16, 0.16, 0.16, 1.12, 1.12],
        "prob_ii_better": [0.01, 0.0, 0.08, 0.31, 0.0],
        "reference_sd": [0.8, 0.8, 0.8, 5.6, 5.6],
        "passed": [True, True, True, False, False]})
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
    assert rows.loc["bsi", "change II - I, 0-24 mo [95% HDI]"] == "0.25 [0.17, 0.33]"
    assert rows.loc["bsi", "margin"] == "+-0.16" and rows.loc["bsi", "better if"] == "lower"
    # bsi: lower is better, so a larger change (+0.25) means Period II improved less
    assert rows.loc["bsi", "decision"] == "difference: II improved less"
    # gaf: higher is better, so -2.47 also means Period II improved less
    assert rows.loc["gaf", "decision"] == "difference: II improved less (FAILED gate)"
    assert rows.loc["bsi", "P(II improved more)"] == "0.00"
    # negligible once the margin holds the whole HDI: 0.33 / 0.8 and 4.41 / 5.6 SD
    assert rows.loc["bsi", "negligible if margin >="] == "0.41 SD"
    assert rows.loc["gaf", "negligible if margin >="] == "0.79 SD"
    assert (rows.loc["bsi", "d I"], rows.loc["bsi", "d II"]) == ("-1.10", "-1.07")
    # intake: bsi +0.16 with the HDI above 0 is a worse (more severe) intake in Period II;
    # gaf's HDI holds 0: no reading
    assert rows.loc["bsi", "intake II - I (case mix)"] == "0.16 [0.010, 0.33] II worse"
    assert rows.loc["gaf", "intake II - I (case mix)"] == "0.40 [-1.2, 2.0]"
    assert (rows.loc["gaf", "LOO"], rows.loc["gaf", "AIC"]) == ("neither", "period")
    assert (rows.loc["bsi", "LOO"], rows.loc["bsi", "AIC"]) == ("", "")


def test_signs_are_read_through_better_if():
    """The same numbers read the other way when the direction of improvement flips."""
    t = tables()
    t["period_effects"]["better_if"] = ["higher", "higher", "higher", "lower", "lower"]
    rows = headline(t)["growth"].set_index("measure")
    assert rows.loc["bsi", "decision"] == "difference: II improved more"
    assert rows.loc["gaf", "decision"] == "difference: II improved more (FAILED gate)"
    assert rows.loc["bsi", "intake II - I (case mix)"].endswith("II better")


def test_other_decisions_against_the_margin():
    t = tables()
    effects = t["period_effects"]
    change = effects["contrast"] == "change"
    effects.loc[change, ["hdi_low", "hdi_high"]] = [[-0.1, 0.12], [-0.3, 0.4]]
    rows = headline(t)["growth"].set_index("measure")
    assert rows.loc["bsi", "decision"] == "negligible"  # [-0.1, 0.12] inside +-0.16
    assert rows.loc["gaf", "decision"] == "negligible (FAILED gate)"  # inside +-1.12
    effects.loc[change, ["hdi_low", "hdi_high"]] = [[0.1, 0.3], [-3.0, 0.5]]
    rows = headline(t)["growth"].set_index("measure")
    assert rows.loc["bsi", "decision"] == "undecided"  # crosses 0.16, narrower than 0.32
    assert rows.loc["gaf", "decision"] == "too imprecise (FAILED gate)"  # 3.5 > 2.24


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
    assert "intake case mix" in text and "pre-specified margin" in text
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


def intake() -> pd.DataFrame:
    """Four characteristics and the joint MANOVA row, read by hand: two with Period II more
    severe (one of them also significant after Bonferroni), one less severe, one no
    difference; p < 0.05 on three."""
    return pd.DataFrame({
        "label": ["GAF, baseline", "Substance use", "Age (years)", "Aggression",
                  "continuous characteristics jointly"],
        "kind": ["number", "binary", "number", "binary", "multivariate"],
        "reading": ["Period II more severe", "Period II more severe", "no difference shown",
                    "Period II less severe", None],
        "p_value": [0.0004, 0.051, 0.8, 0.03, 0.004],
        "significant_bonferroni": [True, False, False, False, False]})


def test_the_intake_line_says_who_came_in():
    from mbtbayes.report.headline import intake_line

    line = intake_line({"intake": intake()})
    assert line.startswith("Who came in: Period II admitted more severe patients on 2 of 4 "
                           "intake characteristics (95% HDI of the difference excludes 0: GAF, "
                           "baseline; Substance use), less severe on 1 (Aggression); ")
    assert "the paper's tests: p < 0.05 on 2, at the Bonferroni threshold on 1." in line
    assert line.endswith("not an effect of the period's treatment.")
    # read back from intake.csv, the flag is text
    text = intake().assign(significant_bonferroni=["True", "False", "False", "False", "False"])
    assert intake_line({"intake": text}) == line
    assert intake_line({}) == ""


def test_the_intake_line_is_in_the_headline_first():
    lines = headline(tables() | {"intake": intake()})["lines"]
    assert lines[0].startswith("Who came in:") and lines[1].startswith("Frequentist and")
