"""The Savage-Dickey Bayes factor of the period terms against closed forms.

References from outside the code under test:

- each patient's marginal covariance ``sigma^2 I + Z G Z'`` written out and inverted by NumPy
  (for ``X'V^-1 X``), and the marginal likelihood of a Gaussian model with Normal priors on the
  coefficients, ``y ~ N(X mu0, V + X Lambda X')``, from ``scipy.stats.multivariate_normal``:
  the Bayes factor of two such models is the ratio of those densities, whatever the code does;
- a posterior over the variance components that is known exactly (two values, its weights
  from SciPy's densities), so that the Rao-Blackwellised average and the reweighting to other
  prior widths have an exact answer;
- draws from the exact normal posterior of a conjugate regression, for the normal
  approximation, with a tolerance from the spread of replicate estimates (Monte Carlo error).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

from mbtbayes.growth.bayes_factor import (
    INCONCLUSIVE,
    LINEAR_FAVOURED,
    PERIOD_FAVOURED,
    bayes_factor_table,
    bayes_factors,
    bf_decision,
    conditional_moments,
)
from mbtbayes.growth.loo import patient_sums

SCALES = (0.5, 1.0, 2.0)
MU0 = np.array([2.0, -0.02, 0.1, 0.0])
SD0 = np.array([1.0, 0.05, 0.4, 0.02])
TESTED = [2, 3]
TERMS = ("Intercept", "months", "period", "months:period")


@pytest.fixture(scope="module")
def data():
    """A small growth register: 24 patients with 1-5 visits, the second half in Period II."""
    rng = np.random.default_rng(20)
    sizes = rng.integers(1, 6, 24)
    group = np.repeat(np.arange(24), sizes)
    time = np.concatenate([np.sort(rng.choice([0, 6, 12, 18, 24, 30], k, replace=False))
                           for k in sizes]).astype(float)
    period = (group >= 12).astype(float)
    X = np.column_stack([np.ones_like(time), time, period, time * period])
    u0, u1 = rng.normal(0, 0.5, 24), rng.normal(0, 0.02, 24)
    y = 2 - 0.03 * time + 0.3 * period + u0[group] + u1[group] * time + rng.normal(0, 0.4,
                                                                                     time.size)
    return SimpleNamespace(y=y, X=X, time=time, group=group)


def covariance(data, theta: dict) -> np.ndarray:
    """The register's marginal covariance given the patient effects, written out."""
    s0, s1, sigma, rho = theta["sd_intercept"], theta["sd_slope"], theta["sigma"], theta["corr"]
    G = np.array([[s0**2, rho * s0 * s1], [rho * s0 * s1, s1**2]])
    Z = np.column_stack([np.ones_like(data.time), data.time])
    same = data.group[:, None] == data.group[None, :]
    return sigma**2 * np.eye(len(data.y)) + same * (Z @ G @ Z.T)


def log_evidence(data, theta: dict, *, scale: float, with_period: bool) -> float:
    """log p(y | theta) with the coefficients integrated out (SciPy's normal density)."""
    keep = slice(None) if with_period else slice(0, 2)
    sd = SD0.copy()
    sd[TESTED] *= scale
    X, mu, lam = data.X[:, keep], MU0[keep], np.diag(sd[keep] ** 2)
    return float(stats.multivariate_normal(X @ mu, covariance(data, theta) + X @ lam @ X.T)
                 .logpdf(data.y))


@dataclass
class FakeFit:
    """The parts of a GrowthFit that :func:`bayes_factors` reads."""

    design: object
    theta: dict = field(default_factory=dict)
    beta_draws: np.ndarray | None = None
    engine: str = "marginal"
    variant: str = "period"
    chains: int = 4

    def __post_init__(self):
        self.spec = SimpleNamespace(name="y", period="period")
        self.diagnostics = SimpleNamespace(passed=True, reason="")
        self.params = xr.Dataset({k: ("draw", np.asarray(v)) for k, v in self.theta.items()
                                  if v is not None})
        self.idata = SimpleNamespace(posterior=SimpleNamespace(sizes={"chain": self.chains}))

    def draws(self, name: str) -> np.ndarray:
        return np.asarray(self.theta[name], float)

    def beta(self) -> pd.DataFrame:
        return pd.DataFrame(self.beta_draws, columns=list(self.design.columns))


