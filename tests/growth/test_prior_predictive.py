"""Prior predictive checks against references computed here, outside the package: the priors
read from the TOML files with tomllib, drawn with numpy, pushed through the growth model's
linear predictor by hand (months 0..36, each period's WAI-version mix counted from the data);
the implied prior of the 24-month change and of the difference in change from Normal
arithmetic (24 x the slope's prior SD); the observed baseline SD recomputed with pandas;
the draws of each prior distribution against SciPy.

The Monte Carlo tolerance of a share: each prior draw contributes its share of months
inside the scale, a number in [0, 1] with variance at most p(1 - p), so the difference of
two independent estimates from n and m draws has SD at most sqrt(p(1 - p) (1/n + 1/m)); the
tests allow 5 of those SDs.
"""

from __future__ import annotations

import tomllib

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mbtbayes as mb
from mbtbayes.growth.prior_predictive import (
    MONTHS,
    TARGET_SHARE,
    check_rows,
    draw_prior,
    prior_predictive,
)
from mbtbayes.growth.specs import models_dir

DRAWS = 20_000
"""Prior draws of the package in these tests (the reference uses twice as many)."""


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return mb.load_register().data


def toml_priors(name: str) -> tuple[dict, tuple[float, float]]:
    raw = tomllib.loads((models_dir() / f"{name}.toml").read_text(encoding="utf-8"))
    return raw["priors"], tuple(raw["range"])


def normal(priors: dict, key: str, n: int, rng) -> np.ndarray:
    return rng.normal(priors[key]["mu"], priors[key]["sigma"], n)


def reference_means(name: str, data: pd.DataFrame, *, n: int, seed: int) -> np.ndarray:
    """Population means (draws, period, month) by hand: Period I = b0 + b1 t (+ the WAI
    version term times Period I's share of version SR), Period II adds b2 + b3 t."""
    priors, _ = toml_priors(name)
    rng = np.random.default_rng(seed)
    b0, b1, b2, b3 = (normal(priors, k, n, rng)
                      for k in ("Intercept", "months", "period", "months:period"))
    t = MONTHS[None, :]
    one = b0[:, None] + b1[:, None] * t
    two = one + b2[:, None] + b3[:, None] * t
    if "wai_version" in priors:
        rows = data.dropna(subset=[name, "wai_version"])
        share = (rows["wai_version"] == "SR").groupby(rows["period"]).mean()
        bv = normal(priors, "wai_version", n, rng)[:, None]
        one, two = one + bv * share["I"], two + bv * share["II"]
    return np.stack([one, two], axis=1)


def tolerance(p: float, n: int, m: int) -> float:
    return 5 * np.sqrt(max(p * (1 - p), 1e-4) * (1 / n + 1 / m))


@pytest.mark.parametrize("name", ["bsi", "gaf", "wai_bonds"])
def test_share_of_prior_means_inside_the_scale_matches_a_hand_computation(data, name):
    spec = mb.load_specs()[name]
    check = prior_predictive(spec, data, variant="period", draws=DRAWS, seed=3)
    means = reference_means(name, data, n=2 * DRAWS, seed=99)
    low, high = toml_priors(name)[1]
    expected = float(((means >= low) & (means <= high)).mean())
    assert check.mean_share() == pytest.approx(expected, abs=tolerance(expected, DRAWS,
                                                                        2 * DRAWS))
    assert check.months.tolist() == list(range(37))  # months 0..36, both periods
    assert check.means.shape == (DRAWS, 2, 37)


def test_share_of_prior_observations_matches_a_hand_computation(data):
    """New patients at the data's rows: y = mean + u0 + u1 t + e, with the SDs drawn from
    their half-normal priors (|N(0, s)|) and the patient effects independent."""
    spec = mb.load_specs()["bsi"]
    check = prior_predictive(spec, data, variant="period", draws=4000, seed=5)  # 1000 replicates
    priors, (low, high) = toml_priors("bsi")
    rows = data.dropna(subset=["bsi"])
    t = rows["months"].to_numpy(float)
    two = (rows["period"] == "II").to_numpy(float)
    patient = pd.factorize(rows["patient_id"])[0]
    rng = np.random.default_rng(8)
    n = 4000
    b0, b1, b2, b3 = (normal(priors, k, n, rng)
                      for k in ("Intercept", "months", "period", "months:period"))
    sd0 = np.abs(rng.normal(0, priors["1|patient_id"]["sigma"]["sigma"], n))
    sd1 = np.abs(rng.normal(0, priors["months|patient_id"]["sigma"]["sigma"], n))
    sigma = np.abs(rng.normal(0, priors["sigma"]["sigma"], n))
    u0 = rng.normal(size=(n, patient.max() + 1)) * sd0[:, None]
    u1 = rng.normal(size=(n, patient.max() + 1)) * sd1[:, None]
    y = (b0[:, None] + b1[:, None] * t + two * (b2[:, None] + b3[:, None] * t)
         + u0[:, patient] + u1[:, patient] * t + sigma[:, None] * rng.normal(size=(n, t.size)))
    inside = ((y >= low) & (y <= high)).mean(axis=1)  # per draw: independent across draws
    ours = check.inside(check.observations).mean(axis=1)
    assert check.observations.shape == (1000, t.size)
    assert check.observation_share() == pytest.approx(ours.mean())
    # Monte Carlo SE of each mean from its own per-draw shares
    se = np.sqrt(inside.var(ddof=1) / n + ours.var(ddof=1) / len(ours))
    assert ours.mean() == pytest.approx(inside.mean(), abs=5 * se)


