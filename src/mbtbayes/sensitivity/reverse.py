"""Reverse-Bayes: the prior that would just overturn each conclusion (analysis of credibility,
Matthews 2018, J R Soc Open Sci 5:171047; Held 2019, J R Stat Soc A 182:743).

Normal approximation, stated in every row: each main quantity is linear in the fixed effects,
so the baseline prior implies a normal prior on it; dividing that prior out of the normal
approximation of the posterior (its mean and SD) gives the normal approximation of the
likelihood, ``N(m, s^2)``. Then, with ``z = 1.96`` and the ROPE ``[-h, h]``:

- a **"difference"** conclusion (95% interval outside the ROPE) is challenged by a *sceptical*
  prior ``N(0, tau^2)``: the table gives the sceptical limit ``tau*``, the prior SD at which
  the posterior interval just touches the ROPE: any narrower sceptical prior overturns the
  conclusion, any wider one does not. With ``h = 0`` this is Matthews' closed form
  ``tau* = z s^2 / sqrt(m^2 - z^2 s^2)``.
- any other conclusion is challenged by an *advocacy* prior whose 95% interval is
  ``[0, a]`` in the observed direction (``N(a / 2, (a / 2z)^2)``): the table gives the
  advocacy limit ``a*``, the smallest such ``a`` whose posterior reaches "difference". With
  ``h = 0`` this is Matthews' ``a* = -(U + L)(U - L)^2 / (2 U L)``, ``L, U = m -+ z s``.

Both are given in the measure's units and in baseline SDs.

Examples
--------
>>> round(sceptical_limit(1.0, 0.3, rope=0.0), 4)   # z s^2 / sqrt(m^2 - z^2 s^2)
0.2181
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import optimize, stats

from mbtbayes.core.decisions import DIFFERENCE, rope_decision
from mbtbayes.core.defaults import CI_PROB, SEED
from mbtbayes.sensitivity.quantities import baseline_sd, main_quantities, row

Z = float(stats.norm.ppf(0.5 + CI_PROB / 2))
ANALYSIS = "reverse-Bayes"
THRESHOLD = "threshold"
"""The decision column of a reverse-Bayes row: it states a threshold, not a new conclusion."""


def _posterior(m: float, s: float, prior_mean: float, prior_sd: float) -> tuple[float, float]:
    """Normal-normal posterior (mean, SD) of likelihood N(m, s^2) and a normal prior."""
    precision = 1 / s**2 + 1 / prior_sd**2
    return (m / s**2 + prior_mean / prior_sd**2) / precision, 1 / math.sqrt(precision)


def _inner_end(m: float, s: float, prior_mean: float, prior_sd: float) -> float:
    """|posterior| end of the 95% interval nearest 0 (in the direction of m)."""
    mean, sd = _posterior(abs(m), s, prior_mean, prior_sd)
    return mean - Z * sd


def sceptical_limit(m: float, s: float, *, rope: float) -> float:
    """The SD of the sceptical prior N(0, tau^2) at which the interval just touches the ROPE.

    Parameters
    ----------
    m, s : float
        Mean and SD of the normal likelihood.
    rope : float
        ROPE half-width (0: the interval just touches 0, Matthews' sceptical limit).

    Returns
    -------
    float
        ``tau*``; ``nan`` when the flat-prior interval already touches the ROPE.
    """
    if abs(m) - Z * s <= rope:
        return float("nan")
    if rope == 0:
        return Z * s**2 / math.sqrt(m**2 - Z**2 * s**2)
    gap = lambda tau: _inner_end(m, s, 0.0, tau) - rope  # noqa: E731
    high = s
    while gap(high) <= 0:
        high *= 2
    return float(optimize.brentq(gap, 1e-12 * s, high, xtol=1e-12 * s))


def advocacy_limit(m: float, s: float, *, rope: float) -> float:
    """The smallest upper end ``a`` of an advocacy prior with 95% interval [0, a] (in the
    direction of m) whose posterior interval lies outside the ROPE; ``nan`` if none does."""
    if rope == 0 and abs(m) - Z * s < 0 < abs(m):
        lo, up = abs(m) - Z * s, abs(m) + Z * s
        return -(up + lo) * (up - lo) ** 2 / (2 * up * lo)
    gap = lambda a: _inner_end(m, s, a / 2, a / (2 * Z)) - rope  # noqa: E731
    grid = s * np.geomspace(1e-3, 1e4, 400)
    values = np.array([gap(a) for a in grid])
    hits = np.flatnonzero(values > 0)
    if hits.size == 0:
        return float("nan")
    first = hits[0]
    if first == 0:
        return float(grid[0])
    return float(optimize.brentq(gap, grid[first - 1], grid[first], xtol=1e-12 * s))


def implied_prior(fit, draws: np.ndarray) -> tuple[float, float]:
    """Mean and SD of the normal prior the baseline priors imply for a quantity linear in the
    fixed effects (its coefficients found by least squares on the draws)."""
    beta = fit.draws("beta")
    coef, *_ = np.linalg.lstsq(beta - beta.mean(0), draws - draws.mean(), rcond=None)
    mus = np.array([float(fit.design.priors[t].get("mu", 0.0)) for t in fit.design.terms])
    sds = np.array([float(fit.design.priors[t]["sigma"]) for t in fit.design.terms])
    offset = float(draws.mean() - beta.mean(0) @ coef)
    return float(coef @ mus + offset), float(math.sqrt(np.sum((coef * sds) ** 2)))


def likelihood_approximation(fit, draws: np.ndarray) -> tuple[float, float]:
    """(m, s) of the normal likelihood: the posterior's normal approximation with the implied
    baseline prior divided out (kept as the posterior when the prior is not wider)."""
    mean, sd = float(draws.mean()), float(draws.std(ddof=1))
    prior_mean, prior_sd = implied_prior(fit, draws)
    precision = 1 / sd**2 - 1 / prior_sd**2
    if precision <= 0:
        return mean, sd
    return (mean / sd**2 - prior_mean / prior_sd**2) / precision, 1 / math.sqrt(precision)


def reverse_bayes_rows(fit, data: pd.DataFrame, *, baseline: dict[str, str],
                       seed: int = SEED) -> list[dict]:
    """One row per main quantity: the sceptical or advocacy limit and the posterior under it."""
    sd_units = baseline_sd(fit.spec, data)
    rows = []
    for q in main_quantities(fit, data, seed=seed).values():
        m, s = likelihood_approximation(fit, q.draws)
        scale = 1.0 if q.units == "baseline SD" else sd_units
        scale /= fit.spec.d_months[1] if q.name == "contrast_slope" else 1.0
        if baseline[q.name] == DIFFERENCE:
            limit, kind = sceptical_limit(m, s, rope=q.rope), "sceptical"
            prior = (0.0, limit)
        else:
            limit, kind = advocacy_limit(m, s, rope=q.rope), "advocacy"
            prior = (math.copysign(limit / 2, m), limit / (2 * Z))
        rows.append(_row(fit, q, baseline[q.name], kind, limit, prior, m, s, scale))
    return rows


def _row(fit, q, decided: str, kind: str, limit: float, prior, m: float, s: float,
         scale: float) -> dict:
    approx = f"normal approximation: likelihood N({m:.4g}, {s:.4g}^2)"
    if not math.isfinite(limit):
        summary = {"mean": float("nan"), "hdi_low": float("nan"), "hdi_high": float("nan"),
                   "rope_half_width": q.rope, "decision": THRESHOLD}
        setting = f"{kind} limit: none (no such prior changes the conclusion)"
    else:
        mean, sd = _posterior(m, s, *prior)
        summary = {"mean": mean, "hdi_low": mean - Z * sd, "hdi_high": mean + Z * sd,
                   "rope_half_width": q.rope, "decision": THRESHOLD}
        what = "prior SD" if kind == "sceptical" else "prior 95% interval [0, a], a ="
        in_sd = "" if q.units == "baseline SD" else f" ({limit / scale:.3g} baseline SD)"
        setting = f"{kind} limit: {what} {limit:.4g} {q.units}{in_sd}"
    out = row(measure=fit.spec.name, analysis=ANALYSIS, setting=setting, quantity=q,
              summary=summary, baseline_decision=decided, method="normal approximation",
              diagnostic=approx, passed=fit.diagnostics.passed,
              note=_meaning(kind, decided))
    return out | {"conclusion_changed": False,
                  "decision": rope_decision(summary["hdi_low"], summary["hdi_high"],
                                            half_width=q.rope) + " (at the threshold)"
                  if math.isfinite(limit) else THRESHOLD}


def _meaning(kind: str, decided: str) -> str:
    if kind == "sceptical":
        return ("a sceptical prior N(0, SD) narrower than this overturns the 'difference' "
                "conclusion; a wider one does not")
    return (f"baseline conclusion '{decided}': an advocacy prior at least this strong (95% "
            "interval from 0 to a in the observed direction) is needed to reach 'difference'")