def make_design(data) -> SimpleNamespace:
    priors = {t: {"dist": "Normal", "mu": m, "sigma": s} for t, m, s in zip(TERMS, MU0, SD0,
                                                                            strict=True)}
    return SimpleNamespace(y=data.y, X=data.X, time=data.time, group=data.group,
                           groups=tuple(str(i) for i in range(24)), terms=TERMS, priors=priors,
                           columns=("Intercept", "months", "period[II]", "months:period[II]"))


THETA = {"sd_intercept": 0.55, "sd_slope": 0.025, "sigma": 0.45, "corr": -0.3}


def test_conditional_moments_equal_the_written_out_covariance(data):
    stats_ = patient_sums(data.y, data.X, data.time, data.group, 24)
    A, b = conditional_moments(stats_, **{k: np.array([v]) for k, v in THETA.items()})
    V_inv = np.linalg.inv(covariance(data, THETA))
    assert A[0] == pytest.approx(data.X.T @ V_inv @ data.X, rel=1e-10)
    assert b[0] == pytest.approx(data.X.T @ V_inv @ data.y, rel=1e-10)


def test_exact_bayes_factor_given_theta_equals_the_ratio_of_marginal_likelihoods(data):
    """With the variance components known, Savage-Dickey is exact: BF10 = p(y | period) /
    p(y | linear) from SciPy, at every prior width."""
    fit = FakeFit(make_design(data), {k: np.full(8, v) for k, v in THETA.items()})
    table = bayes_factors(fit, scales=SCALES).set_index("prior_scale")
    for c in SCALES:
        expected = (log_evidence(data, THETA, scale=c, with_period=True)
                    - log_evidence(data, THETA, scale=c, with_period=False))
        assert table.loc[c, "log_bf10"] == pytest.approx(expected, abs=1e-8)
    assert (table["density_method"] == "rao_blackwell").all()
    assert table["terms"].iloc[0] == "period[II], months:period[II]"
    assert table.loc[2.0, "prior_sd"] == "0.8, 0.04"


def test_reweighting_to_other_prior_widths_follows_the_exact_posterior_of_theta(data):
    """theta takes two values, its prior masses chosen so that its posterior (SciPy densities)
    gives each half the draws. The Bayes factor at each width is then known exactly:
    sum_k p(theta_k) p_c(y | theta_k, period) / sum_k p(theta_k) p(y | theta_k, linear).
    The two values differ (SDs, residual SD, correlation -0.3 vs 0.6) so that the importance
    weights move the answer: without them, or with their sign flipped, it is off by > 0.02."""
    thetas = [THETA, {"sd_intercept": 0.8, "sd_slope": 0.005, "sigma": 0.3, "corr": 0.6}]
    evidence = {c: np.array([log_evidence(data, t, scale=c, with_period=True) for t in thetas])
                for c in SCALES}
    linear = np.array([log_evidence(data, t, scale=1.0, with_period=False) for t in thetas])
    prior = -evidence[1.0] - np.logaddexp.reduce(-evidence[1.0])
    post = prior + evidence[1.0]
    post = np.exp(post - np.logaddexp.reduce(post))
    assert post == pytest.approx([0.5, 0.5])
    for c in (0.5, 2.0):  # the unweighted average of the conditional densities at 0 is wrong
        log_prior_0 = stats.norm.logpdf(0, MU0[TESTED], SD0[TESTED] * c).sum()
        unweighted = log_prior_0 - np.logaddexp.reduce(np.log(post) + linear + log_prior_0
                                                       - evidence[c])
        exact = np.logaddexp.reduce(prior + evidence[c]) - np.logaddexp.reduce(prior + linear)
        assert abs(unweighted - exact) > 0.02
    n = 200_000
    counts = np.round(post * n).astype(int)
    which = np.random.default_rng(1).permutation(np.repeat([0, 1], counts))
    fit = FakeFit(make_design(data), {k: np.array([thetas[i][k] for i in which])
                                      for k in THETA})
    table = bayes_factors(fit, scales=SCALES).set_index("prior_scale")
    for c in SCALES:
        exact = np.logaddexp.reduce(prior + evidence[c]) - np.logaddexp.reduce(prior + linear)
        # the rounding of the draw counts moves the shares by < 0.5 / n
        assert table.loc[c, "log_bf10"] == pytest.approx(exact, abs=1e-3)
    assert table.loc[1.0, "weights_ess"] == pytest.approx(counts.sum())
    assert table.loc[2.0, "weights_ess"] < counts.sum()


