"""Tests of mbtbayes.adherence.

References from outside the code under test: SciPy's Beta and Student-t distributions (the
closed-form conjugate posteriors), the exact P(X > Y) sum for integer Beta shapes, the classical
standard error of a mean, the exact drop-out counts of the synthetic register
(``mbtbayes.simulate.COUNTS``) and the known parameters of simulated Weibull durations.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from mbtbayes.binary.adherence import (
    LognormalPrior,
    WeibullPrior,
    adherence_table,
    grid_draws,
    lognormal_log_posterior,
    mean_duration_draws,
    nig_posterior,
)
from mbtbayes.core.errors import DataError, SpecError
from mbtbayes.io.synthetic import COUNTS, N_PATIENTS


def _p_x_greater(a_x: int, b_x: int, a_y: int, b_y: int) -> float:
    """Exact P(X > Y) for independent Betas with integer a_x (closed-form sum)."""
    i = np.arange(a_x)
    terms = (special.betaln(a_y + i, b_y + b_x) - np.log(b_x + i) - special.betaln(1 + i, b_x)
             - special.betaln(a_y, b_y))
    return float(np.exp(terms).sum())


def _patients(**columns) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    return pd.DataFrame({"patient_id": [f"P{i}" for i in range(n)], **columns})


@pytest.fixture(scope="module")
def table(synthetic: pd.DataFrame) -> pd.DataFrame:
    return adherence_table(synthetic, n_draws=50_000)


def _rows(table: pd.DataFrame, outcome: str, model: str | None = None) -> pd.DataFrame:
    part = table[table["outcome"] == outcome]
    if model is not None:
        part = part[part["model"] == model]
    return part.set_index("period")


def test_dropout_counts_are_the_simulated_ones(table):
    rows = _rows(table, "dropout")
    for period in ("I", "II"):
        assert rows.at[period, "n"] == N_PATIENTS[period]
        assert rows.at[period, "n_events"] == COUNTS[period].dropout
    assert rows.at["pooled", "n_events"] == COUNTS["I"].dropout + COUNTS["II"].dropout


@pytest.mark.parametrize("outcome", ["dropout", "regular_attendance", "short_treatment"])
def test_binary_rows_against_closed_forms(table, outcome):
    rows = _rows(table, outcome)
    events, n = rows["n_events"].astype(int), rows["n"].astype(int)
    shapes = {p: (1 + events[p], 1 + n[p] - events[p]) for p in ("I", "II", "pooled")}
    for period, (a, b) in shapes.items():
        ref = stats.beta(a, b)
        assert rows.at[period, "mean"] == pytest.approx(ref.mean(), abs=1e-12)
        low, high = rows.at[period, "hdi_low"], rows.at[period, "hdi_high"]
        assert ref.cdf(high) - ref.cdf(low) == pytest.approx(0.95, abs=1e-8)
    (a1, b1), (a2, b2) = shapes["I"], shapes["II"]
    if rows.at["I", "worse_if"] == "higher in Period II":
        expected = _p_x_greater(a2, b2, a1, b1)
    else:
        expected = _p_x_greater(a1, b1, a2, b2)
    assert np.allclose(rows["prob_ii_worse"], expected, atol=1e-8)


def test_worse_directions(table):
    worse = table.drop_duplicates("outcome").set_index("outcome")["worse_if"].to_dict()
    assert worse == {"dropout": "higher in Period II", "short_treatment": "higher in Period II",
                     "duration_months": "shorter in Period II",
                     "regular_attendance": "lower in Period II"}


def test_short_treatment_counts_by_hand():
    frame = _patients(period=["I", "I", "I", "II", "II", "II"],
                      duration_months=[3.0, 5.9, 6.0, 2.0, 30.0, np.nan])
    rows = _rows(adherence_table(frame, n_draws=2000), "short_treatment")
    assert rows.loc["I", ["n", "n_events", "n_missing"]].tolist() == [3, 2, 0]
    assert rows.loc["II", ["n", "n_events", "n_missing"]].tolist() == [2, 1, 1]


def test_ongoing_treatments_are_censored_and_counted():
    frame = _patients(period=["I"] * 4 + ["II"] * 4,
                      duration_months=[3.0, 20.0, 30.0, 10.0, 4.0, 25.0, 12.0, 33.0],
                      dropout=[0, 0, 0, 1, 0, 0, 1, 0],
                      ongoing=[1, 1, 0, 0, 0, 1, 0, 0])
    table = adherence_table(frame, n_draws=2000)
    short = _rows(table, "short_treatment")
    # patient 0 is ongoing at 3 months: whether the treatment ends short is not known yet
    assert short.loc["I", ["n", "n_events", "n_missing"]].tolist() == [3, 0, 1]
    dropout = _rows(table, "dropout")
    assert dropout.loc["I", ["n", "n_missing"]].tolist() == [2, 2]
    duration = _rows(table, "duration_months")
    assert duration.loc["I", "n_censored"] == 2 and duration.loc["II", "n_censored"] == 1


def test_nig_posterior_against_textbook_update():
    log_y = np.log([12.0, 20.0, 25.0, 30.0, 36.0])
    prior = LognormalPrior(mu0=2.5, kappa0=2.0, nu0=3.0, sigma0=0.8)
    mu_n, kappa_n, nu_n, sigma_n = nig_posterior(log_y, prior)
    n, ybar, ss = 5, log_y.mean(), ((log_y - log_y.mean()) ** 2).sum()
    assert mu_n == pytest.approx((2.0 * 2.5 + n * ybar) / (2.0 + n))
    assert kappa_n == 7.0 and nu_n == 8.0
    expected = (3.0 * 0.64 + ss + 2.0 * n / 7.0 * (ybar - 2.5) ** 2) / 8.0
    assert sigma_n**2 == pytest.approx(expected)


def test_grid_posterior_matches_the_conjugate_student_t():
    rng = np.random.default_rng(3)
    y = rng.lognormal(3.2, 0.4, 60)
    prior = LognormalPrior()
    mu_n, kappa_n, nu_n, sigma_n = nig_posterior(np.log(y), prior)
    t = stats.t(nu_n, loc=mu_n, scale=sigma_n / np.sqrt(kappa_n))
    mu, _ = grid_draws(lambda a, b: lognormal_log_posterior(y, np.zeros(60, bool), prior, a, b),
                       (3.0, np.log(0.5)), 200_000, rng)
    quantiles = [0.025, 0.25, 0.5, 0.75, 0.975]
    assert np.quantile(mu, quantiles) == pytest.approx(t.ppf(quantiles), abs=0.004)


def test_conjugate_lognormal_draws_match_student_t():
    rng = np.random.default_rng(4)
    y = rng.lognormal(3.0, 0.5, 40)
    mu_n, kappa_n, nu_n, sigma_n = nig_posterior(np.log(y), LognormalPrior())
    median = np.exp(stats.t(nu_n, loc=mu_n, scale=sigma_n / np.sqrt(kappa_n)).median())
    draws = mean_duration_draws(y, np.zeros(40, bool), model="lognormal", n=100_000, rng=rng)
    # mean = exp(mu + s2 / 2) > exp(mu): its posterior median lies above exp(median of mu)
    assert np.median(draws) > median
    assert np.median(draws) == pytest.approx(median * np.exp(sigma_n**2 / 2), rel=0.02)


def test_weibull_recovers_known_mean_with_censoring():
    rng = np.random.default_rng(7)
    shape, scale = 3.0, 30.0
    durations = scale * rng.weibull(shape, 1500)
    stop = rng.uniform(5.0, 60.0, 1500)  # administrative censoring
    censored = durations > stop
    observed = np.minimum(durations, stop)
    truth = scale * special.gamma(1 + 1 / shape)
    draws = mean_duration_draws(observed, censored, model="weibull", n=50_000, rng=rng,
                                weibull_prior=WeibullPrior())
    assert censored.mean() > 0.2  # the test needs real censoring
    assert draws.mean() == pytest.approx(truth, abs=0.7)
    assert np.quantile(draws, 0.005) < truth < np.quantile(draws, 0.995)
    naive = observed.mean()  # ignoring censoring is badly biased
    assert naive < truth - 2


def test_bayesian_bootstrap_matches_the_classical_mean_and_se():
    rng = np.random.default_rng(8)
    y = rng.uniform(1, 36, 90)
    draws = mean_duration_draws(y, np.zeros(90, bool), model="bayesian_bootstrap", n=40_000,
                                rng=rng)
    assert draws.mean() == pytest.approx(y.mean(), abs=0.05)
    assert draws.std() == pytest.approx(y.std(ddof=0) / np.sqrt(90), rel=0.05)


def test_duration_rows_on_the_register(synthetic):
    table = adherence_table(synthetic, duration_models=("weibull", "bayesian_bootstrap"),
                            n_draws=40_000)
    rows = table[table["outcome"] == "duration_months"]
    assert set(rows["model"]) == {"weibull", "bayesian_bootstrap"}
    for _, part in rows.groupby("model"):
        part = part.set_index("period")
        for period in ("I", "II"):
            assert part.at[period, "hdi_low"] < part.at[period, "observed"] < part.at[
                period, "hdi_high"]
        assert part.at["I", "prob_ii_worse"] > 0.99  # simulated: 30 vs 26 months planned


def test_table_contract(table):
    assert set(table["interval"]) == {"95% HDI"}
    assert table["passed"].all() and (table["reason"] == "exact posterior (no sampling)").all()
    for column in ("outcome", "period", "model", "mean", "hdi_low", "hdi_high", "diff_mean",
                   "diff_hdi_low", "diff_hdi_high", "prob_ii_worse", "worse_if", "method",
                   "prior"):
        assert column in table


def test_errors(synthetic):
    with pytest.raises(DataError, match="at least one"):
        adherence_table(synthetic.drop(columns=["dropout", "duration_months",
                                                "regular_attendance"]))
    with pytest.raises(SpecError, match="duration model"):
        adherence_table(synthetic, duration_models=("gamma",))
    frame = _patients(period=["I"] * 3 + ["II"] * 3,
                      duration_months=[3.0, 20.0, 9.0, 4.0, 25.0, 7.0], ongoing=[1, 0, 0, 0, 0, 0])
    with pytest.raises(SpecError, match="censored"):
        adherence_table(frame, duration_models=("bayesian_bootstrap",), n_draws=100)
    bad = synthetic.copy()
    bad["dropout"] = bad["dropout"] * 3
    with pytest.raises(DataError, match="0/1"):
        adherence_table(bad)
