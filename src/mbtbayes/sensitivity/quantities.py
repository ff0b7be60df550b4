"""The main quantities a sensitivity analysis follows, their (weighted) summaries and the rows
of ``sensitivity.csv``.

For a period fit the main quantities, per posterior draw, are the Period II - I contrasts
(:func:`mbtbayes.growth.trajectories.period_contrasts`: ``contrast_intercept`` at month 0,
``contrast_slope`` per month, ``contrast_at_24`` at the later d time point, in the measure's
units), Cohen's d of the 0-24 month change per period (``d_I``, ``d_II``: change divided by
the observed pooled baseline SD, with the SD's uncertainty: the same d as
``effect_sizes.csv``), and the difference in change, the study's question whether the
improvement was sustained: ``change_difference`` (the II - I difference of the 0-24 month
change in the measure's units, ``24 x contrast_slope``) and ``d_difference`` (``d_II - d_I``,
per draw over the same SD draw). Each carries its ROPE half-width (the measure's margin; per
month for the slope; the margin / its reference SD for d) and is decided by the HDI + ROPE rule
(:func:`mbtbayes.core.decisions.rope_decision`). A setting's conclusion *changes* when its
decision differs from the baseline analysis's.

Examples
--------
>>> import numpy as np
>>> draws = np.random.default_rng(0).normal(1.0, 0.1, 4000)
>>> s = summarize(draws, rope=0.1)
>>> s["decision"], round(s["mean"], 1)
('difference', 1.0)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mbtbayes.core.arviz_api import ess_bulk
from mbtbayes.core.decisions import rope_decision
from mbtbayes.core.defaults import CI_PROB, SEED
from mbtbayes.core.posterior import INTERVAL, summarize_draws
from mbtbayes.core.sampling import Diagnostics
from mbtbayes.core.seeds import seed_for
from mbtbayes.growth.baseline import spec_baseline, spec_sd_draws
from mbtbayes.growth.modelspec import ModelSpec
from mbtbayes.growth.result import GrowthFit
from mbtbayes.growth.rope import rope_for
from mbtbayes.growth.trajectories import change_draws, period_contrasts

COLUMNS = ("measure", "analysis", "setting", "quantity", "units", "mean", "hdi_low", "hdi_high",
           "rope_half_width", "decision", "baseline_decision", "conclusion_changed", "method",
           "ess", "mcse_mean", "mcse_hdi_low", "mcse_hdi_high", "diagnostic", "passed",
           "baseline", "note", "interval", "prior_data_conflict_p")
"""Columns of ``sensitivity.csv``, in order."""

METHODS = ("baseline", "reweighted", "refit", "closed form", "normal approximation",
           "per-draw imputation", "delta adjustment")
"""How a row was obtained: the baseline fit itself; PSIS importance reweighting of its draws;
a refit; a closed form; a normal approximation of the posterior; imputation per draw; a
pattern-mixture shift of the baseline draws."""


@dataclass(frozen=True)
class Quantity:
    """Posterior draws of one main quantity with its units and ROPE half-width."""

    name: str
    draws: np.ndarray
    units: str
    rope: float


def main_quantities(fit: GrowthFit, data: pd.DataFrame, *, seed: int = SEED) -> dict[str, Quantity]:
    """The main quantities of a period fit, per draw.

    Parameters
    ----------
    fit : GrowthFit
        A period fit.
    data : pandas.DataFrame
        The data it used (the ROPE and baseline SD come from it).
    seed : int
        The run seed: d divides each draw of the change by a Bayesian-bootstrap draw of the
        observed baseline SD (:func:`mbtbayes.growth.baseline.spec_sd_draws`), the same d as
        ``effect_sizes.csv``.

    Returns
    -------
    dict of str to Quantity
        ``contrast_intercept``, ``contrast_slope``, ``contrast_at_<t1>``, ``d_<period>``,
        ``change_difference`` and ``d_difference`` (the last two with a two-level period).
    """
    spec = fit.spec
    margin = rope_for(spec, data)
    rope, later = margin.half_width, spec.d_months[1]
    out = {}
    for name, draws in period_contrasts(fit).items():
        slope = name == "slope"
        out[f"contrast_{name}"] = Quantity(
            f"contrast_{name}", draws, f"{spec.measure} units" + (" per month" if slope else ""),
            rope / later if slope else rope)
    changes = change_draws(fit)
    n_draws = len(next(iter(changes.values())))
    sd, _ = spec_sd_draws(spec, data, draws=n_draws, seed=seed)
    d_rope = margin.in_sd().half_width  # the margin in reference SDs
    for level, change in changes.items():
        out[f"d_{level}"] = Quantity(f"d_{level}", change / sd, "baseline SD", d_rope)
    return out | _change_difference(out, spec, rope=rope, d_rope=d_rope)


def _change_difference(out: dict[str, Quantity], spec: ModelSpec, *, rope: float,
                       d_rope: float) -> dict[str, Quantity]:
    """The II - I difference of the 0-t1 change: in units (the slope contrast times the span)
    and as ``d_II - d_I`` (both d over the same SD draw); empty without two periods."""
    d = [name for name in out if name.startswith("d_")]
    if "contrast_slope" not in out or len(d) != 2:
        return {}
    span = spec.d_months[1] - spec.d_months[0]
    units = out["contrast_slope"].units.removesuffix(" per month")
    return {"change_difference": Quantity("change_difference", out["contrast_slope"].draws * span,
                                          units, rope),
            "d_difference": Quantity("d_difference", out[d[1]].draws - out[d[0]].draws,
                                     "baseline SD", d_rope)}


def baseline_sd(spec: ModelSpec, data: pd.DataFrame) -> float:
    """The observed pooled baseline SD of a spec's measure (the d denominator)."""
    return spec_baseline(spec, data).sd


