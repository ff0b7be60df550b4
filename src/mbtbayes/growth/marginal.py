"""The marginal growth-model engine: patient effects integrated out, one compiled graph.

The model is

    y = X b + u0[patient] + u1[patient] * time + e,   e ~ N(0, sigma),

with normal patient effects, independent (Bambi 0.17's structure, ``(time | id)``) or correlated
(``correlated = true`` in the spec). The patient effects are integrated out analytically: the
graph's likelihood is each patient's multivariate normal density, computed from per-patient
sums with 2 x 2 algebra, so only b, the two patient SDs, sigma (and the correlation) are sampled.
That removes the funnel that made the patient-slope SD mix slowly when it is near zero. Every
data-dependent quantity, prior scales included, is a ``pm.Data`` container, and designs are
padded with zero columns to a common width, so nutpie compiles one graph per random-effects
structure and reuses it for every measure and variant by swapping data. The engine's
:class:`~mbtbayes.core.sampling.Sampler` owns those compiled graphs and applies the gate.

After sampling, each patient's effects are drawn from their exact conditional normal given
each posterior draw (:mod:`mbtbayes.growth.patients`), so a fit carries patient effects
(``1|patient_id``, ``months|patient_id``, as Bambi names them), a per-patient marginal
log-likelihood, the observed and constant data and posterior predictive draws.

Examples
--------
>>> import mbtbayes as mb
>>> engine = MarginalEngine(Sampler(SamplerOptions(draws=500)))
>>> fit = engine.fit(mb.load_specs()["bsi"], mb.load_register().data,  # doctest: +SKIP
...                  variant="period", seed=1)
>>> fit.idata.posterior["1|patient_id"].dims  # doctest: +SKIP
('chain', 'draw', 'patient_id__factor_dim')
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from mbtbayes.core.sampling import Diagnostics, Sampler, SamplerOptions
from mbtbayes.core.seeds import seed_for
from mbtbayes.growth import patients
from mbtbayes.growth.design import (
    Design,
    pad_design,
    prior_values,
    subset_design,
)
from mbtbayes.growth.groups import add_fit_groups, patient_dim, thinned_draws
from mbtbayes.growth.loo import LOG_2PI, marginal_loglik, patient_sums
from mbtbayes.growth.modelspec import ModelSpec
from mbtbayes.growth.result import FitsData, GrowthFit

if TYPE_CHECKING:
    import pymc as pm
    from arviz import InferenceData
    from pytensor.tensor.variable import TensorVariable

LKJ_ETA = 2.0
"""LKJ shape of the correlated variant (mildly favours small correlations)."""

PARAMETERS = ("beta", "sd_intercept", "sd_slope", "sigma", "corr_01")
"""The sampled parameters (the gate checks these)."""


def build_model(design: Design, priors: dict[str, np.ndarray], *, correlated: bool) -> pm.Model:
    """The PyMC growth model with the patient effects integrated out analytically.

    The likelihood is each patient's marginal density
    ``y_i ~ MVN(X_i b, Z_i G Z_i' + sigma^2 I)``, ``Z_i = [1, time]``, written with per-patient
    sums of squares and 2 x 2 algebra (see :mod:`mbtbayes.growth.loo`); it is the same model as
    ``y ~ ... + (time | id)`` with normal patient effects, without sampling those effects.
    Every data-dependent quantity, prior scales included, is a ``pm.Data`` container.

    Parameters
    ----------
    design : Design
    priors : dict
        From :func:`prior_values`.
    correlated : bool
        Correlated patient intercept and slope: ``corr`` has the LKJ(eta = 2) marginal for two
        dimensions, ``(corr + 1) / 2 ~ Beta(2, 2)``; otherwise independent effects.

    Returns
    -------
    pymc.Model
    """
    import pymc as pm

    with pm.Model(coords={"coef": list(design.columns)}) as model:
        d = {k: pm.Data(k, v) for k, v in _data_values(design, priors).items()}
        beta = pm.Normal("beta", d["beta_mu"], d["beta_sd"], dims="coef")
        sd0 = pm.HalfNormal("sd_intercept", d["re_sd"][0])
        sd1 = pm.HalfNormal("sd_slope", d["re_sd"][1])
        sigma = pm.HalfNormal("sigma", d["sigma_sd"])
        rho = 0.0
        if correlated:
            rho = pm.Deterministic("corr", 2 * pm.Beta("corr_01", LKJ_ETA, LKJ_ETA) - 1)
        pm.Potential("marginal_loglik", _marginal_logp(d, beta, sd0, sd1, rho, sigma))
    return model


def _marginal_logp(d: dict[str, TensorVariable], beta: TensorVariable, sd0: TensorVariable,
                   sd1: TensorVariable, rho: TensorVariable | float,
                   sigma: TensorVariable) -> TensorVariable:
    """Sum over patients of the marginal Gaussian log-density (PyTensor).

    With ``A = Z'Z``, ``u = Z'r`` and ``M = sigma^2 I + A G`` (2 x 2), the 2 x 2 identities
    ``det M = s^4 + s^2 tr(AG) + det A det G`` and
    ``u'G adj(M) u = s^2 u'Gu + det G u'adj(A)u`` keep each patient's term small; the terms
    that only add up over patients (observations, ``r'r``) are computed from totals, the rest
    by one numba kernel with an analytic gradient (:mod:`mbtbayes.growth.marginal_kernel`).
    """
    import pytensor.tensor as pt

    from mbtbayes.growth.marginal_kernel import patient_terms_op

    s2 = sigma**2
    cov = pt.stack([sd0**2, rho * sd0 * sd1, sd1**2, s2])
    rr = d["yy"] - 2 * pt.dot(d["Xy"], beta) + pt.dot(beta, pt.dot(d["XX"], beta))
    totals = d["n_obs"] * LOG_2PI + (d["n_obs"] - 2 * d["n_patients"]) * pt.log(s2) + rr / s2
    return -0.5 * totals + patient_terms_op(d["ZX"], d["Zy"], d["ZZ"], beta, cov)


def _data_values(design: Design, priors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    s = patient_sums(design.y, design.X, design.time, design.group, len(design.groups))
    zz = np.column_stack([s["ZZ"][:, 0, 0], s["ZZ"][:, 0, 1], s["ZZ"][:, 1, 1]])
    flat = {"n_obs": np.float64(s["k"].sum()), "n_patients": np.float64(len(s["k"])),
            "yy": np.float64(s["yy"].sum()), "Xy": s["Xy"].sum(axis=0),
            "XX": s["XX"].sum(axis=0), "Zy": s["Zy"], "ZX": s["ZX"], "ZZ": zz}
    return {**flat, **priors}


# ---------------------------------------------------------------- the engine


@dataclass
class MarginalEngine(FitsData):
    """Fits growth designs on the marginal graph, one compiled graph per structure.

    Parameters
    ----------
    sampling : Sampler
        Sampling options, the gate and the fit cache (compiled graphs: the process's).
    width : int
        Fixed-effect columns of the compiled graph: narrower designs are padded with zero
        columns (whose coefficients keep a N(0, 1) prior and are dropped from the output), so
        that one compiled graph serves every measure and variant up to that width.
    """

    sampling: Sampler = field(default_factory=Sampler)
    width: int = 5
    name: str = "marginal"

    def fit_design(self, spec: ModelSpec, design: Design, *, variant: str, seed: int,
                   gate: bool = True, extras: bool = True) -> GrowthFit:
        """Fit one design behind the gate.

        Parameters
        ----------
        spec : ModelSpec
        design : Design
        variant : str
        seed : int
            This fit's seed (derived by name by the caller).
        gate : bool
            Refit once when the gate fails.
        extras : bool
            Draw the patient effects and add the log-likelihood, data and posterior
            predictive groups. K-fold refits skip them; their draws are then kept in the
            sampler's cache (the run's fit cache) when it has one.

        Returns
        -------
        mbtbayes.growth.result.GrowthFit
        """
        priors = prior_values(spec, design)
        if self.sampling.options.sampler == "nutpie":
            design_used, priors = pad_design(design, priors, width=self.width)
        else:
            design_used = design
        start = _time.perf_counter()
        data = _data_values(design_used, priors)
        idata, diag = self.sampling.sample_model(
            key=("marginal", design_used.X.shape[1], spec.correlated),
            build=lambda _: build_model(design_used, priors, correlated=spec.correlated),
            data=data, seed=seed, gate=gate, cached=not extras,
            var_names=[p for p in PARAMETERS if p != "corr_01" or spec.correlated])
        idata = _label_coefficients(idata, design)
        if extras:
            _add_patient_level(idata, spec, design, seed=seed)
        names = ["beta", "sd_intercept", "sd_slope", "sigma"] + (["corr"] * spec.correlated)
        return GrowthFit(spec, variant, design, idata, diag, self.sampling.options.sampler,
                         _time.perf_counter() - start, self.name, params=idata.posterior[names])

    def heldout_loglik(self, fit: GrowthFit, held: np.ndarray, *,
                       seed: int) -> tuple[np.ndarray, Diagnostics]:
        """Refit without the patients ``held`` (same compiled graph) and return their marginal
        log-likelihood per draw, ``(S, len(held))``, and the refit's diagnostics."""
        design = fit.design
        out = np.isin(design.group, held)
        train = self.fit_design(fit.spec, subset_design(design, ~out), variant=fit.variant,
                                seed=seed, extras=False)
        test = subset_design(design, out)
        ll = marginal_loglik(y=test.y, X=test.X, time=test.time, group=test.group,
                             n_groups=len(design.groups), **posterior_arrays(train.idata))
        return ll[:, held], train.diagnostics

    def with_options(self, options: SamplerOptions) -> MarginalEngine:
        """An engine with other sampler options that shares this one's compiled graphs."""
        return MarginalEngine(self.sampling.with_options(options), self.width)


def _label_coefficients(idata: InferenceData, design: Design) -> InferenceData:
    """Drop padding columns and label ``beta`` by the design's own columns; drop nutpie's
    unconstrained copies (``*_log__``).

    The compiled graph keeps the labels of the design it was first built from.
    """
    p = design.X.shape[1]
    beta = idata.posterior["beta"].isel(coef=slice(0, p))
    extras = [v for v in idata.posterior.data_vars if v.endswith(("_log__", "_logodds__"))]
    idata.posterior = idata.posterior.drop_vars(["beta", *extras]).drop_dims("coef").assign(
        beta=beta.assign_coords(coef=list(design.columns)))
    return idata


def posterior_arrays(idata: InferenceData) -> dict[str, np.ndarray | None]:
    """The draws :func:`~mbtbayes.growth.loo.marginal_loglik` takes, from a marginal fit."""
    post = idata.posterior

    def stacked(name: str) -> np.ndarray:
        values = post[name].values
        return values.reshape(-1, *values.shape[2:])

    return {"beta": stacked("beta"), "sd_intercept": stacked("sd_intercept"),
            "sd_slope": stacked("sd_slope"), "sigma": stacked("sigma"),
            "corr": stacked("corr") if "corr" in post else None}


def population_draws(idata: InferenceData) -> patients.Draws:
    """The population-level draws of a marginal fit."""
    a = posterior_arrays(idata)
    return patients.Draws(beta=a["beta"], sds=np.column_stack([a["sd_intercept"], a["sd_slope"]]),
                          sigma=a["sigma"], corr=a["corr"])


STORED = np.float32
"""Precision of the stored patient effects and predictive draws (drawn in float64): single
precision halves a register's memory; the log-likelihood stays float64 for LOO."""


def _add_patient_level(idata: InferenceData, spec: ModelSpec, design: Design, *, seed: int) -> None:
    """Patient effects from their exact conditional normal, the per-patient marginal
    log-likelihood, and posterior predictive draws (seeded by the fit's seed)."""
    rng = np.random.default_rng(seed_for(seed, "patient-effects"))
    draws = population_draws(idata)
    chains, n_draws = idata.posterior.sizes["chain"], idata.posterior.sizes["draw"]
    data = {"y": design.y, "X": design.X, "Z": design.Z, "group": design.group,
            "n_groups": len(design.groups)}
    effects = patients.draw_effects(draws, rng, dtype=STORED, **data)[:, design.observed]
    pdim = patient_dim(spec)
    ids = [design.groups[i] for i in design.observed]
    idata.posterior = idata.posterior.assign({
        name: (("chain", "draw", pdim), effects[..., i].reshape(chains, n_draws, -1))
        for i, name in enumerate(design.effects)}).assign_coords({pdim: ids})
    ll = marginal_loglik(y=design.y, X=design.X, time=design.time, group=design.group,
                         n_groups=len(design.groups), **posterior_arrays(idata))
    keep = thinned_draws(n_draws=n_draws, n_chains=chains)
    rows = (np.arange(chains)[:, None] * n_draws + keep[None]).ravel()
    full = np.zeros((len(rows), len(design.groups), effects.shape[-1]), dtype=STORED)
    full[:, design.observed] = effects[rows]
    pred = patients.predictive(draws.take(rows), full, rng, X=design.X, Z=design.Z,
                               group=design.group, dtype=STORED)
    add_fit_groups(idata, spec, design,
                   loglik=ll[:, design.observed].reshape(chains, n_draws, -1),
                   predictive=pred.reshape(chains, len(keep), -1), draws=keep)


def engine_for(options: SamplerOptions | None = None) -> MarginalEngine:
    """A marginal engine with its own sampling path (no fit cache)."""
    return MarginalEngine(Sampler(options or SamplerOptions()))
