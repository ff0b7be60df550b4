"""Tests of mbtbayes.reconstruct.

The reference values are outside the code: the percentages and p-values printed in the paper, and
the solutions listed in ``published-numbers.md`` (written down here, from that document), plus
brute-force enumeration with the scalar tests of ``mbtbayes.frequentist.proportions``
(themselves tested against R).
"""

from __future__ import annotations

import itertools
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from mbtbayes.core.errors import SpecError
from mbtbayes.frequentist.proportions import chi_square, logistic_wald, wald_two_proportions
from mbtbayes.study.reconstruct import TESTS, consistent_counts, consistent_single

# published-numbers.md, "Cell counts consistent with the reported percentages and p-values"
SELF_HARM_PAIR = "41/55 vs 27/43"
SELF_HARM_OTHER_UNPOOLED = [
    "24/32 vs 35/56",
    "24/32 vs 50/79",
    "40/53 vs 20/32",
    "41/55 vs 25/40",
    "59/79 vs 24/38",
]
SUICIDE_PAIR = "17/19 vs 13/15"

N_I, N_II = 96, 89  # paper: Period I and II sizes bound every denominator


def _self_harm(**kwargs) -> pd.DataFrame:
    return consistent_counts(pct1=75, pct2=63, p_value=0.212, **kwargs)


def _suicide(**kwargs) -> pd.DataFrame:
    return consistent_counts(pct1=89, pct2=87, p_value=0.801, **kwargs)


@pytest.fixture(scope="module")
def self_harm() -> pd.DataFrame:
    return _self_harm(n1_range=range(1, N_I + 1), n2_range=range(1, N_II + 1))


@pytest.fixture(scope="module")
def suicide() -> pd.DataFrame:
    return _suicide(n1_range=range(1, N_I + 1), n2_range=range(1, N_II + 1))


def _pairs_for(solutions: pd.DataFrame, test: str) -> set[str]:
    return set(solutions.loc[solutions["test"] == test, "pair"])


def test_self_harm_finds_41_55_vs_27_43_under_unpooled_and_logistic_wald(self_harm) -> None:
    tests_for_pair = set(self_harm.loc[self_harm["pair"] == SELF_HARM_PAIR, "test"])
    assert tests_for_pair == {"wald_unpooled", "logistic_wald"}
    row = self_harm[(self_harm["pair"] == SELF_HARM_PAIR) & (self_harm["test"] == "wald_unpooled")]
    assert round(float(row["p_value"].iloc[0]), 4) == 0.2123
    assert round(float(row["pooled_pct"].iloc[0]), 1) == 69.4


def test_self_harm_unpooled_wald_solutions_are_the_documented_six(self_harm) -> None:
    assert _pairs_for(self_harm, "wald_unpooled") == {SELF_HARM_PAIR, *SELF_HARM_OTHER_UNPOOLED}


def test_self_harm_pair_is_the_only_one_under_both_wald_variants(self_harm) -> None:
    both = _pairs_for(self_harm, "wald_unpooled") & _pairs_for(self_harm, "logistic_wald")
    assert both == {SELF_HARM_PAIR}


def test_narrow_ranges_drop_solutions_outside_them() -> None:
    sol = _self_harm(n1_range=range(50, 60), n2_range=range(35, 50), tests=("wald_unpooled",))
    assert set(sol["pair"]) == {SELF_HARM_PAIR, "41/55 vs 25/40"}


def test_suicide_finds_17_19_vs_13_15_under_pooled_and_logistic(suicide) -> None:
    tests_for_pair = set(suicide.loc[suicide["pair"] == SUICIDE_PAIR, "test"])
    assert tests_for_pair == {"wald_pooled", "logistic_wald"}
    pooled = suicide[(suicide["pair"] == SUICIDE_PAIR) & (suicide["test"] == "wald_pooled")]
    assert round(float(pooled["p_value"].iloc[0]), 4) == 0.8009


def test_suicide_has_no_unpooled_solution_with_plausible_denominators(suicide) -> None:
    # 30% of 185 attempted suicide before start: at most 56 patients can be at risk in total.
    at_risk = round(0.30 * 185)
    unpooled = suicide[suicide["test"] == "wald_unpooled"]
    assert len(unpooled) > 0
    assert (unpooled["n1"] + unpooled["n2"] > at_risk).all()
    assert "17/19 vs 20/23" not in _pairs_for(suicide, "wald_unpooled")  # 0.8002 -> 0.800


def _log_odds_ratio_wald(x1: int, n1: int, x2: int, n2: int) -> SimpleNamespace:
    """Written-out logistic Wald test (saturated model): log OR / sqrt(sum of 1 / cells)."""
    z = (math.log(x2 / (n2 - x2)) - math.log(x1 / (n1 - x1))) / math.sqrt(
        1 / x1 + 1 / (n1 - x1) + 1 / x2 + 1 / (n2 - x2)
    )
    return SimpleNamespace(p_value=math.erfc(abs(z) / math.sqrt(2)))


