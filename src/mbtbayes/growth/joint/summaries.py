"""Tables of the joint model: per-outcome period contrasts and d beside the single-outcome fits,
the pooled period effect, the between-outcome SDs, cross-outcome correlations, and the
leave-one-patient-out comparison with and without the period terms.

Every row names its estimand and scale, the direction, the interval (95% HDI) and whether the
joint fit passed the gate (``passed``, ``reason``); single-outcome values carry their own
``single_passed``.

Examples
--------
>>> table = joint_table(fit, single=growth_fits)  # doctest: +SKIP
>>> table[table["quantity"] == "contrast_24_std"]  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mbtbayes.core.arviz_api import psis_loo
from mbtbayes.core.posterior import INTERVAL, summarize_draws
from mbtbayes.growth.joint.fit import JointFit
from mbtbayes.growth.joint.kernel import marginal_loglik
from mbtbayes.growth.joint.model import residuals

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


def single_draws(growth_fits: list, outcome: str, *, horizon: float = HORIZON,
                 sign: float, sd: float) -> dict[str, np.ndarray]:
    """The same quantities from the run's single-outcome period fit of ``outcome`` (empty when
    there is none, or its d time points are not 0 and ``horizon``)."""
    from mbtbayes.growth.trajectories import change_draws, period_contrasts

    fit = next((f for f in growth_fits if f.variant == "period" and f.spec.measure == outcome
                and tuple(f.spec.d_months) == (0, horizon)), None)
    if fit is None:
        return {}
    units = period_contrasts(fit)[f"at_{horizon:g}"]
    change = list(change_draws(fit).values())
    return {"contrast_units": units, "contrast_std": sign * units / sd,
            "d_I": change[0] / sd, "d_II": change[1] / sd, "passed": fit.diagnostics.passed}


def joint_table(fit: JointFit, *, single: list | None = None,
                horizon: float = HORIZON) -> pd.DataFrame:
    """The joint model's ``joint_model.csv``.

    Parameters
    ----------
    fit : JointFit
        The period fit.
    single : list of GrowthFit, optional
        The run's single-outcome fits: their period contrast and d go beside the joint ones.
    horizon : float

    Returns
    -------
    pandas.DataFrame
        outcome, quantity, scale, estimand, joint_mean, joint_sd, joint_hdi_low,
        joint_hdi_high, single_mean, single_hdi_low, single_hdi_high, single_passed,
        direction, interval, passed, reason. ``outcome`` is an outcome, ``pooled``, or a pair
        ``a~b`` (correlations).
    """
    dq, sc, h = derived(fit, horizon=horizon), fit.data.scaling, f"{horizon:g}"
    rows = []
    quantities = (
        (f"contrast_{h}", "contrast_units", "measure units",
         f"Period II - I difference of the population mean at {h} months"),
        (f"contrast_{h}_std", "contrast_std", STD,
         f"Period II - I difference at {h} months / observed pooled baseline SD; > 0 favours "
         "Period II"),
        ("d_I", "d_I", "Cohen's d", f"change 0-{h} months in Period I / observed pooled "
         "baseline SD (negative = decrease)"),
        ("d_II", "d_II", "Cohen's d", f"change 0-{h} months in Period II / observed pooled "
         "baseline SD (negative = decrease)"))
    for j, outcome in enumerate(sc.outcomes):
        other = single_draws(single or [], outcome, horizon=horizon, sign=sc.sign[j],
                             sd=sc.sd[j])
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
         single: np.ndarray | None, single_passed, *, direction: str) -> dict:
    post = summarize_draws(joint)
    other = summarize_draws(single) if single is not None else {}
    return {"outcome": outcome, "quantity": quantity, "scale": scale, "estimand": estimand,
            "joint_mean": post["mean"], "joint_sd": post["sd"], "joint_hdi_low": post["hdi_low"],
            "joint_hdi_high": post["hdi_high"], "single_mean": other.get("mean", np.nan),
            "single_hdi_low": other.get("hdi_low", np.nan),
            "single_hdi_high": other.get("hdi_high", np.nan),
            "single_passed": single_passed, "direction": direction}


# ---------------------------------------------------------------- LOO by patient


def patient_loglik(fit: JointFit) -> np.ndarray:
    """Marginal log-likelihood per chain, draw and patient, (chains, draws, N): the sampled
    graph's likelihood, from its kernel."""
    jd = fit.data
    d = jd.arrays()
    b0, b1 = fit.draws("intercept"), fit.draws("slope")
    d_int, d_slope = fit.draws("delta_int"), fit.draws("delta_slope")
    lg, lr = fit.chol("patient"), fit.chol("resid")
    ones = np.ones(len(jd.patients))
    ll = np.stack([marginal_loglik(residuals(d, b0[s], b1[s], d_int[s], d_slope[s]), d["code"],
                                   d["time"], lg[s], lr[s], ones, False)[0]
                   for s in range(b0.shape[0])])
    return ll.reshape(fit.idata.posterior.sizes["chain"], -1, ll.shape[-1])


def comparison_table(period: JointFit, no_period: JointFit) -> pd.DataFrame:
    """Leave-one-patient-out PSIS-LOO of the joint model with and without the period terms.

    One patient (all visits and outcomes) is left out at a time, on the marginal likelihood.
    The difference is paired over patients.

    Returns
    -------
    pandas.DataFrame
        model, elpd, elpd_se, p_loo, max_pareto_k, n_pareto_k_over_0_7, elpd_diff,
        elpd_diff_se, method, passed, reason (one row per model; the difference is period
        minus no-period, on both rows).
    """
    results = {f.variant: psis_loo(patient_loglik(f)) for f in (period, no_period)}
    diff = results["period"][3] - results["no_period"][3]
    diff_se = float(np.sqrt(diff.size * diff.var(ddof=1)))
    rows = []
    for fit in (period, no_period):
        elpd, se, p_loo, _, k = results[fit.variant]
        rows.append({"model": f"joint {fit.variant.replace('_', ' ')}", "elpd": elpd,
                     "elpd_se": se, "p_loo": p_loo, "max_pareto_k": float(np.max(k)),
                     "n_pareto_k_over_0_7": int((k > 0.7).sum()),
                     "elpd_diff": float(diff.sum()), "elpd_diff_se": diff_se,
                     "method": "PSIS-LOO leaving one patient out, patient effects integrated "
                               "out; elpd_diff = period - no period (> 0 favours period terms)",
                     "passed": fit.diagnostics.passed, "reason": fit.diagnostics.reason})
    return pd.DataFrame(rows)
