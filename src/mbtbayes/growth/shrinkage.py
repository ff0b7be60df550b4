"""Individual trajectories and shrinkage: each patient's own least-squares line beside the
patient's posterior line from a growth fit, and the population slope of its period.

Per patient with at least one score of the measure in the fit (either engine):

- the **own least-squares line** of the patient's scores on months (``numpy.polyfit`` of
  degree 1), its intercept at month ``t0`` and its slope per month; only where the patient
  has scores at two or more distinct months (``ls_note`` says why not otherwise; with every
  score at ``t0`` the intercept is their mean, the slope still missing);
- the **posterior line**: per draw, the patient's own expected score (population terms at the
  patient's period and covariates, taken from its first row, plus the patient's effects) at
  ``t0`` and ``t1`` (the spec's d time points, 0 and 24 months); the intercept is the value at
  ``t0``, the slope the mean slope over ``[t0, t1]``, ``(mu(t1) - mu(t0)) / (t1 - t0)``, which
  is the slope itself for a model linear in months; mean and 95% HDI over the draws;
- the **population slope** of its period: the mean slope over ``[t0, t1]`` of the period's
  population mean (:func:`mbtbayes.growth.trajectories.change_draws`, covariates over the
  period's observed mix), posterior mean and 95% HDI.

A partially pooled slope mostly lies between the patient's own slope and the population's,
the nearer the population the fewer and the closer together the patient's scores
(``toward_population``: the posterior slope is nearer the population slope than the own
least-squares slope is). Not always: the intercept's information moves the slope too
(months are not centred, the effects may correlate), so an own slope close to the
population's can be carried just past it. Covariates that change within a patient (the WAI
version) move the own line but are held at their first value in the posterior line.

Examples
--------
>>> [round(v, 4) for v in own_line(np.array([0.0, 6.0, 12.0]), np.array([2.0, 1.7, 1.4]),
...                                t0=0.0)[:2]]
[2.0, -0.05]
>>> own_line(np.array([6.0, 6.0]), np.array([2.0, 1.8]), t0=0.0)[2]
'one distinct month (6): no slope'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from mbtbayes.core.arviz_api import hdi, hdi_columns
from mbtbayes.core.errors import DataError
from mbtbayes.core.posterior import INTERVAL
from mbtbayes.growth.groups import patient_dim
from mbtbayes.growth.result import GrowthFit
from mbtbayes.growth.trajectories import change_draws, period_levels

COLUMNS: tuple[str, ...] = (
    "measure", "label", "model", "engine", "period", "patient", "n_assessments", "n_months",
    "first_month", "last_month", "ls_intercept", "ls_slope", "ls_note", "intercept_mean",
    "intercept_hdi_low", "intercept_hdi_high", "slope_mean", "slope_hdi_low", "slope_hdi_high",
    "population_slope", "population_slope_hdi_low", "population_slope_hdi_high",
    "toward_population", "interval", "estimand", "passed")
"""Columns of ``shrinkage.csv``, in order."""


def own_line(months: np.ndarray, scores: np.ndarray, *, t0: float) -> tuple[float, float, str]:
    """A patient's own least-squares intercept (at ``t0``) and slope per month, and why a
    value is missing (``""`` when neither is).

    Parameters
    ----------
    months, scores : numpy.ndarray
        The patient's assessments.
    t0 : float
        The month the intercept is read at.

    Returns
    -------
    (float, float, str)
    """
    months, scores = np.asarray(months, float), np.asarray(scores, float)
    distinct = np.unique(months)
    if len(distinct) >= 2:
        slope, intercept = np.polyfit(months - t0, scores, 1)
        return float(intercept), float(slope), ""
    if len(distinct) == 0:
        return np.nan, np.nan, "no assessment: no line"
    intercept = float(scores.mean()) if distinct[0] == t0 else np.nan
    return intercept, np.nan, f"one distinct month ({distinct[0]:g}): no slope"


def patient_frame(fit: GrowthFit) -> pd.DataFrame:
    """One row per patient observed in the fit, in the order of ``design.groups``: g (index
    into ``design.groups``), patient, row (its first row in the design: period and
    covariates), period (``"pooled"`` without one), n_assessments, n_months, first_month,
    last_month, ls_intercept, ls_slope, ls_note."""
    spec, design = fit.spec, fit.design
    t0 = spec.d_months[0]
    has_period = period_levels(fit) != ("pooled",)  # the period in the fit's formula
    period = (design.frame[spec.period].astype(str).to_numpy() if has_period
              else np.full(len(design.y), "pooled", dtype=object))
    g, t, y = design.group, design.time, design.y
    groups, first, n = np.unique(g, return_index=True, return_counts=True)
    at = np.searchsorted(groups, g)
    months = pd.DataFrame({"at": at, "t": t}).groupby("at")["t"].agg(["min", "max", "nunique"])
    # own least-squares lines of all patients at once, centred (np.polyfit's line)
    x_mean = np.bincount(at, weights=t - t0) / n
    y_mean = np.bincount(at, weights=y) / n
    dx = t - t0 - x_mean[at]
    sxx = np.bincount(at, weights=dx**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(months["nunique"] >= 2,
                         np.bincount(at, weights=dx * (y - y_mean[at])) / sxx, np.nan)
    single = (months["nunique"] == 1).to_numpy()
    intercept = np.where(single & (months["min"].to_numpy() != t0), np.nan,
                         y_mean - np.where(single, 0.0, slope) * x_mean)
    note = np.where(single, [f"one distinct month ({m:g}): no slope" for m in months["min"]],
                    "") if single.any() else np.full(len(groups), "")
    return pd.DataFrame({"g": groups, "patient": [design.groups[i] for i in groups],
                         "row": first, "period": period[first], "n_assessments": n,
                         "n_months": months["nunique"].to_numpy(),
                         "first_month": months["min"].to_numpy(),
                         "last_month": months["max"].to_numpy(), "ls_intercept": intercept,
                         "ls_slope": slope, "ls_note": note})


def patient_lines(fit: GrowthFit, patients: pd.DataFrame,
                  times: Sequence[float] | np.ndarray) -> np.ndarray:
    """Each patient's own expected score at each time, per draw: ``(S, n, T)``.

    Parameters
    ----------
    fit : GrowthFit
    patients : pandas.DataFrame
        ``row`` (a row of the patient in the design: its period and covariates) and
        ``patient`` (its id), e.g. rows of :func:`patient_frame`.
    times : array-like
    """
    spec, design = fit.spec, fit.design
    times = np.asarray(times, float)
    n, k = len(patients), len(times)
    rows = design.frame.iloc[np.repeat(patients["row"].to_numpy(), k)].reset_index(drop=True)
    rows[spec.time] = np.tile(times, n)
    mu = fit.draws("beta") @ design.grid_matrix(rows).T
    ids = list(patients["patient"])
    pdim = patient_dim(spec)
    for name in design.effects:
        expr = name.split("|")[0]
        z = np.ones(n * k) if expr == "1" else rows[expr].to_numpy(float)
        u = fit.idata.posterior[name].transpose("chain", "draw", pdim).sel({pdim: ids}).values
        mu = mu + z * np.repeat(u.reshape(-1, n), k, axis=1)
    return mu.reshape(len(mu), n, k)


def _summary(draws: np.ndarray, prefix: str) -> dict[str, np.ndarray]:
    """Mean and HDI of each column of ``(S, n)`` draws."""
    bounds = hdi_columns(draws).reshape(-1, 2)
    return {f"{prefix}_mean": draws.mean(axis=0), f"{prefix}_hdi_low": bounds[:, 0],
            f"{prefix}_hdi_high": bounds[:, 1]}


def estimand(fit: GrowthFit) -> str:
    """The estimand in words, e.g. ``'slope: change in BSI-18 global mean (0-4) per month,
    mean over months 0-24; intercept: at month 0'``."""
    spec = fit.spec
    t0, t1 = spec.d_months
    low, high = spec.range
    return (f"slope: change in {spec.label or spec.name} ({low:g}-{high:g}) per month, mean "
            f"over months {t0:g}-{t1:g}; intercept: at month {t0:g}")


