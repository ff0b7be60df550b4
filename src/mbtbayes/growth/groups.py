"""The ArviZ groups every growth fit carries besides its posterior, whichever engine made it:
``log_likelihood`` (per patient, patient effects integrated out), ``observed_data``,
``constant_data`` (the rows used) and ``posterior_predictive`` (a thinned set of draws), so
that ``az.loo``, ``az.compare`` and ``az.plot_ppc`` work on a saved fit.

Examples
--------
>>> thinned_draws(n_draws=1000, n_chains=4)[:3]
array([0, 4, 8])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from mbtbayes.core.arviz_api import add_groups
from mbtbayes.growth.design import Design
from mbtbayes.growth.modelspec import ModelSpec

if TYPE_CHECKING:
    from arviz import InferenceData

PPC_DRAWS = 1000
"""Posterior predictive draws kept per fit (all chains together), thinned evenly."""

OBS_DIM = "__obs__"
"""The observation dimension (Bambi's name)."""


def patient_dim(spec: ModelSpec) -> str:
    """The patient dimension, as Bambi names it (``patient_id__factor_dim``)."""
    return f"{spec.group}__factor_dim"


def thinned_draws(*, n_draws: int, n_chains: int, total: int = PPC_DRAWS) -> np.ndarray:
    """Indices of the draws (per chain) kept for posterior predictive checks."""
    step = max(1, int(np.ceil(n_draws * n_chains / total)))
    return np.arange(0, n_draws, step)


def add_fit_groups(idata: InferenceData, spec: ModelSpec, design: Design, *, loglik: np.ndarray,
                   predictive: np.ndarray, draws: np.ndarray) -> None:
    """Add the groups of a growth fit to its InferenceData (in place).

    Parameters
    ----------
    loglik : (chains, draws, patients) array
        Marginal log-likelihood of each observed patient (``design.observed``).
    predictive : (chains, thinned draws, n) array
        Posterior predictive draws of every observation.
    draws : array
        The draw indices of ``predictive`` (:func:`thinned_draws`).
    """
    patients = [design.groups[i] for i in design.observed]
    pdim = patient_dim(spec)
    name = spec.measure
    log_likelihood = xr.Dataset({name: (("chain", "draw", pdim), loglik)},
                                coords={pdim: patients})
    log_likelihood[name].attrs["description"] = (
        "log p(y_i | population parameters) per patient, patient effects integrated out")
    constant = {c: (OBS_DIM, _column(design.frame[c])) for c in design.frame
                if c != spec.measure}
    constant["X"] = ((OBS_DIM, "coef"), design.X)
    add_groups(idata, {
        "log_likelihood": log_likelihood,
        "observed_data": xr.Dataset({name: (OBS_DIM, design.y)}),
        "constant_data": xr.Dataset(constant, coords={"coef": list(design.columns)}),
        "posterior_predictive": xr.Dataset({name: (("chain", "draw", OBS_DIM), predictive)},
                                           coords={"draw": draws}),
    })


def _column(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(float)
    return values.astype(str).to_numpy(dtype=object)
