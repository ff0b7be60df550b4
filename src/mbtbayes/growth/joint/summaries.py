"""Tables of the joint model: per-outcome period contrasts and d beside the single-outcome fits,
the pooled period effect, the between-outcome SDs, cross-outcome correlations, and the
leave-one-patient-out comparison with and without the period terms.

Every row names its estimand and scale, the direction, the interval (95% HDI) and whether the
joint fit passed the gate (``passed``, ``reason``); single-outcome values carry their own
``single_passed``.

Examples
--------
>>> table = joint_table(fit, data, single=growth_fits)  # doctest: +SKIP
>>> table[table["quantity"] == "contrast_24_std"]  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mbtbayes.core.arviz_api import psis_loo
from mbtbayes.core.defaults import SEED
from mbtbayes.core.posterior import INTERVAL, summarize_draws
from mbtbayes.core.sampling import Sampler, SamplerOptions
from mbtbayes.core.seeds import seed_for
from mbtbayes.growth.baseline import sd_draws, spec_sd_draws
from mbtbayes.growth.joint.data import JointData
from mbtbayes.growth.joint.fit import JointFit, sample_joint
from mbtbayes.growth.joint.kernel import marginal_loglik
from mbtbayes.growth.joint.model import residuals
from mbtbayes.growth.loo import patient_folds
from mbtbayes.growth.trajectories import change_draws, period_contrasts

HORIZON = 24.0
"""Months at which period contrasts are taken and to which d measures the change (from 0)."""

STD = "baseline SD, higher = better"
"""Scale of standardised rows: the observed pooled baseline SD, sign-aligned."""

ALIGNED = "aligned: higher = better on every outcome"
"""Direction of standardised rows and correlations (bsi, cip, wsas flipped)."""

FOREST_QUANTITIES = ("contrast_24_std", "pooled_contrast_24_std")
"""Rows the forest plot shows (one scale: baseline SD, higher = better)."""


def derived(fit: JointFit, *, horizon: float = HORIZON) -> dict[str, np.ndarray]:
    """Derived draws of a period fit, (S, ...).

    Returns
    -------
    dict
        ``contrast_std`` (S, O): Period II - I difference at ``horizon`` months in model units
        (> 0 favours Period II); ``contrast_units``: the same in each outcome's own units;
        ``d_I``, ``d_II``: Cohen's d of the 0-``horizon`` change per period in the outcome's
        own direction; ``mean_contrast``: the average of ``contrast_std`` over outcomes;
        pooled fits: ``mu_int``, ``mu_slope``, ``mu_contrast`` (``mu_int + horizon
        mu_slope``), ``tau_int``, ``tau_slope``; several outcomes: ``intercept_corr``,
        ``slope_corr`` (S, O, O; blocks of the patient-effect correlation), ``resid_corr``.
    """
    sc = fit.data.scaling
    b1, d_int, d_slope = fit.draws("slope"), fit.draws("delta_int"), fit.draws("delta_slope")
    contrast = d_int + horizon * d_slope
    out = {"contrast_std": contrast, "contrast_units": sc.to_units(contrast),
           "d_I": sc.sign * horizon * b1, "d_II": sc.sign * horizon * (b1 + d_slope),
           "mean_contrast": contrast.mean(axis=1)}
    if fit.pooled:
        for name in ("mu_int", "mu_slope", "tau_int", "tau_slope"):
            out[name] = fit.draws(name)
        out["mu_contrast"] = out["mu_int"] + horizon * out["mu_slope"]
    n_out = len(sc.outcomes)
    if n_out > 1:
        corr = fit.draws("patient_corr")
        out["intercept_corr"] = corr[:, :n_out, :n_out]
        out["slope_corr"] = corr[:, n_out:, n_out:]
        out["resid_corr"] = fit.draws("resid_corr")
    return out


def single_draws(growth_fits: list, outcome: str, data: pd.DataFrame, *,
                 horizon: float = HORIZON, sign: float, sd: float,
                 seed: int = SEED) -> dict[str, np.ndarray]:
    """The same quantities from the run's single-outcome period fit of ``outcome`` (empty when
    there is none, or its d time points are not 0 and ``horizon``); d with the SD's
    uncertainty, as in ``effect_sizes.csv`` (:func:`mbtbayes.growth.baseline.spec_sd_draws`),
    the standardised contrast by the fixed ``sd`` the joint model standardises by."""
    fit = next((f for f in growth_fits if f.variant == "period" and f.spec.measure == outcome
                and tuple(f.spec.d_months) == (0, horizon)), None)
    if fit is None:
        return {}
    units = period_contrasts(fit)[f"at_{horizon:g}"]
    change = list(change_draws(fit).values())
    sd_draws, _ = spec_sd_draws(fit.spec, data, draws=len(change[0]), seed=seed)
    return {"contrast_units": units, "contrast_std": sign * units / sd,
            "d_I": change[0] / sd_draws, "d_II": change[1] / sd_draws,
            "passed": fit.diagnostics.passed}


def joint_d(fit: JointFit, dq: dict[str, np.ndarray], data: pd.DataFrame, *, seed: int,
            columns: dict[str, str]) -> dict[str, np.ndarray]:
    """The joint model's d per period with the SD's uncertainty: each draw's change in
    outcome units divided by a Bayesian-bootstrap draw of the observed pooled baseline SD
    (the same draws as the single-outcome d of the same outcome)."""
    sc = fit.data.scaling
    n = len(dq["d_I"])
    sds = np.column_stack([sd_draws(data, outcome=o, start=0.0, draws=n, seed=seed,
                                    **columns)[0] for o in sc.outcomes])
    return {k: dq[k] * sc.sd / sds for k in ("d_I", "d_II")}


def joint_table(fit: JointFit, data: pd.DataFrame, *, single: list | None = None,
                horizon: float = HORIZON, seed: int = SEED, time: str = "months",
                group: str = "patient_id", period: str = "period") -> pd.DataFrame:
    """The joint model's ``joint_model.csv``.

    Parameters
    ----------
    fit : JointFit
        The period fit.
    data : pandas.DataFrame
        The data it was fitted to (d's denominator, the observed pooled baseline SD, with its
        uncertainty by the Bayesian bootstrap over patients, as in ``effect_sizes.csv``).
    single : list of GrowthFit, optional
        The run's single-outcome fits: their period contrast and d go beside the joint ones.
    horizon : float
    seed : int
        The run seed (the SD's bootstrap draws derive from it and the outcome).
    time, group, period : str
        Column names of ``data``.

    Returns
    -------
    pandas.DataFrame
        outcome, quantity, scale, estimand, joint_mean, joint_sd, joint_hdi_low,
        joint_hdi_high, single_mean, single_hdi_low, single_hdi_high, single_passed,
        direction, interval, passed, reason. ``outcome`` is an outcome, ``pooled``, or a pair
        ``a~b`` (correlations).
    """
    dq, sc, h = derived(fit, horizon=horizon), fit.data.scaling, f"{horizon:g}"
    dq |= joint_d(fit, dq, data, seed=seed,
                  columns={"time": time, "group": group, "period": period})
    rows = []
    quantities = (
        (f"contrast_{h}", "contrast_units", "measure units",
         f"Period II - I difference of the population mean at {h} months"),
        (f"contrast_{h}_std", "contrast_std", STD,
         f"Period II - I difference at {h} months / observed pooled baseline SD; > 0 favours "
         "Period II"),
        ("d_I", "d_I", "Cohen's d", f"change 0-{h} months in Period I / observed pooled "
         "baseline SD, with the SD's uncertainty (negative = decrease)"),
        ("d_II", "d_II", "Cohen's d", f"change 0-{h} months in Period II / observed pooled "
         "baseline SD, with the SD's uncertainty (negative = decrease)"))
    for j, outcome in enumerate(sc.outcomes):
        other = single_draws(single or [], outcome, data, horizon=horizon, sign=sc.sign[j],
                             sd=sc.sd[j], seed=seed)
        for quantity, key, scale, estimand in quantities:
            direction = ALIGNED if scale == STD else f"own scale: {sc.direction(outcome)}"
            rows.append(_row(outcome, quantity, scale, estimand, dq[key][:, j], other.get(key),
                             other.get("passed"), direction=direction))
    for quantity, key, estimand in _pooled_rows(fit, h):
        rows.append(_row("pooled", quantity, STD, estimand, dq[key], None, None,
                         direction=ALIGNED))
    for block, what in (("slope_corr", "patient slopes"), ("intercept_corr",
                        "patient intercepts"), ("resid_corr", "residuals within a visit")):
        if block not in dq:
            continue
        for a in range(len(sc.outcomes)):
            for b in range(a):
                rows.append(_row(f"{sc.outcomes[b]}~{sc.outcomes[a]}", block, "correlation",
                                 f"correlation of {what} across outcomes",
                                 dq[block][:, a, b], None, None,
                                 direction=ALIGNED))
    table = pd.DataFrame(rows)
    return table.assign(interval=INTERVAL, passed=fit.diagnostics.passed,
                        reason=fit.diagnostics.reason)


def _pooled_rows(fit: JointFit, h: str) -> list[tuple[str, str, str]]:
    rows = [(f"mean_contrast_{h}_std", "mean_contrast",
             f"average over outcomes of the Period II - I difference at {h} months")]
    if fit.pooled:
        rows = [(f"pooled_contrast_{h}_std", "mu_contrast",
                 f"pooled period effect at {h} months: mu_int + {h} mu_slope"),
                ("pooled_intercept", "mu_int", "pooled Period II - I difference at month 0"),
                ("pooled_slope", "mu_slope", "pooled Period II - I difference in slope, per "
                 "month"),
                *rows,
                ("between_outcome_sd_intercept", "tau_int", "SD across outcomes of the "
                 "period difference at month 0"),
                ("between_outcome_sd_slope", "tau_slope", "SD across outcomes of the period "
                 "difference in slope, per month")]
    return rows


def _row(outcome: str, quantity: str, scale: str, estimand: str, joint: np.ndarray,
         single: np.ndarray | None, single_passed: bool | None, *, direction: str) -> dict:
    post = summarize_draws(joint)
    other = summarize_draws(single) if single is not None else {}
    return {"outcome": outcome, "quantity": quantity, "scale": scale, "estimand": estimand,
            "joint_mean": post["mean"], "joint_sd": post["sd"], "joint_hdi_low": post["hdi_low"],
            "joint_hdi_high": post["hdi_high"], "single_mean": other.get("mean", np.nan),
            "single_hdi_low": other.get("hdi_low", np.nan),
            "single_hdi_high": other.get("hdi_high", np.nan),
            "single_passed": single_passed, "direction": direction}


# ---------------------------------------------------------------- LOO by patient

PARETO_K_LIMIT = 0.7
"""Pareto k above which PSIS-LOO is not trusted (as for the growth comparison)."""


def patient_loglik(fit: JointFit, data: JointData | None = None) -> np.ndarray:
    """Marginal log-likelihood per chain, draw and patient, (chains, draws, N): the sampled
    graph's likelihood, from its kernel; of ``data`` (default: the fit's own) under the fit's
    draws."""
    jd = fit.data if data is None else data
    d = jd.arrays()
    b0, b1 = fit.draws("intercept"), fit.draws("slope")
    d_int, d_slope = fit.draws("delta_int"), fit.draws("delta_slope")
    lg, lr = fit.chol("patient"), fit.chol("resid")
    ones = np.ones(len(jd.patients))
    ll = np.stack([marginal_loglik(residuals(d, b0[s], b1[s], d_int[s], d_slope[s]), d["code"],
                                   d["time"], lg[s], lr[s], ones, False)[0]
                   for s in range(b0.shape[0])])
    return ll.reshape(fit.idata.posterior.sizes["chain"], -1, ll.shape[-1])


@dataclass(frozen=True)
class JointKfold:
    """Leave-patients-out K-fold of a joint fit: pointwise ELPD per patient and the gate."""

    pointwise: np.ndarray
    refits_passed: bool
    k: int


def kfold_joint(fit: JointFit, *, options: SamplerOptions | None = None, k: int = 10,
                seed: int, log: Callable[[str], None] | None = None) -> JointKfold:
    """Grouped K-fold by patient for a joint fit: each fold's patients left out, the model
    refitted on the others (same compiled graph, priors, pooling and scaling; behind the gate;
    sampled with ``options``, default the package's), and the left-out patients' marginal log
    predictive density averaged over the refit's draws.

    The folds are :func:`mbtbayes.growth.loo.patient_folds` of the outcome set, so the models
    with and without the period terms leave out the same patients.
    """
    from scipy.special import logsumexp

    sampling = Sampler(options or SamplerOptions())
    jd = fit.data
    ids = np.asarray(jd.patients)
    name = "joint:" + "+".join(jd.outcomes)
    elpd, passed = np.zeros(len(ids)), []
    for i, fold in enumerate(patient_folds(ids, k=k, seed=seed, measure=name)):
        held = np.isin(ids, fold)
        refit = sample_joint(jd.subset(~held), sampling=sampling, variant=fit.variant,
                             seed=seed_for(seed, name, fit.variant, "kfold", i),
                             priors=fit.priors, pooled=fit.pooled)
        passed.append(refit.diagnostics.passed)
        if log is not None:
            log(f"K-fold joint {fit.variant} fold {i + 1}/{k}: "
                + ("passed" if refit.diagnostics.passed
                   else f"FAILED the gate ({refit.diagnostics.reason})"))
        ll = patient_loglik(refit, jd.subset(held))
        flat = ll.reshape(-1, ll.shape[-1])
        elpd[held] = logsumexp(flat, axis=0) - np.log(flat.shape[0])
    return JointKfold(elpd, all(passed), k)


PSIS_METHOD = ("PSIS-LOO leaving one patient out, patient effects integrated out; elpd_diff = "
               "period - no period (> 0 favours period terms)")


def comparison_table(period: JointFit, no_period: JointFit, *,
                     kfold: Callable[[JointFit], JointKfold] | None = None,
                     k_limit: float = PARETO_K_LIMIT) -> pd.DataFrame:
    """Leave-one-patient-out comparison of the joint model with and without the period terms.

    One patient (all visits and outcomes) is left out at a time, on the marginal likelihood,
    by PSIS-LOO. Where a Pareto k of either model exceeds ``k_limit`` the PSIS estimate is not
    trusted (``loo_reliable`` False) and, when ``kfold`` is given (e.g. :func:`kfold_joint`
    bound to a sampler and seed), both models are compared by leave-patients-out K-fold on the
    same folds instead; ``loo_reliable`` is then whether every refit passed the gate. The
    difference is paired over patients.

    Returns
    -------
    pandas.DataFrame
        model, elpd, elpd_se, p_loo, max_pareto_k, n_pareto_k_over_0_7, elpd_diff,
        elpd_diff_se, psis_elpd_diff, loo_method, loo_reliable, method, passed, reason (one
        row per model; the differences are period minus no-period, on both rows).
    """
    fits = {"period": period, "no_period": no_period}
    psis = {v: psis_loo(patient_loglik(f)) for v, f in fits.items()}
    max_k = max(float(np.max(r[4])) for r in psis.values())
    reliable = max_k <= k_limit
    pointwise = {v: r[3] for v, r in psis.items()}
    p_loo = {v: r[2] for v, r in psis.items()}
    loo_method, method = "psis_marginal_patient", PSIS_METHOD
    if not reliable and kfold is not None:
        folds = {v: kfold(f) for v, f in fits.items()}
        pointwise = {v: r.pointwise for v, r in folds.items()}
        p_loo = dict.fromkeys(fits, float("nan"))
        reliable = all(r.refits_passed for r in folds.values())
        k = folds["period"].k
        loo_method = f"kfold_marginal_patient_{k}"
        method = (f"{k}-fold cross-validation leaving patients out (PSIS-LOO had Pareto k "
                  f"{max_k:.2f} > {k_limit}), patient effects integrated out; elpd_diff = "
                  "period - no period (> 0 favours period terms)")
    elif not reliable:
        method += f"; Pareto k {max_k:.2f} > {k_limit}: unreliable, no K-fold refits given"
    diff = pointwise["period"] - pointwise["no_period"]
    psis_diff = psis["period"][3] - psis["no_period"][3]
    rows = []
    for variant, fit in fits.items():
        values, k = pointwise[variant], psis[variant][4]
        rows.append({"model": f"joint {variant.replace('_', ' ')}",
                     "elpd": float(values.sum()),
                     "elpd_se": float(np.sqrt(values.size * values.var(ddof=1))),
                     "p_loo": p_loo[variant], "max_pareto_k": float(np.max(k)),
                     "n_pareto_k_over_0_7": int((k > 0.7).sum()),
                     "elpd_diff": float(diff.sum()),
                     "elpd_diff_se": float(np.sqrt(diff.size * diff.var(ddof=1))),
                     "psis_elpd_diff": float(psis_diff.sum()), "loo_method": loo_method,
                     "loo_reliable": bool(reliable), "method": method,
                     "passed": fit.diagnostics.passed, "reason": fit.diagnostics.reason})
    return pd.DataFrame(rows)
