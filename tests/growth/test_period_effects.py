"""The study's estimands in ``period_effects.csv``: intake case mix, the difference in change
(primary, in the measure's units and in d units), the level at 24 months (secondary), each
against the pre-specified margin and read through the direction of improvement.

References, all outside the code under test: hand arithmetic from the given coefficient
draws (for linear time the difference in change is 24 x the slope difference, and an
additive covariate cancels from a change); the margins from the spec files read with
``tomllib``; the directions from the paper's table of measures (high BSI = more distress,
high GAF = better functioning); the observed pooled baseline SD computed here in pandas from
its definition; P(direction) of Normal draws from ``scipy.stats.norm.cdf``; the HDI of Normal
draws, mu +- 1.96 sigma, for the decisions."""

from __future__ import annotations

import tomllib

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

import mbtbayes as mb
from mbtbayes.core.sampling import Diagnostics
from mbtbayes.growth.design import make_design
from mbtbayes.growth.result import GrowthFit
from mbtbayes.growth.specs import models_dir
from mbtbayes.growth.summaries import effect_sizes, period_effects

N = 20_000


@pytest.fixture(scope="module")
def register() -> pd.DataFrame:
    return mb.load_register().data


def margin(name: str) -> tuple[float, float]:
    raw = tomllib.loads((models_dir() / f"{name}.toml").read_text())["rope"]
    return raw["half_width"], raw["reference_sd"]


def fit_with(name: str, register: pd.DataFrame, beta: dict[str, np.ndarray]) -> GrowthFit:
    """A period fit of a bundled spec whose coefficient draws are given (no sampling);
    coefficients not given are 0."""
    spec = mb.load_specs()[name]
    design = make_design(spec, register, variant="period")
    values = np.stack([beta.get(c, np.zeros(N)) for c in design.columns], -1)[None]
    params = xr.Dataset({"beta": (("chain", "draw", "coef"), values)},
                        coords={"coef": list(design.columns)})
    return GrowthFit(spec, "period", design, None, Diagnostics(1.0, 1e3, 1e3, 0, True),
                     "none", 0.0, params=params)


def bsi_fit(register, *, change_mean: float, change_sd: float, seed: int = 0) -> GrowthFit:
    rng = np.random.default_rng(seed)
    return fit_with("bsi", register, {
        "Intercept": np.full(N, 2.0), "months": np.full(N, -0.032),
        "period[II]": rng.normal(0.1, 0.05, N),
        "months:period[II]": rng.normal(change_mean, change_sd, N) / 24})


def observed_pooled_baseline_sd(data: pd.DataFrame, measure: str) -> float:
    """Each patient's first value, if within 3 months of month 0; SD pooled over periods."""
    first = (data.dropna(subset=[measure]).sort_values("months", kind="stable")
             .groupby("patient_id").head(1))
    first = first[first["months"] <= 3]
    groups = first.groupby("period", observed=True)[measure]
    return float(np.sqrt((groups.var(ddof=1) * (groups.count() - 1)).sum()
                         / (groups.count() - 1).sum()))


def test_rows_name_their_estimand_role_units_and_margin(register):
    table = period_effects([bsi_fit(register, change_mean=0.0, change_sd=0.1)],
                           register).set_index("contrast")
    assert list(table.index) == ["intercept", "change", "change_d", "slope", "at_24"]
    assert table.loc["intercept", "role"] == "intake case mix"
    assert table.loc["change", "role"] == "course (primary)"
    assert table.loc["change_d", "role"] == "course (primary, d units)"
    assert table.loc["at_24", "role"] == "level at 24 months (secondary)"
    assert table.loc["change", "estimand"].startswith("difference in change 0-24 months")
    assert table.loc["change_d", "estimand"].startswith("difference in Cohen's d 0-24 months")
    assert table.loc["slope", "units"] == "bsi units per month"
    assert table.loc["change_d", "units"] == "observed pooled baseline SD"
    assert (table["better_if"] == "lower").all()  # high BSI = more distress
    h, sd = margin("bsi")
    for contrast in ("intercept", "change", "at_24"):
        assert table.loc[contrast, "rope_high"] == h
    assert table.loc["slope", "rope_high"] == pytest.approx(h / 24, rel=1e-12)
    assert table.loc["change_d", "rope_high"] == pytest.approx(h / sd, rel=1e-12)
    assert table["prespecified"].all() and (table["reference_sd"] == sd).all()


def test_the_difference_in_change_is_24_times_the_slope_difference(register):
    fit = bsi_fit(register, change_mean=-0.2, change_sd=0.1)
    beta = fit.beta()
    table = period_effects([fit], register).set_index("contrast")
    slope, shift = beta["months:period[II]"].to_numpy(), beta["period[II]"].to_numpy()
    assert table.loc["change", "mean"] == pytest.approx(24 * slope.mean(), rel=1e-10)
    assert table.loc["intercept", "mean"] == pytest.approx(shift.mean(), rel=1e-10)
    assert table.loc["at_24", "mean"] == pytest.approx((shift + 24 * slope).mean(), rel=1e-10)
    assert table.loc["slope", "mean"] == pytest.approx(slope.mean(), rel=1e-10)


