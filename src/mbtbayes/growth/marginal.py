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

Examples
--------
>>> import mbtbayes as mb
>>> engine = MarginalEngine(Sampler(SamplerOptions(draws=500)))
>>> fit = mb.fit_growth(mb.load_specs()["bsi"], mb.load_register().data,  # doctest: +SKIP
...                     engine=engine)
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass, field

import numpy as np

from mbtbayes.core.sampling import Sampler, SamplerOptions
from mbtbayes.growth.design import Design, pad_design, prior_values
from mbtbayes.growth.loo import LOG_2PI, patient_sums
from mbtbayes.growth.specs import ModelSpec

LKJ_ETA = 2.0
"""LKJ shape of the correlated variant (mildly favours small correlations)."""

PARAMETERS = ("beta", "sd_intercept", "sd_slope", "sigma", "corr_01")
"""The sampled parameters (the gate checks these)."""


def build_model(design: Design, priors: dict[str, np.ndarray], *, correlated: bool):
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


def _marginal_logp(d, beta, sd0, sd1, rho, sigma):
    """Sum over patients of the marginal Gaussian log-density (PyTensor).

    With ``A = Z'Z``, ``u = Z'r`` and ``M = sigma^2 I + A G`` (2 x 2), the 2 x 2 identities
    ``det M = s^4 + s^2 tr(AG) + det A det G`` and
    ``u'G adj(M) u = s^2 u'Gu + det G u'adj(A)u`` keep the graph small.
    """
    import pytensor.tensor as pt

    g00, g01, g11, s2 = sd0**2, rho * sd0 * sd1, sd1**2, sigma**2
    det_g = g00 * g11 - g01**2
    rr = d["yy"] - 2 * pt.dot(d["Xy"], beta) + pt.dot(d["XX"], pt.outer(beta, beta).ravel())
    u0 = d["Zy0"] - pt.dot(d["ZX0"], beta)
    u1 = d["Zy1"] - pt.dot(d["ZX1"], beta)
    a00, a01, a11 = d["ZZ00"], d["ZZ01"], d["ZZ11"]
    det_m = (s2**2 + s2 * (a00 * g00 + 2 * a01 * g01 + a11 * g11)
             + (a00 * a11 - a01**2) * det_g)
    q_g = g00 * u0**2 + 2 * g01 * u0 * u1 + g11 * u1**2
    q_a = a11 * u0**2 - 2 * a01 * u0 * u1 + a00 * u1**2
    ugw = (s2 * q_g + det_g * q_a) / det_m
    k = d["k"]
    return -0.5 * pt.sum(k * LOG_2PI + (k - 2) * pt.log(s2) + pt.log(det_m) + (rr - ugw) / s2)


def _data_values(design: Design, priors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    s = patient_sums(design.y, design.X, design.time, design.group, len(design.groups))
    flat = {"k": s["k"], "yy": s["yy"], "Xy": s["Xy"], "XX": s["XX"].reshape(len(s["k"]), -1),
            "Zy0": s["Zy"][:, 0], "Zy1": s["Zy"][:, 1], "ZX0": s["ZX"][:, 0], "ZX1": s["ZX"][:, 1],
            "ZZ00": s["ZZ"][:, 0, 0], "ZZ01": s["ZZ"][:, 0, 1], "ZZ11": s["ZZ"][:, 1, 1]}
    return {**flat, **priors}


# ---------------------------------------------------------------- diagnostics

@dataclass
class MarginalEngine:
    """Fits growth designs on the marginal graph, one compiled graph per structure.

    Parameters
    ----------
    sampler : Sampler
        Sampling options, the gate, and the compiled-graph cache.
    width : int
        Fixed-effect columns of the compiled graph: narrower designs are padded with zero
        columns (whose coefficients keep a N(0, 1) prior and are dropped from the output), so
        that one compiled graph serves every measure and variant up to that width.
    """

    sampler: Sampler = field(default_factory=Sampler)
    width: int = 5
    name: str = "marginal"

    def fit(self, spec: ModelSpec, design: Design, *, variant: str, seed: int,
            gate: bool = True):
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

        Returns
        -------
        mbtbayes.growth.fit.GrowthFit
        """
        from mbtbayes.growth.fit import GrowthFit

        priors = prior_values(spec, design)
        if self.sampler.options.sampler == "nutpie":
            design_used, priors = pad_design(design, priors, width=self.width)
        else:
            design_used = design
        start = _time.perf_counter()
        data = _data_values(design_used, priors)
        idata, diag = self.sampler.sample_model(
            key=("marginal", design_used.X.shape[1], spec.correlated),
            build=lambda _: build_model(design_used, priors, correlated=spec.correlated),
            data=data, seed=seed, gate=gate,
            var_names=[p for p in PARAMETERS if p != "corr_01" or spec.correlated])
        idata = _label_coefficients(idata, design)
        return GrowthFit(spec, variant, design, idata, diag, self.sampler.options.sampler,
                         _time.perf_counter() - start, self.name)

    def with_options(self, options: SamplerOptions) -> MarginalEngine:
        """An engine with other sampler options that shares this one's compiled graphs."""
        return MarginalEngine(self.sampler.with_options(options), self.width)


def _label_coefficients(idata, design: Design):
    """Drop padding columns and label ``beta`` by the design's own columns.

    The compiled graph keeps the labels of the design it was first built from.
    """
    p = design.X.shape[1]
    beta = idata.posterior["beta"].isel(coef=slice(0, p))
    idata.posterior = idata.posterior.drop_vars("beta").drop_dims("coef").assign(
        beta=beta.assign_coords(coef=list(design.columns)))
    return idata


def engine_for(options: SamplerOptions | None = None) -> MarginalEngine:
    """A marginal engine with its own sampler (and compiled-graph cache)."""
    return MarginalEngine(Sampler(options or SamplerOptions()))
