"""The prior line of the prior-vs-posterior figure: a design column's Normal prior, read from
the spec's prior of the column's term (any engine), or none for another distribution."""

from __future__ import annotations

from types import SimpleNamespace

from mbtbayes.report.figures_growth import column_prior


def fake_fit(priors: dict) -> SimpleNamespace:
    design = SimpleNamespace(columns=["Intercept", "months", "period[II]", "months:period[II]"],
                             terms=["Intercept", "months", "period", "months:period"],
                             priors=priors)
    return SimpleNamespace(design=design)


def test_the_column_takes_its_terms_normal_prior():
    fit = fake_fit({"period": {"dist": "Normal", "mu": 0.1, "sigma": 0.5},
                    "months:period": {"dist": "Normal", "sigma": 0.0139},
                    # a t-family spec's residual prior: not a column's, never read
                    "sigma_period": {"dist": "Normal", "sigma": 1.0}})
    assert column_prior(fit, "period[II]") == (0.1, 0.5)
    assert column_prior(fit, "months:period[II]") == (0.0, 0.0139)


def test_another_distribution_draws_no_prior_line():
    fit = fake_fit({"period": {"dist": "StudentT", "nu": 3, "mu": 0, "sigma": 0.5}})
    assert column_prior(fit, "period[II]") is None
    assert column_prior(fit, "months:period[II]") is None  # no prior stated for the term