def test_the_d_difference_divides_by_the_observed_baseline_sd_and_is_d_ii_minus_d_i(register):
    fit = bsi_fit(register, change_mean=-0.3, change_sd=0.02)
    table = period_effects([fit], register, seed=5).set_index("contrast")
    s = observed_pooled_baseline_sd(register, "bsi")
    # the SD's bootstrap draws scatter about s by a few per cent: 2% on a ratio of means
    assert table.loc["change_d", "mean"] == pytest.approx(-0.3 / s, rel=0.02)
    sizes = effect_sizes([fit], register, seed=5).set_index("period")
    assert table.loc["change_d", "mean"] == pytest.approx(
        sizes.loc["II", "d_mean"] - sizes.loc["I", "d_mean"], rel=1e-9)
    assert (sizes["better_if"] == "lower").all()


def test_a_covariate_with_another_mix_per_period_cancels_from_the_change(register):
    """WAI Bonds: version S mostly in Period I, SR in Period II; the version term shifts
    levels, not changes, so the difference in change is 24 x the slope difference."""
    rng = np.random.default_rng(3)
    slope = rng.normal(0.004, 0.002, N)
    fit = fit_with("wai_bonds", register, {
        "Intercept": np.full(N, 5.3), "months": np.full(N, 0.005),
        "period[II]": np.full(N, -0.1), "months:period[II]": slope,
        "wai_version[SR]": rng.normal(0.8, 0.1, N)})
    table = period_effects([fit], register).set_index("contrast")
    assert table.loc["change", "mean"] == pytest.approx(24 * slope.mean(), rel=1e-10)
    assert table.loc["intercept", "mean"] == pytest.approx(-0.1, rel=1e-10)
    assert (table["better_if"] == "higher").all()  # higher = better alliance


def test_p_period_ii_better_reads_the_sign_through_better_if(register):
    mu, s = 0.05, 0.1
    table = period_effects([bsi_fit(register, change_mean=mu, change_sd=s)],
                           register).set_index("contrast")
    mcse = 4 * np.sqrt(0.25 / N)
    # lower is better on the BSI: Period II improved more when the difference is < 0
    assert table.loc["change", "prob_ii_better"] == pytest.approx(
        stats.norm.cdf(-mu / s), abs=mcse)
    assert table.loc["change", "p_direction"] == pytest.approx(stats.norm.cdf(mu / s),
                                                               abs=mcse)
    rng = np.random.default_rng(1)
    gaf = fit_with("gaf", register, {"Intercept": np.full(N, 47.0), "months": np.full(N, 0.35),
                                     "months:period[II]": rng.normal(mu, s, N) / 24})
    row = period_effects([gaf], register).set_index("contrast").loc["change"]
    assert row["better_if"] == "higher"  # GAF: higher is better functioning
    assert row["prob_ii_better"] == pytest.approx(stats.norm.cdf(mu / s), abs=mcse)


@pytest.mark.parametrize(("mean", "sd", "expected"), [
    (-0.5, 0.05, "difference"),  # HDI [-0.60, -0.40], wholly below -0.16
    (0.0, 0.03, "negligible"),  # HDI [-0.06, 0.06], inside +-0.16
    (0.15, 0.03, "undecided"),  # HDI [0.09, 0.21] crosses 0.16; narrower than 0.32
    (0.0, 0.2, "undecided: too imprecise"),  # HDI [-0.39, 0.39], wider than 0.32
])
def test_each_decision_is_reached_against_the_margin(register, mean, sd, expected):
    row = period_effects([bsi_fit(register, change_mean=mean, change_sd=sd)],
                         register).set_index("contrast").loc["change"]
    assert row["rope_high"] == margin("bsi")[0] == 0.16
    assert row["decision"] == expected


def test_one_margin_in_every_table_that_decides(register):
    """period_effects.csv and the sensitivity quantities use the spec's margin: in units for
    levels and changes, / 24 per month, / the reference SD for d."""
    from mbtbayes.sensitivity.quantities import main_quantities

    h, sd = margin("bsi")
    quantities = main_quantities(bsi_fit(register, change_mean=0.0, change_sd=0.1), register)
    assert quantities["contrast_at_24"].rope == quantities["contrast_intercept"].rope == h
    assert quantities["contrast_slope"].rope == pytest.approx(h / 24, rel=1e-12)
    for period in ("I", "II"):
        assert quantities[f"d_{period}"].rope == pytest.approx(h / sd, rel=1e-12)
