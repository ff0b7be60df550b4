"""Tests of mbtbayes.published_bayes.

References from outside the code under test: the numbers printed in the paper and the cell
counts listed in ``published-numbers.md`` (written down here), closed-form Beta results (SciPy;
the exact P(X > Y) sum for integer shapes) and plain arithmetic on the printed percentages.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from mbtbayes.core.errors import SpecError
from mbtbayes.study.reanalysis import (
    inconsistencies,
    max_start_positive,
    published_posteriors,
    published_summary,
)
from mbtbayes.study.reconstruct import consistent_counts

# published-numbers.md, "Cell counts consistent with the reported percentages and p-values"
SELF_HARM_PAIR = "41/55 vs 27/43"
SELF_HARM_UNPOOLED = {"24/32 vs 35/56", "24/32 vs 50/79", "40/53 vs 20/32", "41/55 vs 25/40",
                      "59/79 vs 24/38", SELF_HARM_PAIR}
SUICIDE_PAIR = "17/19 vs 13/15"


def _p_x_greater(a_x: int, b_x: int, a_y: int, b_y: int) -> float:
    """Exact P(X > Y) for independent Betas with integer a_x (closed-form sum)."""
    i = np.arange(a_x)
    terms = (special.betaln(a_y + i, b_y + b_x) - np.log(b_x + i) - special.betaln(1 + i, b_x)
             - special.betaln(a_y, b_y))
    return float(np.exp(terms).sum())


@pytest.fixture(scope="module")
def posteriors() -> pd.DataFrame:
    return published_posteriors(n_draws=50_000)


def test_every_reconstruction_is_there(posteriors):
    for behaviour, (pct1, pct2, p) in {"self_harm": (75, 63, 0.212),
                                       "suicide_attempt": (89, 87, 0.801)}.items():
        found = consistent_counts(pct1=pct1, pct2=pct2, p_value=p, n1_range=range(1, 97),
                                  n2_range=range(1, 90))
        mine = posteriors[posteriors["behaviour"] == behaviour]
        assert sorted(zip(mine["pair"], mine["test"], strict=True)) == sorted(
            zip(found["pair"], found["test"], strict=True))
    sh = posteriors[posteriors["behaviour"] == "self_harm"]
    assert set(sh.loc[sh["test"] == "wald_unpooled", "pair"]) == SELF_HARM_UNPOOLED


def test_posteriors_against_closed_forms(posteriors):
    for row in posteriors.drop_duplicates("pair").itertuples():
        a1, b1 = 1 + row.x1, 1 + row.n1 - row.x1
        a2, b2 = 1 + row.x2, 1 + row.n2 - row.x2
        assert row.p1_mean == pytest.approx(stats.beta.mean(a1, b1), abs=1e-12)
        assert row.p2_mean == pytest.approx(stats.beta.mean(a2, b2), abs=1e-12)
        assert stats.beta.cdf(row.p1_hdi_high, a1, b1) - stats.beta.cdf(row.p1_hdi_low, a1, b1) \
            == pytest.approx(0.95, abs=1e-8)
        assert row.prob_ii_worse == pytest.approx(_p_x_greater(a1, b1, a2, b2), abs=1e-8)
        assert row.p_diff_hdi_low < row.p_period_diff < row.p_diff_hdi_high


def test_the_reference_pairs(posteriors):
    sh = posteriors[(posteriors["pair"] == SELF_HARM_PAIR)]
    assert set(sh["test"]) == {"wald_unpooled", "logistic_wald"}
    assert sh["recomputed_p"].round(3).eq(0.212).all()
    assert sh["prob_ii_worse"].iloc[0] == pytest.approx(_p_x_greater(42, 15, 28, 17), abs=1e-8)
    sa = posteriors[(posteriors["pair"] == SUICIDE_PAIR)]
    assert set(sa["test"]) == {"wald_pooled", "logistic_wald"}
    assert sa["published"].iloc[0] == "89% vs 87%, p = 0.801 (overall 88%)"


def test_plausibility_and_pooled_flags(posteriors):
    # 30% of 185 is at most 56 start attempters (29.7% = 55/185, 30.3% = 56/185, 57 -> 31%)
    assert max_start_positive("suicide_attempt") == 56
    assert max_start_positive("self_harm") == 158  # 85% of 185: 157 or 158
    sa = posteriors[posteriors["behaviour"] == "suicide_attempt"]
    assert set(sa.loc[sa["plausible_n"], "pair"]) == {SUICIDE_PAIR}
    # published-numbers.md: the self-harm pair pools to 69.4%, and the paper says 70%
    sh = posteriors[posteriors["pair"] == SELF_HARM_PAIR].iloc[0]
    assert sh["pooled_pct"] == pytest.approx(100 * 68 / 98)
    assert not sh["pooled_matches"]
    pooled = posteriors.loc[posteriors["behaviour"] == "self_harm", ["x1", "n1", "x2", "n2"]]
    rounded = np.floor(100 * (pooled.x1 + pooled.x2) / (pooled.n1 + pooled.n2) + 0.5)
    assert not (rounded == 70).any()


def test_summary(posteriors):
    summary = published_summary(posteriors).set_index(["behaviour", "subset"])
    sh = summary.loc[("self_harm", "all")]
    assert sh["n_pairs"] == posteriors.loc[posteriors["behaviour"] == "self_harm", "pair"].nunique()
    assert 0.85 < sh["prob_ii_worse_min"] <= sh["prob_ii_worse_max"] < 0.92
    sa = summary.loc[("suicide_attempt", "plausible_n")]
    assert sa["n_pairs"] == 1
    assert sa["prob_ii_worse_min"] == pytest.approx(_p_x_greater(18, 3, 14, 3), abs=1e-8)
    assert "0.61" in sa["conclusion"]


def test_inconsistencies_show_the_arithmetic(posteriors):
    table = inconsistencies(posteriors).set_index("issue")
    assert set(table["kind"]) <= {"inconsistent", "unstated"}
    onset = table.loc["suicide_attempt_new_onsets", "arithmetic"]
    assert "30% x (100 - 88)% = 3.6%" in onset  # 0.30 * 0.12 = 0.036
    assert "10 of 185" in onset  # (9 - 3.6)% of 185 = 10.0
    overall = table.loc["self_harm_overall_remission"]
    assert overall["kind"] == "inconsistent"
    assert "68/98 = 69.4%" in overall["arithmetic"]
    wald = table.loc["wald_test_variant", "arithmetic"]
    assert ">= 108" in wald and "at most 56" in wald and "share only logistic_wald" in wald
    denominator = table.loc["self_harm_remission_denominator", "arithmetic"]
    assert "about 157" in denominator and "59" in denominator  # 157 - (55 + 43)
    assert "p_value_reporting_rule" in table.index


def test_prior_is_changeable_and_checked():
    table = published_posteriors(prior=(0.5, 0.5), n_draws=2000)
    row = table[table["pair"] == SELF_HARM_PAIR].iloc[0]
    assert row["p1_mean"] == pytest.approx(41.5 / 56)
    with pytest.raises(SpecError):
        published_posteriors(prior=(-1, 1), n_draws=10)
