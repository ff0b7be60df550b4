"""Posterior predictive checks of growth fits, both engines: does data simulated from the
fitted model look like the observed data?

For each fit, statistics of the observed outcome are compared with their distribution over
the fit's posterior predictive draws (patient effects included, noise of the family):

- ``mean`` and ``sd`` per period at each assessment wave (or each distinct time, when the
  data have no ``assessment`` column and few distinct times);
- ``floor_share`` and ``ceiling_share`` per period: the share of scores at the scale's floor
  or ceiling. A predicted value counts as at the floor when it lies within half a score step
  of it or beyond (the model's continuous prediction, rounded and clipped to the scale).

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

from mbtbayes.core.posterior import INTERVAL, summarize_draws
from mbtbayes.io import schema

MISFIT_LIMITS = (0.025, 0.975)
"""A row is flagged when its posterior predictive p-value is outside these limits."""
MAX_WAVES = 12
"""Without an assessment column, distinct times are waves only if there are at most this many."""


def ppp(replicated: np.ndarray, observed: float) -> float:
    """Posterior predictive p-value with ties split: ``P(T_rep > T) + P(T_rep = T) / 2``."""
    replicated = np.asarray(replicated, float)
    return float((replicated > observed).mean() + 0.5 * (replicated == observed).mean())


def _waves(fit) -> tuple[str, np.ndarray] | None:
    frame = fit.design.frame
    if schema.ASSESSMENT in frame:
        return schema.ASSESSMENT, frame[schema.ASSESSMENT].to_numpy()
    times = fit.design.time
    if len(np.unique(times)) <= MAX_WAVES:
        return fit.spec.time, times
    return None


def _label(value) -> str:
    return f"{float(value):g}" if np.issubdtype(type(value), np.number) else str(value)


def _periods(fit) -> np.ndarray:
    frame, period = fit.design.frame, fit.spec.period
    if period is not None and period in frame:
        return frame[period].astype(str).to_numpy()
    return np.full(len(frame), "all", dtype=object)


def _row(fit, statistic: str, period: str, wave: str, observed: float,
         replicated: np.ndarray, n_obs: int) -> dict:
    s = summarize_draws(replicated)
    p = ppp(replicated, observed)
    return {"measure": fit.spec.name, "model": fit.variant, "engine": fit.engine,
            "statistic": statistic, "period": period, "wave": wave, "n_obs": n_obs,
            "observed": observed, "predicted_mean": s["mean"], "predicted_low": s["hdi_low"],
            "predicted_high": s["hdi_high"], "interval": INTERVAL, "ppp": p,
            "misfit": not MISFIT_LIMITS[0] <= p <= MISFIT_LIMITS[1],
            "passed": fit.diagnostics.passed}


def fit_ppc(fit) -> list[dict]:
    """The posterior predictive check rows of one fit.

    Each statistic is computed by the same code on the observed and on the replicated data
    (row 0 of a stacked array), so that identical data give identical statistics.
    """
    yrep = fit.idata.posterior_predictive[fit.spec.measure].values
    both = np.vstack([fit.design.y[None], yrep.reshape(-1, yrep.shape[-1])])
    periods, waves = _periods(fit), _waves(fit)
    low, high = fit.spec.range
    measure = schema.MEASURES.get(fit.spec.measure)
    half = measure.step / 2 if measure is not None else 0.0
    rows = []

    def add(statistic: str, period: str, wave: str, values: np.ndarray, n_obs: int) -> None:
        rows.append(_row(fit, statistic, period, wave, float(values[0]), values[1:], n_obs))

    for period in sorted(set(periods)):
        in_period = periods == period
        if waves is not None:
            name, values = waves
            for wave in np.unique(values[in_period]):
                idx = in_period & (values == wave)
                label = f"{name} {_label(wave)}"
                add("mean", period, label, both[:, idx].mean(axis=1), int(idx.sum()))
                if idx.sum() >= 2:
                    add("sd", period, label, both[:, idx].std(axis=1, ddof=1), int(idx.sum()))
        part = both[:, in_period]
        add("floor_share", period, "all", (part <= low + half).mean(axis=1), part.shape[1])
        add("ceiling_share", period, "all", (part >= high - half).mean(axis=1), part.shape[1])
    return rows


def ppc_table(fits: list) -> pd.DataFrame:
    """Posterior predictive checks of every fit.

    Returns
    -------
    pandas.DataFrame
        measure, model, engine, statistic, period, wave, n_obs, observed, predicted_mean,
        predicted_low, predicted_high, interval, ppp, misfit, passed.
    """
    return pd.DataFrame([row for fit in fits for row in fit_ppc(fit)])
