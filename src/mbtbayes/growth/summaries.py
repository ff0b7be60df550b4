"""Posterior summaries of growth fits as tidy tables: parameters, period contrasts, Cohen's d,
variance explained by period, and leave-one-patient-out model comparison.

Every interval is a 95% highest-density interval (``interval = "95% HDI"``); every row that
uses a fit carries that fit's ``passed`` flag from the diagnostics gate. Contrasts and changes
come from the population-mean trajectories (:mod:`mbtbayes.growth.trajectories`), so they hold
for any formula of time, and both engines give the same tables.

Examples
--------
>>> tables = growth_table(fits)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from mbtbayes.core.arviz_api import summary
from mbtbayes.core.posterior import INTERVAL, summarize_draws
from mbtbayes.growth.baseline import observed_baseline_sd
from mbtbayes.growth.fit import GrowthFit
from mbtbayes.growth.loo import LooResult, elpd_difference, patient_loo
from mbtbayes.growth.trajectories import change_draws, period_contrasts, period_levels

SD_BASES = ("observed_baseline_sd", "model_between_patient_sd", "model_residual_sd")
"""Denominators of Cohen's d: the observed pooled baseline SD (the paper's), the model's
between-patient SD of intercepts, or the model's residual SD."""
PARETO_K_LIMIT = 0.7


def _fit_key(fit: GrowthFit) -> dict:
    return {"measure": fit.spec.name, "model": fit.variant}


# ---------------------------------------------------------------- parameters


def growth_table(fits: list[GrowthFit]) -> pd.DataFrame:
    """Fixed effects and variance components of every fit, in the same names for both engines.

    Returns
    -------
    pandas.DataFrame
        measure, model, engine, term, mean, sd, hdi_low, hdi_high, r_hat, ess_bulk, ess_tail,
        interval, passed. Terms: the design columns (``period[II]`` is Period II minus I),
        ``sd_intercept`` and ``sd_slope`` (patient SDs), ``sigma`` (residual SD; the scale of
        the t family), ``sigma_<term>`` (log residual SD, when it is modelled), ``nu`` (t
        degrees of freedom) and ``corr`` when the patient effects are correlated.
    """
    rows = []
    for fit in fits:
        table = summary(fit.params, var_names=list(fit.params.data_vars))
        table.index = [_term_name(i) for i in table.index]
        table = table.rename_axis("term").reset_index()
        table.insert(0, "engine", fit.engine)
        for key, value in reversed(_fit_key(fit).items()):
            table.insert(0, key, value)
        table["interval"] = INTERVAL
        table["passed"] = fit.diagnostics.passed
        rows.append(table)
    return pd.concat(rows, ignore_index=True)


def _term_name(index: str) -> str:
    """'beta[months]' -> 'months'; 'beta_sigma[sigma_Intercept]' -> 'sigma_Intercept'."""
    for prefix in ("beta[", "beta_sigma["):
        if index.startswith(prefix):
            return index[len(prefix):-1]
    return index


# ---------------------------------------------------------------- period contrasts


def period_effects(fits: list[GrowthFit], data: pd.DataFrame) -> pd.DataFrame:
    """Period II - I contrasts at month 0, in the mean slope, and at 24 months, with decisions.

    The ROPE comes from the data (:func:`mbtbayes.growth.rope.rope_for`: by default 0.1 x the
    observed pooled baseline SD); for the slope contrast it is that half-width divided by the
    later d time point (a slope difference that would accumulate to the ROPE by then). The
    decision is the shared HDI + ROPE rule (:func:`mbtbayes.core.decisions.rope_decision`).

    Parameters
    ----------
    fits : list of GrowthFit
    data : pandas.DataFrame
        The data the fits used (sets an SD-unit ROPE).

    Returns
    -------
    pandas.DataFrame
        measure, contrast, mean, sd, hdi_low, hdi_high, p_direction, rope_low, rope_high,
        p_rope, rope_basis, decision, interval, passed.
    """
    from mbtbayes.core.decisions import rope_decision
    from mbtbayes.growth.rope import rope_for

    rows = []
    for fit in (f for f in fits if f.variant == "period"):
        later = fit.spec.d_months[1]
        level = rope_for(fit.spec, data)
        for contrast, draws in period_contrasts(fit).items():
            rope = level.per_month(later) if contrast == "slope" else level
            post = summarize_draws(draws, rope=rope.half_width)
            rows.append({"measure": fit.spec.name, "contrast": contrast, **post,
                         "rope_basis": rope.basis,
                         "decision": rope_decision(post["hdi_low"], post["hdi_high"],
                                                   half_width=rope.half_width),
                         "interval": INTERVAL, "passed": fit.diagnostics.passed})
    return pd.DataFrame(rows)


