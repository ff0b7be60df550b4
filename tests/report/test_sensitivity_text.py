"""The report's sensitivity text: grouped by measure and quantity, each setting said once
(tables built by hand with the columns of sensitivity.csv)."""

from __future__ import annotations

import pandas as pd

from mbtbayes.sensitivity.suite import grouped_summary, summary_text


def row(quantity: str, analysis: str, setting: str, decision: str, low: float, *,
        changed: bool = False, baseline: bool = False, **more: object) -> dict:
    return {"measure": "cip", "analysis": analysis, "setting": setting, "quantity": quantity,
            "decision": decision, "mean": low + 0.2, "hdi_low": low, "hdi_high": low + 0.4,
            "conclusion_changed": changed, "passed": True, "baseline": baseline,
            "diagnostic": "", **more}


def table() -> pd.DataFrame:
    """cip: the slope and change contrasts (undecided at the baseline) both change at the same
    two prior-grid settings; d_I (difference) holds at one; a drop-out tipping point of 0.7 SD
    for both contrasts under one scenario, 2.5 SD under another; one reverse-Bayes limit and
    one 'none'."""
    rows = []
    for q in ("contrast_slope", "change_difference"):
        rows += [row(q, "baseline", "as specified", "undecided", -0.3, baseline=True),
                 row(q, "prior grid", "sceptical, strong", "negligible", -0.2, changed=True),
                 row(q, "prior grid", "neutral, strong", "negligible", -0.25, changed=True),
                 row(q, "prior grid", "enthusiastic, weak", "undecided", -0.35),
                 row(q, "drop-out tipping point",
                     "II worse, level shift: tipping point: delta = 0.7 SD (MC error 0.05)",
                     "difference", 0.0),
                 row(q, "drop-out tipping point",
                     "II worse, slope shift: tipping point: delta = 0.7 SD (MC error 0.05)",
                     "difference", 0.0),
                 row(q, "drop-out tipping point",
                     "both worse, level shift: tipping point: delta = 2.5 SD (MC error 0.1)",
                     "difference", 0.0)]
    rows += [row("d_I", "baseline", "as specified", "difference", 0.5, baseline=True),
             row("d_I", "prior grid", "sceptical, strong", "difference", 0.4),
             row("d_I", "reverse-Bayes", "sceptical limit: prior SD 0.08 baseline SD",
                 "threshold", 0.0, prior_data_conflict_p=0.002),
             row("change_difference", "reverse-Bayes",
                 "advocacy limit: none (the likelihood's mean lies inside the ROPE)",
                 "threshold", 0.0)]
    return pd.DataFrame(rows)


def test_each_setting_is_said_once_per_measure():
    lines = grouped_summary(table(), better_if={"cip": "lower"})
    assert lines[0] == ("Settings, each counted where it could have changed a conclusion: "
                        "prior grid 3.")
    cip = lines[1]
    assert cip.startswith("**cip** (lower is better): robust: d_I (difference). FRAGILE: "
                          "contrast_slope, change_difference (undecided) at prior grid "
                          "(sceptical, strong / neutral, strong) -> negligible.")
    assert cip.count("sceptical, strong") == 1 and cip.count("0.7 SD") == 1
    # the per-quantity text says them once per quantity
    full = summary_text(table())
    assert full.count("sceptical, strong") == 2 and full.count("delta = 0.7 SD") == 2


def test_the_nearest_tipping_point_and_existing_limits_only():
    cip = grouped_summary(table())[1]
    assert ("Nearest drop-out tipping point: delta = 0.7 SD (contrast_slope, "
            "change_difference; II worse).") in cip
    assert "2.5 SD" not in cip  # the farther point is in the full text
    assert ("d_I sceptical limit: prior SD 0.08 baseline SD, Box's p = 0.002" in cip)
    assert "advocacy limit: none" not in cip
    assert "(lower is better)" not in cip  # no better_if given: no sign claimed


def test_an_unassessed_quantity_is_said_so():
    t = table()
    t.loc[(t["quantity"] == "d_I") & t["baseline"], "passed"] = False
    cip = grouped_summary(t)[1]
    assert "NOT ASSESSED (baseline fit failed its diagnostics): d_I (difference)" in cip
