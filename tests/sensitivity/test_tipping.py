"""Drop-out tipping point: on a simulated register whose drop-outs' unobserved values are truly
shifted by a known delta, the delta at which the adjusted 24-month contrast meets the
simulation's complete-data truth recovers that shift."""

import numpy as np
import pandas as pd
import pytest

import mbtbayes as mb
from mbtbayes.growth.engines import engines_for
from mbtbayes.sensitivity.tipping import delta_quantities, dropped_out, tipping_rows

TRUE_DELTA = 1.0  # baseline SDs, in the worse direction (lower: 'y' is not in the schema,
                  # so higher counts as better)


def simulated(seed: int = 4):
    rng = np.random.default_rng(seed)
    n = 160
    period = np.repeat(["I", "II"], n // 2)
    u0 = rng.normal(0, 0.5, n)
    u1 = rng.normal(0, 0.005, n)
    drops = (period == "II") & (rng.random(n) < 0.5)
    rows, truth24 = [], np.empty(n)
    for i in range(n):
        for t in (0.0, 6.0, 12.0, 18.0, 24.0):
            mean = 5.0 + u0[i] + (-0.03 + u1[i]) * t
            if drops[i] and t > 12:
                continue
            rows.append((f"P{i:03d}", period[i], t, mean + rng.normal(0, 0.2)))
        truth24[i] = 5.0 + u0[i] + (-0.03 + u1[i]) * 24
    data = pd.DataFrame(rows, columns=["patient_id", "period", "months", "y"])
    base = data[data["months"] == 0].groupby("period")["y"]
    sd = float(np.sqrt((base.var() * (base.count() - 1)).sum() / (base.count().sum() - 2)))
    truth24 = truth24 - TRUE_DELTA * sd * drops  # the unobserved values are worse
    truth = truth24[period == "II"].mean() - truth24[period == "I"].mean()
    return data, truth, sd


@pytest.fixture(scope="module")
def fitted():
    data, truth, sd = simulated()
    spec = mb.make_spec(outcome="y", time="months", group="patient_id", period="period",
                        range=(0, 10))
    engines = engines_for(mb.SamplerOptions(draws=300, tune=300, chains=2))
    return mb.fit_growth(spec, data, engine=engines, seed=2), data, truth, sd


def test_dropouts_are_the_patients_without_later_assessments(fitted):
    fit, data, _, _ = fitted
    last = data.groupby("patient_id")["months"].max()
    expected = (last.reindex(list(fit.design.groups)) < 21).to_numpy()
    np.testing.assert_array_equal(dropped_out(fit), expected)


def test_tipping_delta_recovers_the_true_shift(fitted):
    fit, data, truth, _ = fitted
    deltas = np.round(np.arange(0.0, 2.01, 0.05), 2)
    means = np.array([delta_quantities(fit, data, d)["contrast_at_24"].draws.mean()
                      for d in deltas])
    # the adjusted contrast falls linearly with delta (drop-outs are all in Period II)
    assert np.all(np.diff(means) < 0)
    recovered = float(np.interp(truth, means[::-1], deltas[::-1]))
    assert abs(recovered - TRUE_DELTA) < 0.3, (recovered, truth, means[0])
    assert abs(means[0] - truth) > 0.1  # MAR alone misses the truth: the test has teeth


def test_tipping_rows_name_the_tipping_delta(fitted):
    fit, data, _, _ = fitted
    rows = pd.DataFrame(tipping_rows(fit, data, baseline={}))
    assert set(rows["setting"]) >= {"delta = 0 SD", "delta = 1 SD"}
    assert rows["note"].str.contains("tipping point|no tipping point").all()


def test_delta_zero_is_the_baseline_and_a_shift_moves_each_mean_by_its_share(fitted):
    """delta = 0 gives the baseline's own draws (so no conclusion 'changes' at MAR); a delta
    moves period k's 24-month mean by delta x SD x (share of k's patients who dropped out),
    the shares counted here from the data (last assessment before month 21)."""
    from mbtbayes.sensitivity.quantities import main_quantities

    fit, data, _, sd = fitted
    base = main_quantities(fit, data)
    zero = delta_quantities(fit, data, 0.0)
    for name, q in zero.items():
        np.testing.assert_array_equal(q.draws, base[name].draws)
    last = data.groupby("patient_id").agg(months=("months", "max"), period=("period", "first"))
    share = (last["months"] < 21).groupby(last["period"]).mean()
    one = delta_quantities(fit, data, 1.0)
    # 'y' is not in the schema: higher counts as better, so worse is lower (-1)
    np.testing.assert_allclose(one["contrast_at_24"].draws - base["contrast_at_24"].draws,
                               -sd * (share["II"] - share["I"]), rtol=1e-6)
    np.testing.assert_allclose(one["d_II"].draws - base["d_II"].draws, -share["II"], rtol=1e-9)