def period_variance_share(fit: GrowthFit, *, share_period_two: float) -> np.ndarray:
    """Per draw, the share of between-patient intercept variance explained by period.

    ``b^2 q (1 - q) / (b^2 q (1 - q) + sd_intercept^2)``, with ``b`` the period difference at
    month 0 and ``q`` the share of patients in Period II.
    """
    b = period_contrasts(fit)["intercept"]
    between = b**2 * share_period_two * (1 - share_period_two)
    return between / (between + fit.draws("sd_intercept") ** 2)


def variance_explained(fits: list[GrowthFit], data: pd.DataFrame) -> pd.DataFrame:
    """Share of intercept variance explained by period, per measure (the paper: 0-5%).

    Fits without a patient intercept have no row.

    Returns
    -------
    pandas.DataFrame
        measure, mean, hdi_low, hdi_high, interval, passed.
    """
    rows = []
    for fit in (f for f in fits if f.variant == "period" and "sd_intercept" in f.params):
        spec = fit.spec
        patients = data.drop_duplicates(spec.group)
        q = float((patients[spec.period].astype(str) != period_levels(fit)[0]).mean())
        share = summarize_draws(period_variance_share(fit, share_period_two=q))
        rows.append({"measure": spec.name, "mean": share["mean"], "hdi_low": share["hdi_low"],
                     "hdi_high": share["hdi_high"], "interval": INTERVAL,
                     "passed": fit.diagnostics.passed})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- Cohen's d


def effect_sizes(
    fits: list[GrowthFit],
    data: pd.DataFrame,
    *,
    sd_basis: str = "observed_baseline_sd",
) -> pd.DataFrame:
    """Cohen's d of the change from 0 to 24 months, per draw, from model-predicted means.

    ``d = (mean(24) - mean(0)) / SD``; negative d is a decrease. Periods I and II come from
    the period model, ``pooled`` from the linear model.

    Parameters
    ----------
    fits : list of GrowthFit
    data : pandas.DataFrame
        The data the fits used (for the observed baseline SD).
    sd_basis : str
        One of :data:`SD_BASES`; named in the ``sd_basis`` column.

    Returns
    -------
    pandas.DataFrame
        measure, period, months_from, months_to, change_mean, sd_basis, sd_mean, d_mean,
        d_hdi_low, d_hdi_high, interval, passed.
    """
    if sd_basis not in SD_BASES:
        raise ValueError(f"sd_basis must be one of {SD_BASES}, got '{sd_basis}'")
    rows = []
    for fit in fits:
        sd = _sd_draws(fit, data, sd_basis)
        for period, change in change_draws(fit).items():
            d = summarize_draws(change / sd)
            rows.append({"measure": fit.spec.name, "period": period,
                         "months_from": fit.spec.d_months[0], "months_to": fit.spec.d_months[1],
                         "change_mean": float(change.mean()), "sd_basis": sd_basis,
                         "sd_mean": float(np.mean(sd)), "d_mean": d["mean"],
                         "d_hdi_low": d["hdi_low"], "d_hdi_high": d["hdi_high"],
                         "interval": INTERVAL,
                         "passed": fit.diagnostics.passed})
    return pd.DataFrame(rows)


def _sd_draws(fit: GrowthFit, data: pd.DataFrame, sd_basis: str) -> np.ndarray | float:
    spec = fit.spec
    if sd_basis == "observed_baseline_sd":
        return observed_baseline_sd(data, outcome=spec.measure, time=spec.time, group=spec.group,
                                    period=spec.period if spec.period in data else None,
                                    start=spec.d_months[0])
    if sd_basis == "model_between_patient_sd":
        return fit.draws("sd_intercept")
    if "sigma" not in fit.params:
        raise ValueError(f"{spec.name}: the residual SD is modelled ({spec.auxiliary}); "
                         "use sd_basis='observed_baseline_sd'")
    sigma = fit.draws("sigma")
    if "nu" in fit.params:  # the SD of a t distribution with scale sigma (infinite if nu <= 2)
        nu = fit.draws("nu")
        return np.where(nu > 2, sigma * np.sqrt(nu / np.maximum(nu - 2, 1e-12)), np.inf)
    return sigma


