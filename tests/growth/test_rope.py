"""The pre-specified margin and the ROPE curve.

References, all outside the code under test: the spec files read with ``tomllib`` (not
through the package); the published baseline SEs of the 2015 paper's Table 3 read from the
published-numbers CSV with the ``csv`` module (SD = SE x sqrt(64), n = 64); hand arithmetic of
the margin per month and in SD units; the probability inside the ROPE of Normal draws from
``scipy.stats.norm.cdf``, with a tolerance of 4 binomial Monte Carlo SEs; the HDI of Normal
draws, mu +- 1.95996 sigma, for where the decision turns."""

from __future__ import annotations

import csv
import tomllib
from dataclasses import replace
from importlib import resources

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

import mbtbayes as mb
from mbtbayes.core.errors import SpecError
from mbtbayes.core.sampling import Diagnostics
from mbtbayes.growth.design import make_design
from mbtbayes.growth.result import GrowthFit
from mbtbayes.growth.rope import rope_for
from mbtbayes.growth.rope_curve import GRID, decision_at, decision_limits, rope_curve
from mbtbayes.growth.specs import models_dir, spec_from_dict

Z975 = 1.959963984540054
PAPER = ("bsi", "cip", "wsas", "gaf", "wai_goals_tasks", "wai_bonds", "fwc_confident",
         "fwc_inadequate", "fwc_idealized")


def spec_file(name: str) -> dict:
    return tomllib.loads((models_dir() / f"{name}.toml").read_text())["rope"]


def published_se(measure: str) -> float:
    """The 2015 paper's baseline SE of a measure, from the published-numbers data file."""
    path = resources.files("mbtbayes") / "resources" / "published_numbers.csv"
    with path.open() as handle:
        rows = {r["key"]: r for r in csv.DictReader(handle)}
    row = rows[f"table3_2015.{measure}.baseline_se"]
    assert row["provenance"] == "2015"
    return float(row["value"])


@pytest.fixture(scope="module")
def register() -> pd.DataFrame:
    return mb.load_register().data


# ---------------------------------------------------------------- the margin in the specs


@pytest.mark.parametrize("name", PAPER)
def test_each_spec_fixes_a_small_effect_margin_with_its_reference_sd(name, register):
    raw = spec_file(name)
    assert "sd_units" not in raw  # no margin computed from the extract
    assert raw["half_width"] == pytest.approx(0.2 * raw["reference_sd"], rel=1e-12)
    assert raw["label"] == "small effect (0.2 SD)"
    assert raw["reference_sd_source"].split(":")[0] in ("derived", "assumed", "published")
    rope = rope_for(mb.load_specs()[name], register)
    assert rope.prespecified
    assert rope.half_width == raw["half_width"]
    assert rope.reference_sd == raw["reference_sd"]
    assert rope.per_month(24).half_width == pytest.approx(raw["half_width"] / 24, rel=1e-12)
    assert rope.in_sd().half_width == pytest.approx(0.2, rel=1e-12)


@pytest.mark.parametrize("measure", ["bsi", "cip", "gaf"])
def test_derived_reference_sds_are_the_published_se_times_sqrt_64(measure):
    raw = spec_file(measure)
    assert raw["reference_sd_source"].startswith("derived")
    assert raw["reference_sd"] == pytest.approx(published_se(measure) * 8, rel=1e-12)


@pytest.mark.parametrize("name", ["wsas", "wai_bonds", "fwc_confident"])
def test_reference_sds_without_a_published_source_say_assumed(name):
    assert spec_file(name)["reference_sd_source"].startswith("assumed")


def test_the_margin_is_not_recomputed_from_the_extract(register):
    """A register with 10 times the spread gives the same margin (the old default moved)."""
    spec = mb.load_specs()["bsi"]
    wide = register.assign(bsi=register["bsi"] * 10)
    assert rope_for(spec, wide).half_width == rope_for(spec, register).half_width == 0.16
    old = replace(spec, rope_half_width=None, rope_sd_units=0.1, rope_reference_sd=None)
    assert rope_for(old, wide).half_width == pytest.approx(
        10 * rope_for(old, register).half_width, rel=1e-12)
    assert not rope_for(old, register).prespecified
    assert "not pre-specified" in rope_for(old, register).basis


def test_a_reference_sd_needs_its_provenance():
    base = {"measure": "bsi", "formulas": {"linear": "bsi ~ months + (months | patient_id)"}}
    with pytest.raises(SpecError, match="reference_sd needs reference_sd_source"):
        spec_from_dict(base | {"rope": {"half_width": 0.2, "source": "x",
                                        "reference_sd": 1.0}}, name="x")
    with pytest.raises(SpecError, match="reference_sd must be > 0"):
        spec_from_dict(base | {"rope": {"half_width": 0.2, "source": "x",
                                        "reference_sd": 0, "reference_sd_source": "y"}},
                       name="x")


