"""Tests of mbtbayes.binary.adherence (the duration models: tests/binary/test_duration.py).

References from outside the code under test: SciPy's Beta distribution (the closed-form
conjugate posteriors), the exact P(X > Y) sum for integer Beta shapes, the exact drop-out counts
of the synthetic register (``mbtbayes.io.synthetic.COUNTS``), counts by hand, and the sample
mean of ``min(duration, 36)``.
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


def test_duration_rows_on_the_register(synthetic):
    table = adherence_table(synthetic, duration_models=("weibull", "bayesian_bootstrap"),
                            n_draws=40_000)
    rows = table[table["outcome"] == "duration_months"]
    assert set(rows["model"]) == {"weibull", "bayesian_bootstrap"}
    assert set(rows["quantity"]) == {"restricted mean months (to 36)", "median months"}
    assert (rows["hdi_high"] <= 36).all()  # nothing extrapolates past the planned end
    for (_, quantity), part in rows.groupby(["model", "quantity"]):
        part = part.set_index("period")
        assert len(part) == 3
        assert part.at["I", "prob_ii_worse"] > 0.99, quantity  # simulated: 30 vs 26 months
    boot = rows[(rows["model"] == "bayesian_bootstrap")
                & rows["quantity"].str.startswith("restricted")].set_index("period")
    durations = synthetic.drop_duplicates("patient_id").set_index("period")["duration_months"]
    for period in ("I", "II"):
        sample = np.minimum(durations.loc[period].to_numpy(float), 36.0).mean()
        assert boot.at[period, "observed"] == pytest.approx(sample)
        assert boot.at[period, "mean"] == pytest.approx(sample, abs=0.05)
        assert boot.at[period, "hdi_low"] < sample < boot.at[period, "hdi_high"]


def test_restriction_time_is_an_option():
    frame = _patients(period=["I"] * 4 + ["II"] * 4,
                      duration_months=[3.0, 20.0, 30.0, 10.0, 4.0, 25.0, 12.0, 33.0])
    table = adherence_table(frame, duration_models=("bayesian_bootstrap",), max_months=12.0,
                            n_draws=4000)
    rows = _rows(table, "duration_months")
    restricted = rows[rows["quantity"] == "restricted mean months (to 12)"]
    assert restricted.at["I", "observed"] == pytest.approx((3 + 12 + 12 + 10) / 4)
    assert (restricted["hdi_high"] <= 12).all()
    with pytest.raises(SpecError, match="max_months"):
        adherence_table(frame, max_months=0.0)


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