def weighted_hdi(draws: np.ndarray, weights: np.ndarray, *,
                 ci_prob: float = CI_PROB) -> tuple[float, float]:
    """The shortest interval holding ``ci_prob`` of the weight of weighted draws.

    Examples
    --------
    >>> x = np.arange(10.0)
    >>> weighted_hdi(x, np.r_[np.zeros(5), np.ones(5)], ci_prob=0.6)
    (5.0, 7.0)
    """
    order = np.argsort(draws)
    x = np.asarray(draws, float)[order]
    w = np.asarray(weights, float)[order]
    cum = np.concatenate([[0.0], np.cumsum(w / w.sum())])
    ends = np.searchsorted(cum, cum[:-1] + ci_prob - 1e-12, side="left") - 1
    starts = np.flatnonzero(ends < len(x))
    widths = x[ends[starts]] - x[starts]
    best = starts[int(np.argmin(widths))]
    return float(x[best]), float(x[ends[best]])


BOOTSTRAP = 100
"""Bootstrap replicates of the Monte Carlo error of a reweighted summary."""
MCSE_LIMIT = 0.1
"""A reweighted row whose Monte Carlo error exceeds this share of its posterior SD is not
trusted (the prior grid refits it)."""


def bootstrap_counts(n: int, *, replicates: int = BOOTSTRAP, seed: int) -> np.ndarray:
    """How often each of ``n`` draws is taken in each bootstrap replicate, ``(replicates, n)``:
    one resampling shared by every quantity of the same draws."""
    picks = np.random.default_rng(seed).integers(0, n, (replicates, n))
    picks += n * np.arange(replicates)[:, None]
    return np.bincount(picks.ravel(), minlength=replicates * n).reshape(replicates, n)


def _sorted_hdis(x: np.ndarray, weights: np.ndarray, ci_prob: float) -> tuple[np.ndarray,
                                                                              np.ndarray]:
    """HDI ends of sorted draws ``x`` under each row of ``weights`` (one search for all)."""
    rows, n = weights.shape
    cum = np.concatenate([np.zeros((rows, 1)), np.cumsum(weights, 1)], 1)
    cum /= cum[:, -1:]
    offset = 2.0 * np.arange(rows)[:, None]  # rows apart: one sorted array for every row
    targets = cum[:, :-1] + ci_prob - 1e-12
    ends = np.searchsorted((cum + offset).ravel(), (targets + offset).ravel(), side="left")
    ends = ends.reshape(rows, n) - (n + 1) * np.arange(rows)[:, None] - 1
    fits = (ends < n) & (targets <= 1.0)
    ends = np.minimum(ends, n - 1)
    best = np.argmin(np.where(fits, x[ends] - x[None, :], np.inf), 1)
    return x[best], x[ends[np.arange(rows), best]]


def weighted_mcse(draws: np.ndarray, weights: np.ndarray, *, counts: np.ndarray,
                  r_eff: float = 1.0, ci_prob: float = CI_PROB) -> dict:
    """Monte Carlo error of an importance-weighted summary (mean and HDI ends).

    The draws are resampled (``counts``, :func:`bootstrap_counts`) with their importance
    weights kept, the weighted mean and HDI recomputed per replicate, and each one's
    bootstrap SD divided by ``sqrt(r_eff)`` (the draws' relative efficiency, for
    autocorrelated MCMC draws). The HDI ends need the bootstrap: an end's error comes mostly
    from the sparse, heavily weighted tail at the *other* end, which a quantile's error
    formula misses (simulated: formula 0.013, actual 0.049; bootstrap 0.053). The
    weights' effective sample size is ``r_eff / sum(w^2)`` for normalised ``w``.

    Parameters
    ----------
    draws, weights : numpy.ndarray
        ``(S,)`` each.
    counts : numpy.ndarray
        ``(B, S)`` bootstrap counts.
    r_eff : float
        Relative efficiency of the unweighted draws (bulk ESS / S, capped at 1).
    ci_prob : float

    Returns
    -------
    dict
        ``ess``, ``mcse_mean``, ``mcse_hdi_low``, ``mcse_hdi_high``.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=4000)
    >>> out = weighted_mcse(x, np.ones(4000), counts=bootstrap_counts(4000, seed=1))
    >>> round(out["ess"]), bool(0.012 < out["mcse_mean"] < 0.02)
    (4000, True)
    """
    order = np.argsort(draws)
    x = np.asarray(draws, float)[order]
    w = np.asarray(weights, float)[order]
    w = w / w.sum()
    r_eff = float(min(max(r_eff, 1e-6), 1.0))
    resampled = w[None, :] * counts[:, order]
    means = resampled @ x / resampled.sum(1)
    low, high = _sorted_hdis(x, resampled, ci_prob)
    scale = 1.0 / np.sqrt(r_eff)
    return {"ess": float(r_eff / np.sum(w**2)), "mcse_mean": float(means.std(ddof=1) * scale),
            "mcse_hdi_low": float(low.std(ddof=1) * scale),
            "mcse_hdi_high": float(high.std(ddof=1) * scale)}


