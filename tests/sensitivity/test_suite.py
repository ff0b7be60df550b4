"""The suite's public entry point and its plain-language summary."""

import subprocess
import sys

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


def _rows(decisions, changed, passed=None):
    n = len(decisions)
    return pd.DataFrame({"measure": ["bsi"] * n,
                         "analysis": ["baseline"] + ["prior grid"] * (n - 1),
                         "setting": ["as specified"] + [f"s{i}" for i in range(1, n)],
                         "quantity": ["d_I"] * n, "decision": decisions,
                         "conclusion_changed": changed, "passed": passed or [True] * n,
                         "baseline": [True] + [False] * (n - 1),
                         "diagnostic": [""] * n})


def test_summary_says_fragile_and_where():
    text = summary_text(_rows(["difference", "difference", "undecided"], [False, False, True]))
    assert "FRAGILE" in text and "prior grid s2 -> undecided" in text and "1 of 2" in text


def test_summary_does_not_count_failed_fits():
    text = summary_text(_rows(["difference", "undecided"], [False, True], [True, False]))
    assert "robust (0 setting(s) checked)" in text


def test_summary_flags_an_unassessed_measure():
    text = summary_text(_rows(["difference", "difference"], [False, False], [False, True]))
    assert "NOT ASSESSED" in text
