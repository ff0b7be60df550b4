"""Individual trajectories and shrinkage: own least-squares lines against NumPy / SciPy and a
hand computation, posterior lines on patients with known effects (units and sign), and
shrinkage toward the population slope on a register simulated with known patient slopes."""

from __future__ import annotations

from dataclasses import replace

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

import mbtbayes as mb
from mbtbayes.core.errors import DataError
from mbtbayes.core.sampling import Diagnostics, SamplerOptions
from mbtbayes.growth import patients as pt
from mbtbayes.growth.design import make_design
from mbtbayes.growth.groups import patient_dim
from mbtbayes.growth.result import GrowthFit
from mbtbayes.growth.shrinkage import COLUMNS, own_line, patient_frame, shrinkage


def spec_for(measure: str = "bsi"):
    return mb.make_spec(outcome=measure, time="months", group="patient_id", period="period",
                        range=(0, 4))


def known_fit(spec, data: pd.DataFrame, beta: np.ndarray, effects) -> GrowthFit:
    """A period fit whose posterior is given: ``beta`` (S, p); ``effects(design)`` returns the
    patient effects (S, G, 2) of the design's observed patients in that order."""
    design = make_design(spec, data, variant="period")
    ids = [design.groups[i] for i in design.observed]
    u = effects(design)
    pdim = patient_dim(spec)
    posterior = xr.Dataset(
        {"beta": (("chain", "draw", "coef"), beta[None]),
         **{name: (("chain", "draw", pdim), u[None, :, :, k])
            for k, name in enumerate(design.effects)}},
        coords={"coef": list(design.columns), pdim: ids})
    return GrowthFit(spec, "period", design, az.InferenceData(posterior=posterior),
                     Diagnostics(1.0, 1e3, 1e3, 0, True), "test", 0.0)


# ---------------------------------------------------------------- own least-squares lines

# Months 0, 12, 24 with scores 2.0, 1.4, 1.1, by hand: mean month 12, mean score 1.5;
# Sxy = (-12)(0.5) + 0 + 12(-0.4) = -10.8, Sxx = 288; slope -0.0375 per month (-0.45 per
# year), intercept at month 0: 1.5 + 0.0375 x 12 = 1.95.
HAND = [("A", "I", 0.0, 2.0), ("A", "I", 12.0, 1.4), ("A", "I", 24.0, 1.1),
        ("B", "I", 0.0, 1.0), ("B", "I", 3.5, 1.3), ("B", "I", 7.0, 1.2), ("B", "I", 18.0, 2.0),
        ("C", "II", 0.0, 2.5),                      # one assessment at month 0
        ("D", "II", 6.0, 2.0), ("D", "II", 6.0, 1.6),  # two, one distinct month
        ("E", "II", 1.0, 3.0), ("E", "II", 30.0, 0.5)]


def hand_data() -> pd.DataFrame:
    return pd.DataFrame(HAND, columns=["patient_id", "period", "months", "bsi"])


def test_own_line_matches_the_hand_computation_polyfit_and_linregress():
    intercept, slope, note = own_line(np.array([0.0, 12.0, 24.0]), np.array([2.0, 1.4, 1.1]),
                                      t0=0.0)
    assert (intercept, slope, note) == (pytest.approx(1.95), pytest.approx(-0.0375), "")
    rng = np.random.default_rng(3)
    for _ in range(20):
        t = np.sort(rng.choice(np.arange(0.0, 37.0, 0.5), rng.integers(2, 8), replace=False))
        y = rng.uniform(0, 4, len(t))
        ref = stats.linregress(t - 6.0, y)
        got = own_line(t, y, t0=6.0)
        assert got[0] == pytest.approx(ref.intercept) and got[1] == pytest.approx(ref.slope)
        assert got[1] == pytest.approx(np.polyfit(t, y, 1)[0])


