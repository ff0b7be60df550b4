"""Tests of mbtbayes.proportions.

Reference values come from outside the code: R 4.2 (``tests/data/proportions_reference.csv``,
written by ``proportions_reference.R`` beside it; the tests do not need R), SciPy and statsmodels
where they implement the same test, and the paper's published p-values.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.genmod.families import Binomial
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

from mbtbayes.core.errors import DataError
from mbtbayes.frequentist.proportions import (
    ProportionTestResult,
    chi_square,
    fisher_exact,
    logistic_wald,
    logistic_wald_p_values,
    mcnemar,
    wald_p_values,
    wald_two_proportions,
)

REFERENCE = Path(__file__).parents[1] / "data" / "proportions_reference.csv"
REL = 1e-9


def _reference() -> pd.DataFrame:
    ref = pd.read_csv(REFERENCE)
    ref["cells"] = ref["table"].map(
        lambda t: [[int(v) for v in r.split(",")] for r in t.split(";")]
    )
    return ref


REF = _reference()


def _rows(test: str) -> list[pd.Series]:
    return [row for _, row in REF[REF["test"] == test].iterrows()]


def _ids(test: str) -> list[str]:
    return list(REF.loc[REF["test"] == test, "case"])


def _groups(cells: list[list[int]]) -> tuple[int, int, int, int]:
    (x1, f1), (x2, f2) = cells
    return x1, x1 + f1, x2, x2 + f2


# ----------------------------------------------------------------------------- McNemar vs R


@pytest.mark.parametrize("row", _rows("mcnemar_corrected"), ids=_ids("mcnemar_corrected"))
def test_mcnemar_corrected_matches_r(row: pd.Series) -> None:
    res = mcnemar(row["cells"], exact=False, correction=True)
    assert res.statistic == pytest.approx(row["statistic"], rel=REL, abs=1e-12)
    assert res.p_value == pytest.approx(row["p_value"], rel=1e-7)
    assert "continuity correction" in res.method


@pytest.mark.parametrize("row", _rows("mcnemar_uncorrected"), ids=_ids("mcnemar_uncorrected"))
def test_mcnemar_uncorrected_matches_r(row: pd.Series) -> None:
    res = mcnemar(row["cells"], exact=False, correction=False)
    assert res.statistic == pytest.approx(row["statistic"], rel=REL, abs=1e-12)
    assert res.p_value == pytest.approx(row["p_value"], rel=1e-7)
    assert "without continuity correction" in res.method


@pytest.mark.parametrize("row", _rows("binom_exact"), ids=_ids("binom_exact"))
def test_mcnemar_exact_matches_r_binom_test(row: pd.Series) -> None:
    res = mcnemar(row["cells"], exact=True)
    assert res.statistic == row["statistic"]
    assert res.p_value == pytest.approx(row["p_value"], rel=1e-7)


@pytest.mark.parametrize(
    ("b", "c"), [(3, 12), (10, 30), (111, 16), (12, 12), (0, 5), (24, 0), (13, 12)]
)
def test_mcnemar_matches_statsmodels(b: int, c: int) -> None:
    table = [[7, b], [c, 9]]
    assert mcnemar(table, exact=True).p_value == pytest.approx(
        sm_mcnemar(table, exact=True).pvalue, rel=1e-10
    )
    if b + c:
        ours = mcnemar(b, c, exact=False, correction=True)
        theirs = sm_mcnemar(table, exact=False, correction=True)
        if b != c:  # statsmodels corrects even when b == c; R and this module do not
            assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-10)
        ours = mcnemar(b, c, exact=False, correction=False)
        theirs = sm_mcnemar(table, exact=False, correction=False)
        assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-10)


def test_mcnemar_spss_rule_switches_at_25_discordant_pairs() -> None:
    assert "exact binomial" in mcnemar(12, 12).method  # 24 < 25: binomial
    below = mcnemar(20, 4)
    assert "exact binomial" in below.method
    assert below.p_value == pytest.approx(stats.binomtest(20, 24).pvalue)
    at = mcnemar(20, 5)  # 25 discordant: corrected chi-square
    assert "continuity correction" in at.method
    assert at.statistic == pytest.approx((15 - 1) ** 2 / 25)


def test_mcnemar_default_reproduces_published_spss_crosstabs_output() -> None:
    # SPSS CROSSTABS McNemar p-values printed in public tutorials (tutoraspire.com, "McNemar's
    # Test in SPSS": 5 vs 3 discordant pairs, p = .727; Dr. Grande's SPSS lecture: 15 vs 2,
    # p = .002). Both are the binomial values, not the corrected chi-square (.724, .004).
    assert round(mcnemar(5, 3).p_value, 3) == 0.727
    assert round(mcnemar(15, 2).p_value, 3) == 0.002
    assert round(mcnemar(5, 3, exact=False).p_value, 3) == 0.724
    assert round(mcnemar(15, 2, exact=False).p_value, 3) == 0.004


def test_mcnemar_table_and_counts_agree() -> None:
    assert mcnemar([[30, 3], [12, 5]]) == mcnemar(3, 12)


def test_mcnemar_rejects_bad_input() -> None:
    with pytest.raises(DataError):
        mcnemar(-1, 3)
    with pytest.raises(DataError):
        mcnemar([[1, 2, 3], [4, 5, 6]])
    with pytest.raises(DataError):
        mcnemar(0, 0, exact=False)
    assert mcnemar(0, 0).p_value == 1.0


# ----------------------------------------------------------------------------- two groups vs R


@pytest.mark.parametrize("row", _rows("prop_test_uncorrected"), ids=_ids("prop_test_uncorrected"))
def test_pooled_z_squared_is_r_prop_test(row: pd.Series) -> None:
    res = wald_two_proportions(*_groups(row["cells"]), pooled=True)
    assert res.statistic**2 == pytest.approx(row["statistic"], rel=1e-9)
    assert res.p_value == pytest.approx(row["p_value"], rel=1e-7)


@pytest.mark.parametrize("row", _rows("glm_wald"), ids=_ids("glm_wald"))
def test_logistic_wald_matches_r_glm(row: pd.Series) -> None:
    args = _groups(row["cells"])
    res = logistic_wald(*args)
    # R's IRLS (epsilon 1e-14) and statsmodels' agree to ~1e-9; allow 1e-7.
    assert res.statistic == pytest.approx(row["statistic"], rel=1e-7)
    assert res.estimate == pytest.approx(row["estimate"], rel=1e-7)
    assert res.p_value == pytest.approx(row["p_value"], rel=1e-7)
    closed = logistic_wald_p_values(*(np.array(a) for a in args))
    assert float(closed) == pytest.approx(row["p_value"], rel=1e-7)


def test_unpooled_wald_by_hand() -> None:
    # Independent of the module: z = (p2 - p1) / sqrt(p1 q1 / n1 + p2 q2 / n2).
    p1, p2 = 41 / 55, 27 / 43
    z = (p2 - p1) / np.sqrt(p1 * (1 - p1) / 55 + p2 * (1 - p2) / 43)
    res = wald_two_proportions(41, 55, 27, 43)
    assert res.statistic == pytest.approx(z, rel=1e-12)
    assert res.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-12)
    assert res.method == "Wald z test, unpooled SE"


def test_vectorised_p_values_equal_scalar_tests() -> None:
    x1, n1, x2, n2 = (np.array(v) for v in ([41, 17, 22], [55, 19, 96], [27, 13, 30], [43, 15, 89]))
    for pooled in (False, True):
        vec = wald_p_values(x1, n1, x2, n2, pooled=pooled)
        scal = [
            wald_two_proportions(*a, pooled=pooled).p_value
            for a in zip(x1, n1, x2, n2, strict=True)
        ]
        np.testing.assert_allclose(vec, scal, rtol=1e-12)
    assert np.isnan(wald_p_values(np.array(5), np.array(5), np.array(3), np.array(3)))
    assert np.isnan(logistic_wald_p_values(np.array(5), np.array(5), np.array(2), np.array(3)))


def test_logistic_wald_equals_patient_level_statsmodels_fit() -> None:
    # 98 patient rows, no weights: the plainest form of the model.
    y = np.r_[np.ones(41), np.zeros(14), np.ones(27), np.zeros(16)]
    period_ii = np.r_[np.zeros(55), np.ones(43)]
    exog = np.column_stack([np.ones_like(period_ii), period_ii])
    fit = GLM(y, exog, family=Binomial()).fit(tol=1e-13)
    res = logistic_wald(41, 55, 27, 43)
    assert res.p_value == pytest.approx(fit.pvalues[1], rel=1e-9)
    assert res.estimate == pytest.approx(fit.params[1], rel=1e-9)


def test_two_group_tests_reject_bad_input() -> None:
    with pytest.raises(DataError):
        wald_two_proportions(10, 5, 1, 2)
    with pytest.raises(DataError):
        wald_two_proportions(5, 5, 3, 3)
    with pytest.raises(DataError, match="zero cell"):
        logistic_wald(19, 19, 13, 15)
    with pytest.raises(DataError):
        logistic_wald(1.5, 4, 1, 2)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- tables vs R, SciPy


@pytest.mark.parametrize("row", _rows("chisq_uncorrected"), ids=_ids("chisq_uncorrected"))
def test_chi_square_matches_r(row: pd.Series) -> None:
    res = chi_square(row["cells"])
    assert res.statistic == pytest.approx(row["statistic"], rel=1e-9)
    assert res.df == row["df"]
    assert res.p_value == pytest.approx(row["p_value"], rel=1e-7)


@pytest.mark.parametrize("row", _rows("chisq_corrected"), ids=_ids("chisq_corrected"))
def test_chi_square_corrected_matches_r(row: pd.Series) -> None:
    res = chi_square(row["cells"], correction=True)
    assert res.statistic == pytest.approx(row["statistic"], rel=1e-9, abs=1e-12)
    assert res.p_value == pytest.approx(row["p_value"], rel=1e-7)
    assert "Yates" in res.method


@pytest.mark.parametrize("row", _rows("fisher"), ids=_ids("fisher"))
def test_fisher_p_matches_r_and_or_matches_scipy(row: pd.Series) -> None:
    res = fisher_exact(row["cells"])
    assert res.p_value == pytest.approx(row["p_value"], rel=1e-7)
    assert res.statistic == pytest.approx(stats.fisher_exact(row["cells"]).statistic)


def test_result_to_frame_is_tidy_one_row() -> None:
    frame = chi_square([[41, 14], [27, 16]]).to_frame()
    assert frame.shape[0] == 1
    assert {"statistic", "p_value", "method"} <= set(frame.columns)
    assert all(c == c.lower() and " " not in c for c in frame.columns)
    assert isinstance(chi_square([[1, 2], [3, 4]]), ProportionTestResult)


# ----------------------------------------------------------------------------- the paper's p-values


PUBLISHED = {"self_harm": 0.212, "suicide_attempt": 0.801}  # paper.txt, Results
COUNTS = {"self_harm": (41, 55, 27, 43), "suicide_attempt": (17, 19, 13, 15)}  # derived


def _variants(x1: int, n1: int, x2: int, n2: int) -> dict[str, float]:
    table = [[x1, n1 - x1], [x2, n2 - x2]]
    return {
        "wald_unpooled": wald_two_proportions(x1, n1, x2, n2).p_value,
        "wald_pooled": wald_two_proportions(x1, n1, x2, n2, pooled=True).p_value,
        "logistic_wald": logistic_wald(x1, n1, x2, n2).p_value,
        "chi_square_yates": chi_square(table, correction=True).p_value,
        "fisher_exact": fisher_exact(table).p_value,
    }


def _reproducing(key: str) -> set[str]:
    ps = _variants(*COUNTS[key])
    return {name for name, p in ps.items() if round(p, 3) == PUBLISHED[key]}


def test_which_variants_reproduce_self_harm_p_0212() -> None:
    # published-numbers.md: unpooled Wald 0.2123, logistic Wald 0.2123.
    assert _reproducing("self_harm") == {"wald_unpooled", "logistic_wald"}
    ps = _variants(*COUNTS["self_harm"])
    assert round(ps["wald_unpooled"], 4) == 0.2123
    assert round(ps["logistic_wald"], 4) == 0.2123


def test_which_variants_reproduce_suicide_attempt_p_0801() -> None:
    # published-numbers.md: pooled chi-square 0.8009, logistic Wald 0.8013.
    assert _reproducing("suicide_attempt") == {"wald_pooled", "logistic_wald"}
    ps = _variants(*COUNTS["suicide_attempt"])
    assert round(ps["wald_pooled"], 4) == 0.8009
    assert round(ps["logistic_wald"], 4) == 0.8013
    assert chi_square([[17, 2], [13, 2]]).p_value == pytest.approx(ps["wald_pooled"], rel=1e-12)


def test_alternative_suicide_pair_and_last_year_wald() -> None:
    # published-numbers.md: 17/19 vs 20/23 unpooled Wald 0.8002; 22/96 vs 30/89 Wald p = 0.102.
    assert round(wald_two_proportions(17, 19, 20, 23).p_value, 4) == 0.8002
    assert round(wald_two_proportions(22, 96, 30, 89).p_value, 3) == 0.102