def fit_shrinkage(fit: GrowthFit) -> pd.DataFrame:
    """The rows of ``shrinkage.csv`` of one fit: one per patient observed in it (see the
    module docstring and :func:`shrinkage` for the columns)."""
    spec = fit.spec
    t0, t1 = spec.d_months
    patients = patient_frame(fit)
    lines = patient_lines(fit, patients, [t0, t1])
    out = patients.assign(**_summary(lines[:, :, 0], "intercept"),
                          **_summary((lines[:, :, 1] - lines[:, :, 0]) / (t1 - t0), "slope"))
    population = {level: change / (t1 - t0) for level, change in change_draws(fit).items()}
    pop = {level: (float(d.mean()), *hdi(d)) for level, d in population.items()}
    out["population_slope"] = [pop[p][0] for p in out["period"]]
    out["population_slope_hdi_low"] = [pop[p][1] for p in out["period"]]
    out["population_slope_hdi_high"] = [pop[p][2] for p in out["period"]]
    pull_own = (out["ls_slope"] - out["population_slope"]).abs()
    pull_post = (out["slope_mean"] - out["population_slope"]).abs()
    out["toward_population"] = (pull_post < pull_own).where(out["ls_slope"].notna())
    out = out.assign(measure=spec.name, label=spec.label, model=fit.variant, engine=fit.engine,
                     interval=INTERVAL, estimand=estimand(fit), passed=fit.diagnostics.passed)
    return out[list(COLUMNS)]


