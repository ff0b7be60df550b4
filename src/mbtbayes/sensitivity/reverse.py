"""Reverse-Bayes: the prior that would just overturn each conclusion (the analysis of
credibility, Matthews 2018, R Soc Open Sci 5:171047), with Box's (1980, J R Stat Soc A 143:383)
prior-predictive check of that prior against the data (intrinsic credibility, Held 2019,
R Soc Open Sci 6:181534; reviewed in Held, Matthews, Ott, Pawel 2022, Res Synth Methods
13:295).

Normal approximation, stated in every row: each main quantity is linear in the fixed effects,
so the baseline prior implies a normal prior on it; dividing that prior out of the normal
approximation of the posterior (its mean and SD) gives the normal approximation of the
likelihood, ``N(m, s^2)``. Then, with ``z = 1.96`` and the ROPE ``[-h, h]``:

- a **"difference"** conclusion (95% interval outside the ROPE) is challenged by a *sceptical*
  prior ``N(0, tau^2)``: the table gives the sceptical limit ``tau*``, the prior SD at which
  the posterior interval just touches the ROPE: any narrower sceptical prior overturns the
  conclusion, any wider one does not. With ``h = 0`` this is Matthews' closed form
  ``tau* = z s^2 / sqrt(m^2 - z^2 s^2)``.
- any other conclusion is challenged by an *advocacy* prior that believes in a difference of
  practical size: a normal prior whose 95% interval runs from the ROPE edge ``h`` to ``a`` in
  the observed direction, ``N((h + a) / 2, ((a - h) / 2z)^2)`` (for ``h = 0`` Matthews'
  advocacy prior, 95% interval ``[0, a]``, a fixed coefficient of variation ``1 / z``). Narrow
  such priors (``a`` near ``h``) carry an estimate beyond the ROPE edge into "difference";
  wide ones leave the data's conclusion. The table gives the advocacy limit ``a*``, the
  *largest* ``a`` whose posterior 95% interval lies beyond the ROPE: priors reaching beyond
  ``a*`` are too vague to make the result a "difference", priors within it do. With ``h = 0``
  it is Matthews' ``a* = -(U + L)(U - L)^2 / (2 U L)``, ``L, U = m -+ z s``. When the
  likelihood's mean lies inside the ROPE no prior of this family reaches "difference" (limit:
  none). An advocacy prior anchored at 0 instead (the previous version) can hardly lift the
  interval above a ROPE edge, so "none" followed from the anchor, not from the data.
- beside each limit, **Box's prior-data conflict p** of the prior at the limit:
  ``p_Box = 2 (1 - Phi(|m - mu| / sqrt(s^2 + tau^2)))``, the prior-predictive tail
  probability of the likelihood's mean. At the sceptical limit (``h = 0``) Held (2019) calls a
  result *intrinsically credible* when ``p_Box < 0.05``: the sceptic who would overturn it is
  in conflict with the data; that holds exactly when the two-sided p-value is below 0.0056 (a
  95% interval whose upper-to-lower ratio is below 5.8). A small ``p_Box`` at the advocacy
  limit says the advocacy needed conflicts with the data.

Both limits are given in the measure's units and in baseline SDs.

Examples
--------
>>> round(sceptical_limit(1.0, 0.3, rope=0.0), 4)   # z s^2 / sqrt(m^2 - z^2 s^2)
0.2181
>>> round(box_p(1.0, 0.3, prior_mean=0.0, prior_sd=0.2181), 3)
0.007
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import optimize, stats

from mbtbayes.core.decisions import DIFFERENCE, rope_decision
from mbtbayes.core.defaults import CI_PROB, SEED
from mbtbayes.growth.result import GrowthFit
from mbtbayes.sensitivity.quantities import (
    Quantity,
    baseline_decisions,
    baseline_sd,
    main_quantities,
    row,
)

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


def advocacy_prior(limit: float, *, rope: float) -> tuple[float, float]:
    """Mean and SD of the advocacy prior with 95% interval ``[rope, limit]`` (positive side).

    Examples
    --------
    >>> [round(v, 4) for v in advocacy_prior(1.0, rope=0.2)]
    [0.6, 0.2041]
    """
    return (rope + limit) / 2, (limit - rope) / (2 * Z)


def advocacy_limit(m: float, s: float, *, rope: float) -> float:
    """The largest upper end ``a`` of an advocacy prior with 95% interval ``[rope, a]`` in the
    direction of ``m`` whose posterior 95% interval lies beyond the ROPE.

    Parameters
    ----------
    m, s : float
        Mean and SD of the normal likelihood.
    rope : float
        ROPE half-width (0: Matthews' advocacy limit).

    Returns
    -------
    float
        ``a*`` (in the units of ``m``, a magnitude); ``nan`` when no prior of the family makes
        the result a "difference"; ``inf`` when every one does (the likelihood alone already
        does).
    """
    gap = lambda x: _inner_end(m, s, *advocacy_prior(rope + x, rope=rope)) - rope  # noqa: E731
    grid = s * np.geomspace(1e-4, 1e4, 801)
    values = np.array([gap(x) for x in grid])
    hits = np.flatnonzero(values > 0)
    if hits.size == 0:
        return float("nan")
    last = hits[-1]
    if last == grid.size - 1:
        return float("inf")
    x = optimize.brentq(gap, grid[last], grid[last + 1], xtol=1e-12 * s)
    return float(rope + x)


def box_p(m: float, s: float, *, prior_mean: float, prior_sd: float) -> float:
    """Box's (1980) prior-data conflict p: the two-sided prior-predictive tail probability of
    the likelihood's mean ``m`` under ``N(prior_mean, prior_sd^2 + s^2)``."""
    z = abs(m - prior_mean) / math.sqrt(s**2 + prior_sd**2)
    return float(2 * stats.norm.sf(z))


def implied_prior(fit: GrowthFit, draws: np.ndarray) -> tuple[float, float]:
    """Mean and SD of the normal prior the baseline priors imply for a quantity linear in the
    fixed effects (its coefficients found by least squares on the draws)."""
    beta = fit.draws("beta")
    coef, *_ = np.linalg.lstsq(beta - beta.mean(0), draws - draws.mean(), rcond=None)
    mus = np.array([float(fit.design.priors[t].get("mu", 0.0)) for t in fit.design.terms])
    sds = np.array([float(fit.design.priors[t]["sigma"]) for t in fit.design.terms])
    offset = float(draws.mean() - beta.mean(0) @ coef)
    return float(coef @ mus + offset), float(math.sqrt(np.sum((coef * sds) ** 2)))


def likelihood_approximation(fit: GrowthFit, draws: np.ndarray) -> tuple[float, float]:
    """(m, s) of the normal likelihood: the posterior's normal approximation with the implied
    baseline prior divided out (kept as the posterior when the prior is not wider)."""
    mean, sd = float(draws.mean()), float(draws.std(ddof=1))
    prior_mean, prior_sd = implied_prior(fit, draws)
    precision = 1 / sd**2 - 1 / prior_sd**2
    if precision <= 0:
        return mean, sd
    return (mean / sd**2 - prior_mean / prior_sd**2) / precision, 1 / math.sqrt(precision)


def reverse_bayes_rows(fit: GrowthFit, data: pd.DataFrame, *,
                       baseline: dict[str, str] | None = None,
                       seed: int = SEED) -> list[dict]:
    """One row per main quantity: the sceptical or advocacy limit, the posterior under that
    prior, and Box's prior-data conflict p of the prior (column ``prior_data_conflict_p``).
    ``baseline``: quantity -> the baseline decision (a quantity it lacks is decided on the
    fit's own draws, :func:`~mbtbayes.sensitivity.quantities.baseline_decisions`)."""
    sd_units = baseline_sd(fit.spec, data)
    quantities = main_quantities(fit, data, seed=seed)
    decided = baseline_decisions(quantities, baseline)
    rows = []
    for q in quantities.values():
        m, s = likelihood_approximation(fit, q.draws)
        if decided[q.name] == DIFFERENCE:
            limit, kind = sceptical_limit(m, s, rope=q.rope), "sceptical"
            prior = (0.0, limit)
        else:
            limit, kind = advocacy_limit(m, s, rope=q.rope), "advocacy"
            centre, width = advocacy_prior(limit, rope=q.rope)
            prior = (math.copysign(centre, m), width)
        rows.append(_row(fit, q, decided[q.name], kind, limit, prior, m, s,
                         _in_sd(fit, q, sd_units)))
    return rows


def _in_sd(fit: GrowthFit, q: Quantity, sd_units: float) -> tuple[float, str]:
    """Divisor and label that put a quantity's limit in baseline SDs."""
    if q.units == "baseline SD":
        return 1.0, ""
    if q.name == "contrast_slope":
        span = fit.spec.d_months[1] - fit.spec.d_months[0]
        return sd_units / span, f"baseline SD over {span:g} months"
    return sd_units, "baseline SD"


def _row(fit: GrowthFit, q: Quantity, decided: str, kind: str, limit: float,
         prior: tuple[float, float], m: float, s: float, in_sd: tuple[float, str]) -> dict:
    approx = f"normal approximation: likelihood N({m:.4g}, {s:.4g}^2)"
    conflict = float("nan")
    if not math.isfinite(limit):
        summary = {"mean": float("nan"), "hdi_low": float("nan"), "hdi_high": float("nan"),
                   "rope_half_width": q.rope, "decision": THRESHOLD}
        setting = f"{kind} limit: " + _no_limit(kind, limit, m, q.rope)
    else:
        mean, sd = _posterior(m, s, *prior)
        conflict = box_p(m, s, prior_mean=prior[0], prior_sd=prior[1])
        summary = {"mean": mean, "hdi_low": mean - Z * sd, "hdi_high": mean + Z * sd,
                   "rope_half_width": q.rope, "decision": THRESHOLD}
        side = math.copysign(1.0, m)
        what = ("prior SD" if kind == "sceptical" else
                f"prior 95% interval from the ROPE edge {side * q.rope:.4g} to a, |a| =")
        divisor, label = in_sd
        in_units = f" ({limit / divisor:.3g} {label})" if label else ""
        setting = f"{kind} limit: {what} {limit:.4g} {q.units}{in_units}"
    out = row(measure=fit.spec.name, analysis=ANALYSIS, setting=setting, quantity=q,
              summary=summary, baseline_decision=decided, method="normal approximation",
              diagnostic=approx, passed=fit.diagnostics.passed,
              note=_meaning(kind, decided, conflict))
    return out | {"conclusion_changed": False, "prior_data_conflict_p": conflict,
                  "decision": rope_decision(summary["hdi_low"], summary["hdi_high"],
                                            half_width=q.rope) + " (at the threshold)"
                  if math.isfinite(limit) else THRESHOLD}


def _no_limit(kind: str, limit: float, m: float, rope: float) -> str:
    """Why a limit does not exist, or that every prior of the family reaches it."""
    if math.isinf(limit):
        return ("any (every such prior reaches 'difference': the normal approximation already "
                "does)")
    if kind == "advocacy" and abs(m) <= rope:
        return (f"none (the likelihood's mean {m:.4g} lies inside the ROPE +-{rope:.4g}: only a "
                "prior that itself excludes the ROPE reaches 'difference')")
    return "none (no such prior changes the conclusion)"


def _meaning(kind: str, decided: str, conflict: float) -> str:
    box = ("" if math.isnan(conflict) else
           f"; Box's prior-data conflict p of the prior at the limit: {conflict:.3g}")
    if kind == "sceptical":
        verdict = ("" if math.isnan(conflict) else
                   " (< 0.05: that sceptic conflicts with the data, the result is intrinsically "
                   "credible)" if conflict < 0.05 else
                   " (>= 0.05: a sceptic compatible with the data can overturn it)")
        return ("a sceptical prior N(0, SD) narrower than this overturns the 'difference' "
                "conclusion; a wider one does not" + box + verdict)
    verdict = ("" if math.isnan(conflict) else
               " (< 0.05: the advocacy needed conflicts with the data)" if conflict < 0.05 else
               " (>= 0.05: an advocate compatible with the data reaches 'difference')")
    return (f"baseline conclusion '{decided}': an advocacy prior whose 95% interval runs from "
            "the ROPE edge to at most a (observed direction) reaches 'difference'; a vaguer one "
            "does not" + box + verdict)
