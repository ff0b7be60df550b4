"""Estimands through the design: population-mean trajectories per period on a time grid, and
the change, contrasts and slopes computed from them, for any formula.

The fixed-effects design of the fit (formulae's, with the training data's encoding and spline
knots) is evaluated on a grid of times x periods; each posterior draw of the fixed effects
gives a trajectory ``X_grid b``: the population mean (patient effects at zero) of a patient
at the reference level of categorical covariates and at the mean of numeric ones. From the
trajectories, per draw:

- ``change``: mean(t1) - mean(t0) per period (``t0, t1`` = the spec's d time points, 0 and 24);
- ``intercept``: Period II - I at t0; ``at_<t1>``: Period II - I at t1;
- ``slope``: Period II - I in the mean slope over [t0, t1], ``(change_II - change_I) / (t1 - t0)``
  (the slope coefficient when time is linear).

For a linear-time formula these equal the coefficient arithmetic exactly.

Examples
--------
>>> import mbtbayes as mb
>>> fit = mb.fit_growth(mb.load_specs()["bsi"], mb.load_register().data)  # doctest: +SKIP
>>> trajectories(fit, times=[0, 12, 24]).shape  # doctest: +SKIP
(4000, 2, 3)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GRID_STEP = 3.0
"""Spacing of the time grid of the trajectories table (months)."""


def period_levels(fit) -> tuple[str, ...]:
    """The period levels of a fit (reference first), or ``("pooled",)`` without a period."""
    spec, frame = fit.spec, fit.design.frame
    if spec.period is None or spec.period not in spec.formula(fit.variant).variables:
        return ("pooled",)
    values = frame[spec.period]
    if isinstance(values.dtype, pd.CategoricalDtype):
        return tuple(str(v) for v in values.cat.remove_unused_categories().cat.categories)
    return tuple(sorted(values.astype(str).unique()))


def grid(fit, times) -> pd.DataFrame:
    """Rows times x periods, covariates at their reference level (categorical) or mean."""
    spec, frame = fit.spec, fit.design.frame
    levels = period_levels(fit)
    rows = pd.DataFrame({spec.time: np.tile(np.asarray(times, float), len(levels))})
    if levels != ("pooled",):
        rows[spec.period] = np.repeat(levels, len(times))
        if isinstance(frame[spec.period].dtype, pd.CategoricalDtype):
            rows[spec.period] = pd.Categorical(rows[spec.period],
                                               categories=frame[spec.period].cat.categories)
    roles = {spec.measure, spec.time, spec.period, spec.group}
    for column in spec.formula(fit.variant).variables - roles:
        rows[column] = _typical(frame[column])
    return rows


def _typical(values: pd.Series):
    """The reference level of a categorical or binary column, else the mean."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.categories[0]
    if pd.api.types.is_numeric_dtype(values) and values.nunique() > 2:
        return float(values.mean())
    return sorted(values.dropna().unique())[0]


def trajectories(fit, times) -> np.ndarray:
    """Population-mean trajectories per draw: ``(S, periods, times)``."""
    X = fit.design.grid_matrix(grid(fit, times))
    mean = fit.draws("beta") @ X.T
    return mean.reshape(len(mean), len(period_levels(fit)), len(times))


def change_draws(fit) -> dict[str, np.ndarray]:
    """Draws of the population change between the two d time points, per period (period
    fit: e.g. ``"I"``, ``"II"``) or ``"pooled"`` (linear fit)."""
    t0, t1 = fit.spec.d_months
    traj = trajectories(fit, [t0, t1])
    return {level: traj[:, i, 1] - traj[:, i, 0] for i, level in enumerate(period_levels(fit))}


def period_contrasts(fit) -> dict[str, np.ndarray]:
    """Draws of the Period II - I contrasts of a period fit.

    Returns
    -------
    dict
        ``intercept`` (difference at t0), ``slope`` (difference in the mean slope over
        [t0, t1], per time unit) and ``at_<t1>`` (difference at t1, e.g. ``at_24``).

    Raises
    ------
    ValueError
        Unless the period has exactly two levels.
    """
    levels = period_levels(fit)
    if len(levels) != 2:
        raise ValueError(f"the period contrast needs a two-level period, found {levels}")
    t0, t1 = fit.spec.d_months
    traj = trajectories(fit, [t0, t1])
    diff = traj[:, 1] - traj[:, 0]
    return {"intercept": diff[:, 0], "slope": (diff[:, 1] - diff[:, 0]) / (t1 - t0),
            f"at_{t1:g}": diff[:, 1]}


def trajectory_table(fits: list) -> pd.DataFrame:
    """Population-mean trajectories of every fit on a grid from t0 to the last observed time.

    Returns
    -------
    pandas.DataFrame
        measure, model, engine, period, time, mean, hdi_low, hdi_high, interval, passed.
    """
    from mbtbayes.core.posterior import INTERVAL, summarize_draws

    rows = []
    for fit in fits:
        t0 = fit.spec.d_months[0]
        end = max(float(fit.design.time.max()), fit.spec.d_months[1])
        times = np.arange(t0, end + GRID_STEP / 2, GRID_STEP)
        traj = trajectories(fit, times)
        for i, level in enumerate(period_levels(fit)):
            for j, t in enumerate(times):
                s = summarize_draws(traj[:, i, j])
                rows.append({"measure": fit.spec.name, "model": fit.variant,
                             "engine": fit.engine, "period": level, "time": float(t),
                             "mean": s["mean"], "hdi_low": s["hdi_low"],
                             "hdi_high": s["hdi_high"], "interval": INTERVAL,
                             "passed": fit.diagnostics.passed})
    return pd.DataFrame(rows)