def baseline_sd(data: pd.DataFrame, measure: str) -> float:
    """Pooled within-period SD of each patient's first value, if within 3 months of 0."""
    rows = data.dropna(subset=[measure]).sort_values("months", kind="stable")
    first = rows.groupby("patient_id").head(1)
    first = first[first["months"] <= 3]
    groups = first.groupby("period")[measure]
    return float(np.sqrt((groups.var(ddof=1) * (groups.count() - 1)).sum()
                         / (groups.count() - 1).sum()))


def test_implied_priors_of_the_change_and_the_difference_in_change(data):
    """The 0-24 month change of Period I is 24 b1 ~ N(0, 24 s1), the difference in change
    24 b3 ~ N(0, 24 s3): their 2.5% and 97.5% quantiles are -+1.96 x 24 s. In baseline SDs the
    quantiles are those divided by the observed SD (the bootstrap widens them by well under
    3%)."""
    spec = mb.load_specs()["bsi"]
    priors, _ = toml_priors("bsi")
    check = prior_predictive(spec, data, variant="period", draws=DRAWS, seed=11)
    rows = pd.DataFrame(check_rows(check)).set_index(["quantity", "scale"])
    z = stats.norm.ppf(0.975)
    sd_change = 24 * priors["months"]["sigma"]
    sd_diff = 24 * priors["months:period"]["sigma"]
    sd2 = np.sqrt(sd_change**2 + sd_diff**2)  # Period II's change: 24 (b1 + b3)
    observed = baseline_sd(data, "bsi")
    for quantity, sd in (("change_I", sd_change), ("change_II", sd2),
                         ("difference_in_change", sd_diff)):
        units = rows.loc[(quantity, "units")]
        # the 97.5% quantile of n normal draws has SE about 0.02 SD (n = 20,000)
        assert units["q_high"] == pytest.approx(z * sd, rel=0.05)
        assert units["q_low"] == pytest.approx(-z * sd, rel=0.05)
        assert units["sd"] == pytest.approx(sd, rel=0.03)
        in_sd = rows.loc[(quantity, "baseline_sd")]
        assert in_sd["q_high"] == pytest.approx(z * sd / observed, rel=0.07)


def test_every_bundled_spec_meets_the_target(data):
    """At least 95% of the prior predictive population means of every bundled spec and model
    fall inside the measure's scale (the package's own count, at its default draws and
    seed: deterministic)."""
    specs = mb.load_specs()
    from mbtbayes.growth.design import make_design

    for spec in specs.values():
        for variant in spec.variants:
            check = prior_predictive(spec, data, variant=variant,
                                     design=make_design(spec, data, variant=variant))
            assert check.mean_share() >= TARGET_SHARE, (spec.name, variant,
                                                        check.mean_share())


def folded_t_cdf(x, *, nu: float, scale: float):
    """CDF of |T|, T ~ scale x t(nu): 2 F_t(x / scale) - 1."""
    return 2 * stats.t.cdf(np.asarray(x) / scale, nu) - 1


@pytest.mark.parametrize(("prior", "cdf"), [
    ({"dist": "Normal", "mu": 2, "sigma": 0.5}, stats.norm(2, 0.5).cdf),
    ({"dist": "HalfNormal", "sigma": 0.3}, stats.halfnorm(scale=0.3).cdf),
    ({"dist": "StudentT", "nu": 3, "mu": 1, "sigma": 2}, stats.t(3, 1, 2).cdf),
    ({"dist": "HalfStudentT", "nu": 4, "sigma": 1.5},
     lambda x: folded_t_cdf(x, nu=4, scale=1.5)),
    ({"dist": "Exponential", "lam": 2.0}, stats.expon(scale=0.5).cdf),  # rate 2
    ({"dist": "Gamma", "alpha": 2, "beta": 0.1}, stats.gamma(2, scale=10).cdf),  # rate 0.1
])
def test_prior_draws_follow_the_named_distribution(prior, cdf):
    draws = draw_prior(prior, size=20_000, rng=np.random.default_rng(1))
    assert stats.kstest(draws, cdf).pvalue > 0.001


