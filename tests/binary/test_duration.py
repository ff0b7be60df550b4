"""Tests of mbtbayes.binary.duration: restricted mean and median duration posteriors.

References from outside the code under test: numerical integrals of the survival function
(``scipy.integrate.quad``) for the restricted means, SciPy's Student-t (the conjugate NIG
marginal of mu), the textbook NIG update, the classical standard error of a mean, the plain
mean of ``min(T, 36)``, a Kaplan-Meier curve worked by hand, the exact distribution of a
Bayesian-bootstrap median of three values (Dirichlet(1, 1, 1) weights), and the known
parameters and restricted mean of simulated Weibull durations (simulation truth; tolerances
from the posterior SD or the binomial error of a coverage rate).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from mbtbayes.binary.duration import (
    LognormalPrior,
    WeibullPrior,
    administrative_censoring,
    duration_draws,
    grid_draws,
    kaplan_meier_summary,
    lognormal_log_posterior,
    lognormal_restricted_mean,
    nig_posterior,
    weibull_draws,
    weibull_log_posterior,
    weibull_restricted_mean,
)
from mbtbayes.core.arviz_api import hdi
from mbtbayes.core.errors import DataError, SpecError


@pytest.mark.parametrize(("scale", "shape", "tau"), [
    (30.0, 3.0, 36.0), (12.0, 1.0, 36.0), (50.0, 0.7, 36.0), (20.0, 5.0, 18.0),
    (28.0, 2.2, 1.0)])
def test_weibull_restricted_mean_is_the_integral_of_survival(scale, shape, tau):
    survival = lambda t: np.exp(-((t / scale) ** shape))  # noqa: E731
    ref, _ = integrate.quad(survival, 0.0, tau, epsabs=1e-12, epsrel=1e-12)
    assert float(weibull_restricted_mean(scale, shape, max_months=tau)) == pytest.approx(
        ref, rel=1e-9)


@pytest.mark.parametrize(("mu", "sigma", "tau"), [
    (np.log(25.0), 0.4, 36.0), (np.log(10.0), 1.2, 36.0), (np.log(60.0), 0.3, 36.0)])
def test_lognormal_restricted_mean_is_the_integral_of_survival(mu, sigma, tau):
    survival = stats.lognorm(s=sigma, scale=np.exp(mu)).sf
    ref, _ = integrate.quad(survival, 0.0, tau, epsabs=1e-12, epsrel=1e-12)
    assert float(lognormal_restricted_mean(mu, sigma, max_months=tau)) == pytest.approx(
        ref, rel=1e-9)


def test_weibull_recovers_known_restricted_mean_and_median_with_censoring():
    rng = np.random.default_rng(7)
    shape, scale = 3.0, 30.0
    durations = scale * rng.weibull(shape, 1500)
    stop = rng.uniform(5.0, 60.0, 1500)  # administrative censoring
    censored = durations > stop
    observed = np.minimum(durations, stop)
    truth, _ = integrate.quad(lambda t: np.exp(-((t / scale) ** shape)), 0.0, 36.0)
    draws = duration_draws(observed, censored, model="weibull", n=50_000, rng=rng,
                           weibull_prior=WeibullPrior())
    assert censored.mean() > 0.2  # the test needs real censoring
    rmst = draws["restricted_mean"]
    assert rmst.mean() == pytest.approx(truth, abs=0.5)
    assert np.quantile(rmst, 0.005) < truth < np.quantile(rmst, 0.995)
    median = scale * np.log(2) ** (1 / shape)
    assert np.quantile(draws["median"], 0.005) < median < np.quantile(draws["median"], 0.995)
    assert np.minimum(observed, 36.0).mean() < truth - 2  # ignoring censoring is badly biased


def test_bayesian_bootstrap_matches_the_classical_mean_and_se():
    rng = np.random.default_rng(8)
    y = rng.uniform(1, 48, 90)
    restricted = np.minimum(y, 36.0)
    draws = duration_draws(y, np.zeros(90, bool), model="bayesian_bootstrap", n=40_000,
                           rng=rng)["restricted_mean"]
    assert draws.mean() == pytest.approx(restricted.mean(), abs=0.05)
    assert draws.std() == pytest.approx(restricted.std(ddof=0) / np.sqrt(90), rel=0.05)


def test_bayesian_bootstrap_median_of_three_has_its_exact_distribution():
    # Dirichlet(1, 1, 1) weights on sorted values a < b < c: the weighted median is a when
    # w_a >= 1/2 (probability (1/2)^2 = 1/4, as w_a ~ Beta(1, 2)), c when w_c > 1/2 (1/4),
    # else b (1/2).
    rng = np.random.default_rng(9)
    median = duration_draws(np.array([30.0, 10.0, 20.0]), np.zeros(3, bool),
                            model="bayesian_bootstrap", n=200_000, rng=rng)["median"]
    shares = [np.mean(median == v) for v in (10.0, 20.0, 30.0)]
    assert shares == pytest.approx([0.25, 0.5, 0.25], abs=0.005)


def test_nig_posterior_against_textbook_update():
    log_y = np.log([12.0, 20.0, 25.0, 30.0, 36.0])
    prior = LognormalPrior(mu0=2.5, kappa0=2.0, nu0=3.0, sigma0=0.8)
    mu_n, kappa_n, nu_n, sigma_n = nig_posterior(log_y, prior)
    n, ybar, ss = 5, log_y.mean(), ((log_y - log_y.mean()) ** 2).sum()
    assert mu_n == pytest.approx((2.0 * 2.5 + n * ybar) / (2.0 + n))
    assert kappa_n == 7.0 and nu_n == 8.0
    expected = (3.0 * 0.64 + ss + 2.0 * n / 7.0 * (ybar - 2.5) ** 2) / 8.0
    assert sigma_n**2 == pytest.approx(expected)


def test_grid_posterior_matches_the_conjugate_student_t():
    rng = np.random.default_rng(3)
    y = rng.lognormal(3.2, 0.4, 60)
    prior = LognormalPrior()
    mu_n, kappa_n, nu_n, sigma_n = nig_posterior(np.log(y), prior)
    t = stats.t(nu_n, loc=mu_n, scale=sigma_n / np.sqrt(kappa_n))
    mu, _ = grid_draws(lambda a, b: lognormal_log_posterior(y, np.zeros(60, bool), prior, a, b),
                       (3.0, np.log(0.5)), 200_000, rng)
    quantiles = [0.025, 0.25, 0.5, 0.75, 0.975]
    assert np.quantile(mu, quantiles) == pytest.approx(t.ppf(quantiles), abs=0.004)


def test_conjugate_lognormal_median_matches_student_t():
    rng = np.random.default_rng(4)
    y = rng.lognormal(3.0, 0.5, 40)
    mu_n, kappa_n, nu_n, sigma_n = nig_posterior(np.log(y), LognormalPrior())
    t = stats.t(nu_n, loc=mu_n, scale=sigma_n / np.sqrt(kappa_n))
    # no duration reaches the restriction time: nothing is censored, the conjugate update holds
    draws = duration_draws(y, np.zeros(40, bool), model="lognormal", n=100_000, rng=rng,
                           max_months=1e6)
    quantiles = [0.025, 0.5, 0.975]
    # the median is exp(mu), whose posterior is exp of mu's Student-t marginal
    assert np.quantile(draws["median"], quantiles) == pytest.approx(np.exp(t.ppf(quantiles)),
                                                                     rel=0.01)


def test_errors():
    y = np.array([3.0, 20.0, 9.0])
    with pytest.raises(DataError, match="two treatments"):
        duration_draws(y, np.array([True, True, False]), model="weibull", n=10,
                       rng=np.random.default_rng(0))
    with pytest.raises(DataError, match="ended before 36"):  # completed at 36: censored
        duration_draws(np.array([3.0, 36.0, 36.0]), np.zeros(3, bool), model="lognormal", n=10,
                       rng=np.random.default_rng(0))
    with pytest.raises(SpecError, match="max_months"):
        duration_draws(y, np.zeros(3, bool), model="weibull", n=10,
                       rng=np.random.default_rng(0), max_months=-1.0)
    with pytest.raises(DataError, match="two patients"):
        duration_draws(y[:1], np.zeros(1, bool), model="bayesian_bootstrap", n=10,
                       rng=np.random.default_rng(0))


# ---------------------------------------------------------------- a treatment with a planned end


def _planned_end(n: int, rng: np.random.Generator, *, shape: float = 2.5,
                 scale: float = 30.0) -> np.ndarray:
    """Weibull durations stopped at the planned 36 months (a point mass there, as in the
    register: about a fifth of the patients at these values)."""
    return np.minimum(scale * rng.weibull(shape, n), 36.0)


def _weibull_rmst(shape: float, scale: float, tau: float = 36.0) -> float:
    value, _ = integrate.quad(lambda t: np.exp(-((t / scale) ** shape)), 0.0, tau,
                              epsabs=1e-12, epsrel=1e-12)
    return value


def test_bootstrap_restricted_mean_is_the_plain_mean_of_min_t_36():
    rng = np.random.default_rng(11)
    y = np.concatenate([rng.uniform(1.0, 36.0, 60), np.full(30, 36.0), [40.0, 48.0]])
    plain = sum(min(v, 36.0) for v in y) / len(y)  # by hand: each duration counts up to 36
    draws = duration_draws(y, np.zeros(y.size, bool), model="bayesian_bootstrap", n=40_000,
                           rng=rng)["restricted_mean"]
    mcse = draws.std() / np.sqrt(draws.size)
    assert draws.mean() == pytest.approx(plain, abs=5 * mcse)
    assert draws.max() <= 36.0
    # without censoring the curve's area is exactly the weighted mean of min(y, 36)
    weights = rng.dirichlet(np.ones(y.size), size=5)
    area = kaplan_meier_summary(y, np.zeros(y.size, bool), weights, max_months=36.0)
    assert area["restricted_mean"] == pytest.approx(weights @ np.minimum(y, 36.0), rel=1e-12)


def test_kaplan_meier_with_an_ongoing_treatment_by_hand():
    # 2 (stopped), 4 (ongoing), 6 (stopped), 10 (reached 8): S = 1 on [0, 2), 3/4 on [2, 6),
    # 3/4 * 1/2 on [6, 8]; area to 8 = 2 + 4 * 0.75 + 2 * 0.375 = 5.75; median: S <= 1/2 at 6
    y, ongoing = np.array([6.0, 2.0, 10.0, 4.0]), np.array([False, False, False, True])
    km = kaplan_meier_summary(y, ongoing, np.full((1, 4), 0.25), max_months=8.0)
    assert km["restricted_mean"][0] == pytest.approx(5.75)
    assert km["median"][0] == 6.0
    # a tie: the treatment ongoing at 2 months was still at risk when the other stopped at 2
    # (Kaplan-Meier's convention): S = 2/3 on [2, 5), 0 from 5; area to 6 = 2 + 3 * 2/3 = 4
    tie = kaplan_meier_summary(np.array([2.0, 2.0, 5.0]), np.array([True, False, False]),
                               np.full((1, 3), 1 / 3), max_months=6.0)
    assert tie["restricted_mean"][0] == pytest.approx(4.0)
    draws = duration_draws(y, ongoing, model="bayesian_bootstrap", n=20_000,
                           rng=np.random.default_rng(12), max_months=8.0)
    assert draws["restricted_mean"].min() > 2.0 and draws["restricted_mean"].max() <= 8.0


def test_bootstrap_with_ongoing_treatments_recovers_the_truth():
    # durations Weibull(2.5, 30), a third of them still running at a uniform extraction time
    rng = np.random.default_rng(16)
    durations = 30.0 * rng.weibull(2.5, 1500)
    extraction = rng.uniform(5.0, 60.0, 1500)
    ongoing = durations > extraction
    y = np.minimum(durations, extraction)
    truth = _weibull_rmst(2.5, 30.0)
    draws = duration_draws(y, ongoing, model="bayesian_bootstrap", n=20_000,
                           rng=rng)["restricted_mean"]
    assert ongoing.mean() > 0.2
    assert abs(draws.mean() - truth) < 4 * draws.std()
    assert np.minimum(y, 36.0).mean() < truth - 4 * draws.std()  # ignoring them is biased


def test_bootstrap_interval_covers_the_truth():
    # truth: durations Weibull(2.5, 30) stopped at 36; RMST = integral of S from 0 to 36
    truth = _weibull_rmst(2.5, 30.0)
    rng = np.random.default_rng(13)
    reps, covered = 400, 0
    for _ in range(reps):
        y = _planned_end(90, rng)
        draws = duration_draws(y, np.zeros(90, bool), model="bayesian_bootstrap", n=4000,
                               rng=rng)["restricted_mean"]
        low, high = hdi(draws, ci_prob=0.95)
        covered += low <= truth <= high
    # binomial SD of the rate at 0.95 over 400 data sets: 0.011; the Bayesian bootstrap of a
    # mean runs slightly narrow at n = 90 (about 0.94)
    assert 0.90 <= covered / reps <= 0.99  # binomial SE of 400 at 0.95: 0.011


def test_censored_weibull_recovers_known_parameters():
    shape, scale = 2.5, 30.0
    rng = np.random.default_rng(14)
    y, censored = administrative_censoring(_planned_end(3000, rng), np.zeros(3000, bool),
                                           max_months=36.0)
    assert 0.15 < censored.mean() < 0.3  # the planned end censors about a fifth
    draws_scale, draws_shape = weibull_draws(y, censored, n=40_000, rng=rng)
    for draws, truth in ((draws_scale, scale), (draws_shape, shape)):
        assert abs(draws.mean() - truth) < 4 * draws.std()
        assert draws.std() < 0.05 * truth  # the test can fail: the posterior is narrow
    # the completers counted as stops at 36 (the old default) miss the shape badly
    _, naive_shape = weibull_draws(y, np.zeros(3000, bool), n=40_000, rng=rng)
    assert abs(naive_shape.mean() - shape) > 8 * naive_shape.std()


@pytest.mark.parametrize("model", ["weibull", "lognormal"])
def test_parametric_restricted_mean_censors_the_planned_end(model):
    # Weibull data stopped at 36 with no censoring flags: the models censor at 36 themselves
    rng = np.random.default_rng(15)
    y = _planned_end(2000, rng)
    truth = _weibull_rmst(2.5, 30.0)
    draws = duration_draws(y, np.zeros(2000, bool), model=model, n=40_000,
                           rng=rng)["restricted_mean"]
    if model == "weibull":  # the true model: its interval covers the truth
        assert abs(draws.mean() - truth) < 4 * draws.std()
    else:  # the wrong shape, but censored at 36 it stays within a month
        assert abs(draws.mean() - truth) < 1.0
    median = duration_draws(np.full(10, 36.0) - np.arange(10) * 0.1, np.zeros(10, bool),
                            model=model, n=2000, rng=rng, max_months=36.0)["median"]
    assert median.max() <= 36.0  # the median of min(T, 36) cannot pass the planned end


@pytest.mark.parametrize("model", ["lognormal", "weibull"])
def test_log_posteriors_equal_scipys_likelihood_on_a_grid(model):
    """The summaries-based log posteriors (ties, censoring at the planned end and before it)
    against SciPy's per-duration log density and log survival: their change across a grid of
    parameters, data set against data set (the prior and the constants cancel), to 1e-8."""
    rng = np.random.default_rng(11)
    y = np.round(rng.lognormal(2.5, 0.8, 400), 1)  # rounded: many ties
    y, censored = administrative_censoring(y, rng.random(400) < 0.15, max_months=36.0)
    other = (np.array([5.0, 20.0]), np.array([False, True]))
    a = np.linspace(1.5, 3.5, 9)[:, None]  # mu or log scale
    b = np.linspace(-1.0, 1.0, 7)[None, :]  # log sigma or log shape
    if model == "lognormal":
        prior, f = LognormalPrior(), lognormal_log_posterior

        def dist(a, b):
            return stats.lognorm(s=np.exp(b), scale=np.exp(a))
    else:
        prior, f = WeibullPrior(), weibull_log_posterior

        def dist(a, b):
            return stats.weibull_min(c=np.exp(b), scale=np.exp(a))

    def scipy_loglik(data):
        values, cens = data
        return sum(dist(a, b).logsf(v) if c else dist(a, b).logpdf(v)
                   for v, c in zip(values, cens, strict=True))

    got = f(y, censored, prior, a, b) - f(*other, prior, a, b)
    want = scipy_loglik((y, censored)) - scipy_loglik(other)
    np.testing.assert_allclose(got - got[0, 0], want - want[0, 0], rtol=1e-8, atol=1e-8)
