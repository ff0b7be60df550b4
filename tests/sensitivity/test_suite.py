"""The suite's public entry point and its plain-language summary."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from mbtbayes.core.errors import SpecError
from mbtbayes.sensitivity.suite import summary_text


def test_mb_sensitivity_is_the_function_whatever_was_imported_first():
    code = ("import mbtbayes as mb\nimport mbtbayes.sensitivity.suite as s\n"
            "from mbtbayes.sensitivity.suite import sensitivity\n"
            "assert callable(mb.sensitivity)\n"
            "try:\n    mb.sensitivity({}, None, analyses=('nope',))\n"
            "except mb.SpecError as e:\n    print('refused:', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert "refused: unknown sensitivity analysis" in out.stdout


def test_unknown_analysis_is_refused():
    import mbtbayes as mb

    with pytest.raises(SpecError, match="unknown sensitivity analysis"):
        mb.sensitivity({}, pd.DataFrame(), analyses=("priors",))


def _rows(decisions, changed, passed=None, lows=None, analyses=None, settings=None):
    """Rows of one quantity (d_I of bsi, baseline first); each setting's interval is
    [low, low + 0.4] (default: the baseline's moved toward the ROPE)."""
    n = len(decisions)
    lows = lows or [0.6] + [0.5 - 0.1 * i for i in range(n - 1)]
    return pd.DataFrame({"measure": ["bsi"] * n,
                         "analysis": analyses or ["baseline"] + ["prior grid"] * (n - 1),
                         "setting": settings or ["as specified"] + [f"s{i}" for i in range(1, n)],
                         "quantity": ["d_I"] * n, "decision": decisions,
                         "mean": [x + 0.2 for x in lows], "hdi_low": lows,
                         "hdi_high": [x + 0.4 for x in lows],
                         "conclusion_changed": changed, "passed": passed or [True] * n,
                         "baseline": [True] + [False] * (n - 1),
                         "diagnostic": [""] * n})


def test_summary_says_fragile_and_where():
    text = summary_text(_rows(["difference", "difference", "undecided"], [False, False, True]))
    assert "FRAGILE at prior grid: s2 (-> undecided)" in text and "(1 of 2 settings" in text


def test_summary_does_not_count_failed_fits():
    text = summary_text(_rows(["difference", "undecided"], [False, True], [True, False]))
    assert "NOT CHECKED" in text


def test_summary_flags_an_unassessed_measure():
    text = summary_text(_rows(["difference", "difference"], [False, False], [False, True]))
    assert "NOT ASSESSED" in text


def test_a_setting_that_moved_away_from_the_rope_or_not_at_all_is_no_test():
    """A 'difference' above the ROPE (HDI from 0.6): a setting that left the HDI where it was
    or raised its lower end could not have changed it; one that lowered it could."""
    text = summary_text(_rows(["difference"] * 4, [False] * 4, lows=[0.6, 0.6, 0.7, 0.5]))
    assert "robust: 1 setting could have changed it and none did (prior grid 1)" in text
    assert "no test (left it or moved it away from the other decisions): prior grid 2" in text


def test_a_claim_below_zero_is_tested_by_settings_that_raise_its_upper_end():
    text = summary_text(_rows(["difference"] * 3, [False] * 3, lows=[-1.0, -1.1, -0.9]))
    assert "robust: 1 setting could have changed it" in text and "prior grid 1." in text


def test_each_drop_out_scenario_is_named_once_at_its_smallest_delta():
    scenario = "II worse, level shift"
    settings = ["as specified", f"{scenario}: delta = 0.5 SD", f"{scenario}: delta = 1 SD",
                f"{scenario}: tipping point: delta = 0.42 SD"]
    text = summary_text(_rows(["difference", "undecided", "undecided", "undecided"],
                              [False, True, True, True],
                              analyses=["baseline"] + ["drop-out tipping point"] * 3,
                              settings=settings))
    assert text.count("II worse") == 2  # the verdict, the tipping point
    assert ("FRAGILE at drop-out tipping point: II worse (level shift): delta = 0.5 SD "
            "(-> undecided)" in text)
    assert "(2 of 2 settings" in text  # the tipping-point row is not a setting
    assert ("Drop-out tipping points (level and slope shifts alike unless one is named): "
            "delta = 0.42 SD (II worse: level shift)." in text)


def test_reverse_bayes_limit_comes_with_box_p():
    t = _rows(["difference", "threshold"], [False, False],
              analyses=["baseline", "reverse-Bayes"], settings=["as specified",
                                                                "sceptical limit: prior SD 0.1"])
    t["prior_data_conflict_p"] = [np.nan, 0.012]
    text = summary_text(t)
    assert ("Reverse-Bayes sceptical limit: prior SD 0.1, Box's prior-data conflict p = 0.012."
            in text)
    assert "NOT CHECKED" in text  # a threshold is not a setting


def test_a_point_shared_by_every_scenario_is_said_once():
    from mbtbayes.sensitivity.tipping import SCENARIOS

    settings = ["as specified"] + [f"{s.label}: no tipping point up to delta = 5 SD"
                                   for s in SCENARIOS]
    n = len(settings)
    text = summary_text(_rows(["difference"] * n, [False] * n,
                              analyses=["baseline"] + ["drop-out tipping point"] * (n - 1),
                              settings=settings))
    assert "no tipping point up to delta = 5 SD (every scenario)." in text
