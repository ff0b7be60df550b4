"""Default priors do not depend on the path: a spec built in Python (``make_spec``) and a TOML
spec that names no prior get the same prior for every parameter of every fit.

References: hand computation from the range and the horizon (R / 180 per month for the slope
over a 36-month horizon), and the bundled TOML files, whose priors were written out from the same
rule.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mbtbayes.core.errors import SpecError
from mbtbayes.growth.design import make_design
from mbtbayes.growth.priors import DEFAULT_HORIZON, default_priors
from mbtbayes.growth.specs import load_specs, make_spec, spec_from_dict


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = []
    for i in range(30):
        age = float(rng.integers(18, 60))
        for t in (0.0, 6.0, 12.0, 24.0):
            rows.append((f"p{i}", "AB"[i % 2], t, "xy"[rng.integers(2)], age,
                         rng.normal(5, 1)))
    return pd.DataFrame(rows, columns=["id", "g", "t", "v", "age", "y"])


def _as_toml(spec) -> dict:
    """The TOML structure of a make_spec spec, without its priors."""
    formulas = {v: [spec.formulas[v], *spec.auxiliary.get(v, ())] for v in spec.formulas}
    return {"measure": spec.measure, "range": list(spec.range), "family": spec.family,
            "time": spec.time, "group": spec.group, "period": spec.period,
            "formulas": formulas}


CASES = {
    "linear time": {},
    "covariates": {"covariates": ("v", "age")},
    "quadratic time, intercept only": {"time_terms": ("t", "I(t**2)"), "random": "intercept"},
    "t family, sigma formula": {"family": "t", "sigma": "g"},
    "spline": {"time_terms": ("bs3(t)",), "d_months": (0.0, 12.0)},
}


@pytest.mark.parametrize("case", list(CASES))
def test_make_spec_and_a_toml_spec_without_priors_fit_the_same_priors(data, case):
    made = make_spec(outcome="y", time="t", group="id", period="g", range=(0, 10),
                     **CASES[case])
    toml = spec_from_dict(_as_toml(made), name=made.name)
    assert toml.priors == {} and toml.prior_horizon == made.prior_horizon == 36.0
    for variant in made.formulas:
        a = make_design(made, data, variant=variant).priors
        b = make_design(toml, data, variant=variant).priors
        assert a == b, variant


def test_defaults_by_hand_from_the_range_and_a_36_month_horizon():
    spec = make_spec(outcome="y", time="t", group="id", period="g", range=(2, 12),
                     d_months=(0.0, 24.0))  # d's horizon is not the prior's
    assert DEFAULT_HORIZON == 36.0
    p = spec.priors
    assert p["Intercept"] == {"dist": "Normal", "mu": 7.0, "sigma": pytest.approx(10 / 6,
                                                                                rel=1e-3)}
    assert p["t"]["sigma"] == pytest.approx(10 / 180, rel=1e-3)  # not 10 / 120 (d's horizon)
    assert p["t:g"]["sigma"] == pytest.approx(10 / 288, rel=1e-3)
    assert p["t|id"]["sigma"] == {"dist": "HalfNormal",
                                  "sigma": pytest.approx(10 / 144, rel=1e-3)}
    assert p["g"]["sigma"] == p["sigma"]["sigma"] == 1.25


def test_a_spec_sets_its_own_horizon_in_python_and_in_toml(data):
    made = make_spec(outcome="y", time="t", group="id", period="g", range=(0, 12),
                     prior_horizon=24)
    assert made.priors["t"]["sigma"] == pytest.approx(12 / (5 * 24))
    toml = spec_from_dict(_as_toml(made) | {"prior_horizon": 24}, name="y")
    assert make_design(toml, data, variant="period").priors == made.priors | {
        k: v for k, v in make_design(made, data, variant="period").priors.items()
        if k not in made.priors}
    with pytest.raises(SpecError, match="prior_horizon must be > 0"):
        spec_from_dict(_as_toml(made) | {"prior_horizon": 0}, name="y")
    with pytest.raises(SpecError, match="'prior_horizon' must be a number"):
        spec_from_dict(_as_toml(made) | {"prior_horizon": "36"}, name="y")


def test_bundled_specs_write_out_the_defaults():
    for spec in load_specs().values():
        low, high = spec.range
        defaults = default_priors(low=low, high=high, time=spec.time, group=spec.group,
                                  period=spec.period)
        for key, prior in spec.priors.items():
            if key in defaults:  # covariates are scaled to their data at fit time
                assert _close(prior, defaults[key]), (spec.name, key)


def _close(a: dict, b: dict) -> bool:
    """Equal priors, numbers to the 3 significant digits the files are written with."""
    if set(a) != set(b):
        return False
    return all(_close(a[k], b[k]) if isinstance(a[k], dict)
               else a[k] == b[k] if isinstance(a[k], str)
               else a[k] == pytest.approx(b[k], rel=1e-3, abs=1e-9) for k in a)
