"""Every ArviZ call of the package goes through this module.

A later move from ArviZ 0.23 (InferenceData) to ArviZ 1.x (DataTree) should touch this file only.
ArviZ is imported inside each function (it takes seconds), so ``import mbtbayes`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mbtbayes.core.defaults import CI_PROB

if TYPE_CHECKING:
    import pandas as pd
    from arviz import InferenceData
    from matplotlib.axes import Axes


def hdi(draws: np.ndarray, *, ci_prob: float = CI_PROB) -> tuple[float, float]:
    """Highest-density interval of a one-dimensional array of draws.

    Parameters
    ----------
    draws : numpy.ndarray
        Posterior draws, any shape; they are flattened.
    ci_prob : float, default 0.95
        Probability mass of the interval.

    Returns
    -------
    tuple of float
        Lower and upper bound.

    Examples
    --------
    >>> import numpy as np
    >>> lo, hi = hdi(np.random.default_rng(1).normal(size=4000))
    """
    import arviz as az

    low, high = az.hdi(np.asarray(draws, dtype=float).ravel(), hdi_prob=ci_prob)
    return float(low), float(high)


def hdi_columns(draws: np.ndarray, *, ci_prob: float = CI_PROB,
                chunk: int = 4096) -> np.ndarray:
    """Highest-density interval of each column of ``(S, n)`` draws, ``(n, 2)``: ArviZ's
    interval (the narrowest of the sorted draws' windows of ``floor(ci_prob S)`` steps, the
    first of equals), computed for all columns at once.

    Examples
    --------
    >>> import numpy as np
    >>> draws = np.random.default_rng(1).normal(size=(4000, 3))
    >>> bool(np.allclose(hdi_columns(draws)[1], hdi(draws[:, 1])))
    True
    """
    draws = np.asarray(draws, dtype=float)
    n = draws.shape[0]
    inc = int(np.floor(ci_prob * n))
    out = np.empty((draws.shape[1], 2))
    for start in range(0, draws.shape[1], chunk):
        part = np.sort(draws[:, start:start + chunk], axis=0)
        low = np.argmin(part[inc:] - part[:n - inc], axis=0)
        cols = np.arange(part.shape[1])
        out[start:start + chunk] = np.column_stack([part[low, cols], part[low + inc, cols]])
    return out


def relative_eff(loglik: np.ndarray) -> np.ndarray:
    """Relative MCMC efficiency of each unit's likelihood, as R's ``loo::relative_eff``.

    For each unit, the effective sample size of its likelihood draws ``exp(loglik)`` over the
    chains (Geyer's initial monotone sequence on the within-chain autocovariances, chains not
    split; Stan's and loo's ``ess_rfun``), divided by the number of draws. The likelihood is
    rescaled by its largest draw first (the ESS does not depend on the scale), so that very
    small likelihoods do not underflow.

    Parameters
    ----------
    loglik : numpy.ndarray
        Log-likelihood, ``(chains, draws, units)``.

    Returns
    -------
    numpy.ndarray
        ``r_eff`` per unit (``ESS / (chains x draws)``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> r = relative_eff(rng.normal(size=(4, 1000, 3)))  # independent draws: r_eff near 1
    >>> bool(np.all(np.abs(r - 1) < 0.15))
    True
    """
    loglik = np.asarray(loglik, float)
    units = loglik.shape[2]
    return np.concatenate([_relative_eff(loglik[:, :, start:start + UNITS_AT_ONCE])
                           for start in range(0, units, UNITS_AT_ONCE)] or [np.empty(0)])


UNITS_AT_ONCE = 1024
"""Units whose autocovariances are computed together (bounds the FFT's memory: a register of
18,500 patients at 4 x 500 draws needed 1.5 GB at once)."""


def _relative_eff(loglik: np.ndarray) -> np.ndarray:
    chains, n, units = loglik.shape
    x = np.exp(loglik - loglik.max(axis=(0, 1), keepdims=True))
    chain_mean = x.mean(axis=1)  # (C, U)
    size = 1 << int(np.ceil(np.log2(2 * n)))  # zero padding: no circular wrap-around
    spectrum = np.fft.rfft(x - chain_mean[:, None], n=size, axis=1)
    acov = np.fft.irfft(spectrum * np.conj(spectrum), n=size, axis=1)[:, :n] / n  # (C, n, U)
    mean_var = acov[:, 0].mean(0) * n / (n - 1)
    var_plus = mean_var * (n - 1) / n
    if chains > 1:
        var_plus = var_plus + chain_mean.var(axis=0, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = 1 - (mean_var[None] - acov.mean(0)) / var_plus[None]  # (n, U)
    ess = np.array([_ess_geyer(rho[:, u], chains * n) for u in range(units)])
    return ess / (chains * n)


def ess_bulk(draws: np.ndarray) -> float:
    """Bulk effective sample size of one quantity's draws, ``(chains, draws)``."""
    import arviz as az

    return float(az.ess(np.asarray(draws, float), method="bulk"))


def _ess_geyer(rho: np.ndarray, total: int) -> float:
    """ESS from autocorrelations by Geyer's initial positive and monotone sequences (as
    ``loo:::ess_rfun`` and Stan)."""
    n = len(rho)
    if not np.isfinite(rho[1]):  # a constant likelihood: nothing to correct
        return float(total)
    rho_t = np.zeros(n)
    rho_t[0], rho_t[1] = 1.0, rho[1]
    t, even, odd = 0, 1.0, rho[1]
    while t < n - 5 and np.isfinite(even + odd) and even + odd > 0:
        t += 2
        even, odd = rho[t], rho[t + 1]
        if even + odd >= 0:
            rho_t[t], rho_t[t + 1] = even, odd
    max_t = t
    if even > 0:
        rho_t[max_t] = even
    t = 0
    while t <= max_t - 4:
        t += 2
        if rho_t[t] + rho_t[t + 1] > rho_t[t - 2] + rho_t[t - 1]:
            rho_t[t] = rho_t[t + 1] = (rho_t[t - 2] + rho_t[t - 1]) / 2
    tau = max(-1 + 2 * rho_t[:max(max_t, 1)].sum() + rho_t[max_t], 1 / np.log10(total))
    return total / tau


def psis_loo(loglik: np.ndarray) -> tuple[float, float, float, np.ndarray, np.ndarray]:
    """PSIS-LOO from a log-likelihood array of shape (chains, draws, units).

    Each unit's Pareto-smoothed importance weights use its own relative efficiency
    (:func:`relative_eff`, from the real draws and chains), which sets the length of the
    smoothed tail (``ceil(min(S / 5, 3 sqrt(S / r_eff)))``), as R's ``loo`` does; ArviZ's
    ``psislw`` smooths. The standard error is ``sqrt(n var(elpd_i))`` with the sample
    variance, as in ``loo``.

    Returns
    -------
    tuple
        ``(elpd, se, p_loo, pointwise_elpd, pareto_k)``.
    """
    loglik = np.asarray(loglik, float)
    parts = [_psis_loo_units(loglik[:, :, start:start + UNITS_AT_ONCE])
             for start in range(0, loglik.shape[2], UNITS_AT_ONCE)]  # bounded memory
    pointwise, lppd, k = (np.concatenate(a) for a in zip(*parts, strict=True))
    se = float(np.sqrt(len(pointwise) * pointwise.var(ddof=1)))
    return float(pointwise.sum()), se, float((lppd - pointwise).sum()), pointwise, k


def _psis_loo_units(loglik: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pointwise PSIS-LOO elpd, log pointwise predictive density and Pareto k of some units."""
    from scipy.special import logsumexp

    draws = loglik.shape[0] * loglik.shape[1]
    flat = loglik.reshape(draws, -1).T  # (units, S)
    weights, k = psis_log_weights(loglik)
    return (logsumexp(weights + flat, axis=1), logsumexp(flat, axis=1) - np.log(draws), k)


def psis_log_weights(loglik: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pareto-smoothed leave-one-unit-out importance weights from a log-likelihood array.

    The importance ratio of draw s for unit i is ``1 / p(y_i | theta_s)``; each unit's tail is
    smoothed with its own relative efficiency (:func:`relative_eff`), as in :func:`psis_loo`
    (which uses these weights).

    Parameters
    ----------
    loglik : numpy.ndarray
        Log-likelihood per chain, draw and unit, ``(chains, draws, units)``.

    Returns
    -------
    tuple
        ``(log_weights, pareto_k)``: normalised log weights ``(units, chains x draws)`` (each
        row's weights sum to 1; draws in chain-major order) and the Pareto k of each unit.

    Examples
    --------
    >>> w, k = psis_log_weights(np.zeros((2, 500, 3)))
    >>> np.allclose(np.exp(w).sum(axis=1), 1.0)
    True
    """
    import warnings

    import arviz as az

    loglik = np.asarray(loglik, float)
    draws = loglik.shape[0] * loglik.shape[1]
    flat = loglik.reshape(draws, -1).T  # (units, S)
    r_eff = relative_eff(loglik)
    tail = np.ceil(np.minimum(draws / 5, 3 * np.sqrt(draws / r_eff)))
    weights, k = np.empty_like(flat), np.empty(len(flat))
    for length in np.unique(tail):  # one call per tail length: the only use of r_eff
        rows = np.flatnonzero(tail == length)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the caller reports Pareto k itself
            weights[rows], k[rows] = az.psislw(-flat[rows], reff=float(r_eff[rows[0]]))
    return weights, k


def plot_ppc(idata: InferenceData, *, var_name: str, ax: Axes, num_pp_samples: int = 50,
             kind: str = "kde", seed: int = 0) -> None:
    """``az.plot_ppc`` of one variable onto a matplotlib Axes: the observed data's density
    over the densities of ``num_pp_samples`` posterior predictive draws (and their mean).

    Parameters
    ----------
    idata : arviz.InferenceData
        With ``observed_data`` and ``posterior_predictive`` groups.
    var_name : str
    ax : matplotlib.axes.Axes
    num_pp_samples : int
    kind : {"kde", "cumulative", "scatter"}
    seed : int
        Which predictive draws are shown.
    """
    import warnings

    import arviz as az

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        az.plot_ppc(idata, var_names=[var_name], kind=kind, num_pp_samples=num_pp_samples,
                    random_seed=seed, ax=ax, legend=False, show=False)


def plot_rank(posterior: object, *, axes: object, kind: str = "vlines") -> None:
    """``az.plot_rank`` of every variable (and coordinate) of a posterior onto given axes: the
    ranks of each chain's draws among all chains' draws, per chain; well-mixed chains give
    flat, overlapping rank histograms (Vehtari et al. 2021).

    Parameters
    ----------
    posterior : xarray.Dataset or arviz.InferenceData
        Draws with ``chain`` and ``draw`` dimensions.
    axes : array of matplotlib.axes.Axes
        One per variable and coordinate (in the order ArviZ flattens them); extra axes are
        left empty.
    kind : {"vlines", "bars"}
    """
    import warnings

    import arviz as az

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        az.plot_rank(posterior, kind=kind, ax=axes, show=False)


def summary(idata: InferenceData, *, var_names: list[str],
            ci_prob: float = CI_PROB) -> pd.DataFrame:
    """Posterior summary with full precision: mean, sd, HDI bounds, R-hat, bulk and tail ESS.

    Returns
    -------
    pandas.DataFrame
        Index: parameter (``name[level]``); columns ``mean, sd, hdi_low, hdi_high, r_hat,
        ess_bulk, ess_tail``.
    """
    import arviz as az

    table = az.summary(idata, var_names=var_names, hdi_prob=ci_prob, round_to="none")
    lo, hi = (c for c in table.columns if c.startswith("hdi_"))
    table = table.rename(columns={lo: "hdi_low", hi: "hdi_high"})
    return table[["mean", "sd", "hdi_low", "hdi_high", "r_hat", "ess_bulk", "ess_tail"]]


def convergence(
    idata: InferenceData, *, var_names: list[str]
) -> tuple[float, float, float, int]:
    """Worst-case diagnostics over the named parameters.

    Returns
    -------
    tuple
        ``(max_r_hat, min_ess_bulk, min_ess_tail, divergences)``.
    """
    import arviz as az

    r_hat = az.rhat(idata, var_names=var_names)
    bulk = az.ess(idata, var_names=var_names, method="bulk")
    tail = az.ess(idata, var_names=var_names, method="tail")
    stats = idata.sample_stats
    name = "diverging" if "diverging" in stats else None
    divergences = int(stats[name].values.sum()) if name else 0
    return (float(r_hat.to_array().max()), float(bulk.to_array().min()),
            float(tail.to_array().min()), divergences)


LARGE = 100_000
"""Arrays with more elements than this are written in single precision (patient effects,
log-likelihood, predictive draws): halves the files, far below Monte Carlo error."""


def add_groups(idata: InferenceData, groups: dict) -> None:
    """Add (or replace) groups of an InferenceData, each an ``xarray.Dataset``."""
    for name, dataset in groups.items():
        if name in idata.groups():
            setattr(idata, name, dataset)
        else:
            idata.add_groups({name: dataset})


def save_inference(idata: InferenceData, path: str | Path, *, max_draws: int | None = None) -> None:
    """Write an InferenceData to netCDF (h5netcdf), without warm-up groups, large float arrays
    in single precision; ``az.from_netcdf`` reads it back.

    Parameters
    ----------
    idata : arviz.InferenceData
    path : path
    max_draws : int, optional
        Keep at most this many draws in all (evenly thinned within each chain, the same draws
        in every group), to keep files small.
    """
    import arviz as az

    step = 1
    if max_draws is not None and "posterior" in idata.groups():
        sizes = idata.posterior.sizes
        step = max(1, -(-sizes["chain"] * sizes["draw"] // max_draws))
    groups = {}
    for name in idata.groups():
        if name.startswith("warmup"):
            continue
        dataset = idata[name]
        if step > 1 and "draw" in dataset.dims:
            dataset = dataset.isel(draw=slice(None, None, step))
        small = {k: v.astype("float32") for k, v in dataset.data_vars.items()
                 if v.dtype == "float64" and v.size > LARGE}
        groups[name] = dataset.assign(small)
    az.InferenceData(**groups).to_netcdf(str(path))


def psis_weights(log_ratios: np.ndarray) -> tuple[np.ndarray, float]:
    """Pareto-smoothed importance weights of draws from log importance ratios.

    Parameters
    ----------
    log_ratios : numpy.ndarray
        One log ratio (target over proposal density, up to a constant) per draw, ``(S,)``.

    Returns
    -------
    tuple
        ``(weights, k)``: normalised weights summing to 1 and the Pareto shape k (> 0.7: the
        reweighted estimate is unreliable; 0 when every ratio is equal, the weights exact).

    Examples
    --------
    >>> w, k = psis_weights(np.zeros(1000))
    >>> round(float(w.sum()), 6), round(float(w.max() * 1000), 6)
    (1.0, 1.0)
    """
    import warnings

    import arviz as az

    ratios = np.asarray(log_ratios, dtype=float).ravel()
    if np.ptp(ratios) == 0:  # equal weights are exact (ArviZ would fit no tail: k = inf)
        return np.full(ratios.size, 1.0 / ratios.size), 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the caller reports k itself
        log_w, k = az.psislw(ratios - ratios.max())
    weights = np.exp(np.asarray(log_w) - np.max(log_w))
    return weights / weights.sum(), float(k)


def power_scaling(*, quantities: dict[str, np.ndarray], log_prior: dict[str, np.ndarray],
                  log_likelihood: np.ndarray, prior_group: str,
                  threshold: float = 0.05) -> pd.DataFrame:
    """Power-scaling sensitivity (Kallioinen et al. 2024) of some quantities to one group of
    priors and to the likelihood, with priorsense's diagnosis.

    Parameters
    ----------
    quantities : dict of str to (chains, draws) arrays
    log_prior : dict of str to (chains, draws) arrays
        Log prior density per draw of each group of priors.
    log_likelihood : (chains, draws, units) array
    prior_group : str
        The key of ``log_prior`` that is power-scaled (the others are left alone).
    threshold : float

    Returns
    -------
    pandas.DataFrame
        Index: quantity; columns ``prior``, ``likelihood`` (cumulative Jensen-Shannon
        distance per unit change of the power, alphas 0.99 and 1.01) and ``diagnosis``.
    """
    import logging
    import warnings

    import arviz as az
    import arviz_stats
    import xarray as xr

    idata = az.from_dict(posterior=quantities, log_likelihood={"y": np.asarray(log_likelihood)})
    idata.add_groups({"log_prior": {k: xr.DataArray(np.asarray(v), dims=("chain", "draw"))
                                    for k, v in log_prior.items()}})
    logger = logging.getLogger("arviz_stats")
    level = logger.level
    logger.setLevel(logging.ERROR)  # the caller reports the diagnosis itself
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return arviz_stats.psense_summary(idata, var_names=list(quantities),
                                              threshold=threshold,
                                              prior_var_names=[prior_group], round_to=6)
    finally:
        logger.setLevel(level)


def write_exact(idata: InferenceData, path: str | Path) -> None:
    """Write every group of an InferenceData to netCDF at full precision (the fit cache)."""
    import arviz as az

    az.InferenceData(**{name: idata[name] for name in idata.groups()}).to_netcdf(str(path))


def read_exact(path: str | Path) -> InferenceData:
    """Read an InferenceData written by :func:`write_exact`, loaded into memory (the file is
    closed on return)."""
    import arviz as az

    idata = az.from_netcdf(str(path))
    loaded = {name: idata[name].load() for name in idata.groups()}
    for name in idata.groups():
        idata[name].close()
    return az.InferenceData(**loaded)


def stacking(pointwise: dict[str, np.ndarray], *, pareto_k: dict[str, np.ndarray] | None = None,
             good_k: float = 0.7) -> dict[str, float]:
    """LOO stacking weights of models (Yao et al. 2018) by ``az.compare(method="stacking")``.

    The weights maximise ``sum_i log sum_k w_k exp(elpd_ik)`` over the simplex. Each model's
    pointwise ELPDs (the same units, in the same order, for every model) are handed to ArviZ
    as a precomputed ``ELPDData``; each unit's values are first shifted by their largest
    value across models, which leaves the weights unchanged (the objective moves by a
    constant) and keeps ``exp`` from underflowing where a unit's ELPD is very negative.

    Parameters
    ----------
    pointwise : dict of str to numpy.ndarray
        Model name -> pointwise ELPD ``(units,)``.
    pareto_k : dict of str to numpy.ndarray, optional
        Model name -> Pareto k per unit (ArviZ's ``warning``; it does not change the weights).
    good_k : float

    Returns
    -------
    dict of str to float
        Model name -> weight (the weights sum to 1; the optimiser's rounding below 0 is
        clipped), in the order of ``pointwise``.

    Examples
    --------
    >>> w = stacking({"a": np.array([-1.0, -2.0]), "b": np.array([-9.0, -9.0])})
    >>> round(w["a"], 3), round(w["b"], 3)
    (1.0, 0.0)
    """
    import warnings

    import arviz as az
    import xarray as xr
    from arviz.stats.stats_utils import ELPDData

    names = list(pointwise)
    values = np.stack([np.asarray(pointwise[n], float) for n in names])  # (models, units)
    values = values - values.max(axis=0, keepdims=True)
    elpds = {}
    for name, v in zip(names, values, strict=True):
        k = np.zeros_like(v) if pareto_k is None else np.asarray(pareto_k[name], float)
        elpds[name] = ELPDData(
            data=[float(v.sum()), float(np.sqrt(v.size * v.var())), 0.0, 0, v.size,
                  bool(np.any(k > good_k)), xr.DataArray(v, dims="unit"),
                  xr.DataArray(k, dims="unit"), "log", good_k],
            index=["elpd_loo", "se", "p_loo", "n_samples", "n_data_points", "warning",
                   "loo_i", "pareto_k", "scale", "good_k"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the caller reports Pareto k itself
        table = az.compare(elpds, ic="loo", method="stacking", scale="log")
    weights = np.clip(table.loc[names, "weight"].to_numpy(float), 0.0, None)  # SLSQP: ~-1e-17
    return dict(zip(names, (weights / weights.sum()).tolist(), strict=True))
