"""Estimands through the design: population-mean trajectories per period on a time grid, and
the change, contrasts and slopes computed from them, for any formula. The one implementation:
the tables (``trajectories.csv``, period contrasts, change, d) and the figures use it.

The fixed-effects design of the fit (formulae's, with the training data's encoding and spline
knots) is evaluated on new rows; each posterior draw of the fixed effects ``b`` gives the
population mean (patient effects at zero) of a period at each grid time. Covariates besides
time and period (for example the WAI version) are set by ``standardise``:

- ``"observed_mix"`` (default of the trajectories, the figures and each period's change;
  g-computation): the period's own rows, as observed, each moved to the grid time and
  predicted, then averaged: the mean is *standardised over the period's observed covariate
  mix* (all rows for a fit without a period), comparable with the period's observed means.
  The families are identity-link (Gaussian, t), so the average of the predictions is
  ``mean(X_rows) b``.
- ``"pooled_mix"`` (default of the Period II - I contrasts): every period standardised over
  the *same* mix, that of all rows used, so that a covariate whose mix differs between the
  periods (the WAI version: Period I mostly S, Period II almost only SR; an instrument, not a
  patient outcome) is not read as a period difference. For an additive covariate this is the
  covariate-adjusted contrast of the coefficients at any common value.
- ``"reference"``: one row per period with categorical covariates at their reference level and
  numeric ones at their mean over all rows used (a conditional mean).

Without covariates the three are the same. From the trajectories, per draw:

- ``change``: mean(t1) - mean(t0) per period (``t0, t1`` = the spec's d time points, 0 and 24);
- ``intercept``: Period II - I at t0; ``at_<t1>``: Period II - I at t1;
- ``slope``: Period II - I in the mean slope over [t0, t1], ``(change_II - change_I) / (t1 - t0)``
  (the slope coefficient when time is linear).

For a linear-time formula without covariates these equal the coefficient arithmetic exactly.

Examples
--------
>>> import mbtbayes as mb
>>> fit = mb.fit_growth(mb.load_specs()["bsi"], mb.load_register().data)  # doctest: +SKIP
>>> trajectories(fit, times=[0, 12, 24]).shape  # doctest: +SKIP
(4000, 2, 3)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mbtbayes.core.posterior import INTERVAL, summarize_draws
from mbtbayes.growth.result import GrowthFit

GRID_STEP = 3.0
"""Spacing of the time grid of the trajectories table (months)."""

STANDARDISATIONS = ("observed_mix", "pooled_mix", "reference")
"""How covariates besides time and period are set (see the module docstring)."""


def period_levels(fit: GrowthFit) -> tuple[str, ...]:
    """The period levels of a fit (reference first), or ``("pooled",)`` without a period."""
    spec, frame = fit.spec, fit.design.frame
    if spec.period is None or spec.period not in spec.formula(fit.variant).variables:
        return ("pooled",)
    values = frame[spec.period]
    if isinstance(values.dtype, pd.CategoricalDtype):
        return tuple(str(v) for v in values.cat.remove_unused_categories().cat.categories)
    return tuple(sorted(values.astype(str).unique()))


def covariates(fit: GrowthFit) -> tuple[str, ...]:
    """Columns of the fit's mean formula besides outcome, time, period and group."""
    spec = fit.spec
    roles = {spec.measure, spec.time, spec.period, spec.group}
    return tuple(sorted(spec.formula(fit.variant).variables - roles))