def relative_efficiency(draws: np.ndarray, *, chains: int) -> float:
    """Bulk ESS of flat draws (chains stacked first) over their number, at most 1."""
    x = np.asarray(draws, float).reshape(chains, -1)
    return float(min(ess_bulk(x) / x.size, 1.0))


def weighted_sd(draws: np.ndarray, weights: np.ndarray) -> float:
    """SD of weighted draws."""
    w = np.asarray(weights, float) / np.sum(weights)
    mean = np.sum(w * draws)
    return float(np.sqrt(np.sum(w * (draws - mean) ** 2)))


def summarize(draws: np.ndarray, *, rope: float, weights: np.ndarray | None = None) -> dict:
    """Mean, 95% HDI and HDI + ROPE decision of (optionally weighted) draws."""
    if weights is None:
        s = summarize_draws(draws)
        mean, low, high = s["mean"], s["hdi_low"], s["hdi_high"]
    else:
        mean = float(np.sum(weights * draws) / np.sum(weights))
        low, high = weighted_hdi(draws, weights)
    return {"mean": mean, "hdi_low": low, "hdi_high": high, "rope_half_width": rope,
            "decision": rope_decision(low, high, half_width=rope)}


def baseline_decisions(quantities: dict[str, Quantity],
                       given: Mapping[str, str] | None = None) -> dict[str, str]:
    """Quantity -> its baseline decision, for every main quantity of the baseline fit.

    ``given``'s decision where it has one (the suite passes its baseline rows'), else the HDI
    + ROPE decision of the baseline fit's own draws (``quantities``: :func:`main_quantities`
    of the baseline fit), which is what a baseline row would say: a caller's dict that
    predates a quantity (``change_difference``, ``d_difference``) still gets that quantity's
    rows and a true ``conclusion_changed``.

    Examples
    --------
    >>> q = {"x": Quantity("x", np.random.default_rng(0).normal(1.0, 0.1, 4000), "units", 0.1)}
    >>> baseline_decisions(q), baseline_decisions(q, {"x": "undecided"})
    ({'x': 'difference'}, {'x': 'undecided'})
    """
    given = given or {}
    return {name: given[name] if name in given else summarize(q.draws, rope=q.rope)["decision"]
            for name, q in quantities.items()}


def row(*, measure: str, analysis: str, setting: str, quantity: Quantity, summary: dict,
        baseline_decision: str, method: str, diagnostic: str, passed: bool,
        baseline: bool = False, note: str = "") -> dict:
    """One row of ``sensitivity.csv`` (see :data:`COLUMNS`)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got '{method}'")
    return {"measure": measure, "analysis": analysis, "setting": setting,
            "quantity": quantity.name, "units": quantity.units, **summary,
            "baseline_decision": baseline_decision,
            "conclusion_changed": summary["decision"] != baseline_decision,
            "method": method, "diagnostic": diagnostic, "passed": bool(passed),
            "baseline": baseline, "note": note, "interval": INTERVAL}


def baseline_rows(fit: GrowthFit, quantities: dict[str, Quantity], *,
                  seed: int = SEED) -> list[dict]:
    """The baseline analysis's rows: the fit as specified, with the Monte Carlo SE of each
    summary (:func:`weighted_mcse` with equal weights; ``ess``: the bulk ESS)."""
    d = fit.diagnostics
    chains = fit.idata.posterior.sizes["chain"] if fit.idata is not None else 1
    rows = []
    for q in quantities.values():
        counts = bootstrap_counts(len(q.draws), seed=seed_for(seed, fit.spec.name, "mcse"))
        s = summarize(q.draws, rope=q.rope)
        s |= weighted_mcse(q.draws, np.ones(len(q.draws)), counts=counts,
                           r_eff=relative_efficiency(q.draws, chains=chains))
        rows.append(row(measure=fit.spec.name, analysis="baseline", setting="as specified",
                        quantity=q, summary=s, baseline_decision=s["decision"],
                        method="baseline", diagnostic=gate_text(d), passed=d.passed,
                        baseline=True))
    return rows


def gate_text(diagnostics: Diagnostics) -> str:
    """The gate's verdict of a fit for the diagnostic column."""
    return "gate passed" if diagnostics.passed else f"gate FAILED: {diagnostics.reason}"