def test_patients_without_two_distinct_months_have_no_slope_and_say_why():
    spec = spec_for()
    data = hand_data()
    fit = known_fit(spec, data, np.zeros((2, 4)), lambda d: np.zeros((2, len(d.observed), 2)))
    got = patient_frame(fit).set_index("patient")
    assert got.loc["A", "ls_slope"] == pytest.approx(-0.0375)
    ref = stats.linregress([0.0, 3.5, 7.0, 18.0], [1.0, 1.3, 1.2, 2.0])
    assert got.loc["B", "ls_slope"] == pytest.approx(ref.slope)
    assert got.loc["B", "ls_intercept"] == pytest.approx(ref.intercept)
    assert got.loc["E", "ls_slope"] == pytest.approx(-2.5 / 29)
    # C: one score at month 0, its intercept is that score; D: two scores at month 6
    assert np.isnan(got.loc["C", "ls_slope"]) and got.loc["C", "ls_intercept"] == 2.5
    assert np.isnan(got.loc["D", "ls_slope"]) and np.isnan(got.loc["D", "ls_intercept"])
    assert "one distinct month (0)" in got.loc["C", "ls_note"]
    assert "one distinct month (6)" in got.loc["D", "ls_note"]
    assert got.loc["A", "ls_note"] == "" and got.loc["D", "n_assessments"] == 2
    assert got.loc["D", "n_months"] == 1 and got["period"].to_dict()["E"] == "II"


def test_every_patients_line_and_months_equal_own_line_on_the_register(synthetic):
    """All patients at once (the vectorised frame) against :func:`own_line` (itself checked
    against SciPy's linregress above) and pandas, patient by patient, on the register."""
    spec = spec_for()
    fit = known_fit(spec, synthetic, np.zeros((2, 4)),
                    lambda d: np.zeros((2, len(d.observed), 2)))
    got = patient_frame(fit)
    design = fit.design
    assert list(got["g"]) == sorted(set(design.group)) and len(got) > 150
    for row in got.itertuples():
        rows = np.flatnonzero(design.group == row.g)
        intercept, slope, note = own_line(design.time[rows], design.y[rows], t0=0.0)
        assert row.ls_intercept == pytest.approx(intercept, rel=1e-9, abs=1e-12, nan_ok=True)
        assert row.ls_slope == pytest.approx(slope, rel=1e-9, abs=1e-12, nan_ok=True)
        assert (row.ls_note, row.row, row.n_assessments) == (note, rows[0], len(rows))
        months = design.time[rows]
        assert (row.first_month, row.last_month, row.n_months) == (
            months.min(), months.max(), len(set(months)))


# ---------------------------------------------------------------- posterior lines, known effects


def test_posterior_lines_are_the_known_ones_per_month_with_their_sign():
    """Fixed effects Intercept 2.0, months -0.02 per month, period[II] +0.3, months:period[II]
    +0.01; patient effects known without noise: A (I) +0.1, -0.01; E (II) -0.2, +0.005. So A's
    line is 2.1 - 0.03 t, E's 2.1 - 0.005 t; the population slopes -0.02 (I), -0.01 (II)."""
    spec = spec_for()
    data = hand_data()
    own = {"A": (0.1, -0.01), "E": (-0.2, 0.005)}

    def effects(design):
        ids = [design.groups[i] for i in design.observed]
        return np.array([[own.get(i, (0.0, 0.0)) for i in ids]] * 3)

    fit = known_fit(spec, data, np.tile([2.0, -0.02, 0.3, 0.01], (3, 1)), effects)
    table = shrinkage([fit], data).set_index("patient")
    assert list(table.columns) == list(COLUMNS[:5]) + list(COLUMNS[6:])
    assert table.loc["A", "slope_mean"] == pytest.approx(-0.03)       # not -0.36 per year
    assert table.loc["A", "intercept_mean"] == pytest.approx(2.1)
    assert table.loc["E", "slope_mean"] == pytest.approx(-0.005)      # II: -0.02 + 0.01 + 0.005
    assert table.loc["E", "intercept_mean"] == pytest.approx(2.1)
    assert table.loc["A", "population_slope"] == pytest.approx(-0.02)
    assert table.loc["E", "population_slope"] == pytest.approx(-0.01)
    assert table.loc["B", "slope_mean"] == pytest.approx(-0.02)       # no own effect
    assert table.loc["A", "slope_hdi_low"] == pytest.approx(-0.03)
    # A: own LS -0.0375, posterior -0.03, population -0.02: pulled toward it
    assert bool(table.loc["A", "toward_population"])
    assert pd.isna(table.loc["C", "toward_population"])
    assert "per month" in table.loc["A", "estimand"]
    assert (table["measure"] == "bsi").all() and (table["model"] == "period").all()


def test_data_without_the_fits_patients_are_refused():
    spec = spec_for()
    data = hand_data()
    fit = known_fit(spec, data, np.zeros((2, 4)), lambda d: np.zeros((2, len(d.observed), 2)))
    with pytest.raises(DataError, match="not in the data"):
        shrinkage([fit], data[data["patient_id"] != "A"])
    assert shrinkage([], data).columns.tolist() == list(COLUMNS)