def covariate_mix(fit: GrowthFit, level: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The distinct covariate values of a period's rows (all rows for ``"pooled"``) and the
    share of the period's rows that has each.

    Returns
    -------
    (pandas.DataFrame, numpy.ndarray)
        One row per distinct combination (no columns and one row without covariates), and the
        shares, which sum to 1.
    """
    rows = _period_rows(fit, level)[list(covariates(fit))].reset_index(drop=True)
    if rows.columns.empty:
        return pd.DataFrame(index=[0]), np.ones(1)
    codes = rows.groupby(list(rows.columns), observed=True, sort=True,
                         dropna=False).ngroup().to_numpy()
    first = np.unique(codes, return_index=True)[1]
    return rows.iloc[first].reset_index(drop=True), np.bincount(codes) / len(codes)


def _period_rows(fit: GrowthFit, level: str) -> pd.DataFrame:
    frame = fit.design.frame
    if level == "pooled":
        return frame
    return frame[frame[fit.spec.period].astype(str) == level]


def standardisation(fit: GrowthFit, level: str, *, standardise: str = "observed_mix") -> str:
    """In words, the rule that sets the covariates of a period's population mean.

    Examples
    --------
    >>> standardisation(fit, "II")  # doctest: +SKIP
    "period's observed covariate mix"
    """
    _check(standardise)
    if not covariates(fit):
        return "no covariates"
    if standardise == "reference":
        return "covariates at reference"
    if standardise == "pooled_mix" or level == "pooled":
        return "all rows' observed covariate mix"
    return "period's observed covariate mix"


def covariate_values(fit: GrowthFit, level: str, *, standardise: str = "observed_mix") -> str:
    """The covariate values a period's population mean is evaluated at ("" without any).

    Examples
    --------
    >>> covariate_values(fit, "II")  # doctest: +SKIP
    'wai_version: S 2%, SR 98%'
    >>> covariate_values(fit, "II", standardise="reference")  # doctest: +SKIP
    'wai_version = S'
    """
    _check(standardise)
    if standardise == "observed_mix":
        return mix_text(fit, level)
    if standardise == "pooled_mix":
        return mix_text(fit, "pooled")
    typical = reference_grid(fit, [0.0]).iloc[0]
    return "; ".join(f"{c} = {_number(typical[c])}" for c in covariates(fit))


def mix_text(fit: GrowthFit, level: str) -> str:
    """The covariate mix of a period's rows: shares of each level, or the mean of a number.

    Examples
    --------
    >>> mix_text(fit, "I")  # doctest: +SKIP
    'wai_version: S 65%, SR 35%'
    """
    rows = _period_rows(fit, level)
    parts = []
    for c in covariates(fit):
        values = rows[c]
        if pd.api.types.is_numeric_dtype(values) and values.nunique() > 2:
            parts.append(f"{c}: mean {_number(values.mean())}")
            continue
        shares = values.astype(str).value_counts(normalize=True).sort_index()
        parts.append(f"{c}: " + ", ".join(f"{k} {v:.0%}" for k, v in shares.items()))
    return "; ".join(parts)


def _number(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, float | np.floating) else str(value)


def reference_grid(fit: GrowthFit, times: Sequence[float] | np.ndarray) -> pd.DataFrame:
    """Rows times x periods, covariates at their reference level (categorical) or mean."""
    spec, frame = fit.spec, fit.design.frame
    levels = period_levels(fit)
    rows = pd.DataFrame({spec.time: np.tile(np.asarray(times, float), len(levels))})
    if levels != ("pooled",):
        rows[spec.period] = _period_column(fit, np.repeat(levels, len(times)))
    for column in covariates(fit):
        rows[column] = _typical(frame[column])
    return rows


def _period_column(fit: GrowthFit, values: list) -> pd.Series | pd.Categorical:
    column = fit.design.frame[fit.spec.period]
    if isinstance(column.dtype, pd.CategoricalDtype):
        return pd.Categorical(values, categories=column.cat.categories)
    return values


def _typical(values: pd.Series) -> object:
    """The reference level of a categorical or binary column, else the mean."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.categories[0]
    if pd.api.types.is_numeric_dtype(values) and values.nunique() > 2:
        return float(values.mean())
    return sorted(values.dropna().unique())[0]


def mean_design(fit: GrowthFit, times: Sequence[float] | np.ndarray, *,
                standardise: str = "observed_mix") -> np.ndarray:
    """The design row whose product with ``b`` is each period's population mean at each time:
    ``(periods, times, columns)``; with ``"observed_mix"`` the average of the period's rows'
    design rows at that time (weighted by the share of each distinct covariate value)."""
    _check(standardise)
    times = np.asarray(times, float)
    levels = period_levels(fit)
    if standardise == "reference":
        X = fit.design.grid_matrix(reference_grid(fit, times))
        return X.reshape(len(levels), len(times), X.shape[1])
    mix = {level: "pooled" if standardise == "pooled_mix" else level for level in levels}
    return np.stack([_mixed_rows(fit, level, times, mix=mix[level]) for level in levels])


def _mixed_rows(fit: GrowthFit, level: str, times: np.ndarray, *, mix: str) -> np.ndarray:
    """(times, columns): the design rows of the covariate mix of ``mix``'s rows (a period, or
    ``"pooled"`` for all rows) with the period set to ``level``, at each time, averaged."""
    combos, weights = covariate_mix(fit, mix)
    k = len(combos)
    rows = combos.iloc[np.tile(np.arange(k), len(times))].reset_index(drop=True)
    rows[fit.spec.time] = np.repeat(times, k)
    if level != "pooled":
        rows[fit.spec.period] = _period_column(fit, [level] * len(rows))
    X = fit.design.grid_matrix(rows).reshape(len(times), k, -1)
    return np.einsum("tkp,k->tp", X, weights)


def trajectories(fit: GrowthFit, times: Sequence[float] | np.ndarray, *,
                 standardise: str = "observed_mix") -> np.ndarray:
    """Population-mean trajectories per draw: ``(S, periods, times)``.

    Parameters
    ----------
    fit : GrowthFit
    times : array-like
    standardise : {"observed_mix", "reference"}
        Covariates over the period's observed mix (g-computation) or at reference.
    """
    return np.einsum("sp,ktp->skt", fit.draws("beta"), mean_design(fit, times,
                                                                   standardise=standardise))


def change_draws(fit: GrowthFit, *, standardise: str = "observed_mix") -> dict[str, np.ndarray]:
    """Draws of the population change between the two d time points, per period (period
    fit: e.g. ``"I"``, ``"II"``) or ``"pooled"`` (linear fit)."""
    t0, t1 = fit.spec.d_months
    traj = trajectories(fit, [t0, t1], standardise=standardise)
    return {level: traj[:, i, 1] - traj[:, i, 0] for i, level in enumerate(period_levels(fit))}


def period_contrasts(fit: GrowthFit, *, standardise: str = "pooled_mix") -> dict[str, np.ndarray]:
    """Draws of the Period II - I contrasts of a period fit.

    With the default ``standardise="pooled_mix"`` both periods are standardised over the same
    covariate mix (all rows used), so a covariate whose mix differs between the periods is not
    read as a period difference (the WAI version: the version-adjusted contrast, as the
    paper's). ``"observed_mix"`` compares each period with its own mix (the periods as
    observed, instrument change included); ``"reference"`` sets covariates at their reference
    value. Without covariates the three are the same.

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
    traj = trajectories(fit, [t0, t1], standardise=standardise)
    diff = traj[:, 1] - traj[:, 0]
    return {"intercept": diff[:, 0], "slope": (diff[:, 1] - diff[:, 0]) / (t1 - t0),
            f"at_{t1:g}": diff[:, 1]}


def time_grid(fit: GrowthFit, *, end: float | None = None) -> np.ndarray:
    """The table's grid: t0 to ``end`` (default: the last observed time, at least t1) in steps
    of :data:`GRID_STEP`."""
    t0, t1 = fit.spec.d_months
    if end is None:
        end = max(float(fit.design.time.max()), t1)
    return np.arange(t0, end + GRID_STEP / 2, GRID_STEP)


def trajectory_table(fits: list, *, standardise: str = "observed_mix",
                     end: float | None = None) -> pd.DataFrame:
    """Population-mean trajectories of every fit on a grid from t0 to the last observed time.

    Parameters
    ----------
    fits : list of GrowthFit
    standardise : {"observed_mix", "reference"}
        How covariates are set; each row names it in ``standardisation``.
    end : float, optional
        End of the grid (default: :func:`time_grid`'s).

    Returns
    -------
    pandas.DataFrame
        measure, model, engine, period, time, mean, hdi_low, hdi_high, interval,
        standardisation (the rule that sets the covariates: "period's observed covariate
        mix", "all rows' observed covariate mix" for a pooled row, "covariates at reference",
        "no covariates"), covariate_values (the values: shares of each level or a mean, e.g.
        "wai_version: S 2%, SR 98%"), passed.
    """
    rows = []
    for fit in fits:
        times = time_grid(fit, end=end)
        traj = trajectories(fit, times, standardise=standardise)
        for i, level in enumerate(period_levels(fit)):
            label = standardisation(fit, level, standardise=standardise)
            values = covariate_values(fit, level, standardise=standardise)
            for j, t in enumerate(times):
                s = summarize_draws(traj[:, i, j])
                rows.append({"measure": fit.spec.name, "model": fit.variant,
                             "engine": fit.engine, "period": level, "time": float(t),
                             "mean": s["mean"], "hdi_low": s["hdi_low"],
                             "hdi_high": s["hdi_high"], "interval": INTERVAL,
                             "standardisation": label, "covariate_values": values,
                             "passed": fit.diagnostics.passed})
    return pd.DataFrame(rows)


def _check(standardise: str) -> None:
    if standardise not in STANDARDISATIONS:
        raise ValueError(f"standardise must be one of {STANDARDISATIONS}, got '{standardise}'")