# ---------------------------------------------------------------- model comparison


def model_comparison(
    fits: list[GrowthFit],
    *,
    kfold: Callable[[GrowthFit], LooResult] | None = None,
    k_limit: float = PARETO_K_LIMIT,
) -> pd.DataFrame:
    """ELPD of the period model minus the linear model, per measure.

    Positive ``elpd_diff`` favours the period model. ``loo_method`` names the estimand and how
    it was computed: leave-one-patient-out PSIS-LOO on the marginal likelihood (patient
    effects integrated out exactly by the marginal engine, by quadrature for Bambi fits), or,
    where a Pareto k exceeds ``k_limit`` and ``kfold`` is given, grouped K-fold by patient on
    the same likelihood (refits).

    Parameters
    ----------
    fits : list of GrowthFit
    kfold : callable, optional
        Fit -> LooResult by K-fold refits (e.g. :func:`mbtbayes.growth.loo.kfold_patients`
        bound to the engines); used only where PSIS is unreliable.
    k_limit : float
        Pareto k above which PSIS-LOO is not trusted.

    Returns
    -------
    pandas.DataFrame
        measure, elpd_linear, elpd_period, elpd_diff, elpd_diff_se, p_loo_linear,
        p_loo_period, max_pareto_k, loo_method, loo_reliable, passed.
    """
    by_measure: dict[str, dict[str, GrowthFit]] = {}
    for fit in fits:
        by_measure.setdefault(fit.spec.name, {})[fit.variant] = fit
    rows = []
    for measure, pair in by_measure.items():
        if set(pair) != {"linear", "period"}:
            continue
        loo = {v: patient_loo(f) for v, f in pair.items()}
        max_k = max(r.max_k for r in loo.values())
        reliable = max_k <= k_limit
        if not reliable and kfold is not None:
            loo = {v: kfold(f) for v, f in pair.items()}
            reliable = all(r.refits_passed for r in loo.values())
        diff, se = elpd_difference(loo["period"], loo["linear"])
        methods = dict.fromkeys(r.method for r in loo.values())
        rows.append({"measure": measure, "elpd_linear": loo["linear"].elpd,
                     "elpd_period": loo["period"].elpd, "elpd_diff": diff, "elpd_diff_se": se,
                     "p_loo_linear": loo["linear"].p_loo, "p_loo_period": loo["period"].p_loo,
                     "max_pareto_k": max_k, "loo_method": " / ".join(methods),
                     "loo_reliable": bool(reliable),
                     "passed": all(f.diagnostics.passed for f in pair.values())})
    return pd.DataFrame(rows)


def diagnostics_table(fits: list[GrowthFit]) -> pd.DataFrame:
    """One row per fit: the gate's diagnostics, the data used, the engine and the sampler.

    Wall times are not here (they differ between runs, and the tables of two runs with one
    seed are byte-identical); ``run.json`` has them.

    Returns
    -------
    pandas.DataFrame
        fit, measure, model, engine, max_r_hat, min_ess_bulk, min_ess_tail, divergences,
        passed, reason, attempts, draws, n_obs, n_excluded, n_patients, sampler.
    """
    rows = []
    for fit in fits:
        d, g = fit.diagnostics, fit.design
        rows.append({"fit": f"{fit.spec.name}/{fit.variant}", **_fit_key(fit),
                     "engine": fit.engine, "max_r_hat": d.max_r_hat,
                     "min_ess_bulk": d.min_ess_bulk, "min_ess_tail": d.min_ess_tail,
                     "divergences": d.divergences, "passed": d.passed, "reason": d.reason,
                     "attempts": d.attempts, "draws": d.draws,
                     "n_obs": int(g.y.size), "n_excluded": g.n_excluded,
                     "n_patients": int((np.bincount(g.group) > 0).sum()),
                     "sampler": fit.sampler})
    return pd.DataFrame(rows)
