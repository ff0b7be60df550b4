"""Tests of mbtbayes.binary.adherence (the duration models: tests/binary/test_duration.py).

References from outside the code under test: SciPy's Beta distribution (the closed-form
conjugate posteriors), the exact P(X > Y) sum for integer Beta shapes, the exact drop-out counts
of the synthetic register (``mbtbayes.io.synthetic.COUNTS``), counts by hand, the sample mean of
``min(duration, 36)`` and a Kaplan-Meier restricted mean worked by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from mbtbayes.binary.adherence import adherence_table
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
    assert (duration.loc["I", "n_censored"] == 2).all()
    assert (duration.loc["II", "n_censored"] == 1).all()


RESTRICTED = "restricted mean of min(duration, 36 months)"


def test_duration_default_is_the_mean_of_min_duration_36(table, synthetic):
    rows = table[table["outcome"] == "duration_months"]
    assert set(rows["model"]) == {"bayesian_bootstrap", "weibull", "lognormal"}
    assert set(rows["quantity"]) == {RESTRICTED, "median of min(duration, 36 months)"}
    roles = rows.drop_duplicates("model").set_index("model")["role"].to_dict()
    assert roles == {"bayesian_bootstrap": "default", "weibull": "alternative",
                     "lognormal": "alternative"}
    assert rows["assumes"].str.len().gt(20).all()
    assert (rows["hdi_high"] <= 36).all()  # nothing extrapolates past the planned end
    default = rows[(rows["role"] == "default") & (rows["quantity"] == RESTRICTED)]
    default = default.set_index("period")
    durations = synthetic.drop_duplicates("patient_id").set_index("period")["duration_months"]
    for period in ("I", "II"):
        values = durations.loc[period].tolist()
        plain = sum(min(v, 36.0) for v in values) / len(values)  # by hand
        assert default.at[period, "observed"] == pytest.approx(plain, rel=1e-12)
        # 50,000 bootstrap draws, posterior SD about 0.9 months: MCSE about 0.004
        assert default.at[period, "mean"] == pytest.approx(plain, abs=0.02)
        assert default.at[period, "hdi_low"] < plain < default.at[period, "hdi_high"]
    # the numbers: Period I 28.4 from the data (the uncensored Weibull gave 27.2)
    assert default.at["I", "mean"] == pytest.approx(28.41, abs=0.02)


def test_parametric_alternatives_censor_the_planned_end(table, synthetic):
    rows = table[(table["outcome"] == "duration_months") & (table["quantity"] == RESTRICTED)]
    durations = synthetic.drop_duplicates("patient_id").set_index("period")["duration_months"]
    for period in ("I", "II"):
        at_end = int((durations.loc[period] >= 36).sum())  # completed as planned, by count
        part = rows[rows["period"] == period].set_index("model")
        assert part.at["weibull", "n_censored"] == part.at["lognormal", "n_censored"] == at_end
        assert part.at["bayesian_bootstrap", "n_censored"] == 0
        assert f"{at_end} treatment(s) reached 36 months: right-censored at 36" in part.at[
            "weibull", "assumes"]
    assert (durations.loc["I"] >= 36).mean() > 0.3  # the register's point mass at 36
    for _, part in rows.groupby("model"):
        part = part.set_index("period")
        assert part.at["I", "prob_ii_worse"] > 0.99  # simulated: 30 vs 26 months


def test_ongoing_treatments_in_the_default_by_kaplan_meier():
    # Period I: 2 (stopped), 4 (ongoing), 6, 10 (stopped); to 8 months the Kaplan-Meier area is
    # 2 + 4 * 3/4 + 2 * 3/8 = 5.75 (by hand); the plain mean of min(y, 8) would be 5.5
    frame = _patients(period=["I"] * 4 + ["II"] * 4,
                      duration_months=[6.0, 2.0, 10.0, 4.0, 3.0, 5.0, 7.0, 9.0],
                      ongoing=[0, 0, 0, 1, 0, 0, 0, 0])
    table = adherence_table(frame, duration_models=("bayesian_bootstrap",), max_months=8.0,
                            n_draws=4000)
    rows = _rows(table, "duration_months")
    restricted = rows[rows["quantity"] == "restricted mean of min(duration, 8 months)"]
    assert restricted.at["I", "observed"] == pytest.approx(5.75)
    assert restricted.at["I", "n_censored"] == 1
    assert restricted.at["II", "observed"] == pytest.approx((3 + 5 + 7 + 8) / 4)


def test_table_contract(table):
    assert set(table["interval"]) == {"95% HDI"}
    assert table["passed"].all() and (table["reason"] == "exact posterior (no sampling)").all()
    for column in ("outcome", "period", "model", "role", "mean", "hdi_low", "hdi_high",
                   "diff_mean", "diff_hdi_low", "diff_hdi_high", "prob_ii_worse", "worse_if",
                   "assumes", "method", "prior"):
        assert column in table
    assert table["role"].isin(["default", "alternative"]).all() and table["assumes"].notna().all()


def test_errors(synthetic):
    with pytest.raises(DataError, match="at least one"):
        adherence_table(synthetic.drop(columns=["dropout", "duration_months",
                                                "regular_attendance"]))
    with pytest.raises(SpecError, match="duration model"):
        adherence_table(synthetic, duration_models=("gamma",))
    with pytest.raises(SpecError, match="duration model"):
        adherence_table(synthetic, duration_models="weibull")
    bad = synthetic.copy()
    bad["dropout"] = bad["dropout"] * 3
    with pytest.raises(DataError, match="0/1"):
        adherence_table(bad)
