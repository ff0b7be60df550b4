"""A fitted growth model: :class:`GrowthFit`, and its population-level draws in the names
both engines share.

Both engines (:mod:`mbtbayes.growth.marginal`, :mod:`mbtbayes.growth.bambi_engine`) return a
GrowthFit, the fit cache (:mod:`mbtbayes.growth.cache`) reads one back, and every estimand
takes one; so it lives here, below all of them.

Examples
--------
>>> import mbtbayes as mb
>>> sd_name(mb.make_spec(outcome="y", time="t", group="id", range=(0, 4)), "t|id")
'sd_slope'
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from mbtbayes.core.sampling import Diagnostics
from mbtbayes.growth import patients
from mbtbayes.growth.design import Design, check_prior_keys, make_design
from mbtbayes.growth.modelspec import ModelSpec


@dataclass(frozen=True)
class GrowthFit:
    """One fitted variant of one spec.

    Attributes
    ----------
    spec : ModelSpec
    variant : str
    design : Design
    idata : arviz.InferenceData
        The engine's posterior (marginal: ``beta``, ``sd_intercept``, ``sd_slope``, ``sigma``,
        ``corr`` when correlated, and the patient effects ``1|patient_id``,
        ``months|patient_id``; Bambi: Bambi's names), and the groups ``log_likelihood`` (per
        patient, patient effects integrated out), ``observed_data``, ``constant_data`` and
        ``posterior_predictive``.
    diagnostics : Diagnostics
    sampler : str
    seconds : float
        Wall time of the fit: sampling and diagnostics of every attempt, plus compilation
        for the first fit of a compiled graph.
    engine : str
        ``"marginal"`` or ``"bambi"``.
    model : bambi.Model or None
        The Bambi model (Bambi engine), for ``predict``, ``interpret`` and PPC plots.
    params : xarray.Dataset
        The population-level parameters in the same names for both engines: ``beta`` (dim
        ``coef``), ``sd_intercept``, ``sd_slope``, ``sigma`` (or ``beta_sigma``, log scale,
        when the residual SD is modelled), ``nu`` (Student-t), ``corr`` (correlated).
    """

    spec: ModelSpec
    variant: str
    design: Design
    idata: object
    diagnostics: Diagnostics
    sampler: str
    seconds: float
    engine: str = "marginal"
    model: object = None
    params: object = None

    def draws(self, name: str) -> np.ndarray:
        """Posterior draws of a parameter, chains and draws stacked first: (S, ...)."""
        source = self.params if self.params is not None and name in self.params else \
            self.idata.posterior
        values = source[name].values
        return values.reshape(-1, *values.shape[2:])

    def beta(self) -> pd.DataFrame:
        """Fixed-effect draws, one column per design column."""
        return pd.DataFrame(self.draws("beta"), columns=list(self.design.columns))


def sd_name(spec: ModelSpec, effect: str) -> str:
    """The table name of a patient effect's SD: ``sd_intercept``, ``sd_slope`` (time) or
    ``sd_<column>``."""
    expr = effect.split("|")[0]
    return {"1": "sd_intercept", spec.time: "sd_slope"}.get(expr, f"sd_{expr}")


def population_draws(params: xr.Dataset, spec: ModelSpec, design: Design) -> patients.Draws:
    """The population-level draws of a fit (tidy names), stacked: :class:`Draws`."""
    def stacked(name: str) -> np.ndarray | None:
        if name not in params:
            return None
        values = params[name].values
        return values.reshape(-1, *values.shape[2:])

    sds = np.column_stack([stacked(sd_name(spec, e)) for e in design.effects])
    return patients.Draws(beta=stacked("beta"), sds=sds, sigma=stacked("sigma"),
                          beta_sigma=stacked("beta_sigma"), nu=stacked("nu"),
                          corr=stacked("corr"))


class FitsData:
    """What both engines share: ``fit(spec, data, ...)`` builds the design, checks the prior
    keys against it and calls the engine's ``fit_design``."""

    def fit(self, spec: ModelSpec, data: pd.DataFrame, *, variant: str, seed: int,
            gate: bool = True) -> GrowthFit:
        """Fit one variant of a spec to long-format data behind the gate."""
        design = make_design(spec, data, variant=variant)
        check_prior_keys(spec, [design])
        return self.fit_design(spec, design, variant=variant, seed=seed, gate=gate)