# ---------------------------------------------------------------- the ROPE curve


def normal_fit(register: pd.DataFrame, *, mean: float, sd: float, n: int = 40_000,
               seed: int = 0) -> GrowthFit:
    """A bsi period fit whose slope difference is Normal, so that the difference in change
    (24 x the slope difference) is Normal(mean, sd); no sampling."""
    spec = mb.load_specs()["bsi"]
    design = make_design(spec, register, variant="period")
    rng = np.random.default_rng(seed)
    beta = {"Intercept": np.full(n, 2.0), "months": np.full(n, -0.03),
            "period[II]": np.full(n, 0.1), "months:period[II]": rng.normal(mean, sd, n) / 24}
    values = np.stack([beta[c] for c in design.columns], -1)[None]
    params = xr.Dataset({"beta": (("chain", "draw", "coef"), values)},
                        coords={"coef": list(design.columns)})
    return GrowthFit(spec, "period", design, None, Diagnostics(1.0, 1e3, 1e3, 0, True),
                     "none", 0.0, params=params)


def test_probability_inside_the_rope_is_the_normal_probability(register):
    mu, s, n = 0.05, 0.1, 40_000
    curve = rope_curve([normal_fit(register, mean=mu, sd=s, n=n)], register)
    assert list(curve["sd_units"]) == list(GRID)  # 0.2 SD is on the grid: no extra row
    h = curve["half_width"].to_numpy()
    np.testing.assert_allclose(h, np.asarray(GRID) * 0.8, rtol=1e-12)
    expected = stats.norm.cdf((h - mu) / s) - stats.norm.cdf((-h - mu) / s)
    mcse = np.sqrt(expected * (1 - expected) / n)
    assert np.all(np.abs(curve["p_rope"] - expected) <= 4 * mcse + 1e-12)
    assert curve.loc[curve["margin"], "half_width"].tolist() == [0.16]


def test_the_decision_turns_where_the_normal_hdi_meets_the_margin(register):
    """Difference in change ~ N(0.29, 0.0408): HDI 0.29 +- 0.08 = [0.21, 0.37] (0.2625 and
    0.4625 reference SDs of 0.8), each end half a grid step from the nearest grid point;
    difference below h = 0.21, negligible from h = 0.37, undecided in between; at the margin
    0.16 (0.2 SD) a difference."""
    mu, s = 0.29, 0.08 / Z975
    curve = rope_curve([normal_fit(register, mean=mu, sd=s)], register).set_index("sd_units")
    # an HDI end of 40,000 Normal draws moves by about 0.013 sigma (SE of a 2.5% quantile,
    # sqrt(p (1 - p) / n) / phi(z)); 4 of those
    tol = 4 * 0.0134 * s / 0.8
    assert curve["difference_below_sd"].iloc[0] == pytest.approx(0.21 / 0.8, abs=tol)
    assert curve["negligible_from_sd"].iloc[0] == pytest.approx(0.37 / 0.8, abs=tol)
    assert (curve.loc[:0.25, "decision"] == "difference").all()
    assert (curve.loc[0.275:0.45, "decision"] == "undecided").all()
    assert (curve.loc[0.475:, "decision"] == "negligible").all()
    assert curve.loc[0.2, "margin"] and curve.loc[0.2, "decision"] == "difference"
    assert curve.loc[0.0, "p_rope"] == 0.0


def test_a_margin_off_the_grid_gets_its_own_row(register):
    fit = normal_fit(register, mean=0.0, sd=0.05, n=4000)
    fit = replace(fit, spec=replace(fit.spec, rope_half_width=0.1))  # 0.125 SD: on the grid
    assert len(rope_curve([fit], register)) == len(GRID)
    fit = replace(fit, spec=replace(fit.spec, rope_half_width=0.11))  # 0.1375 SD: off it
    curve = rope_curve([fit], register)
    assert len(curve) == len(GRID) + 1
    assert curve.loc[curve["margin"], "sd_units"].tolist() == [pytest.approx(0.1375)]


def test_decision_limits_and_the_limit_at_zero():
    assert decision_limits(0.2, 0.4) == (0.2, 0.4)
    assert decision_limits(-0.5, -0.1) == (0.1, 0.5)
    assert decision_limits(-0.1, 0.3) == (0.0, 0.3)
    assert decision_at(0.2, 0.4, 0.0) == "difference"
    assert decision_at(-0.1, 0.3, 0.0) == "undecided: too imprecise"
    assert decision_at(0.2, 0.4, 0.19) == "difference"
    assert decision_at(0.2, 0.4, 0.2) == "undecided"  # the HDI touches the ROPE's edge
    assert decision_at(0.2, 0.4, 0.4) == "negligible"