def example_priors(name: str) -> tuple[dict, tuple[float, float]]:
    raw = tomllib.loads((models_dir() / "examples" / f"{name}.toml").read_text(encoding="utf-8"))
    return raw["priors"], tuple(raw["range"])


@pytest.fixture(scope="module")
def robust():
    """The Student-t spec with ``sigma ~ period`` (models/examples/bsi_robust.toml)."""
    return mb.load_specs(models_dir() / "examples")["bsi_robust"]


def test_a_modelled_residual_sd_and_nu_are_drawn_from_their_own_priors(data, robust):
    """log sigma = a0 + a1 [Period II]: in Period I it is N(mu0, s0), in Period II
    N(mu0 + mu1, sqrt(s0^2 + s1^2)) (the sum of two independent normals); nu ~ Gamma(alpha,
    rate beta). The parameters are read from the TOML file; SciPy gives the distributions."""
    from mbtbayes.growth.design import make_design
    from mbtbayes.growth.prior_predictive import prior_parameters

    priors, _ = example_priors("bsi_robust")
    a0, a1, nu = priors["sigma"]["Intercept"], priors["sigma"]["period"], priors["nu"]
    design = make_design(robust, data, variant="period")
    params = prior_parameters(robust, design, draws=DRAWS, rng=np.random.default_rng(2))
    period = design.frame["period"].to_numpy()
    first, second = np.flatnonzero(period == "I")[0], np.flatnonzero(period == "II")[0]
    log_sd = np.log(params.scale(design.X_sigma, len(period)))
    period_one = stats.norm(a0["mu"], a0["sigma"])
    period_two = stats.norm(a0["mu"] + a1["mu"], np.hypot(a0["sigma"], a1["sigma"]))
    assert stats.kstest(log_sd[:, first], period_one.cdf).pvalue > 0.001
    assert stats.kstest(log_sd[:, second], period_two.cdf).pvalue > 0.001
    assert stats.kstest(params.nu, stats.gamma(nu["alpha"], scale=1 / nu["beta"]).cdf
                        ).pvalue > 0.001
    assert params.sigma is None and params.family == "t"


def test_student_t_observations_with_a_modelled_sd_match_a_hand_computation(data, robust):
    """New patients at the data's rows, per period: y = mean + u0 + u1 t + exp(a0 + a1 II) e,
    e ~ t(nu), every parameter drawn by numpy from the TOML priors (patient effects
    independent: the spec is uncorrelated). The Monte Carlo SE of each share comes from the
    per-draw shares (independent across draws)."""
    assert not robust.correlated
    check = prior_predictive(robust, data, variant="period", draws=4000, seed=5)
    priors, (low, high) = example_priors("bsi_robust")
    rows = data.dropna(subset=["bsi"])
    t = rows["months"].to_numpy(float)
    two = (rows["period"] == "II").to_numpy(float)
    patient = pd.factorize(rows["patient_id"])[0]
    rng = np.random.default_rng(8)
    n = 4000
    b0, b1, b2, b3 = (normal(priors, k, n, rng)
                      for k in ("Intercept", "months", "period", "months:period"))
    sd0 = np.abs(rng.normal(0, priors["1|patient_id"]["sigma"]["sigma"], n))
    sd1 = np.abs(rng.normal(0, priors["months|patient_id"]["sigma"]["sigma"], n))
    a0, a1 = (normal(priors["sigma"], k, n, rng) for k in ("Intercept", "period"))
    nu = rng.gamma(priors["nu"]["alpha"], 1 / priors["nu"]["beta"], n)
    u0 = rng.normal(size=(n, patient.max() + 1)) * sd0[:, None]
    u1 = rng.normal(size=(n, patient.max() + 1)) * sd1[:, None]
    sd = np.exp(a0[:, None] + a1[:, None] * two)
    y = (b0[:, None] + b1[:, None] * t + two * (b2[:, None] + b3[:, None] * t)
         + u0[:, patient] + u1[:, patient] * t
         + sd * rng.standard_t(nu[:, None], size=(n, t.size)))
    ours = check.inside(check.observations)
    assert check.observations.shape == (1000, t.size)
    for in_period in (two == 0, two == 1):
        expected = ((y >= low) & (y <= high))[:, in_period].mean(axis=1)
        got = ours[:, in_period].mean(axis=1)
        se = np.sqrt(expected.var(ddof=1) / n + got.var(ddof=1) / len(got))
        assert got.mean() == pytest.approx(expected.mean(), abs=5 * se)
