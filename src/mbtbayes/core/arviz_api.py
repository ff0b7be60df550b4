"""Every ArviZ call of the package goes through this module.

A later move from ArviZ 0.23 (InferenceData) to ArviZ 1.x (DataTree) should touch this file only.
ArviZ is imported inside each function (it takes seconds), so ``import mbtbayes`` stays fast.
"""

from __future__ import annotations

import numpy as np

from mbtbayes.core.defaults import CI_PROB


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


def psis_loo(loglik: np.ndarray) -> tuple[float, float, float, np.ndarray, np.ndarray]:
    """PSIS-LOO from a log-likelihood array of shape (chains, draws, units).

    Returns
    -------
    tuple
        ``(elpd, se, p_loo, pointwise_elpd, pareto_k)``.
    """
    import warnings

    import arviz as az

    idata = az.from_dict(log_likelihood={"y": loglik},
                         posterior={"dummy": np.zeros(loglik.shape[:2])})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the caller reports Pareto k itself
        res = az.loo(idata, pointwise=True, var_name="y")
    return (float(res.elpd_loo), float(res.se), float(res.p_loo),
            np.asarray(res.loo_i), np.asarray(res.pareto_k))


def summary(idata, *, var_names: list[str], ci_prob: float = CI_PROB):
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
    idata, *, var_names: list[str]
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


def save_posterior(idata, path, *, var_names: list[str]) -> None:
    """Write the named posterior variables (and sample stats) to a netCDF file."""
    import arviz as az

    posterior = idata.posterior[[v for v in var_names if v in idata.posterior]]
    az.InferenceData(posterior=posterior, sample_stats=idata.sample_stats).to_netcdf(str(path))


LARGE = 100_000
"""Arrays with more elements than this are written in single precision (patient effects,
log-likelihood, predictive draws): halves the files, far below Monte Carlo error."""


def add_groups(idata, groups: dict) -> None:
    """Add (or replace) groups of an InferenceData, each an ``xarray.Dataset``."""
    for name, dataset in groups.items():
        if name in idata.groups():
            setattr(idata, name, dataset)
        else:
            idata.add_groups({name: dataset})


def save_inference(idata, path, *, max_draws: int | None = None) -> None:
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


def write_exact(idata, path) -> None:
    """Write every group of an InferenceData to netCDF at full precision (the fit cache)."""
    import arviz as az

    az.InferenceData(**{name: idata[name] for name in idata.groups()}).to_netcdf(str(path))


def read_exact(path):
    """Read an InferenceData written by :func:`write_exact`, loaded into memory (the file is
    closed on return)."""
    import arviz as az

    idata = az.from_netcdf(str(path))
    loaded = {name: idata[name].load() for name in idata.groups()}
    for name in idata.groups():
        idata[name].close()
    return az.InferenceData(**loaded)
