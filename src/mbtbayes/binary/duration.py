"""Treatment duration models: posteriors of the restricted mean and the median duration.

A treatment with a planned end (36 months in the study) stops there: durations pile up at the
planned maximum (a third of Period I's patients in the study's register) and nothing lies past
it. The estimands are the **restricted mean duration** to ``max_months`` (``tau``): the mean
of ``min(T, tau)``, the area under the survival curve from 0 to ``tau``; and the **median of
min(T, tau)**.

Models (``y`` in months):

- ``bayesian_bootstrap`` (the default, model-free): Dirichlet(1, ..., 1) weights over patients
  (Rubin 1981) on the Kaplan-Meier curve of the weighted patients, restricted to ``tau``.
  Without ongoing treatments that curve's area is the weighted mean of ``min(y, tau)`` and its
  median the weighted median, so the posterior mean of the restricted mean is the sample mean
  of ``min(y, tau)``. Ongoing treatments (right-censored) leave the curve without a step; past
  the last observed time the curve stays flat. Tied values are pooled (the Dirichlet's
  aggregation property), so the cost does not grow with the number of patients.
- ``weibull``: survival ``S(t) = exp(-(t / scale)^shape)``; the restricted mean is
  ``scale * Gamma(1 + 1/shape) * P(1/shape, (tau / scale)^shape)`` (``P`` the regularised lower
  incomplete gamma), the median ``scale * log(2)^(1/shape)``; grid posterior (no MCMC).
- ``lognormal``: the restricted mean is ``exp(mu + sigma^2/2) Phi((log tau - mu - sigma^2) /
  sigma) + tau (1 - Phi((log tau - mu) / sigma))``, the median ``exp(mu)``; conjugate
  Normal-Inverse-Gamma draws when nothing is censored, else a grid posterior.

The parametric models treat a treatment that reached ``tau`` (completed as planned) as
administratively right-censored at ``tau``, as they do ongoing treatments: it did not stop
early, and its length past the plan is not a duration the model should fit. Their medians are
those of ``min(T, tau)`` (the model's median, at most ``tau``).

Examples
--------
>>> round(float(weibull_restricted_mean(30.0, 3.0, max_months=36.0)), 2)
25.83
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

from mbtbayes.core.errors import DataError, SpecError

DURATION_MODELS: tuple[str, ...] = ("bayesian_bootstrap", "weibull", "lognormal")
DEFAULT_MODEL = "bayesian_bootstrap"
"""The default duration model: model-free; the parametric ones are alternatives."""
PLANNED_MAX_MONTHS = 36.0
"""The planned maximum treatment duration of the study: the restriction time of the mean."""
QUANTITIES = {"restricted_mean": "restricted mean of min(duration, {tau:g} months)",
              "median": "median of min(duration, {tau:g} months)"}
"""Duration quantities and their ``quantity`` label in the adherence table."""
CHUNK_VALUES = 4_000_000
"""At most this many weights in memory at once in the Bayesian bootstrap."""


@dataclass(frozen=True)
class LognormalPrior:
    """Normal-Inverse-Gamma prior of a lognormal's (mu, sigma^2) on the log-months scale.

    ``sigma^2 ~ Scaled-Inv-chi2(nu0, sigma0^2)`` and ``mu | sigma^2 ~ Normal(mu0, sigma^2 /
    kappa0)``. The default is weak: centred on 12 months, worth a tenth of a patient for mu and
    one patient for sigma.

    Attributes
    ----------
    mu0, kappa0, nu0, sigma0 : float

    Examples
    --------
    >>> LognormalPrior().describe()
    'NIG: mu | s2 ~ Normal(log 12, s2 / 0.1), s2 ~ Scaled-Inv-chi2(1, 1^2), on log months'
    """

    mu0: float = float(np.log(12.0))
    kappa0: float = 0.1
    nu0: float = 1.0
    sigma0: float = 1.0

    def __post_init__(self) -> None:
        if not (self.kappa0 > 0 and self.nu0 > 0 and self.sigma0 > 0):
            raise SpecError("LognormalPrior needs kappa0, nu0 and sigma0 > 0.")

    def describe(self) -> str:
        """The prior in words."""
        return (f"NIG: mu | s2 ~ Normal(log {np.exp(self.mu0):.3g}, s2 / {self.kappa0:g}), "
                f"s2 ~ Scaled-Inv-chi2({self.nu0:g}, {self.sigma0:g}^2), on log months")


# ---------------------------------------------------------------- lognormal posteriors


def nig_posterior(log_y: np.ndarray, prior: LognormalPrior) -> tuple[float, float, float, float]:
    """Conjugate update of the Normal-Inverse-Gamma prior by fully observed log durations.

    Returns
    -------
    tuple of float
        ``(mu_n, kappa_n, nu_n, sigma_n)``: ``mu | s2 ~ N(mu_n, s2 / kappa_n)``,
        ``s2 ~ Scaled-Inv-chi2(nu_n, sigma_n^2)``; the marginal of mu is Student-t with
        ``nu_n`` df, location ``mu_n`` and scale ``sigma_n / sqrt(kappa_n)``.

    Examples
    --------
    >>> [round(v, 3) for v in nig_posterior(np.log([10.0, 20.0, 30.0]), LognormalPrior())]
    [2.886, 3.1, 4.0, 0.639]
    """
    y = np.asarray(log_y, float)
    n = y.size
    mean = y.mean() if n else 0.0
    ss = float(((y - mean) ** 2).sum())
    kappa_n = prior.kappa0 + n
    mu_n = (prior.kappa0 * prior.mu0 + n * mean) / kappa_n
    nu_n = prior.nu0 + n
    shrink = prior.kappa0 * n * (mean - prior.mu0) ** 2 / kappa_n
    scatter = prior.nu0 * prior.sigma0**2 + ss + shrink
    return float(mu_n), float(kappa_n), float(nu_n), float(np.sqrt(scatter / nu_n))


def _nig_draws(log_y: np.ndarray, prior: LognormalPrior, n: int,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    mu_n, kappa_n, nu_n, sigma_n = nig_posterior(log_y, prior)
    s2 = nu_n * sigma_n**2 / rng.chisquare(nu_n, size=n)
    return rng.normal(mu_n, np.sqrt(s2 / kappa_n)), np.sqrt(s2)


@dataclass(frozen=True)
class WeibullPrior:
    """Independent Normal priors of a Weibull's log scale and log shape (durations in months).

    The default is weak: the scale (about the 63rd percentile of duration) is centred on 12
    months with a log-SD of 2, the shape on 1 (exponential) with a log-SD of 1.

    Examples
    --------
    >>> WeibullPrior().describe()
    'log scale ~ Normal(log 12, 2), log shape ~ Normal(0, 1), durations in months'
    """

    log_scale_mu: float = float(np.log(12.0))
    log_scale_sd: float = 2.0
    log_shape_mu: float = 0.0
    log_shape_sd: float = 1.0

    def __post_init__(self) -> None:
        if not (self.log_scale_sd > 0 and self.log_shape_sd > 0):
            raise SpecError("WeibullPrior needs positive prior SDs.")

    def describe(self) -> str:
        """The prior in words."""
        return (f"log scale ~ Normal(log {np.exp(self.log_scale_mu):.3g}, {self.log_scale_sd:g}), "
                f"log shape ~ Normal({self.log_shape_mu:g}, {self.log_shape_sd:g}), "
                "durations in months")


def lognormal_log_posterior(y: np.ndarray, censored: np.ndarray, prior: LognormalPrior,
                            mu: np.ndarray, log_sigma: np.ndarray) -> np.ndarray:
    """Log posterior of a lognormal's (mu, log sigma) given durations, up to a constant.

    ``y`` are durations in months; ended treatments contribute the log density of log y,
    ongoing (censored) ones the log survival probability. Broadcasts over ``mu`` and
    ``log_sigma``. Computed exactly from summaries: the ended treatments' count, mean and sum
    of squares of log y, and each distinct censored duration once with its count (durations
    censored at the planned maximum share one value), so that a grid over a register of any
    size costs about the same.
    """
    mu, log_sigma = np.asarray(mu, float), np.asarray(log_sigma, float)
    s2 = np.exp(2.0 * log_sigma)
    # NIG density of (mu, s2) times the Jacobian d s2 / d log sigma = 2 s2
    log_prior = (-(prior.nu0 / 2 + 1.5) * np.log(s2) - prior.nu0 * prior.sigma0**2 / (2 * s2)
                 - prior.kappa0 * (mu - prior.mu0) ** 2 / (2 * s2) + np.log(2 * s2))
    log_y = np.log(y)
    ended = log_y[~censored]
    n, mean = ended.size, ended.mean() if ended.size else 0.0
    squares = ((ended - mean) ** 2).sum()  # sum (log y - mu)^2 = squares + n (mean - mu)^2
    events = -0.5 * (squares + n * (mean - mu) ** 2) / s2 - n * log_sigma
    values, counts = np.unique(log_y[censored], return_counts=True)
    z = (values - mu[..., None]) / np.exp(log_sigma)[..., None]
    return log_prior + events + (counts * special.log_ndtr(-z)).sum(-1)


def weibull_log_posterior(y: np.ndarray, censored: np.ndarray, prior: WeibullPrior,
                          log_scale: np.ndarray, log_shape: np.ndarray) -> np.ndarray:
    """Log posterior of a Weibull's (log scale, log shape) given durations, up to a constant.

    Ended treatments contribute the log density, ongoing (censored) ones the log survival
    ``-(y / scale)^shape``. Broadcasts over the two parameters. Computed exactly from
    summaries: the ended treatments' count and sum of log y, and
    ``sum (y / scale)^shape = (c / scale)^shape sum (y / c)^shape`` (c the largest duration)
    over the distinct durations with their counts, a sum that depends on the shape alone, so
    that a grid costs one pass over the data per shape value, not per grid point.
    """
    log_scale, log_shape = np.asarray(log_scale, float), np.asarray(log_shape, float)
    log_prior = (stats.norm.logpdf(log_scale, prior.log_scale_mu, prior.log_scale_sd)
                 + stats.norm.logpdf(log_shape, prior.log_shape_mu, prior.log_shape_sd))
    shape = np.exp(log_shape)
    log_y = np.log(y)
    ended = log_y[~censored]
    events = (ended.size * (log_shape - log_scale)
              + (shape - 1.0) * (ended.sum() - ended.size * log_scale))
    values, counts = np.unique(log_y, return_counts=True)
    top = values[-1]
    powers = (counts * np.exp(shape[..., None] * (values - top))).sum(-1)
    cumulative = np.exp(shape * (top - log_scale)) * powers
    return log_prior + events - cumulative


def grid_draws(log_post: Callable[[np.ndarray], float], start: Sequence[float], n: int,
               rng: np.random.Generator, *, size: int = 241) -> tuple[np.ndarray, np.ndarray]:
    """Draws from a two-parameter posterior computed on a grid.

    The mode is found numerically; the grid spans +-8 Laplace SDs around it on each axis
    (``size`` points each); draws pick grid cells by their posterior mass and spread uniformly
    within them. Exact up to the grid resolution: no Markov chain, nothing to diagnose.

    Parameters
    ----------
    log_post : callable
        ``log_post(a, b)`` -> log posterior, broadcasting over arrays ``a`` and ``b``.
    start : (float, float)
        Starting point of the mode search.
    n : int
        Number of draws.
    rng : numpy.random.Generator
    size : int, default 241

    Returns
    -------
    tuple of numpy.ndarray
        Draws of the two parameters.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> a, b = grid_draws(lambda a, b: -0.5 * (a**2 + b**2), (0.3, 0.3), 20000, rng)
    >>> round(float(a.std()), 1)
    1.0
    """
    def scalar(v: np.ndarray) -> float:
        return -float(log_post(np.array(v[0]), np.array(v[1])))

    mode = optimize.minimize(scalar, x0=np.asarray(start, float), method="Nelder-Mead",
                             options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 10_000}).x
    sd = _laplace_sd(scalar, mode)
    axes = [np.linspace(m - 8 * s, m + 8 * s, size) for m, s in zip(mode, sd, strict=True)]
    block = 8  # grid rows per evaluation, to bound memory with many patients
    lp = np.concatenate([log_post(axes[0][i:i + block, None], axes[1][None, :])
                         for i in range(0, size, block)])
    weights = np.exp(lp - lp.max()).ravel()
    cells = rng.choice(weights.size, size=n, p=weights / weights.sum())
    index = np.unravel_index(cells, (size, size))
    return tuple(ax[i] + rng.uniform(-0.5, 0.5, n) * (ax[1] - ax[0])
                 for ax, i in zip(axes, index, strict=True))


def _laplace_sd(neg_log_post: Callable[[np.ndarray], float], mode: np.ndarray,
                step: float = 1e-3) -> np.ndarray:
    """Marginal SDs from the inverse numerical Hessian at the mode (1 where it fails)."""
    hess = np.empty((2, 2))
    eye = np.eye(2) * step
    f = neg_log_post
    for i in range(2):
        for j in range(2):
            hess[i, j] = (f(mode + eye[i] + eye[j]) - f(mode + eye[i] - eye[j])
                          - f(mode - eye[i] + eye[j]) + f(mode - eye[i] - eye[j])) / (4 * step**2)
    try:
        var = np.diag(np.linalg.inv(hess))
    except np.linalg.LinAlgError:
        return np.ones(2)
    return np.where(var > 0, np.sqrt(np.abs(var)), 1.0)



# ---------------------------------------------------------------- restricted mean and median


def weibull_restricted_mean(scale: np.ndarray | float, shape: np.ndarray | float, *,
                            max_months: float) -> np.ndarray:
    """Restricted mean of a Weibull up to ``max_months``: the integral of its survival function.

    Parameters
    ----------
    scale, shape : array_like
        Weibull scale (months) and shape, broadcastable.
    max_months : float
        Restriction time ``tau`` (> 0).

    Examples
    --------
    >>> round(float(weibull_restricted_mean(12.0, 1.0, max_months=1e6)), 6)  # the mean
    12.0
    """
    scale, shape = np.asarray(scale, float), np.asarray(shape, float)
    x = (_tau(max_months) / scale) ** shape
    return scale * special.gamma(1.0 + 1.0 / shape) * special.gammainc(1.0 / shape, x)


def lognormal_restricted_mean(mu: np.ndarray | float, sigma: np.ndarray | float, *,
                              max_months: float) -> np.ndarray:
    """Restricted mean of a lognormal (log-scale ``mu``, ``sigma``) up to ``max_months``.

    Examples
    --------
    >>> round(float(lognormal_restricted_mean(np.log(10.0), 0.5, max_months=1e9)), 4)
    11.3315
    """
    mu, sigma = np.asarray(mu, float), np.asarray(sigma, float)
    log_tau = np.log(_tau(max_months))
    below = np.exp(mu + sigma**2 / 2) * special.ndtr((log_tau - mu - sigma**2) / sigma)
    return below + np.exp(log_tau) * special.ndtr(-(log_tau - mu) / sigma)


def _tau(max_months: float) -> float:
    tau = float(max_months)
    if not (np.isfinite(tau) and tau > 0):
        raise SpecError(f"max_months must be a positive number of months, got {max_months!r}")
    return tau


def duration_draws(y: np.ndarray, censored: np.ndarray, *, model: str, n: int,
                   rng: np.random.Generator, max_months: float = PLANNED_MAX_MONTHS,
                   lognormal_prior: LognormalPrior | None = None,
                   weibull_prior: WeibullPrior | None = None) -> dict[str, np.ndarray]:
    """Posterior draws of the restricted mean and the median of ``min(duration, max_months)``.

    Parameters
    ----------
    y : numpy.ndarray
        Durations in months (> 0).
    censored : numpy.ndarray of bool
        True for ongoing treatments (right-censored).
    model : {"bayesian_bootstrap", "weibull", "lognormal"}
    n : int
        Number of draws.
    rng : numpy.random.Generator
    max_months : float, default 36
        Restriction time (the planned maximum duration). The parametric models right-censor
        durations that reached it.
    lognormal_prior, weibull_prior : optional

    Returns
    -------
    dict
        ``{"restricted_mean": draws, "median": draws}``.

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> y = rng.weibull(3.0, 500) * 30
    >>> d = duration_draws(y, np.zeros(500, bool), model="weibull", n=4000, rng=rng)
    >>> bool(abs(d["median"].mean() - 30 * np.log(2) ** (1 / 3)) < 1.5)
    True
    """
    y, censored = np.asarray(y, float), np.asarray(censored, bool)
    tau = _tau(max_months)
    if model == DEFAULT_MODEL:
        return _bootstrap_draws(y, censored, n, rng, tau)
    y, censored = administrative_censoring(y, censored, max_months=tau)
    if (~censored).sum() < 2:
        raise DataError(f"the {model} duration model needs at least two treatments per "
                        f"period that ended before {tau:g} months.")
    if model == "lognormal":
        mu, sigma = _lognormal_draws(y, censored, lognormal_prior or LognormalPrior(), n, rng)
        return {"restricted_mean": lognormal_restricted_mean(mu, sigma, max_months=tau),
                "median": np.minimum(np.exp(mu), tau)}
    scale, shape = weibull_draws(y, censored, n=n, rng=rng, prior=weibull_prior)
    return {"restricted_mean": weibull_restricted_mean(scale, shape, max_months=tau),
            "median": np.minimum(scale * np.log(2.0) ** (1.0 / shape), tau)}


def administrative_censoring(y: np.ndarray, censored: np.ndarray, *,
                             max_months: float) -> tuple[np.ndarray, np.ndarray]:
    """Durations that reached ``max_months`` right-censored there (completed as planned).

    Examples
    --------
    >>> administrative_censoring(np.array([12.0, 36.0, 40.0]), np.zeros(3, bool),
    ...                          max_months=36.0)
    (array([12., 36., 36.]), array([False,  True,  True]))
    """
    tau = _tau(max_months)
    return np.minimum(y, tau), np.asarray(censored, bool) | (y >= tau)


def weibull_draws(y: np.ndarray, censored: np.ndarray, *, n: int, rng: np.random.Generator,
                  prior: WeibullPrior | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Posterior draws of a Weibull's scale (months) and shape from right-censored durations.

    Grid posterior of (log scale, log shape) (:func:`grid_draws`); censor durations at the
    planned maximum first (:func:`administrative_censoring`) where that applies.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> scale, shape = weibull_draws(rng.weibull(2.0, 4000) * 20, np.zeros(4000, bool), n=4000,
    ...                              rng=rng)
    >>> round(float(scale.mean())), round(float(shape.mean()), 1)
    (20, 2.0)
    """
    prior = prior or WeibullPrior()
    log_scale, log_shape = grid_draws(
        lambda a, b: weibull_log_posterior(y, censored, prior, a, b),
        (np.log(y.mean()), 0.5), n, rng)
    return np.exp(log_scale), np.exp(log_shape)


