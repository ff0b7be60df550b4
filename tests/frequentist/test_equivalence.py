"""The TOST against outside references.

References: base R 4.2 (``tests/data/tost_reference.csv``, written by ``tost_reference.R``
beside it; the tests do not need R), statsmodels' ``tost_proportions_2indep`` (Wald),
``ttost_ind`` (Welch) and ``ztost`` on the per-patient paired changes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import tost_proportions_2indep
from statsmodels.stats.weightstats import ttost_ind, ztost

from mbtbayes.core.errors import DataError, SpecError
from mbtbayes.frequentist.equivalence import (
    tost,
    tost_paired_proportions,
    tost_two_proportions,
)

REF = pd.read_csv(Path(__file__).parents[1] / "data" / "tost_reference.csv")


@pytest.mark.parametrize("case", REF["case"])
def test_tost_matches_base_r(case):
    ref = REF.set_index("case").loc[case]
    df = None if pd.isna(ref.df) else float(ref.df)
    res = tost(ref.estimate, ref.se, margin=(ref.low, ref.high), df=df)
    for field in ("p_lower", "p_upper", "p_value", "ci_low", "ci_high"):
        assert getattr(res, field) == pytest.approx(ref[field], rel=1e-9, abs=1e-15), field
    assert res.equivalent == (ref.p_value < 0.05)


@pytest.mark.parametrize("case", ["paired_change", "paired_small"])
def test_paired_tost_matches_r_on_the_per_patient_changes(case):
    ref = REF.set_index("case").loc[case]
    b, c, n = {"paired_change": (12, 5, 60), "paired_small": (3, 2, 40)}[case]
    res = tost_paired_proportions(b, c, n, margin=ref.high)
    assert res.estimate == pytest.approx(ref.estimate)
    assert res.se == pytest.approx(ref.se, rel=1e-12)
    assert res.p_value == pytest.approx(ref.p_value, rel=1e-9)


@pytest.mark.parametrize(("estimate", "se", "h"), [
    (0.01, 0.02, 0.05), (0.03, 0.02, 0.05), (-0.049, 0.0001, 0.05), (0.2, 0.01, 0.1),
    (0.0, 0.0303, 0.05), (0.0, 0.0305, 0.05)])
def test_ci_rule_equals_the_two_one_sided_tests(estimate, se, h):
    """Equivalence at alpha = 0.05 <=> both one-sided z tests reject <=> the 90% CI is inside."""
    res = tost(estimate, se, margin=h)
    z = stats.norm.ppf(0.95)
    both_reject = (estimate + h) / se > z and (h - estimate) / se > z
    ci_inside = -h < estimate - z * se and estimate + z * se < h
    assert res.equivalent == both_reject == ci_inside
    assert res.ci_prob == pytest.approx(0.9)


@pytest.mark.parametrize("ratio", [0.5, 0.99, 1.01, 1.5, 2.5])
def test_decidable_when_the_90_percent_ci_could_fit_inside_the_margins(ratio):
    """Equivalence can be shown at some estimate iff z_0.95 x SE <= the half-width (SciPy's
    normal quantile); ``ratio`` is z_0.95 x SE over the half-width 0.05."""
    se = ratio * 0.05 / stats.norm.ppf(0.95)
    assert tost(0.0, se, margin=0.05).decidable == (ratio <= 1)
    assert tost(0.0, se, margin=0.05).equivalent == (ratio < 1)  # at the best estimate, 0


@pytest.mark.parametrize(("x1", "n1", "x2", "n2", "h"), [
    (5, 96, 9, 89, 0.05), (41, 55, 27, 43, 0.05), (50, 100, 52, 100, 0.1), (17, 19, 13, 15, 0.2)])
def test_two_proportions_match_statsmodels_wald(x1, n1, x2, n2, h):
    ours = tost_two_proportions(x1, n1, x2, n2, margin=h)
    # statsmodels: difference of its first minus its second group, so Period II goes first
    ref = tost_proportions_2indep(x2, n2, x1, n1, -h, h, method="wald", correction=False)
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert ours.estimate == pytest.approx(x2 / n2 - x1 / n1)


def test_t_version_matches_statsmodels_welch_ttost():
    rng = np.random.default_rng(5)
    a, b = rng.normal(0.0, 1.0, 25), rng.normal(0.3, 1.6, 31)
    v1, v2 = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = np.sqrt(v1 + v2)
    df = (v1 + v2) ** 2 / (v1**2 / (a.size - 1) + v2**2 / (b.size - 1))  # Welch-Satterthwaite
    ours = tost(b.mean() - a.mean(), se, margin=1.0, df=df)
    p_ref, _, _ = ttost_ind(b, a, -1.0, 1.0, usevar="unequal")
    assert ours.p_value == pytest.approx(p_ref, rel=1e-8)


def test_paired_proportions_match_statsmodels_ztost():
    d = np.r_[np.full(12, -1.0), np.full(5, 1.0), np.zeros(43)]
    p_ref, _, _ = ztost(d, -0.05, 0.05, ddof=0)
    assert tost_paired_proportions(12, 5, 60, margin=0.05).p_value == pytest.approx(p_ref)


def test_bad_inputs_say_what_to_fix():
    with pytest.raises(DataError, match="positive standard error"):
        tost(0.1, 0.0, margin=0.5)
    with pytest.raises(DataError, match="positive standard error"):
        tost(float("nan"), 0.1, margin=0.5)
    with pytest.raises(SpecError, match="low < high"):
        tost(0.1, 0.1, margin=(0.5, -0.5))
    with pytest.raises(SpecError, match="low < high"):
        tost(0.1, 0.1, margin=0.0)
    with pytest.raises(SpecError, match="alpha"):
        tost(0.1, 0.1, margin=0.5, alpha=0.6)
    with pytest.raises(DataError, match="SE 0"):
        tost_two_proportions(0, 10, 0, 12, margin=0.05)
    with pytest.raises(DataError, match="SE 0"):
        tost_paired_proportions(0, 0, 10, margin=0.05)
    with pytest.raises(DataError, match="0 <= x <= n"):
        tost_paired_proportions(8, 5, 10, margin=0.05)
