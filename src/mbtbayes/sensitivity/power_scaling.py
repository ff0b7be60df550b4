"""Power-scaling sensitivity of the main quantities (Kallioinen et al. 2024, Stat Comput 34:57).

The priors are power-scaled by group, as priorsense's prior tags do in brms: the **period
priors** (the period shift and the period x time term) alone, and the **nuisance priors** (every
other fixed effect, the patient SDs, the residual SD, nu) alone; the likelihood (per patient,
patient effects integrated out) is power-scaled too. The log prior of each group is evaluated
per draw from the fit's priors (:attr:`Design.priors`; the SDs' HalfNormal hyperpriors), so it
works for fits of both engines. Sensitivity is the cumulative Jensen-Shannon distance per unit
change of the power (alphas 0.99 and 1.01); above :data:`THRESHOLD` it is flagged with
priorsense's diagnosis: *prior-data conflict* (sensitive to prior and likelihood) or *strong
prior / weak likelihood* (to the prior only).

Examples
--------
>>> from scipy import stats
>>> float(log_density({"dist": "HalfNormal", "sigma": 2.0}, np.array([1.0]))[0]) == (
...     float(stats.halfnorm.logpdf(1.0, scale=2.0)))
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from mbtbayes.core.arviz_api import power_scaling
from mbtbayes.core.defaults import SEED
from mbtbayes.core.errors import SpecError
from mbtbayes.growth.result import GrowthFit
from mbtbayes.sensitivity.quantities import main_quantities, row, summarize

THRESHOLD = 0.05
"""Power-scaling sensitivity above which a quantity is flagged (priorsense's default)."""
ANALYSIS = "power-scaling"
GROUPS = ("period priors", "nuisance priors")


def log_density(prior: dict, x: np.ndarray) -> np.ndarray:
    """Log density of a prior dict (as the specs write them) at ``x``."""
    p = {k: v for k, v in prior.items() if k != "dist"}
    dist = prior["dist"]
    if dist == "Normal":
        return stats.norm.logpdf(x, p.get("mu", 0.0), p["sigma"])
    if dist == "HalfNormal":
        return stats.halfnorm.logpdf(x, scale=p["sigma"])
    if dist == "StudentT":
        return stats.t.logpdf(x, p["nu"], p.get("mu", 0.0), p["sigma"])
    if dist == "HalfStudentT":
        return stats.t.logpdf(x, p["nu"], 0.0, p["sigma"]) + np.log(2.0)
    if dist == "Exponential":
        return stats.expon.logpdf(x, scale=1 / p["lam"])
    if dist == "Gamma":
        return stats.gamma.logpdf(x, p["alpha"], scale=1 / p["beta"])
    raise SpecError(f"power-scaling cannot evaluate a {dist} prior")


def log_priors(fit: GrowthFit) -> dict[str, np.ndarray]:
    """Per draw, the log density of the period priors and of the nuisance priors."""
    spec, design = fit.spec, fit.design
    period_terms = {spec.period, f"{spec.time}:{spec.period}"}
    beta = fit.draws("beta")
    out = {g: np.zeros(len(beta)) for g in GROUPS}
    for j, term in enumerate(design.terms):
        group = GROUPS[0] if term in period_terms else GROUPS[1]
        out[group] += log_density(design.priors[term], beta[:, j])
    hyper = {"sd_intercept": f"1|{spec.group}", "sd_slope": f"{spec.time}|{spec.group}"}
    for name in ("sd_intercept", "sd_slope", "sigma", "nu"):
        if name not in fit.params:
            continue
        key = hyper.get(name, name)
        if key not in design.priors:
            continue
        prior = design.priors[key]
        prior = prior["sigma"] if name in hyper else prior
        out[GROUPS[1]] += log_density(prior, fit.draws(name))
    return out


def power_scaling_table(fit: GrowthFit, data: pd.DataFrame, *, seed: int = SEED) -> pd.DataFrame:
    """Sensitivity of each main quantity to each prior group and the likelihood.

    Returns
    -------
    pandas.DataFrame
        quantity, group, prior, likelihood, diagnosis (one row per quantity and prior group).
    """
    chains = fit.idata.posterior.sizes["chain"]
    shape = (chains, -1)
    quantities = {name: q.draws.reshape(shape)
                  for name, q in main_quantities(fit, data, seed=seed).items()}
    priors = {g: v.reshape(shape) for g, v in log_priors(fit).items()}
    loglik = next(iter(fit.idata.log_likelihood.data_vars.values())).values
    frames = []
    for group in GROUPS:
        table = power_scaling(quantities=quantities, log_prior=priors, log_likelihood=loglik,
                              prior_group=group, threshold=THRESHOLD)
        frames.append(table.rename_axis("quantity").reset_index().assign(group=group))
    return pd.concat(frames, ignore_index=True)


def power_scaling_rows(fit: GrowthFit, data: pd.DataFrame, *, baseline: dict[str, str],
                       seed: int = SEED) -> list[dict]:
    """Rows of ``sensitivity.csv``: the baseline posterior of each quantity, with its
    power-scaling sensitivity and diagnosis in the diagnostic column."""
    quantities = main_quantities(fit, data, seed=seed)
    rows = []
    for r in power_scaling_table(fit, data, seed=seed).itertuples(index=False):
        q = quantities[r.quantity]
        summary = summarize(q.draws, rope=q.rope)
        flagged = r.prior > THRESHOLD
        diagnosis = "no flag" if r.diagnosis == "✓" else r.diagnosis
        rows.append(row(
            measure=fit.spec.name, analysis=ANALYSIS, setting=r.group, quantity=q,
            summary=summary, baseline_decision=baseline.get(q.name, summary["decision"]),
            method="reweighted", passed=fit.diagnostics.passed,
            diagnostic=(f"prior sensitivity {r.prior:.3f}, likelihood {r.likelihood:.3f}"
                        f" ({'> ' if flagged else '<= '}{THRESHOLD}): {diagnosis}"),
            note="power-scaling by PSIS reweighting of the fit's draws (alphas 0.99, 1.01); "
                 "the posterior shown is the baseline's"))
    return rows