def _lognormal_draws(y: np.ndarray, censored: np.ndarray, prior: LognormalPrior, n: int,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    if not censored.any():
        return _nig_draws(np.log(y), prior, n, rng)
    mu, log_sigma = grid_draws(lambda a, b: lognormal_log_posterior(y, censored, prior, a, b),
                               (np.log(y).mean(), np.log(np.log(y).std() + 1e-3)), n, rng)
    return mu, np.exp(log_sigma)


# ---------------------------------------------------------------- Bayesian bootstrap


def kaplan_meier_summary(y: np.ndarray, censored: np.ndarray, weights: np.ndarray, *,
                         max_months: float) -> dict[str, np.ndarray]:
    """Restricted mean and median of ``min(T, max_months)`` from weighted Kaplan-Meier curves.

    Parameters
    ----------
    y : numpy.ndarray
        Durations in months.
    censored : numpy.ndarray of bool
        True for ongoing treatments.
    weights : numpy.ndarray
        Patient weights, shape ``(k, len(y))``: one curve per row (each row sums to 1).
    max_months : float

    Returns
    -------
    dict
        ``restricted_mean`` (area under the curve from 0 to ``max_months``) and ``median``
        (first time the curve is at or below 1/2; ``max_months`` if it never is), one per row.

    Examples
    --------
    >>> kaplan_meier_summary(np.array([10.0, 20.0, 40.0]), np.zeros(3, bool),
    ...                      np.full((1, 3), 1 / 3), max_months=36.0)["restricted_mean"]
    array([22.])
    """
    tau = _tau(max_months)
    time = np.minimum(y, tau)
    event = ~np.asarray(censored, bool) & (y < tau)
    weights = np.asarray(weights, float)
    order = np.lexsort((~event, time))  # by time; at a tie, events before censorings
    if (np.diff(order) != 1).any():
        time, event, weights = time[order], event[order], weights[:, order]
    if (event | (time >= tau)).all():  # nothing censored before tau: 1 - the weighted CDF
        survival = 1.0 - np.cumsum(weights, axis=1)
    else:
        at_risk = np.cumsum(weights[:, ::-1], axis=1)[:, ::-1]
        hazard = np.where(event, weights / np.maximum(at_risk, 1e-300), 0.0)
        survival = np.cumprod(1.0 - hazard, axis=1)
    widths = np.diff(np.concatenate([[0.0], time, [tau]]))  # S is 1 on [0, t_1)
    below = survival <= 0.5
    median = np.where(below.any(axis=1), time[below.argmax(axis=1)], tau)
    return {"restricted_mean": widths[0] + survival @ widths[1:], "median": median}


def _bootstrap_draws(y: np.ndarray, censored: np.ndarray, n: int, rng: np.random.Generator,
                     tau: float) -> dict[str, np.ndarray]:
    """Bayesian bootstrap (Rubin 1981) of the Kaplan-Meier curve restricted to ``tau``.

    Patients with the same (time, censored) are pooled: their Dirichlet(1, ..., 1) weights sum
    to one Dirichlet component with parameter their count.
    """
    if y.size < 2:
        raise DataError("the Bayesian bootstrap of duration needs at least two patients per "
                        "period.")
    time, ongoing = np.minimum(y, tau), censored & (y < tau)
    keys, counts = np.unique(np.stack([time, ongoing]), axis=1, return_counts=True)
    time, ongoing = keys[0], keys[1].astype(bool)
    out = {"restricted_mean": np.empty(n), "median": np.empty(n)}
    step = max(1, CHUNK_VALUES // counts.size)
    for start in range(0, n, step):
        stop = min(start + step, n)
        gamma = rng.standard_gamma(counts, size=(stop - start, counts.size))
        summary = kaplan_meier_summary(time, ongoing, gamma / gamma.sum(axis=1, keepdims=True),
                                       max_months=tau)
        for key, values in summary.items():
            out[key][start:stop] = values
    return out
