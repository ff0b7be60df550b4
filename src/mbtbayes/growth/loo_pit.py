"""Out-of-sample predictive checks: the leave-one-patient-out PIT of every observation.

The estimand ("new-patient" LOO-PIT of the recorded score): for observation j of patient i,

    PIT_ij = P(y_rep < y_ij | data without patient i) + V P(y_rep = y_ij | ...),

where ``y_rep`` is that observation (same time, period and covariates) of a *new* patient of
the population (patient effects drawn from ``N(0, G)``, not patient i's own), recorded as the
scale records it (rounded to the score's step, clipped to the scale: see
:mod:`mbtbayes.growth.censoring`), and ``V`` uniform on (0, 1): the randomised PIT of a
discrete score. With ``lo``, ``hi`` the ends of the interval the score stands for, it is
computed as

    PIT_ij = sum_s w_is [F(lo | theta_s) + V (F(hi | theta_s) - F(lo | theta_s))],

with ``F(. | theta)`` the marginal predictive CDF of one observation given the population
parameters (patient effects integrated out: for the Gaussian family
``Phi((y - x'b) / sqrt(z'Gz + sigma^2))``; for the Student-t family an unbiased randomised
quasi-Monte Carlo average over the t's normal scale mixture) and ``w_is`` the Pareto-smoothed
importance
weights that leave patient i out, from the per-patient marginal log-likelihood the fit carries
(the same weights as the leave-one-patient-out ELPD of ``model_comparison.csv``). Using the
exact CDF per draw instead of indicator functions of predictive draws removes the Monte Carlo
noise of the predictive draws.

If the model is right, each PIT is uniform on (0, 1): a U-shaped histogram says the predictive
distribution is too narrow, a hump too wide, a slope a biased location. Observations of one
patient are dependent (they share the patient's effects, which the new-patient predictive does
not know), so the uniformity test below uses the Kish effective size ``N^2 / sum m_i^2`` (m_i:
observations of patient i): the variance of the empirical CDF at any point is at most that of
as many independent values, so its p-value is conservative for this dependence.

Examples
--------
>>> import numpy as np
>>> round(ks_pvalue(np.linspace(0.005, 0.995, 100), n_eff=100), 2)
1.0
"""

from __future__ import annotations

import weakref

import numpy as np
import pandas as pd
from scipy import special, stats

from mbtbayes.core.arviz_api import psis_log_weights
from mbtbayes.core.defaults import SEED
from mbtbayes.core.seeds import seed_for
from mbtbayes.growth import patients
from mbtbayes.growth.censoring import half_step, score_bounds
from mbtbayes.growth.loo import patient_loglik
from mbtbayes.growth.result import GrowthFit, population_draws

T_DRAWS = 16
"""Student-t family: mixing variables per posterior draw in the CDF (randomised
quasi-Monte Carlo over the t's normal scale mixture: unbiased, per-draw SD below 0.01, which
averages out over the draws)."""

TAIL = 0.025
"""A PIT below this or above 1 - this is counted in ``share_low`` / ``share_high``."""

ALPHA = 0.05
"""``uniform`` is False when the uniformity p-value is below this."""


def fit_draws(fit: GrowthFit) -> patients.Draws:
    """The population-level draws of a fit of either engine (stacked chains)."""
    return population_draws(fit.params, fit.spec, fit.design)


def predictive_draws(fit: GrowthFit) -> tuple[np.ndarray, np.ndarray]:
    """The draws a fit keeps for predictive checks: their index within each chain, and their
    rows among the stacked (chain-major) draws."""
    post = fit.idata.posterior
    kept = fit.idata.posterior_predictive["draw"].values
    return kept, (np.arange(post.sizes["chain"])[:, None] * post.sizes["draw"]
                  + kept[None]).ravel()


