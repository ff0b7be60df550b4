"""Remission with missing end data.

References from outside the code under test: the conjugate Beta posterior (SciPy) and its mean
``(r + 1) / (n + 2)``; hand arithmetic from the counts (the bundled register's remission counts
are the paper's 41/55 vs 27/43 for self-harm, with 22 and 37 start-positive patients without
end data) for the Manski bounds and each scenario's posterior mean; Monte Carlo tolerances
(20,000 draws: the MCSE of a mean difference is below 0.001).
"""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mbtbayes as mb
from mbtbayes.sensitivity.remission import (
    BOUNDS,
    MAR,
    behaviour_rows,
    manski_bounds,
    odds_setting,
    period_counts,
    proportion_draws,
    remission_rows,
)

SELF_HARM = {"I": (41, 55, 22), "II": (27, 43, 37)}
SUICIDE = {"I": (17, 19, 9), "II": (13, 15, 13)}
TOL = 0.004  # > 4 MCSE of a scenario's mean difference from 20,000 draws


def _beta_mean(r: int, n: int) -> float:
    return (r + 1) / (n + 2)  # mean of Beta(1 + r, 1 + n - r)


@pytest.fixture(scope="module")
def register_rows() -> pd.DataFrame:
    return pd.DataFrame(remission_rows(mb.load_register().data, seed=1))


def test_all_and_none_remitted_mix_the_beta_posterior_with_certainty():
    rng = np.random.default_rng(0)
    r, n, m = 30, 50, 20
    mean_p = stats.beta(1 + r, 1 + n - r).mean()
    best = proportion_draws((r, n, m), odds_ratio=None, rng=rng, case="all_remitted")
    worst = proportion_draws((r, n, m), odds_ratio=None, rng=rng, case="none_remitted")
    assert abs(best.mean() - (n * mean_p + m) / (n + m)) < 0.003
    assert abs(worst.mean() - n * mean_p / (n + m)) < 0.003
    assert abs(worst.std() - n / (n + m) * stats.beta(1 + r, 1 + n - r).std()) < 0.003
    with pytest.raises(ValueError, match="case"):
        proportion_draws((r, n, m), odds_ratio=None, rng=rng, case="best")


def test_odds_ratio_one_is_the_complete_case_and_lower_or_lowers_it():
    rng = np.random.default_rng(1)
    counts = (30, 50, 20)
    complete = stats.beta(31, 21)
    mar = proportion_draws(counts, odds_ratio=1.0, rng=rng)
    assert abs(mar.mean() - complete.mean()) < 0.003
    assert abs(mar.std() - complete.std()) < 0.003
    low = proportion_draws(counts, odds_ratio=0.25, rng=rng)
    p = complete.rvs(200_000, random_state=2)
    q = 0.25 * p / (1 - p + 0.25 * p)  # odds of p times 0.25, by hand
    assert abs(low.mean() - (50 * p + 20 * q).mean() / 70) < 0.003


def test_register_counts_are_the_papers():
    counts = period_counts(mb.load_register().data)
    assert counts["self_harm"] == SELF_HARM
    assert counts["suicide_attempt"] == SUICIDE


@pytest.mark.parametrize(("counts", "expected"), [
    # (r + m) / (n + m) and r / (n + m) per period; the difference's ends pair them crosswise
    (SELF_HARM, {"remission I": (41 / 77, 63 / 77), "remission II": (27 / 80, 64 / 80),
                 "remission II - I": (27 / 80 - 63 / 77, 64 / 80 - 41 / 77)}),
    (SUICIDE, {"remission I": (17 / 28, 26 / 28), "remission II": (13 / 28, 26 / 28),
               "remission II - I": (13 / 28 - 26 / 28, 26 / 28 - 17 / 28)}),
])
def test_manski_bounds_by_hand(counts, expected):
    bounds = manski_bounds(counts).set_index("quantity")
    for quantity, (low, high) in expected.items():
        assert bounds.loc[quantity, ["lower", "upper"]].tolist() == pytest.approx([low, high])
    assert bounds.loc["remission II - I", "upper_assumes"] == (
        "all missing remitted in II, none in I")


def test_self_harm_bounds_are_not_the_both_periods_scenarios(register_rows):
    rows = register_rows[register_rows["measure"] == "self_harm"].set_index("setting")
    bounds = rows.loc[BOUNDS]
    # the numbers: about [-0.48, +0.27], not [-0.19, -0.02]
    assert bounds["hdi_low"] == pytest.approx(27 / 80 - 63 / 77)
    assert bounds["hdi_high"] == pytest.approx(64 / 80 - 41 / 77)
    assert np.isnan(bounds["mean"]) and bounds["interval"].startswith("Manski bounds")
    assert bounds["decision"] == "zero not excluded"
    assert bounds["method"] == "closed form" and not bounds["baseline"]
    assert "remission I in [0.532, 0.818]" in bounds["note"]


@pytest.mark.parametrize(("measure", "counts"), [("self_harm", SELF_HARM),
                                                 ("suicide_attempt", SUICIDE)])