def _check_data(fit: GrowthFit, data: pd.DataFrame) -> None:
    """Refuse a register that does not hold the fit's patients (the wrong data passed)."""
    group = fit.spec.group
    if group not in data:
        raise DataError(f"{fit.spec.name}: the data have no '{group}' column")
    ids = {str(fit.design.groups[g]) for g in np.unique(fit.design.group)}
    missing = sorted(ids - set(data[group].astype(str)))
    if missing:
        raise DataError(f"{fit.spec.name}: {len(missing)} patients of the fit are not in the "
                        f"data (e.g. {missing[:3]}): pass the register the fits were made on")


def shrinkage(fits: Iterable[GrowthFit], data: pd.DataFrame) -> pd.DataFrame:
    """Individual trajectories and shrinkage per measure: each patient's own least-squares
    intercept and slope beside its posterior intercept and slope and its period's population
    slope (see the module docstring).

    Parameters
    ----------
    fits : iterable of GrowthFit
        E.g. ``mb.fit_specs(mb.load_specs(), data)``: each spec's period fit is used (its linear
        fit when it has none).
    data : pandas.DataFrame
        The register the fits were made on (checked: it holds the fits' patients).

    Returns
    -------
    pandas.DataFrame
        One row per measure x patient with a score of the measure: measure, label, model,
        engine, period, patient, n_assessments (scores in the fit), n_months (distinct
        months), first_month, last_month, ls_intercept, ls_slope (own least squares; NaN
        with fewer than two distinct months), ls_note (why a value is missing, else ""),
        intercept_mean / _hdi_low / _hdi_high and slope_mean / _hdi_low / _hdi_high (the
        patient's posterior line), population_slope / _hdi_low / _hdi_high (its period's),
        toward_population (the posterior slope nearer the population slope than the own one;
        empty without an own slope), interval, estimand (the slope's and intercept's
        definition and units), passed.

    Raises
    ------
    DataError
        If ``data`` does not hold a fit's patients.

    Examples
    --------
    >>> import mbtbayes as mb
    >>> data = mb.load_register().data
    >>> table = mb.shrinkage(mb.fit_specs(mb.load_specs(), data), data)  # doctest: +SKIP
    """
    chosen: dict[str, GrowthFit] = {}
    for fit in fits:
        if fit.spec.name not in chosen or fit.variant == "period":
            chosen[fit.spec.name] = fit
    parts = []
    for fit in chosen.values():
        _check_data(fit, data)
        parts.append(fit_shrinkage(fit))
    if not parts:
        return pd.DataFrame(columns=list(COLUMNS))
    table = pd.concat(parts, ignore_index=True)
    return table.astype({"n_assessments": "Int64", "n_months": "Int64",
                         "toward_population": "boolean"})