def test_written_out_logistic_wald_equals_the_glm() -> None:
    for args in [(41, 55, 27, 43), (17, 19, 13, 15), (24, 32, 22, 35)]:
        glm = logistic_wald(*args).p_value
        assert _log_odds_ratio_wald(*args).p_value == pytest.approx(glm, rel=1e-9)


def _half_up(value: float, decimals: int = 0) -> float:
    return math.floor(value * 10**decimals + 0.5) / 10**decimals


@pytest.mark.parametrize(
    ("test", "scalar"),
    [
        ("wald_unpooled", wald_two_proportions),
        ("wald_pooled", lambda *a: wald_two_proportions(*a, pooled=True)),
        ("logistic_wald", _log_odds_ratio_wald),
    ],
)
def test_enumeration_agrees_with_brute_force_scalar_tests(test, scalar) -> None:
    n1s, n2s = range(4, 41), range(4, 41)
    p_value = round(scalar(24, 32, 22, 35).p_value, 2)  # a target with at least one solution
    ones = [(x, n) for n in n1s for x in range(n + 1) if _half_up(100 * x / n) == 75]
    twos = [(x, n) for n in n2s for x in range(n + 1) if _half_up(100 * x / n) == 63]
    expected = {
        (x1, n1, x2, n2)
        for (x1, n1), (x2, n2) in itertools.product(ones, twos)
        if round(scalar(x1, n1, x2, n2).p_value, 2) == p_value
    }
    sol = _self_harm_p(p_value, n1s, n2s, test=test, p_decimals=2)
    assert (24, 32, 22, 35) in expected
    assert set(zip(sol["x1"], sol["n1"], sol["x2"], sol["n2"], strict=True)) == expected


def _self_harm_p(p_value, n1s, n2s, *, test, p_decimals) -> pd.DataFrame:
    return consistent_counts(
        pct1=75, pct2=63, p_value=p_value, n1_range=n1s, n2_range=n2s, tests=(test,),
        p_decimals=p_decimals,
    )  # fmt: skip


def test_vectorised_yates_equals_scipy_chi_square() -> None:
    tables = [(41, 55, 27, 43), (17, 19, 13, 15), (3, 12, 9, 11), (5, 10, 5, 10), (0, 4, 3, 3)]
    for x1, n1, x2, n2 in tables:
        expected = chi_square([[x1, n1 - x1], [x2, n2 - x2]], correction=True).p_value
        got = float(TESTS["chi_square_yates"](np.array(x1), n1, np.array(x2), n2))
        assert got == pytest.approx(expected, rel=1e-10), (x1, n1, x2, n2)


def test_consistent_single_uses_half_up_rounding() -> None:
    sol = consistent_single(pct=63, n_range=[8, 43])
    assert sol[["x", "n"]].values.tolist() == [[5, 8], [27, 43]]  # 62.5% prints as 63%
    assert consistent_single(pct=62, n_range=[8]).empty


def test_consistent_single_reproduces_last_year_counts() -> None:
    # published-numbers.md: 22/96 vs 30/89 on full n, 14/61 vs 16/47 among patients with end data.
    assert consistent_single(pct=23, n_range=[96])["x"].tolist() == [22]
    assert consistent_single(pct=34, n_range=[89])["x"].tolist() == [30]
    assert consistent_single(pct=23, n_range=[61])["x"].tolist() == [14]
    assert consistent_single(pct=34, n_range=[47])["x"].tolist() == [16]


def test_decimals_of_percentages() -> None:
    sol = consistent_single(pct=69.4, n_range=range(1, 100), pct_decimals=1)
    assert [68, 98] in sol[["x", "n"]].values.tolist()
    assert ((sol["pct_exact"] >= 69.35) & (sol["pct_exact"] < 69.45)).all()


def test_output_columns_and_full_range_is_fast() -> None:
    sol = _self_harm(n1_range=range(1, 186), n2_range=range(1, 186), tests=tuple(TESTS))
    assert list(sol.columns) == [
        "x1", "n1", "pct1_exact", "x2", "n2", "pct2_exact", "pooled_pct", "test", "p_value",
        "pair",
    ]  # fmt: skip
    assert set(sol["test"]) <= set(TESTS)
    assert ((sol["p_value"] >= 0.2115) & (sol["p_value"] < 0.2125)).all()
    empty = _self_harm(n1_range=range(1, 5), n2_range=range(1, 5))
    assert empty.empty and list(empty.columns) == list(sol.columns)


def test_bad_options_raise_spec_error() -> None:
    with pytest.raises(SpecError, match="Unknown test"):
        _self_harm(n1_range=range(1, 10), n2_range=range(1, 10), tests=("wald",))
    with pytest.raises(SpecError, match="denominator"):
        consistent_single(pct=50, n_range=[])
    with pytest.raises(SpecError, match="decimals"):
        _self_harm(n1_range=range(1, 10), n2_range=range(1, 10), p_decimals=2)
    with pytest.raises(SpecError, match="decimals"):
        consistent_single(pct=69.4, n_range=range(1, 10))
