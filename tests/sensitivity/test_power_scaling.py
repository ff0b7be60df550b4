"""Power-scaling flags a deliberately conflicting period prior and not the vague default; the
log densities match SciPy's."""

import numpy as np
import pytest
from scipy import stats

import mbtbayes as mb
from mbtbayes.growth.engines import engines_for
from mbtbayes.sensitivity.power_scaling import (
    THRESHOLD,
    log_density,
    power_scaling_rows,
    power_scaling_table,
)


def test_log_density_of_each_distribution_matches_scipy():
    x = np.array([0.3, 1.7])
    cases = [({"dist": "Normal", "mu": 1.0, "sigma": 2.0}, stats.norm.logpdf(x, 1.0, 2.0)),
             ({"dist": "Gamma", "alpha": 2.0, "beta": 0.1}, stats.gamma.logpdf(x, 2.0, scale=10)),
             ({"dist": "Exponential", "lam": 3.0}, stats.expon.logpdf(x, scale=1 / 3)),
             ({"dist": "HalfStudentT", "nu": 4.0, "sigma": 1.0},
              np.log(2 * stats.t.pdf(x, 4.0)))]
    for prior, expected in cases:
        np.testing.assert_allclose(log_density(prior, x), expected)


@pytest.fixture(scope="module")
def two_fits():
    reg = mb.load_register()
    spec = mb.load_specs()["bsi"]
    engines = engines_for(mb.SamplerOptions(draws=400, tune=400, chains=2))
    vague = mb.fit_growth(spec, reg.data, engines=engines, seed=3)
    # Period II 1.5 BSI points worse with SD 0.05: far from the data (about 0.17 +- 0.09)
    from dataclasses import replace

    conflicting = replace(spec, priors={**spec.priors,
                                        "period": {"dist": "Normal", "mu": 1.5, "sigma": 0.05}})
    strong = mb.fit_growth(conflicting, reg.data, engines=engines, seed=3)
    return vague, strong, reg.data


def test_conflicting_period_prior_is_flagged_and_vague_is_not(two_fits):
    vague, strong, data = two_fits
    v = power_scaling_table(vague, data).set_index(["group", "quantity"])
    s = power_scaling_table(strong, data).set_index(["group", "quantity"])
    key = ("period priors", "contrast_intercept")
    assert v.loc[key, "prior"] < THRESHOLD
    assert s.loc[key, "prior"] > THRESHOLD
    assert "conflict" in s.loc[key, "diagnosis"]


def test_power_scaling_rows_carry_the_diagnosis(two_fits):
    vague, _, data = two_fits
    rows = power_scaling_rows(vague, data, baseline={})
    assert {r["setting"] for r in rows} == {"period priors", "nuisance priors"}
    assert all("prior sensitivity" in r["diagnostic"] for r in rows)
