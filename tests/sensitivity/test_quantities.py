"""The difference in change among the main quantities, on a fit whose draws are chosen: the
truth is the period x time coefficient (the II - I difference of the monthly slope), and d's
denominator the pooled baseline SD computed here by hand."""

import numpy as np
import pandas as pd
import pytest

import mbtbayes as mb
from mbtbayes.sensitivity.quantities import main_quantities

N = 4000
SLOPE_I, SLOPE_GAP = -0.03, 0.01


def _hand_sd(data: pd.DataFrame) -> float:
    base = data[data["months"] == 0].groupby("period")["bsi"]
    return float(np.sqrt((base.var() * (base.count() - 1)).sum() / (base.count().sum() - 2)))


@pytest.fixture(scope="module")
def spec():
    return mb.make_spec(outcome="bsi", time="months", group="patient_id", period="period",
                        range=(0, 4), rope_half_width=0.15,
                        rope_source="a margin chosen for the test")


def test_change_difference_is_24_times_the_slope_gap(two_period_register, spec, fit_with_draws):
    rng = np.random.default_rng(3)
    gap = rng.normal(SLOPE_GAP, 0.004, N)
    fit = fit_with_draws(spec, two_period_register, {
        "Intercept": np.full(N, 2.0), "months": rng.normal(SLOPE_I, 0.002, N),
        "period[II]": rng.normal(0.1, 0.05, N), "months:period[II]": gap})
    q = main_quantities(fit, two_period_register)["change_difference"]
    np.testing.assert_allclose(q.draws, 24 * gap, rtol=1e-9)
    assert q.units == "bsi units" and q.rope == pytest.approx(0.15)


def test_d_difference_pairs_each_draw_with_its_own_sd(two_period_register, spec,
                                                     fit_with_draws):
    """With the slopes fixed, d_II - d_I = 24 x gap / SD and d_II = 24 x (slope I + gap) / SD
    over the same SD draw: their ratio is the same in every draw; the mean is the hand SD's
    value within the bootstrap SD's spread (200 baseline values: about 5%, so 2% on the mean)."""
    fit = fit_with_draws(spec, two_period_register, {
        "Intercept": np.full(N, 2.0), "months": np.full(N, SLOPE_I),
        "period[II]": np.zeros(N), "months:period[II]": np.full(N, SLOPE_GAP)})
    quantities = main_quantities(fit, two_period_register)
    d_diff, d_ii = quantities["d_difference"], quantities["d_II"]
    np.testing.assert_allclose(d_diff.draws / d_ii.draws, SLOPE_GAP / (SLOPE_I + SLOPE_GAP),
                               rtol=1e-9)
    sd = _hand_sd(two_period_register)
    assert d_diff.draws.mean() == pytest.approx(24 * SLOPE_GAP / sd, rel=0.02)
    for d in ("d_I", "d_II", "d_difference"):  # the margin of 0.15 units in baseline SDs
        assert quantities[d].units == "baseline SD"
        assert quantities[d].rope == pytest.approx(0.15 / sd, rel=1e-9)


OLDER = ("contrast_intercept", "contrast_slope", "contrast_at_24", "d_I", "d_II")
"""The main quantities before the difference in change joined them: a baseline dict a caller
wrote then (the slow Student-t refit test's was one)."""


def test_every_row_kind_decides_the_difference_in_change_without_a_given_baseline(
        two_period_register, spec, fit_with_draws):
    """A slope gap of 0.05 per month (SD 0.002) makes the difference in change 1.2 units (SD
    0.05) against a margin of 0.15 units, and about 2 baseline SDs against 0.15 / SD: both
    95% HDIs lie far outside the margin, a "difference" by the HDI + ROPE rule's definition.
    Given a baseline dict without them, the rows of the reverse-Bayes and tipping-point
    analyses still carry both quantities, with that decision as their baseline (the given
    decisions kept)."""
    from mbtbayes.sensitivity.reverse import reverse_bayes_rows
    from mbtbayes.sensitivity.tipping import not_run_rows

    rng = np.random.default_rng(4)
    fit = fit_with_draws(spec, two_period_register, {
        "Intercept": np.full(N, 2.0), "months": rng.normal(SLOPE_I, 0.002, N),
        "period[II]": rng.normal(0.1, 0.05, N), "months:period[II]": rng.normal(0.05, 0.002, N)})
    given = dict.fromkeys(OLDER, "undecided")
    for rows in (reverse_bayes_rows(fit, two_period_register, baseline=given),
                 not_run_rows(fit, two_period_register, baseline=given, reason="test")):
        decided = {r["quantity"]: r["baseline_decision"] for r in rows}
        assert decided == given | {"change_difference": "difference",
                                   "d_difference": "difference"}
