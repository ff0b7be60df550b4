"""Prior predictive checks: what the priors of a fit say before the data speak.

Parameters are drawn from the fit's priors (the spec's, else the range-scaled defaults:
:func:`mbtbayes.growth.priors.fit_priors`), by numpy, and pushed through the same
fixed-effects design as the posterior estimands (:mod:`mbtbayes.growth.trajectories`):

- **population means**: each period's population-mean trajectory (patient effects at zero,
  covariates standardised over the period's observed mix) at every month 0, 1, ..., 36 (the
  longest planned treatment); the share of them inside the measure's scale (the spec's range,
  the schema's for a register measure) is the check: at least :data:`TARGET_SHARE`;
- **observations**: a replicated data set at the data's own design (the rows used: their
  times, periods and covariates), with new patient effects drawn from their prior
  (``N(0, G)``, correlated when the spec is) and residual noise of the family; the share of
  replicated values inside the scale;
- **implied priors of the estimands**: the 0-24 month change per period (the spec's d time
  points), and the difference in change (Period II's change minus Period I's), in measure
  units and in observed baseline SDs (each draw divided by a draw of the Bayesian bootstrap
  of the pooled baseline SD, :func:`mbtbayes.growth.baseline.spec_sd_draws`: the implied
  prior of d and of d_II - d_I).

Intervals of prior draws are central (2.5% and 97.5% quantiles), named in ``interval``.

Examples
--------
>>> import mbtbayes as mb
>>> reg = mb.load_register()
>>> check = prior_predictive(mb.load_specs()["bsi"], reg.data, draws=2000, seed=1)
>>> bool(check.mean_share() >= TARGET_SHARE)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd

from mbtbayes.core.defaults import SEED
from mbtbayes.core.errors import SpecError
from mbtbayes.core.seeds import seed_for
from mbtbayes.growth import patients
from mbtbayes.growth.baseline import spec_sd_draws
from mbtbayes.growth.design import Design, make_design
from mbtbayes.growth.marginal import LKJ_ETA
from mbtbayes.growth.modelspec import ModelSpec
from mbtbayes.growth.trajectories import mean_design, period_levels

PRIOR_DRAWS = 4000
"""Prior draws per fit (the Monte Carlo error of the means' share is at most 0.008)."""

OBSERVATION_DRAWS = 1000
"""Prior draws that replicate a data set (the Monte Carlo error of their share is at most
0.016, as each draw's share has variance at most p(1 - p) <= 1/4)."""

MONTHS = np.arange(0.0, 37.0)
"""The months at which prior population means are checked: 0 to 36, the longest planned
treatment of the study (and the default priors' time horizon)."""

TARGET_SHARE = 0.95
"""The share of prior predictive population means that should fall inside the scale."""

INTERVAL = "95% central (prior)"
"""The interval of the implied priors: 2.5% and 97.5% quantiles of the prior draws."""


def draw_prior(prior: dict, *, size: int, rng: np.random.Generator) -> np.ndarray:
    """Draws from one prior as the specs write it (``{"dist": "Normal", "mu": 0, ...}``).

    The parameters are PyMC's: ``HalfNormal(sigma)``, ``StudentT(nu, mu, sigma)``,
    ``HalfStudentT(nu, sigma)``, ``Exponential(lam)`` (rate), ``Gamma(alpha, beta)`` (rate).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = draw_prior({"dist": "Normal", "mu": 2, "sigma": 0.5}, size=100_000, rng=rng)
    >>> round(float(x.mean()), 1), round(float(x.std()), 1)
    (2.0, 0.5)
    """
    dist = prior["dist"]
    mu, sigma = float(prior.get("mu", 0.0)), prior.get("sigma")
    if dist == "Normal":
        return rng.normal(mu, float(sigma), size)
    if dist == "HalfNormal":
        return np.abs(rng.normal(0.0, float(sigma), size))
    if dist == "StudentT":
        return mu + float(sigma) * rng.standard_t(float(prior["nu"]), size)
    if dist == "HalfStudentT":
        return np.abs(float(sigma) * rng.standard_t(float(prior["nu"]), size))
    if dist == "Exponential":
        return rng.exponential(1.0 / float(prior["lam"]), size)
    if dist == "Gamma":
        return rng.gamma(float(prior["alpha"]), 1.0 / float(prior["beta"]), size)
    raise SpecError(f"no prior predictive draws for a {dist} prior")


def prior_parameters(spec: ModelSpec, design: Design, *, draws: int,
                     rng: np.random.Generator) -> patients.Draws:
    """Population-level parameters drawn from a fit's priors: one :class:`Draws` of size
    ``draws`` (fixed effects per design column, patient-effect SDs, residual SD or the
    coefficients of its log, Student-t ``nu``, the patient-effect correlation)."""
    priors = design.priors

    def draw(term: str) -> np.ndarray:
        return draw_prior(priors[term], size=draws, rng=rng)

    beta = np.column_stack([draw(term) for term in design.terms])
    sds = np.column_stack([draw_prior(priors[e]["sigma"], size=draws, rng=rng)
                           for e in design.effects])
    sigma = beta_sigma = None
    if design.X_sigma is not None:
        beta_sigma = np.column_stack([draw(term) for term in design.sigma_terms])
    else:
        sigma = draw("sigma")
    nu = draw("nu") if spec.family == "t" else None
    return patients.Draws(beta=beta, sds=sds, sigma=sigma, beta_sigma=beta_sigma, nu=nu,
                          corr=correlation_draws(spec, design, draws=draws, rng=rng))


def correlation_draws(spec: ModelSpec, design: Design, *, draws: int,
                      rng: np.random.Generator) -> np.ndarray | None:
    """The prior of the patient intercept-slope correlation (None when uncorrelated): the
    marginal engine's LKJ(eta) for two effects, ``(corr + 1) / 2 ~ Beta(eta, eta)``."""
    if not spec.correlated or len(design.effects) != 2:
        return None

    return 2 * rng.beta(LKJ_ETA, LKJ_ETA, draws) - 1


@dataclass(frozen=True)
class PriorPredictive:
    """The prior predictive draws of one spec and variant.

    Attributes
    ----------
    spec, variant, design
        What was drawn from.
    levels : tuple of str
        Periods (``("pooled",)`` for the linear variant).
    months : numpy.ndarray
        The months of ``means``.
    means : numpy.ndarray
        Population means, ``(draws, periods, months)``.
    observations : numpy.ndarray
        Replicated values at the design's rows, ``(observation draws, rows)``: the first
        :data:`OBSERVATION_DRAWS` prior draws.
    changes : dict
        Period -> draws of the change between the d time points.
    sd : numpy.ndarray
        Draws of the observed pooled baseline SD (Bayesian bootstrap).
    """

    spec: object
    variant: str
    design: object
    levels: tuple[str, ...]
    months: np.ndarray
    means: np.ndarray
    observations: np.ndarray
    changes: dict
    sd: np.ndarray

    def inside(self, values: np.ndarray) -> np.ndarray:
        """Whether each value lies inside the scale (bounds included)."""
        low, high = self.spec.range
        return (values >= low) & (values <= high)

    def mean_share(self) -> float:
        """Share of the population means (draws x periods x months) inside the scale."""
        return float(self.inside(self.means).mean())

    def observation_share(self) -> float:
        """Share of the replicated observations inside the scale."""
        return float(self.inside(self.observations).mean())


def prior_predictive(spec: ModelSpec, data: pd.DataFrame, *, variant: str = "period",
                     design: Design | None = None, draws: int = PRIOR_DRAWS, seed: int = SEED,
                     months: np.ndarray = MONTHS) -> PriorPredictive:
    """Draw the prior predictive distribution of one variant of a spec.

    Parameters
    ----------
    spec : ModelSpec
    data : pandas.DataFrame
        The data (for the design's rows and covariate mix, and the baseline SD).
    variant : str
    design : Design, optional
        A fit's design (saves building it again); built from ``data`` when omitted.
    draws : int
    seed : int
        Run seed; the draws' seed derives from it and the spec and variant names.
    months : array
        Where the population means are evaluated (default 0..36).

    Returns
    -------
    PriorPredictive
    """
    design = design if design is not None else make_design(spec, data, variant=variant)
    rng = np.random.default_rng(seed_for(seed, spec.name, variant, "prior-predictive"))
    params = prior_parameters(spec, design, draws=draws, rng=rng)
    shape = SimpleNamespace(spec=spec, design=design, variant=variant)
    levels = period_levels(shape)
    months = np.asarray(months, float)
    grid = np.union1d(months, spec.d_months)
    values = np.einsum("sp,ktp->skt", params.beta, mean_design(shape, grid))
    t0, t1 = (np.searchsorted(grid, t) for t in spec.d_months)
    changes = {level: values[:, i, t1] - values[:, i, t0] for i, level in enumerate(levels)}
    sd, _ = spec_sd_draws(spec, data, draws=draws, seed=seed)
    observed = _observations(params.take(slice(0, min(draws, OBSERVATION_DRAWS))), design, rng)
    return PriorPredictive(spec, variant, design, levels, months,
                           values[:, :, np.searchsorted(grid, months)], observed, changes, sd)


def _observations(params: patients.Draws, design: Design, rng: np.random.Generator) -> np.ndarray:
    """A replicated data set per prior draw at the design's rows: new patient effects from
    ``N(0, G)`` and the family's noise."""
    n_groups = len(design.groups)
    L = np.linalg.cholesky(params.covariance() + 1e-12 * np.eye(params.sds.shape[1]))
    effects = np.einsum("sij,sgj->sgi", L, rng.standard_normal((len(params.beta), n_groups,
                                                                 params.sds.shape[1])))
    return patients.predictive(params, effects, rng, X=design.X, Z=design.Z,
                               group=design.group, X_sigma=design.X_sigma)


def _summary(values: np.ndarray) -> dict:
    low, median, high = np.quantile(values, [0.025, 0.5, 0.975])
    return {"mean": float(values.mean()), "sd": float(values.std(ddof=1)), "q_low": float(low),
            "median": float(median), "q_high": float(high), "interval": INTERVAL}


def check_rows(check: PriorPredictive) -> list[dict]:
    """The rows of ``prior_predictive.csv`` of one spec and variant."""
    spec, (low, high) = check.spec, check.spec.range
    scale_text = f"inside the scale [{low:g}, {high:g}]"
    first, last = check.months[0], check.months[-1]
    base = {"measure": spec.name, "model": check.variant, "range_low": low, "range_high": high,
            "n_draws": len(check.sd)}
    rows = [base | {"quantity": "population_mean_in_range", "scale": "share",
                    "estimand": f"share of prior predictive population means (per period, "
                                f"months {first:g}-{last:g}, each period's covariate mix) "
                                + scale_text,
                    "value": check.mean_share(), "target": TARGET_SHARE,
                    "meets_target": check.mean_share() >= TARGET_SHARE},
            base | {"quantity": "observation_in_range", "scale": "share",
                    "estimand": "share of prior predictive observations (new patients at the "
                                "data's rows: times, periods, covariates"
                                + ("; the latent outcome, before censoring" if spec.censored
                                   else "") + ") " + scale_text,
                    "value": check.observation_share(),
                    "n_draws": len(check.observations)}]
    t0, t1 = spec.d_months
    quantities = {f"change_{level}": (change, f"change months {t0:g}-{t1:g}, {level}")
                  for level, change in check.changes.items()}
    if set(check.changes) >= {"I", "II"}:
        quantities["difference_in_change"] = (
            check.changes["II"] - check.changes["I"],
            f"difference in change months {t0:g}-{t1:g}, Period II - I")
    for name, (draws, text) in quantities.items():
        rows.append(base | {"quantity": name, "scale": "units",
                            "estimand": f"implied prior of the {text}, measure units"}
                    | _summary(draws))
        rows.append(base | {"quantity": name, "scale": "baseline_sd",
                            "estimand": f"implied prior of the {text}, in observed pooled "
                                        "baseline SDs (d; Bayesian-bootstrap SD draws)"}
                    | _summary(draws / check.sd))
    return rows


COLUMNS = ("measure", "model", "quantity", "scale", "estimand", "value", "target",
           "meets_target", "mean", "sd", "q_low", "median", "q_high", "interval", "range_low",
           "range_high", "n_draws")


def prior_predictive_table(fits: list, data: pd.DataFrame, *, seed: int = SEED,
                           draws: int = PRIOR_DRAWS) -> pd.DataFrame:
    """``prior_predictive.csv``: the prior predictive checks of every fit's spec and variant.

    Parameters
    ----------
    fits : list of GrowthFit
        Their designs are reused (the priors are the fits' own).
    data : pandas.DataFrame
    seed : int
    draws : int

    Returns
    -------
    pandas.DataFrame
        One row per spec x model x quantity: ``population_mean_in_range`` (value, target,
        meets_target) and ``observation_in_range`` (value), and the implied priors
        ``change_<period>`` and ``difference_in_change`` in ``units`` and ``baseline_sd``
        (mean, sd, q_low, median, q_high); ``estimand`` says each in words.

    Examples
    --------
    >>> table = prior_predictive_table(fits, reg.data)  # doctest: +SKIP
    >>> table.query("quantity == 'population_mean_in_range'")  # doctest: +SKIP
    """
    rows = [row for fit in fits
            for row in check_rows(prior_predictive(fit.spec, data, variant=fit.variant,
                                                   design=fit.design, draws=draws, seed=seed))]
    return pd.DataFrame(rows).reindex(columns=list(COLUMNS))