def new_patient_cdf(draws: patients.Draws, *, y: np.ndarray, X: np.ndarray, Z: np.ndarray,
                    X_sigma: np.ndarray | None = None,
                    rng: np.random.Generator | None = None) -> np.ndarray:
    """CDF of each value under a new patient's predictive given each draw, ``(S, n)``.

    Parameters
    ----------
    draws : Draws
        Population-level parameters.
    y : (n,) or (k, n) array
        Where the CDF is evaluated (may hold -inf and inf); with k rows (e.g. both ends of
        each score's interval) the result is ``(k, S, n)``.
    X, Z : arrays
        Fixed-effect and patient-effect design rows of the observations.
    X_sigma : array, optional
        Design of the log residual SD, when modelled.
    rng : numpy.random.Generator, optional
        Student-t family only: its CDF is an unbiased randomised quasi-Monte Carlo average
        (a t residual is a normal one with variance ``scale^2 / G``, ``G ~ Gamma(nu / 2,
        rate nu / 2)``, so given ``G`` the new patient's value is normal:
        ``Phi((y - x'b) / sqrt(z'Gz + scale^2 / G))``, averaged over :data:`T_DRAWS` values
        of ``G`` at stratified quantiles).

    Returns
    -------
    numpy.ndarray
        ``F(y_j | theta_s)`` with the patient effects integrated out.

    Examples
    --------
    >>> d = patients.Draws(beta=np.array([[1.0]]), sds=np.array([[0.3]]), sigma=np.array([0.4]))
    >>> float(new_patient_cdf(d, y=np.array([1.5]), X=np.ones((1, 1)), Z=np.ones((1, 1)))[0, 0])
    0.8413447460685429
    """
    rng = np.random.default_rng(0) if rng is None else rng
    points = np.atleast_2d(np.asarray(y, float))
    n = points.shape[1]
    out = np.empty((len(points), len(draws.beta), n))
    outer = (Z[:, :, None] * Z[:, None, :]).reshape(n, -1)  # z z' per row, flattened
    for rows in patients.chunks(len(draws.beta), n * max(1, Z.shape[1])):
        part = draws.take(rows)
        mean = part.beta @ X.T
        spread = part.covariance().reshape(len(part.beta), -1) @ outer.T  # var of z'u
        scale = part.scale(X_sigma, n)
        if part.nu is None:
            sd = np.sqrt(spread + scale**2)
            for i, values in enumerate(points):
                out[i, rows] = special.ndtr((values - mean) / sd)
            continue
        nu = part.nu[:, None]
        levels = (np.arange(T_DRAWS) + rng.uniform(size=(len(nu), 1))) / T_DRAWS
        mixing = stats.gamma.ppf(levels, nu / 2, scale=2 / nu)  # (S, T_DRAWS), mean 1
        sds = [np.sqrt(spread + scale**2 / mixing[:, [k]]) for k in range(T_DRAWS)]
        for i, values in enumerate(points):
            out[i, rows] = np.mean([special.ndtr((values - mean) / sd) for sd in sds], axis=0)
    return out if np.ndim(y) == 2 else out[0]


_MEMO: dict[int, tuple] = {}
"""The last results of :func:`loo_pit` by fit (its InferenceData) and seed, so that the table
and the figure of a run compute them once."""