def test_scenario_means_by_hand_and_inside_the_bounds(register_rows, measure, counts):
    rows = register_rows[register_rows["measure"] == measure].set_index("setting")
    (r1, n1, m1), (r2, n2, m2) = counts["I"], counts["II"]
    p1, p2 = _beta_mean(r1, n1), _beta_mean(r2, n2)

    def mix(p, n, m, q):  # the period's expected remission among all start-positive patients
        return (n * p + m * q) / (n + m)

    expected = {
        "complete case": p2 - p1,  # II - I: a sign flip (I - II) fails here
        MAR: p2 - p1,
        "all missing remitted in both periods": mix(p2, n2, m2, 1) - mix(p1, n1, m1, 1),
        "no missing remitted in both periods": mix(p2, n2, m2, 0) - mix(p1, n1, m1, 0),
        "all missing remitted in II, none in I": mix(p2, n2, m2, 1) - mix(p1, n1, m1, 0),
        "no missing remitted in II, all in I": mix(p2, n2, m2, 0) - mix(p1, n1, m1, 1),
    }
    for setting, value in expected.items():
        assert rows.at[setting, "mean"] == pytest.approx(value, abs=TOL), setting
    low, high = rows.at[BOUNDS, "hdi_low"], rows.at[BOUNDS, "hdi_high"]
    ends = {"all missing remitted in II, none in I", "no missing remitted in II, all in I"}
    others = rows.drop(index=[BOUNDS, *ends])
    assert len(others) == 14
    assert ((others["mean"] > low) & (others["mean"] < high)).all()
    # the two ends are the bounds' scenarios as posteriors: their means sit on the bounds up to
    # the uniform prior's pull towards 1/2 (at most 2 / (n + 2) per period)
    assert abs(rows.at["no missing remitted in II, all in I", "mean"] - low) < 0.02
    assert abs(rows.at["all missing remitted in II, none in I", "mean"] - high) < 0.02


def test_difference_is_period_ii_minus_i():
    # Period II clearly lower: every II - I summary is negative, the bounds' lower end too
    rows = pd.DataFrame(behaviour_rows("x", {"I": (45, 50, 0), "II": (10, 50, 0)}, seed=3))
    rows = rows.set_index("setting")
    assert rows.at["complete case", "mean"] == pytest.approx(11 / 52 - 46 / 52, abs=TOL)
    assert rows.at["complete case", "hdi_high"] < 0
    assert rows.at[BOUNDS, "hdi_low"] == pytest.approx(10 / 50 - 45 / 50)
    assert rows.at[BOUNDS, "hdi_high"] == pytest.approx(10 / 50 - 45 / 50)


def test_tipping_point_looks_in_the_direction_that_can_overturn():
    # Period II clearly worse with end data (15/40 vs 30/40); Period I has 30 patients without
    # end data. Lowering Period II's missing only strengthens "II worse" (it can never tip);
    # Period I's missing doing worse can overturn it. A scan of Period II alone finds nothing.
    counts = {"I": (30, 40, 30), "II": (15, 40, 10)}
    p_i = stats.beta(31, 11).rvs(200_000, random_state=4)
    p_ii = stats.beta(16, 26).rvs(200_000, random_state=5)
    assert np.quantile(p_ii - p_i, 0.99) < 0  # the complete case says "II worse", by SciPy
    rows = pd.DataFrame(behaviour_rows("x", counts, seed=2)).set_index("setting")
    assert rows.at["complete case", "decision"] == "nonzero"
    note = rows.at["complete case", "note"]
    assert "II's missing doing worse (towards II worse): no tipping point" in note
    assert "I's missing doing worse (towards II better): tips at OR" in note
    ii_scan = [odds_setting("II", o) for o in (0.75, 0.5, 0.33, 0.25, 0.1)]
    assert (rows.loc[ii_scan, "decision"] == "nonzero").all()
    assert rows.loc[ii_scan, "mean"].is_monotonic_decreasing
    i_scan = [odds_setting("I", o) for o in (0.75, 0.5, 0.33, 0.25, 0.1)]
    assert rows.loc[i_scan, "mean"].is_monotonic_increasing
    assert rows.at[odds_setting("I", 0.1), "decision"] == "zero not excluded"


def test_rows_on_the_synthetic_register(register_rows):
    rows = register_rows
    assert set(rows["measure"]) == {"self_harm", "suicide_attempt"}
    base = rows[rows["baseline"]]
    assert (base["setting"] == "complete case").all() and len(base) == 2
    assert (rows.groupby("measure").size() == 17).all()
    bounds = rows["setting"] == BOUNDS
    assert rows.loc[~bounds, "note"].str.contains("tipping point").all()
    assert rows.loc[bounds, "note"].str.contains("hold the bounds").all()
    assert not rows["setting"].str.contains("best|worst").any()  # named for what they assume
    # missing at random reproduces the complete case's decision
    for _, part in rows.groupby("measure"):
        decided = part.set_index("setting")["decision"]
        assert decided[MAR] == decided["complete case"]