# ---------------------------------------------------------------- shrinkage, simulation truth

TRUTH = {"beta": np.array([2.0, -0.02, 0.3, 0.01]), "sds": np.array([0.5, 0.02]),
         "sigma": 0.35}
"""Intercept, months, period[II], months:period[II]; patient SDs; residual SD."""


def simulated(seed: int = 11, n: int = 160) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Patients with known intercepts and slopes and 2 to 7 assessments, months 0 to 36."""
    rng = np.random.default_rng(seed)
    b = TRUTH["beta"]
    truth = pd.DataFrame({"patient_id": [f"p{i:03d}" for i in range(n)],
                          "period": np.where(np.arange(n) % 2, "II", "I"),
                          "k": rng.integers(2, 8, n)})
    two = (truth["period"] == "II").to_numpy()
    truth["a"] = b[0] + two * b[2] + rng.normal(0, TRUTH["sds"][0], n)
    truth["b"] = b[1] + two * b[3] + rng.normal(0, TRUTH["sds"][1], n)
    rows = []
    for r in truth.itertuples():
        months = np.sort(np.concatenate([[0.0], rng.uniform(1, 36, r.k - 1).round(1)]))
        for t in months:
            rows.append((r.patient_id, r.period, t, r.a + r.b * t
                         + rng.normal(0, TRUTH["sigma"])))
    return pd.DataFrame(rows, columns=["patient_id", "period", "months", "bsi"]), truth


def conditional_fit(spec, data: pd.DataFrame, *, draws: int = 200) -> GrowthFit:
    """Population parameters at their true values; patient effects drawn from their exact
    conditional posterior given them (what the marginal engine does per draw)."""
    rng = np.random.default_rng(4)
    population = pt.Draws(beta=np.tile(TRUTH["beta"], (draws, 1)),
                          sds=np.tile(TRUTH["sds"], (draws, 1)),
                          sigma=np.full(draws, TRUTH["sigma"]))

    def effects(design):
        u = pt.draw_effects(population, rng, y=design.y, X=design.X, Z=design.Z,
                            group=design.group, n_groups=len(design.groups))
        return u[:, design.observed]

    return known_fit(spec, data, population.beta, effects)


def check_shrinkage(table: pd.DataFrame, truth: pd.DataFrame, *, between: float) -> None:
    """Posterior slopes between the own and the population slope, pulled the more the fewer
    the assessments, and nearer the true slopes than the own ones.

    "Between" is checked where the own slope is at least half the true slope SD (0.01) from
    the population's: nearer, the intercept's information (months not centred) can carry a
    posterior slope just past the population slope (31 of 54 such patients at 1,000 draws)."""
    t = table.set_index("patient").join(truth.set_index("patient_id")[["a", "b"]])
    t = t[t["ls_slope"].notna()]
    away = (t["ls_slope"] - t["population_slope"]).abs()
    low = np.minimum(t["ls_slope"], t["population_slope"])
    high = np.maximum(t["ls_slope"], t["population_slope"])
    inside = (t["slope_mean"] >= low) & (t["slope_mean"] <= high)
    clear = away > TRUTH["sds"][1] / 2
    assert clear.sum() >= len(t) / 2
    assert inside[clear].mean() >= between
    assert t.loc[clear, "toward_population"].mean() >= between
    pulled = (t["slope_mean"] - t["ls_slope"]).abs() / away
    few, many = pulled[t["n_assessments"] <= 3].median(), pulled[t["n_assessments"] >= 6].median()
    assert few > many + 0.1
    assert np.corrcoef(t["slope_mean"], t["b"])[0, 1] > np.corrcoef(t["ls_slope"], t["b"])[0, 1]


def test_posterior_slopes_shrink_toward_the_population_and_nearer_the_truth():
    data, truth = simulated()
    table = shrinkage([conditional_fit(spec_for(), data)], data)
    assert len(table) == len(truth) and table["ls_slope"].notna().all()
    check_shrinkage(table, truth, between=0.9)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["marginal", "bambi"])
def test_a_real_fit_shrinks_toward_the_population_and_nearer_the_truth(engine):
    """Either engine (Bambi's patient effects are sampled, uncorrelated); about 50 s each."""
    data, truth = simulated()
    spec = replace(spec_for(), correlated=engine == "marginal")
    fit = mb.fit_growth(spec, data, engine=engine,
                        options=SamplerOptions(draws=250, tune=300, chains=2))
    assert fit.engine == engine
    check_shrinkage(shrinkage([fit], data), truth, between=0.85)
