"""The Bayes factor of the period terms: Savage-Dickey on the period model's posterior.

The period model is the linear model plus its period terms (``period`` and ``months:period``
in the bundled specs), whose priors are independent Normals. The priors of the other
parameters are keyed by term and are the same in both models, so the linear model is the
period model with the period terms set to 0, and the Bayes factor of the period model against
the linear model is the Savage-Dickey density ratio (Dickey 1971; Wagenmakers et al. 2010,
*Cognitive Psychology* 60:158-189):

    BF10 = p(y | period) / p(y | linear) = p(beta_P = 0) / p(beta_P = 0 | y, period),

the joint prior density of the period coefficients at 0 over their joint posterior density
at 0. The posterior density at 0 is computed

- for the marginal engine (Gaussian, patient effects integrated out) **exactly given the
  variance components** (Rao-Blackwellised): given the patient SDs, the correlation and the
  residual SD, the fixed effects are conjugate (a Normal prior and a Gaussian marginal
  likelihood), so ``beta | theta, y`` is normal with known moments, and the density at 0 is
  the average of that normal density over the posterior draws of ``theta`` (``density_method
  = "rao_blackwell"``);
- for other fits (the Bambi engine) by a **multivariate normal approximation** of the draws
  of the period coefficients (``density_method = "normal_approximation"``).

A Bayes factor depends on the width of the prior of the terms it tests. The table gives it
with the period terms' prior SDs multiplied by 0.5, 1 and 2 (:data:`PRIOR_SCALES`), from the
same draws: the exact route reweights the draws of ``theta`` by ``p_c(y | theta) /
p_1(y | theta)`` (Gaussian integrals, exact) and recomputes the conditional normal under the
new prior; the normal approximation divides out the spec's prior and multiplies in the new
one. The decision rule (:func:`bf_decision`) reads BF10 > 3 as favouring the period model and
BF10 < 1/3 as favouring the linear model (Jeffreys 1961, *Theory of Probability*, Appendix B:
"substantial" evidence from 10^(1/2); Kass & Raftery 1995, *JASA* 90:773-795, section 3.2:
"positive" evidence from 3), and anything in between as inconclusive.

Examples
--------
>>> round(float(normal_log_density(np.zeros(1), np.array([1.0]), np.array([[4.0]]))), 4)
-1.7371
>>> bf_decision(5.0), bf_decision(0.2), bf_decision(1.5)
('period', 'linear', 'inconclusive')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from mbtbayes.core.errors import SpecError
from mbtbayes.growth.design import Design
from mbtbayes.growth.loo import patient_sums
from mbtbayes.growth.modelspec import ModelSpec
from mbtbayes.growth.result import GrowthFit

PRIOR_SCALES: tuple[float, ...] = (0.5, 1.0, 2.0)
"""Multipliers of the period terms' prior SDs at which the Bayes factor is shown."""
BF_THRESHOLD = 3.0
"""BF10 above this favours the period model, below its inverse the linear model."""
PERIOD_FAVOURED, LINEAR_FAVOURED, INCONCLUSIVE = "period", "linear", "inconclusive"
"""Decisions of the Bayes factor."""
RULE = (f"BF10 = p(y | period model) / p(y | linear model) by Savage-Dickey: > {BF_THRESHOLD:g} "
        f"favours the period model, < 1/{BF_THRESHOLD:g} the linear model, else inconclusive "
        "(Jeffreys 1961 Appendix B; Kass & Raftery 1995 section 3.2)")
"""The decision rule, as the tables state it."""
BATCHES_PER_CHAIN = 10
"""Batches per chain for the batch-means Monte Carlo SE of log BF10."""


def bf_decision(bf10: float, *, threshold: float = BF_THRESHOLD) -> str:
    """The decision of a Bayes factor BF10 (period vs linear model).

    Examples
    --------
    >>> bf_decision(3.0), bf_decision(1 / 3), bf_decision(float("nan"))
    ('inconclusive', 'inconclusive', '')
    """
    if not np.isfinite(bf10):
        return ""
    return (PERIOD_FAVOURED if bf10 > threshold else LINEAR_FAVOURED if bf10 < 1 / threshold
            else INCONCLUSIVE)