def loo_pit(fit: GrowthFit, *, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """The new-patient LOO-PIT of every observation of a fit, and each patient's Pareto k
    (computed once per fit and seed: :func:`compute_loo_pit`)."""
    key = (id(fit.idata), seed)
    held = _MEMO.get(key)
    if held is not None and held[0]() is fit.idata:
        return held[1]
    result = compute_loo_pit(fit, seed=seed)
    for dead in [k for k, (ref, _) in _MEMO.items() if ref() is None]:
        del _MEMO[dead]
    _MEMO[key] = (weakref.ref(fit.idata), result)
    return result


def compute_loo_pit(fit: GrowthFit, *, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """The new-patient LOO-PIT of every recorded score of a fit, and each patient's Pareto k.

    A recorded score stands for an interval (:func:`mbtbayes.growth.censoring.score_bounds`:
    half a step either side, open at the floor and the ceiling); its PIT is randomised within
    the predictive probability of that interval, ``F(lo) + V (F(hi) - F(lo))`` with ``V``
    uniform (Czado, Gneiting and Held 2009), which is uniform under the model however coarse
    the scale or large the pile at the floor. ``V`` is seeded by the run seed and the fit.

    It uses the draws the fit keeps for predictive checks (1000, evenly thinned within each
    chain: those of ``posterior_predictive`` and of the saved ``fits/*.nc``), so that it can be
    recomputed from a saved fit; its Monte Carlo error is far below the PIT's resolution.

    Returns
    -------
    tuple
        ``(pit, pareto_k)``: one PIT per row of ``fit.design`` and one k per observed patient
        (``design.observed`` order; k > 0.7: that patient's weights are unreliable).
    """
    design = fit.design
    kept, rows = predictive_draws(fit)
    draws = fit_draws(fit).take(rows)  # chain-major, as the weights
    log_w, k = psis_log_weights(patient_loglik(fit)[:, kept])  # (patients, kept draws)
    column = np.full(len(design.groups), -1)
    column[design.observed] = np.arange(len(design.observed))
    row_patient = column[design.group]  # each row's patient (its row of the weights)
    low, high = fit.spec.range
    bounds = score_bounds(design.y, low=low, high=high, half=half_step(fit.spec))
    rng = np.random.default_rng(seed_for(seed, fit.spec.name, fit.variant, "loo-pit"))
    below = np.zeros((2, len(design.y)))  # predictive P(Y <= lo), P(Y <= hi)
    for part in patients.chunks(len(draws.beta), 2 * len(design.y)):  # memory bounded
        weights = np.exp(log_w[:, part])[row_patient]  # (n, draws): each row its patient's
        cdf = new_patient_cdf(draws.take(part), y=np.stack(bounds), X=design.X, Z=design.Z,
                              X_sigma=design.X_sigma, rng=rng)
        below += np.einsum("ns,ksn->kn", weights, cdf)
    v = rng.uniform(size=len(design.y))
    return np.clip(below[0] + v * (below[1] - below[0]), 0.0, 1.0), k


def kish_size(group: np.ndarray) -> float:
    """Kish's effective size ``N^2 / sum m_i^2`` of observations clustered in patients.

    Examples
    --------
    >>> kish_size(np.array([0, 0, 1, 1]))
    2.0
    """
    m = np.bincount(np.asarray(group))
    m = m[m > 0]
    return float(m.sum() ** 2 / (m**2).sum())


def ks_distance(pit: np.ndarray) -> float:
    """Largest distance between the empirical CDF of the PIT values and the uniform CDF."""
    return float(stats.kstest(np.asarray(pit, float), "uniform").statistic)


def ks_pvalue(pit: np.ndarray, *, n_eff: float) -> float:
    """Kolmogorov-Smirnov p-value of uniformity with ``n_eff`` values (rounded down)."""
    n = max(1, int(np.floor(n_eff)))
    return float(stats.kstwo.sf(ks_distance(pit), n))


def summary_row(pit: np.ndarray, group: np.ndarray) -> dict:
    """The uniformity summary of some PIT values (of patients ``group``)."""
    n_eff = kish_size(group)
    p = ks_pvalue(pit, n_eff=n_eff)
    return {"n_obs": int(pit.size), "n_patients": int(len(np.unique(group))), "n_eff": n_eff,
            "pit_mean": float(pit.mean()), "pit_sd": float(pit.std(ddof=1)),
            "share_low": float((pit < TAIL).mean()), "share_high": float((pit > 1 - TAIL).mean()),
            "ks_distance": ks_distance(pit), "ks_p": p, "uniform": p >= ALPHA}


ESTIMAND = ("new-patient LOO-PIT: P(y_rep <= y | data without the patient), y_rep a new "
            "patient's value at the same time, period and covariates; PSIS weights from the "
            "per-patient marginal log-likelihood")


def loo_pit_table(fits: list, *, seed: int = SEED) -> pd.DataFrame:
    """``loo_pit.csv``: the uniformity of each fit's new-patient LOO-PIT, all rows and per
    period.

    Expected under the model: ``pit_mean`` 0.5, ``pit_sd`` 0.289 (1 / sqrt(12)),
    ``share_low`` and ``share_high`` 0.025 each. ``ks_distance`` is the largest gap between
    the PIT's empirical CDF and the uniform one, ``ks_p`` its Kolmogorov-Smirnov p-value with
    the Kish effective size ``n_eff`` (conservative for the dependence within patients),
    ``uniform`` is ``ks_p >= 0.05``; ``max_pareto_k`` the largest k of the patients' weights.

    Returns
    -------
    pandas.DataFrame
        measure, model, engine, period, estimand, n_obs, n_patients, n_eff, pit_mean, pit_sd,
        share_low, share_high, ks_distance, ks_p, uniform, max_pareto_k, passed.
    """
    rows = []
    for fit in fits:
        pit, k = loo_pit(fit, seed=seed)
        group = fit.design.group
        parts = {"all": np.ones(pit.size, bool)}
        period = fit.spec.period
        if period is not None and period in fit.design.frame and fit.variant != "linear":
            values = fit.design.frame[period].astype(str).to_numpy()
            parts |= {p: values == p for p in sorted(set(values))}
        for name, rows_in in parts.items():
            rows.append({"measure": fit.spec.name, "model": fit.variant, "engine": fit.engine,
                         "period": name, "estimand": ESTIMAND}
                        | summary_row(pit[rows_in], group[rows_in])
                        | {"max_pareto_k": float(k.max()), "passed": fit.diagnostics.passed})
    return pd.DataFrame(rows)
