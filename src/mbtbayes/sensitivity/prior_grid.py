"""The prior grid for the period effect (after Zampieri et al. 2021, AJRCCM 203:543).

Nine priors for the period effect on the course of the measure: centres *sceptical* (Period II
worse), *neutral* (no difference) and *enthusiastic* (Period II better) by :data:`CENTRE_SD`
baseline SDs, crossed with widths *weak*, *moderate* and *strong* (:data:`WIDTHS`, prior SD in
baseline SDs). The prior is stated on the quantity it is about, the **difference in change**
from t0 to t1 (Period II's change minus Period I's, ``t1 x`` the period x time coefficient):
``Normal(c x SD, w x SD)``, i.e. ``Normal(c x SD / t1, w x SD / t1)`` per month on the
``months:period`` term. The month-0 difference (``period``) is intake case mix, not an effect
of the period, and keeps the spec's prior; a spec without a period x time term has only the
shift, which then is the whole period difference and gets the grid's prior. The note of each
row gives the implied prior of every main contrast (month 0, difference in change, level at
t1), computed from the priors through the design (:func:`implied_priors`). "Better" follows
the measure's direction (``higher_is`` in :mod:`mbtbayes.io.schema`); for a measure the schema
does not know, "enthusiastic" means Period II higher, and the table says so.

Each main quantity is recomputed under each prior by Pareto-smoothed importance sampling of
the baseline fit's draws on the log prior ratio ``log p_new(b) - log p_old(b)`` (only the
period coefficients change, so the ratio is exact), with the weights' effective sample size and
the Monte Carlo SE of the mean and HDI ends (:func:`~mbtbayes.sensitivity.quantities.
weighted_mcse`). Where the Pareto k exceeds :data:`K_LIMIT`, or a Monte Carlo SE exceeds
:data:`~mbtbayes.sensitivity.quantities.MCSE_LIMIT` of the posterior SD where a refit would
lower it (:func:`mcse_excess`), the spec is refitted with that prior (same engine, compiled
graph reused; through the fit cache when one is given, so a rerun reads the refit back).

Examples
--------
>>> [p.setting for p in grid_priors()][:2]
['sceptical, weak', 'sceptical, moderate']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from mbtbayes.core.arviz_api import psis_weights
from mbtbayes.core.errors import SpecError
from mbtbayes.core.seeds import seed_for
from mbtbayes.growth.cache import FitCache
from mbtbayes.growth.engines import Engines
from mbtbayes.growth.result import GrowthFit
from mbtbayes.growth.trajectories import period_contrasts
from mbtbayes.io import schema
from mbtbayes.sensitivity.fitting import refit as fit_through
from mbtbayes.sensitivity.quantities import (
    MCSE_LIMIT,
    baseline_decisions,
    baseline_sd,
    bootstrap_counts,
    gate_text,
    main_quantities,
    relative_efficiency,
    row,
    summarize,
    weighted_mcse,
    weighted_sd,
)

CENTRE_SD = 0.2
"""Distance of the sceptical and enthusiastic centres from 0, in baseline SDs of the
difference in change (Cohen's small effect)."""
CENTRES = {"sceptical": -1.0, "neutral": 0.0, "enthusiastic": 1.0}
"""Centre of each prior in units of :data:`CENTRE_SD`, signed so that + is Period II better."""
WIDTHS = {"weak": 1.0, "moderate": 0.5, "strong": 0.2}
"""Prior SD of the difference in change, in baseline SDs."""
K_LIMIT = 0.7
"""Pareto k above which the reweighted estimate is not trusted and the spec is refitted."""
ANALYSIS = "prior grid"

@dataclass(frozen=True)
class GridPrior:
    """One prior of the grid, in baseline-SD units."""

    centre: str
    width: str

    @property
    def setting(self) -> str:
        return f"{self.centre}, {self.width}"

    def sd_units(self) -> tuple[float, float]:
        """(centre, SD) of the period shift in baseline SDs, + = Period II better."""
        return CENTRES[self.centre] * CENTRE_SD, WIDTHS[self.width]


def grid_priors() -> list[GridPrior]:
    """The nine priors of the grid, sceptical to enthusiastic, weak to strong."""
    return [GridPrior(c, w) for c in CENTRES for w in WIDTHS]


def better_sign(measure: str) -> tuple[float, str]:
    """+1 when a higher value is better, -1 when worse; and how that was decided."""
    known = schema.MEASURES.get(measure)
    if known is None:
        return 1.0, f"'{measure}' is not in the schema: 'better' taken as Period II higher"
    return (1.0 if known.higher_is == "better" else -1.0), f"higher is {known.higher_is}"


def period_terms(fit: GrowthFit) -> dict[str, float]:
    """The term that carries the grid's prior and the divisor that turns the prior on the
    difference in change into a prior on that term: ``{months:period: t1 - t0}``, or
    ``{period: 1}`` when the formula has no period x time term."""
    spec = fit.spec
    shift, slope = spec.period, f"{spec.time}:{spec.period}"
    if slope in fit.design.terms:
        return {slope: float(spec.d_months[1] - spec.d_months[0])}
    if shift in fit.design.terms:
        return {shift: 1.0}
    raise SpecError(f"{spec.name}: the prior grid needs the term '{shift}' or '{slope}' in the "
                    "period formula")


def translate(fit: GrowthFit, prior: GridPrior, sd: float) -> dict[str, dict]:
    """The grid prior as a Normal prior on the fit's period term, in the measure's units."""
    sign, _ = better_sign(fit.spec.measure)
    centre, width = prior.sd_units()
    return {term: {"dist": "Normal", "mu": sign * centre * sd / divisor,
                   "sigma": width * sd / divisor}
            for term, divisor in period_terms(fit).items()}


def implied_priors(fit: GrowthFit, new: dict[str, dict]) -> dict[str, tuple[float, float]]:
    """Mean and SD of the prior of each main contrast under the fit's priors with ``new``
    replacing some, exactly: every contrast is linear in the fixed effects (``L b``, through
    the design, as the posterior's), so under independent Normal priors it is Normal with
    mean ``L mu`` and variance ``sum L_j^2 sigma_j^2``. ``L`` is read off the contrasts of the
    unit vectors.

    Returns
    -------
    dict
        ``intercept`` (month-0 difference), ``change`` (difference in change t0 to t1) and
        ``at_<t1>`` (difference at t1): ``(mean, sd)`` in the measure's units and direction.
    """
    import xarray as xr

    mu, sigma = [], []
    for term in fit.design.terms:
        prior = new.get(term) or fit.design.priors[term]
        if prior.get("dist") != "Normal" or not np.isscalar(prior.get("sigma")):
            raise SpecError(f"{fit.spec.name}: the implied prior needs Normal priors on every "
                            f"fixed effect; '{term}' has {prior}")
        mu.append(float(prior.get("mu", 0.0)))
        sigma.append(float(prior["sigma"]))
    beta = np.vstack([mu, np.eye(len(mu))])[None]  # the mean, then each unit vector
    params = xr.Dataset({"beta": (("chain", "draw", "coef"), beta)},
                        coords={"coef": list(fit.design.columns)})
    contrasts = period_contrasts(replace(fit, params=params))
    t0, t1 = fit.spec.d_months
    out = {"intercept": contrasts["intercept"], "change": contrasts["slope"] * (t1 - t0),
           f"at_{t1:g}": contrasts[f"at_{t1:g}"]}
    return {k: (float(v[0]), float(np.sqrt(np.sum((v[1:] * np.array(sigma)) ** 2))))
            for k, v in out.items()}


def translation_note(fit: GrowthFit, prior: GridPrior, sd: float) -> str:
    """The prior as stated, its translation to the measure's units, and the implied prior of
    every main contrast, for the table's note column."""
    _, direction = better_sign(fit.spec.measure)
    new = translate(fit, prior, sd)
    parts = [f"{t} ~ Normal({p['mu']:.4g}, {p['sigma']:.4g})" for t, p in new.items()]
    centre, width = prior.sd_units()
    quantity = ("difference in change" if fit.spec.period not in new
                else "period difference (no period x time term)")
    implied = "; ".join(f"{name} Normal({m / sd:+.3g}, {s / sd:.3g})"
                        for name, (m, s) in implied_priors(fit, new).items())
    return (f"prior on the {quantity}: Normal({centre:+g}, {width:g}) baseline SD (+ = II "
            f"better; {direction}); baseline SD {sd:.4g}: " + "; ".join(parts)
            + f"; implied priors (baseline SD, the measure's direction): {implied}")


def log_prior_ratio(fit: GrowthFit, new: dict[str, dict]) -> np.ndarray:
    """Per draw, log p_new - log p_old of the fit's period coefficients."""
    beta = fit.draws("beta")
    out = np.zeros(len(beta))
    for j, term in enumerate(fit.design.terms):
        if term not in new:
            continue
        old = fit.design.priors[term]
        if old.get("dist") != "Normal":
            raise SpecError(f"{fit.spec.name}: the prior grid reweights a Normal prior on "
                            f"'{term}'; the spec has {old}")
        out += stats.norm.logpdf(beta[:, j], new[term]["mu"], new[term]["sigma"])
        out -= stats.norm.logpdf(beta[:, j], old.get("mu", 0.0), old["sigma"])
    return out


def prior_grid_rows(fit: GrowthFit, data: pd.DataFrame, *, engines: Engines | None = None,
                    seed: int = 0, baseline: dict[str, str] | None = None,
                    priors: list[GridPrior] | None = None,
                    k_limit: float = K_LIMIT, mcse_limit: float = MCSE_LIMIT,
                    cache: FitCache | str | Path | bool | None = None,
                    log: Callable[[str], None] | None = None) -> list[dict]:
    """The main quantities of a period fit under each prior of the grid.

    Parameters
    ----------
    fit : GrowthFit
        The baseline period fit.
    data : pandas.DataFrame
    engines : Engines, optional
        For refits of unreliable reweightings; without engines such rows are reported as
        reweighted, flagged in ``diagnostic`` and with ``passed = False``.
    seed : int
        Run seed (each refit's seed, and the bootstrap of the Monte Carlo errors, derive from
        it and the setting).
    baseline : dict, optional
        Quantity -> the baseline decision; a quantity it lacks is decided on the baseline
        fit's own draws (:func:`~mbtbayes.sensitivity.quantities.baseline_decisions`).
    priors : list of GridPrior, optional
        Default: :func:`grid_priors`.
    k_limit : float
        Pareto k above which a reweighting is refitted.
    mcse_limit : float
        Monte Carlo SE (of a mean or HDI end), as a share of the posterior SD, above which a
        reweighting is refitted where a refit would lower it (:func:`mcse_excess`: with 4 x
        1000 draws the baseline's own HDI ends have MCSEs near 0.1 posterior SD, which a refit
        of as many draws cannot beat).
    cache : FitCache, path or None
        Fit cache for the refits (read back when it holds them).
    log : callable, optional
        Receives one line per refit.

    Returns
    -------
    list of dict
        Rows of ``sensitivity.csv``; reweighted rows carry ``ess`` (of the weights) and
        ``mcse_mean``, ``mcse_hdi_low``, ``mcse_hdi_high``; ``diagnostic`` gives the Pareto k,
        the largest Monte Carlo SE in posterior SDs, and the refit's gate.
    """
    sd = baseline_sd(fit.spec, data)
    quantities = main_quantities(fit, data, seed=seed)
    chains = fit.idata.posterior.sizes["chain"] if fit.idata is not None else 1
    r_eff = {n: relative_efficiency(q.draws, chains=chains) for n, q in quantities.items()}
    uniform = bootstrap_counts(len(next(iter(quantities.values())).draws),
                               seed=seed_for(seed, fit.spec.name, "mcse"))
    decided = baseline_decisions(quantities, baseline)
    own = {n: weighted_mcse(q.draws, np.ones(len(q.draws)), counts=uniform, r_eff=r_eff[n])
           for n, q in quantities.items()}
    rows = []
    for prior in priors or grid_priors():
        new = translate(fit, prior, sd)
        weights, k = psis_weights(log_prior_ratio(fit, new))
        note = translation_note(fit, prior, sd)
        counts = bootstrap_counts(len(weights), seed=seed_for(seed, fit.spec.name, "mcse",
                                                              prior.setting))
        summaries = {}
        for name, q in quantities.items():
            post = summarize(q.draws, rope=q.rope, weights=weights)
            post |= weighted_mcse(q.draws, weights, counts=counts, r_eff=r_eff[name])
            summaries[name] = post
        worst, helps = mcse_excess(summaries, own, {n: weighted_sd(q.draws, weights)
                                                    for n, q in quantities.items()},
                                   limit=mcse_limit)
        checks = f"Pareto k {k:.2f}, largest MCSE {worst:.2f} posterior SD"
        reliable = k <= k_limit and not helps
        if reliable or engines is None:
            diagnostic = checks + ("" if reliable else
                                   f" ({_limits(k_limit, mcse_limit)}): unreliable, no engine "
                                   "to refit")
            rows += [row(measure=fit.spec.name, analysis=ANALYSIS, setting=prior.setting,
                         quantity=q, summary=summaries[q.name],
                         baseline_decision=decided[q.name], method="reweighted",
                         diagnostic=diagnostic, passed=fit.diagnostics.passed and reliable,
                         note=note) for q in quantities.values()]
            continue
        refit = refit_with_priors(fit, data, new, engines=engines,
                                  seed=seed_for(seed, fit.spec.name, "prior", prior.setting),
                                  cache=cache, log=log, label=f"prior grid, {prior.setting}")
        diagnostic = (f"{checks} ({_limits(k_limit, mcse_limit)}): refitted, "
                      f"{gate_text(refit.diagnostics)}")
        rows += [row(measure=fit.spec.name, analysis=ANALYSIS, setting=prior.setting,
                     quantity=q, summary=summarize(q.draws, rope=q.rope),
                     baseline_decision=decided[q.name], method="refit", diagnostic=diagnostic,
                     passed=refit.diagnostics.passed, note=note)
                 for q in main_quantities(refit, data, seed=seed).values()]
    return rows


MCSE_GAIN = 1.25
"""A refit draws as many draws as the baseline, so its Monte Carlo error is about the
baseline's own: a reweighted summary is refitted only where its MCSE exceeds both the limit
and this multiple of the baseline draws' own MCSE of the same summary (reweighting lost more
than about a third of the effective draws)."""


def mcse_excess(summaries: dict[str, dict], own: dict[str, dict], sds: dict[str, float], *,
                limit: float = MCSE_LIMIT) -> tuple[float, bool]:
    """The largest Monte Carlo SE of reweighted summaries in posterior SDs, and whether a refit
    would lower one that exceeds ``limit``.

    Parameters
    ----------
    summaries : dict
        Quantity -> ``mcse_mean``, ``mcse_hdi_low``, ``mcse_hdi_high`` of the reweighted draws.
    own : dict
        Quantity -> the same of the baseline draws, unweighted (what a refit would have).
    sds : dict
        Quantity -> the reweighted posterior SD.
    limit : float

    Examples
    --------
    >>> s = {"x": {"mcse_mean": 0.01, "mcse_hdi_low": 0.2, "mcse_hdi_high": 0.05}}
    >>> mcse_excess(s, {"x": {"mcse_mean": 0.01, "mcse_hdi_low": 0.1,
    ...                       "mcse_hdi_high": 0.05}}, {"x": 1.0})
    (0.2, True)
    >>> mcse_excess(s, {"x": {"mcse_mean": 0.01, "mcse_hdi_low": 0.19,
    ...                       "mcse_hdi_high": 0.05}}, {"x": 1.0})
    (0.2, False)
    """
    keys = ("mcse_mean", "mcse_hdi_low", "mcse_hdi_high")
    worst, helps = 0.0, False
    for name, post in summaries.items():
        for key in keys:
            ratio = post[key] / sds[name]
            worst = max(worst, ratio)
            helps |= ratio > limit and post[key] > MCSE_GAIN * own[name][key]
    return float(worst), bool(helps)


def _limits(k_limit: float, mcse_limit: float) -> str:
    return (f"limits: k {k_limit}; MCSE {mcse_limit} posterior SD where a refit would lower "
            f"it, i.e. above {MCSE_GAIN:g} x the baseline draws' own")


def refit_with_priors(fit: GrowthFit, data: pd.DataFrame, priors: dict[str, dict], *,
                      engines: Engines, seed: int,
                      cache: FitCache | str | Path | bool | None = None,
                      log: Callable[[str], None] | None = None, label: str = "") -> GrowthFit:
    """Refit a fit's spec and variant with some priors replaced (same engine; through the
    fit cache when ``cache`` is given)."""
    spec = replace(fit.spec, priors={**fit.spec.priors, **priors})
    return fit_through(engines, spec, data, variant=fit.variant, seed=seed, cache=cache,
                       engine=fit.engine, log=log, label=label or "prior refit")[0]