def normal_log_density(x: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Log density of multivariate normals at ``x``, batched over leading axes.

    Parameters
    ----------
    x : (k,) array
    mean : (..., k) array
    cov : (..., k, k) array

    Returns
    -------
    array of shape ``mean.shape[:-1]``
    """
    diff = np.asarray(x, float) - np.asarray(mean, float)
    chol = np.linalg.cholesky(cov)
    z = np.linalg.solve(chol, diff[..., None])[..., 0]
    logdet = 2 * np.log(np.diagonal(chol, axis1=-2, axis2=-1)).sum(-1)
    return -0.5 * (diff.shape[-1] * np.log(2 * np.pi) + logdet + (z**2).sum(-1))


@dataclass(frozen=True)
class NormalPrior:
    """Independent Normal priors of the fixed effects, and which of them are tested.

    Attributes
    ----------
    mu, sd : (p,) arrays
        Prior mean and SD of every fixed-effect column.
    tested : (k,) int array
        Columns of the period terms (set to 0 by the simpler model).
    """

    mu: np.ndarray
    sd: np.ndarray
    tested: np.ndarray

    def scaled(self, scale: float) -> np.ndarray:
        """The prior SDs with the tested columns' SDs multiplied by ``scale``."""
        sd = np.array(self.sd, float)
        sd[self.tested] *= scale
        return sd

    def log_density_at_zero(self, scale: float = 1.0) -> float:
        """Joint prior log density of the tested coefficients at 0."""
        mu, sd = self.mu[self.tested], self.scaled(scale)[self.tested]
        return float(np.sum(-0.5 * np.log(2 * np.pi * sd**2) - 0.5 * (mu / sd) ** 2))


# ---------------------------------------------------------------- exact given theta


def conditional_moments(stats: dict, *, sd_intercept: np.ndarray, sd_slope: np.ndarray,
                        sigma: np.ndarray,
                        corr: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``X'V^-1 X`` and ``X'V^-1 y`` per draw of the variance components.

    ``V_i = sigma^2 I + Z_i G Z_i'`` is patient i's marginal covariance (``Z_i = [1, t]``);
    with ``M_i = sigma^2 I + Z_i'Z_i G``, ``V_i^-1 = (I - Z_i G M_i^-1 Z_i') / sigma^2`` (push-
    through identity), so only 2 x 2 algebra per patient is needed.

    Parameters
    ----------
    stats : dict
        :func:`mbtbayes.growth.loo.patient_sums` of the data.
    sd_intercept, sd_slope, sigma : (S,) arrays
    corr : (S,) array, optional

    Returns
    -------
    A : (S, p, p) array
    b : (S, p) array
    """
    corr = np.zeros_like(sigma) if corr is None else corr
    g = {(0, 0): sd_intercept**2, (1, 1): sd_slope**2, (0, 1): corr * sd_intercept * sd_slope}
    g[(1, 0)] = g[(0, 1)]
    a = {(i, j): stats["ZZ"][None, :, i, j] for i in (0, 1) for j in (0, 1)}
    s2 = sigma[:, None] ** 2
    # M = s2 I + A G and W = G M^-1, entry by entry: (S, n) arrays
    m = {(i, j): s2 * (i == j) + sum(a[(i, k)] * g[(k, j)][:, None] for k in (0, 1))
         for i in (0, 1) for j in (0, 1)}
    det = m[(0, 0)] * m[(1, 1)] - m[(0, 1)] * m[(1, 0)]
    inv = {(0, 0): m[(1, 1)] / det, (1, 1): m[(0, 0)] / det, (0, 1): -m[(0, 1)] / det,
           (1, 0): -m[(1, 0)] / det}
    p = stats["XX"].shape[-1]
    A = np.repeat(stats["XX"].sum(0)[None], len(sigma), axis=0)
    b = np.repeat(stats["Xy"].sum(0)[None], len(sigma), axis=0)
    for i in (0, 1):
        for j in (0, 1):
            w = sum(g[(i, k)][:, None] * inv[(k, j)] for k in (0, 1))
            zxzx = stats["ZX"][:, i, :, None] * stats["ZX"][:, j, None, :]
            # einsum, not BLAS: these products are small and BLAS threads only contend here
            A -= np.einsum("sn,nk->sk", w, zxzx.reshape(len(zxzx), -1)).reshape(-1, p, p)
            b -= np.einsum("sn,nk->sk", w, stats["ZX"][:, i, :] * stats["Zy"][:, j, None])
    return A / s2[:, :, None], b / s2


def _posterior_given_theta(A: np.ndarray, b: np.ndarray, prior: NormalPrior,
                           scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Log density at 0 of the tested coefficients given theta, and ``log p_c(y | theta)`` up
    to a term that does not depend on the prior."""
    precision = 1.0 / prior.scaled(scale) ** 2
    P = A + np.einsum("p,pq->pq", precision, np.eye(len(precision)))[None]
    r = b + (precision * prior.mu)[None]
    mean = np.linalg.solve(P, r[..., None])[..., 0]
    cov = np.linalg.inv(P)
    t = prior.tested
    log_density = normal_log_density(np.zeros(len(t)), mean[:, t], cov[:, t][:, :, t])
    _, logdet_p = np.linalg.slogdet(P)
    log_evidence = 0.5 * (np.log(precision).sum() - logdet_p
                          - prior.mu @ (precision * prior.mu) + np.einsum("sp,sp->s", r, mean))
    return log_density, log_evidence


def rao_blackwell_log_density(stats: dict, theta: dict, prior: NormalPrior, *,
                              scales: Sequence[float] = PRIOR_SCALES, chunk: int = 1000) -> dict:
    """Per draw: the log posterior density at 0 of the tested coefficients given theta, and
    the log importance weight of each prior scale (0 at the spec's scale 1).

    Returns
    -------
    dict
        scale -> ``(log_density (S,), log_weight (S,))``.
    """
    n = len(theta["sigma"])
    out = {c: (np.empty(n), np.empty(n)) for c in scales}
    for start in range(0, n, chunk):
        part = slice(start, min(n, start + chunk))
        A, b = conditional_moments(stats, **{k: (v[part] if v is not None else None)
                                             for k, v in theta.items()})
        _, base = _posterior_given_theta(A, b, prior, 1.0)
        for c in scales:
            dens, evidence = _posterior_given_theta(A, b, prior, c)
            out[c][0][part], out[c][1][part] = dens, evidence - base
    return out


# ---------------------------------------------------------------- normal approximation


def normal_approximation_log_density(draws: np.ndarray, prior: NormalPrior, *,
                                     scale: float = 1.0) -> float:
    """Log posterior density at 0 of the tested coefficients from a multivariate normal fitted
    to their draws; at another prior scale, the implied Gaussian likelihood (posterior over
    prior) times the rescaled prior.

    Parameters
    ----------
    draws : (S, k) array
        Draws of the tested coefficients.

    Returns
    -------
    float
        NaN when the draws are wider than the prior in some direction (no Gaussian likelihood
        is implied) at a scale other than 1.
    """
    mean, cov = draws.mean(0), np.atleast_2d(np.cov(draws, rowvar=False))
    if scale != 1.0:
        t = prior.tested
        mu, old, new = prior.mu[t], 1 / prior.sd[t] ** 2, 1 / prior.scaled(scale)[t] ** 2
        post_prec = np.linalg.inv(cov)
        like_prec = post_prec - np.diag(old)
        if np.any(np.linalg.eigvalsh(like_prec) <= 0):
            return float("nan")
        new_prec = like_prec + np.diag(new)
        rhs = post_prec @ mean - old * mu + new * mu
        cov = np.linalg.inv(new_prec)
        mean = cov @ rhs
    return float(normal_log_density(np.zeros(len(mean)), mean, cov))


# ---------------------------------------------------------------- per fit


def period_columns(spec: ModelSpec, design: Design) -> np.ndarray:
    """Columns of the design whose term involves the period (``period``, ``months:period``).

    Raises
    ------
    SpecError
        When the design has no period term.
    """
    tested = [i for i, term in enumerate(design.terms) if spec.period in term.split(":")]
    if not tested:
        raise SpecError(f"{spec.name}: the design has no term of {spec.period} to test")
    return np.array(tested)


def normal_prior(spec: ModelSpec, design: Design) -> NormalPrior:
    """The fixed effects' independent Normal priors as the fit used them.

    Raises
    ------
    SpecError
        When a tested term's prior is not Normal (Savage-Dickey here needs its density).
    """
    mus, sds = [], []
    for term in design.terms:
        prior = design.priors[term]
        if prior.get("dist") != "Normal" or isinstance(prior.get("sigma"), dict):
            raise SpecError(f"{spec.name}: the prior of {term} is not a Normal with a fixed SD "
                            f"({prior}); the Bayes factor here needs one")
        mus.append(float(prior.get("mu", 0.0)))
        sds.append(float(prior["sigma"]))
    return NormalPrior(np.array(mus), np.array(sds), period_columns(spec, design))


def _log_mean(log_values: np.ndarray, log_weights: np.ndarray) -> float:
    return float(logsumexp(log_values + log_weights) - logsumexp(log_weights))


def _batches(n_draws: int, n_chains: int) -> list[np.ndarray]:
    """Consecutive batches for batch means: :data:`BATCHES_PER_CHAIN` per chain, at least 10
    draws each (none when fewer than 2 such batches fit)."""
    n_batches = min(n_chains * BATCHES_PER_CHAIN, n_draws // 10)
    return np.array_split(np.arange(n_draws), n_batches) if n_batches >= 2 else []


def _batch_se(estimates: list[float]) -> float:
    """Batch-means Monte Carlo SE of an estimate from its value on each batch."""
    if len(estimates) < 2:
        return float("nan")
    return float(np.std(estimates, ddof=1) / np.sqrt(len(estimates)))


def _kish_ess(log_weights: np.ndarray) -> float:
    w = np.exp(log_weights - log_weights.max())
    return float(w.sum() ** 2 / (w**2).sum())


def _exact_rows(fit: GrowthFit, prior: NormalPrior, scales: Sequence[float]) -> list[dict]:
    design = fit.design
    stats = patient_sums(design.y, design.X, design.time, design.group, len(design.groups))
    theta = {k: fit.draws(k) for k in ("sd_intercept", "sd_slope", "sigma")}
    theta["corr"] = fit.draws("corr") if "corr" in fit.params else None
    chains = int(fit.idata.posterior.sizes["chain"])
    rows = []
    for c, (log_density, log_weight) in rao_blackwell_log_density(
            stats, theta, prior, scales=scales).items():
        rows.append({"prior_scale": c, "log_posterior_density_0": _log_mean(log_density,
                                                                            log_weight),
                     "log_bf10_mcse": _batch_se([
                         _log_mean(log_density[b], log_weight[b])
                         for b in _batches(len(log_density), chains)]),
                     "weights_ess": _kish_ess(log_weight), "draws": len(log_density),
                     "density_method": "rao_blackwell"})
    return rows


def _approximate_rows(fit: GrowthFit, prior: NormalPrior, scales: Sequence[float]) -> list[dict]:
    draws = fit.beta().to_numpy()[:, prior.tested]
    chains = int(fit.idata.posterior.sizes["chain"])
    batches = _batches(len(draws), chains)
    rows = []
    for c in scales:
        rows.append({"prior_scale": c,
                     "log_posterior_density_0": normal_approximation_log_density(
                         draws, prior, scale=c),
                     "log_bf10_mcse": _batch_se([normal_approximation_log_density(
                         draws[b], prior, scale=c) for b in batches]),
                     "weights_ess": np.nan, "draws": len(draws),
                     "density_method": "normal_approximation"})
    return rows


COLUMNS = ("measure", "comparison", "terms", "prior_scale", "prior_sd", "log_prior_density_0",
           "log_posterior_density_0", "log_bf10", "log_bf10_mcse", "bf10", "decision",
           "density_method", "weights_ess", "draws", "decision_rule", "passed", "reason")
"""Columns of :func:`bayes_factor_table`."""


def bayes_factors(fit: GrowthFit, *, scales: Sequence[float] = PRIOR_SCALES) -> pd.DataFrame:
    """The Bayes factor of a period fit's period terms at each prior scale.

    Parameters
    ----------
    fit : mbtbayes.growth.result.GrowthFit
        A period-model fit.
    scales : sequence of float
        Multipliers of the period terms' prior SDs.

    Returns
    -------
    pandas.DataFrame
        One row per scale, columns :data:`COLUMNS`: ``log_bf10`` (natural log) with its
        batch-means Monte Carlo SE, ``bf10``, ``decision`` (:func:`bf_decision`),
        ``density_method``, ``weights_ess`` (Kish ESS of the importance weights of a rescaled
        prior; the number of draws at scale 1) and the fit's ``passed``.

    Examples
    --------
    >>> import mbtbayes as mb
    >>> fit = mb.fit_growth(mb.load_specs()["bsi"], mb.load_register().data,  # doctest: +SKIP
    ...                     variant="period")
    >>> bayes_factors(fit)[["prior_scale", "bf10", "decision"]]  # doctest: +SKIP
    """
    spec, design = fit.spec, fit.design
    base = {"measure": spec.name, "comparison": "period vs linear model",
            "decision_rule": RULE, "passed": bool(fit.diagnostics.passed),
            "reason": fit.diagnostics.reason or ""}
    try:
        prior = normal_prior(spec, design)
    except SpecError as error:
        return pd.DataFrame([base | {"reason": f"Bayes factor not computed: {error}"}],
                            columns=list(COLUMNS))
    exact = fit.engine == "marginal"
    rows = (_exact_rows if exact else _approximate_rows)(fit, prior, scales)
    terms = ", ".join(design.columns[i] for i in prior.tested)
    out = []
    for row in rows:
        c = row["prior_scale"]
        log_prior = prior.log_density_at_zero(c)
        log_bf = log_prior - row["log_posterior_density_0"]
        out.append(base | row | {
            "terms": terms, "prior_sd": ", ".join(f"{s:.4g}" for s in
                                                   prior.scaled(c)[prior.tested]),
            "log_prior_density_0": log_prior, "log_bf10": log_bf, "bf10": float(np.exp(log_bf)),
            "decision": bf_decision(float(np.exp(log_bf)))})
        if not np.isfinite(log_bf):
            out[-1]["reason"] = "; ".join(x for x in (
                base["reason"], f"no Gaussian likelihood implied at prior scale {c:g} (the "
                "draws are wider than the prior)") if x)
    return pd.DataFrame(out, columns=list(COLUMNS))


def unlike_linear(period: GrowthFit, linear: GrowthFit | None) -> str:
    """Why Savage-Dickey on ``period`` is not the Bayes factor against the fitted ``linear``
    model ("" when it is): the linear model must be the period model with the period terms at
    0, i.e. the same rows and the same priors of every shared parameter.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> d = NS(y=[1.0, 2.0], terms=("Intercept",), priors={"Intercept": {"sigma": 1}})
    >>> unlike_linear(NS(design=d), NS(design=d))
    ''
    """
    p, lin = period.design, linear.design
    if len(p.y) != len(lin.y):
        return f"the linear fit uses {len(lin.y)} rows, the period fit {len(p.y)}"
    differ = [k for k, v in lin.priors.items() if p.priors.get(k) != v]
    return (f"the linear model's prior of {', '.join(differ)} differs from the period model's"
            if differ else "")


def bayes_factor_table(fits: list[GrowthFit], *,
                       scales: Sequence[float] = PRIOR_SCALES) -> pd.DataFrame:
    """:func:`bayes_factors` of every period fit: one row per measure x prior scale.

    Where the same spec's linear fit is among ``fits`` and is not the period model with the
    period terms at 0 (:func:`unlike_linear`), the rows say so in ``reason``.
    """
    linear = {f.spec.name: f for f in fits if f.variant == "linear"}
    parts = []
    for fit in (f for f in fits if f.variant == "period"):
        table = bayes_factors(fit, scales=scales)
        why = unlike_linear(fit, linear[fit.spec.name]) if fit.spec.name in linear else ""
        if why:
            table["reason"] = [f"{r}; {why}" if r else why for r in table["reason"]]
        parts.append(table)
    return (pd.concat(parts, ignore_index=True) if parts
            else pd.DataFrame(columns=list(COLUMNS)))
