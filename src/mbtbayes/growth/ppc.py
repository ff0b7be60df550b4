"""Posterior predictive checks of growth fits, both engines: does data simulated from the
fitted model look like the observed data?

For each fit, statistics of the observed outcome are compared with their distribution over
the fit's posterior predictive draws (patient effects included, noise of the family):

- ``mean`` and ``sd`` per period at each assessment wave (or each distinct time, when the
  data have no ``assessment`` column and few distinct times);
- ``floor_share`` and ``ceiling_share`` per period: the share of scores at the scale's floor
  or ceiling. A predicted value counts as at the floor when it lies within half a score step
  of it or beyond (the model's continuous prediction, rounded and clipped to the scale);
- ``outside_scale`` per period: the share of values more than half a score step outside the
  scale. Observed scores never are (the register is validated), so a model that predicts
  impossible values (a Gaussian near a floor) has ``predicted_mean`` > 0 and a ``ppp`` near 1.

Two predictive distributions are checked (``predictive``):

- ``in-sample``: the fit's posterior predictive draws, each patient with its own effects
  (drawn given its data): the usual posterior predictive check, which the data inform twice
  and which is therefore conservative (it rarely flags a misfit);
- ``new patients``: a replicated register of *new* patients at the same rows (times, periods,
  covariates): per posterior draw, patient effects from ``N(0, G)`` and the family's noise (the
  "mixed" predictive of Marshall and Spiegelhalter 2003). The patients' own data do not enter
  their replicates, so it checks the population model: the spread of the patients, the
  residual distribution, the floor and the ceiling. :mod:`mbtbayes.growth.loo_pit` leaves each
  patient out of the posterior as well.

``ppp`` is the posterior predictive p-value ``P(T(y_rep) > T(y)) + P(T(y_rep) = T(y)) / 2``;
``misfit`` flags a row whose ``ppp`` is below 0.025 or above 0.975. The flag is per row: among
many rows some are flagged by chance, so look for patterns (a measure, a wave, a statistic).

Examples
--------
>>> import numpy as np
>>> round(ppp(np.array([1.0, 2.0, 3.0, 4.0]), 2.0), 3)
0.625
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mbtbayes.core.defaults import SEED
from mbtbayes.core.posterior import INTERVAL, summarize_draws
from mbtbayes.core.seeds import seed_for
from mbtbayes.growth import patients
from mbtbayes.growth.censoring import predictive_bounds
from mbtbayes.growth.loo_pit import fit_draws, predictive_draws
from mbtbayes.growth.result import GrowthFit
from mbtbayes.io import schema

MISFIT_LIMITS = (0.025, 0.975)
"""A row is flagged when its posterior predictive p-value is outside these limits."""
MAX_WAVES = 12
"""Without an assessment column, distinct times are waves only if there are at most this many."""
PREDICTIVES = ("in-sample", "new patients")
"""The predictive distributions checked (see the module docstring)."""


def ppp(replicated: np.ndarray, observed: float) -> float:
    """Posterior predictive p-value with ties split: ``P(T_rep > T) + P(T_rep = T) / 2``."""
    replicated = np.asarray(replicated, float)
    return float((replicated > observed).mean() + 0.5 * (replicated == observed).mean())


def _waves(fit: GrowthFit) -> tuple[str, np.ndarray] | None:
    frame = fit.design.frame
    if schema.ASSESSMENT in frame:
        return schema.ASSESSMENT, frame[schema.ASSESSMENT].to_numpy()
    times = fit.design.time
    if len(np.unique(times)) <= MAX_WAVES:
        return fit.spec.time, times
    return None


def _label(value: object) -> str:
    return f"{float(value):g}" if np.issubdtype(type(value), np.number) else str(value)


def _periods(fit: GrowthFit) -> np.ndarray:
    frame, period = fit.design.frame, fit.spec.period
    if period is not None and period in frame:
        return frame[period].astype(str).to_numpy()
    return np.full(len(frame), "all", dtype=object)


def _row(fit: GrowthFit, predictive: str, statistic: str, period: str, wave: str, observed: float,
         replicated: np.ndarray, n_obs: int) -> dict:
    s = summarize_draws(replicated)
    p = ppp(replicated, observed)
    return {"measure": fit.spec.name, "model": fit.variant, "engine": fit.engine,
            "predictive": predictive, "statistic": statistic, "period": period, "wave": wave,
            "n_obs": n_obs,
            "observed": observed, "predicted_mean": s["mean"], "predicted_low": s["hdi_low"],
            "predicted_high": s["hdi_high"], "interval": INTERVAL, "ppp": p,
            "misfit": not MISFIT_LIMITS[0] <= p <= MISFIT_LIMITS[1],
            "passed": fit.diagnostics.passed}


def new_patient_draws(fit: GrowthFit, *, seed: int = SEED) -> np.ndarray:
    """Replicated data of new patients at a fit's rows, one set per predictive draw kept
    (the draws of the in-sample replicates): ``(draws, n)``.

    Per posterior draw, each patient gets effects from ``N(0, G)`` (not its own) and every
    row the family's noise; seeded by the run seed and the fit's name.
    """
    design, (_, rows) = fit.design, predictive_draws(fit)
    draws = fit_draws(fit).take(rows)
    rng = np.random.default_rng(seed_for(seed, fit.spec.name, fit.variant, "new-patient-ppc"))
    L = np.linalg.cholesky(draws.covariance() + 1e-12 * np.eye(draws.sds.shape[1]))
    effects = np.einsum("sij,sgj->sgi", L, rng.standard_normal(
        (len(rows), len(design.groups), draws.sds.shape[1])))
    return patients.predictive(draws, effects, rng, X=design.X, Z=design.Z, group=design.group,
                               X_sigma=design.X_sigma, bounds=predictive_bounds(fit.spec))


def fit_ppc(fit: GrowthFit, *, seed: int = SEED) -> list[dict]:
    """The posterior predictive check rows of one fit: in-sample, and for new patients when
    the fit has its population parameters (``fit.params``).

    Each statistic is computed by the same code on the observed and on the replicated data
    (row 0 of a stacked array), so that identical data give identical statistics.
    """
    yrep = fit.idata.posterior_predictive[fit.spec.measure].values
    rows = _checks(fit, "in-sample", yrep.reshape(-1, yrep.shape[-1]))
    if fit.params is not None:
        rows += _checks(fit, "new patients", new_patient_draws(fit, seed=seed))
    return rows


def _checks(fit: GrowthFit, predictive: str, replicated: np.ndarray) -> list[dict]:
    """The check rows of one set of replicated data sets, ``(draws, n)``.

    The rows are ordered by period and wave once (one copy), so that every group is a slice:
    its statistics are computed on views, for the observed row and the replicated ones by the
    same code.
    """
    periods, waves = _periods(fit), _waves(fit)
    wave_values = waves[1] if waves is not None else np.zeros(len(periods))
    order = np.lexsort([np.unique(v, return_inverse=True)[1] for v in (wave_values, periods)])
    both = np.empty((replicated.shape[0] + 1, len(order)))
    both[0], both[1:] = fit.design.y[order], replicated[:, order]
    periods, wave_values = periods[order], wave_values[order]
    low, high = fit.spec.range
    measure = schema.MEASURES.get(fit.spec.measure)
    half = measure.step / 2 if measure is not None else 0.0
    rows = []

    def add(statistic: str, period: str, wave: str, values: np.ndarray, n_obs: int) -> None:
        rows.append(_row(fit, predictive, statistic, period, wave, float(values[0]),
                         values[1:], n_obs))

    for period in sorted(set(periods)):
        first, last = np.flatnonzero(periods == period)[[0, -1]]
        part = both[:, first:last + 1]
        if waves is not None:
            values = wave_values[first:last + 1]
            for wave in np.unique(values):
                at = np.flatnonzero(values == wave)
                group = part[:, at[0]:at[-1] + 1]
                label = f"{waves[0]} {_label(wave)}"
                add("mean", period, label, group.mean(axis=1), len(at))
                if len(at) >= 2:
                    add("sd", period, label, group.std(axis=1, ddof=1), len(at))
        add("floor_share", period, "all", (part <= low + half).mean(axis=1), part.shape[1])
        add("ceiling_share", period, "all", (part >= high - half).mean(axis=1), part.shape[1])
        outside = (part < low - half) | (part > high + half)
        add("outside_scale", period, "all", outside.mean(axis=1), part.shape[1])
    return rows


def ppc_table(fits: list, *, seed: int = SEED) -> pd.DataFrame:
    """Posterior predictive checks of every fit, in-sample and for new patients.

    Parameters
    ----------
    fits : list of GrowthFit
    seed : int
        Run seed (the new patients' effects and noise).

    Returns
    -------
    pandas.DataFrame
        measure, model, engine, predictive (``in-sample`` or ``new patients``), statistic,
        period, wave, n_obs, observed, predicted_mean, predicted_low, predicted_high,
        interval, ppp, misfit, passed.
    """
    return pd.DataFrame([row for fit in fits for row in fit_ppc(fit, seed=seed)])