REGRESSION_SD = np.array([1.0, 1.0, 0.5, 0.5])


def conjugate_regression(rng):
    """Regression with known residual SD: the exact posterior and the Bayes factor of the
    last two coefficients (SciPy marginal likelihoods)."""
    n, sigma = 60, 1.0
    X = np.column_stack([np.ones(n), rng.normal(size=(n, 3))])
    y = X @ np.array([2.0, 0.3, 0.15, -0.1]) + rng.normal(0, sigma, n)
    results = {}
    for c in SCALES:
        sd = REGRESSION_SD.copy()
        sd[TESTED] *= c
        lam = np.diag(sd**2)
        one = stats.multivariate_normal(X @ MU0, sigma**2 * np.eye(n) + X @ lam @ X.T)
        zero = stats.multivariate_normal(X[:, :2] @ MU0[:2], sigma**2 * np.eye(n)
                                         + X[:, :2] @ lam[:2, :2] @ X[:, :2].T)
        results[c] = one.logpdf(y) - zero.logpdf(y)
    precision = X.T @ X / sigma**2 + np.diag(1 / REGRESSION_SD**2)
    cov = np.linalg.inv(precision)
    mean = cov @ (X.T @ y / sigma**2 + MU0 / REGRESSION_SD**2)
    return mean, cov, results


def test_normal_approximation_of_exact_normal_draws_recovers_the_bayes_factor():
    """Draws from an exact normal posterior: the normal approximation is unbiased up to Monte
    Carlo error at every width (checked on the mean of 20 replicates, tolerance 4 SE of it;
    each replicate's log BF10 varies by about 0.04)."""
    rng = np.random.default_rng(3)
    mean, cov, expected = conjugate_regression(rng)
    design = SimpleNamespace(terms=TERMS, columns=TERMS, priors={
        t: {"dist": "Normal", "mu": m, "sigma": s}
        for t, m, s in zip(TERMS, MU0, REGRESSION_SD, strict=True)})
    errors = {c: [] for c in SCALES}
    for _ in range(20):
        draws = rng.multivariate_normal(mean, cov, size=20_000)
        fit = FakeFit(design, beta_draws=draws, engine="bambi")
        table = bayes_factors(fit, scales=SCALES).set_index("prior_scale")
        assert (table["density_method"] == "normal_approximation").all()
        for c in SCALES:
            errors[c].append(table.loc[c, "log_bf10"] - expected[c])
    for c in SCALES:
        err = np.array(errors[c])
        assert abs(err.mean()) < 4 * err.std(ddof=1) / np.sqrt(len(err)) + 1e-3


def test_a_prior_that_is_not_normal_is_reported_not_computed(data):
    design = make_design(data)
    design.priors = dict(design.priors, period={"dist": "StudentT", "mu": 0, "sigma": 1, "nu": 3})
    row = bayes_factors(FakeFit(design, {k: np.full(4, v) for k, v in THETA.items()})).iloc[0]
    assert np.isnan(row["bf10"]) and "not a Normal" in row["reason"]


def test_decision_rule():
    assert bf_decision(3.01) == PERIOD_FAVOURED and bf_decision(0.33) == LINEAR_FAVOURED
    assert bf_decision(2.99) == bf_decision(0.34) == INCONCLUSIVE


def test_a_linear_fit_that_is_not_the_nested_model_is_named(data):
    """Savage-Dickey is the Bayes factor against the linear fit only when that fit is the
    period model with the period terms at 0: same rows, same priors of the shared terms."""
    period = FakeFit(make_design(data), {k: np.full(40, v) for k, v in THETA.items()})
    same = make_design(data)
    same.priors = {k: v for k, v in same.priors.items() if k in ("Intercept", "months")}
    other = make_design(data)
    other.priors = dict(same.priors, Intercept={"dist": "Normal", "mu": 0.0, "sigma": 5.0})
    ok = bayes_factor_table([FakeFit(same, variant="linear"), period])
    assert (ok["reason"] == "").all()
    flagged = bayes_factor_table([FakeFit(other, variant="linear"), period])
    assert flagged["reason"].str.contains("prior of Intercept differs").all()
    assert flagged["log_bf10"].tolist() == ok["log_bf10"].tolist()  # values kept, said so
