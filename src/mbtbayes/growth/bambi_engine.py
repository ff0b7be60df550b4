"""The Bambi engine: ``bmb.Model(formula, data, family=..., priors=...)`` with the patient
effects sampled, by nutpie through ``inference_method="nutpie"``.

It fits what the marginal engine cannot: the Student-t family, a censored likelihood at the
scale's bounds (``censored = true``), an intercept-only or any other
set of patient effects by the patient column, a modelled residual SD (``sigma ~ period``),
nonlinear time (``I(months**2)``, ``bs4(months)``) and other covariates. The spec's priors
(:func:`mbtbayes.growth.priors.fit_priors`) become ``bmb.Prior`` objects; predictors are not
centred, so the ``Intercept`` prior means "at month 0 in the reference period". The fit keeps
the Bambi model (``fit.model``) so that ``predict``, ``interpret`` and ``plot_ppc`` work on it.

The per-patient log-likelihood integrates each patient's effects out by adaptive
Gauss-Hermite quadrature (:mod:`mbtbayes.growth.patients`): the same estimand as the marginal
engine's (the predictive density of a new patient's data). K-fold refits reuse one compiled
graph: the Bambi model's graph with a likelihood weight per row, 0 for the left-out patients.

Examples
--------
>>> import mbtbayes as mb
>>> spec = mb.make_spec(outcome="bsi", time="months", group="patient_id", period="period",
...                     range=(0, 4), family="t")
>>> fit = mb.fit_growth(spec, mb.load_register().data, engine="bambi")  # doctest: +SKIP
>>> fit.model.predict(fit.idata, kind="response", inplace=False)  # doctest: +SKIP
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from mbtbayes.core.sampling import Diagnostics, Sampler, SamplerOptions
from mbtbayes.core.seeds import seed_for
from mbtbayes.growth import patients
from mbtbayes.growth.censoring import fit_pointwise, predictive_bounds
from mbtbayes.growth.design import Design, bambi_model
from mbtbayes.growth.fit_identity import fit_key
from mbtbayes.growth.groups import add_fit_groups, patient_dim, thinned_draws
from mbtbayes.growth.modelspec import ModelSpec
from mbtbayes.growth.priors import bambi_priors
from mbtbayes.growth.result import FitsData, GrowthFit, population_draws, sd_name

if TYPE_CHECKING:
    import bambi as bmb
    import pymc as pm
    from arviz import InferenceData

NUTPIE = {"low_rank_modified_mass_matrix": True}
"""nutpie's low-rank mass-matrix adaptation: with predictors not centred, the intercept and the
coefficients of far-from-zero covariates are correlated a posteriori; a diagonal mass matrix
then mixes them ten times slower (measured: bulk ESS 130 vs 1170 per 1200 draws)."""

KFOLD_WEIGHT = "kfold_weight"
"""Data container of the K-fold graph: each row's likelihood weight (0 = left out)."""


@dataclass
class BambiEngine(FitsData):
    """Fits growth specs as Bambi models (patient effects sampled) behind the gate.

    Parameters
    ----------
    sampling : Sampler
        Sampling options, the gate (``Sampler.sample_bambi``) and the compiled K-fold graphs.
    """

    sampling: Sampler = field(default_factory=Sampler)
    name: str = "bambi"

    def build(self, spec: ModelSpec, design: Design, *, variant: str) -> bmb.Model:
        """The ``bambi.Model`` of a design, with the fit's priors."""
        frame = design.frame[list(spec.columns(variant))]
        return bambi_model(spec, frame, variant=variant, priors=bambi_priors(design.priors))

    def fit_design(self, spec: ModelSpec, design: Design, *, variant: str, seed: int,
                   gate: bool = True) -> GrowthFit:
        """Build and fit the Bambi model of a design behind the gate.

        The gate checks every population-level parameter and every patient effect.

        Returns
        -------
        mbtbayes.growth.result.GrowthFit
            With ``model`` the Bambi model and ``idata`` its InferenceData, with the
            per-patient log-likelihood, data and posterior predictive groups added.
        """
        start = _time.perf_counter()
        model = self.build(spec, design, variant=variant)
        model.build()
        names = population_names(model) + list(design.effects)
        idata, diag = self.sampling.sample_bambi(model, seed=seed, var_names=names, gate=gate,
                                                nutpie_kwargs=NUTPIE)
        idata.posterior = idata.posterior.drop_vars(
            [v for v in idata.posterior.data_vars if v.endswith(("_log__", "_logodds__"))])
        params = tidy_parameters(idata.posterior, spec, design, model)
        _add_patient_level(idata, params, spec, design, seed=seed)
        return GrowthFit(spec, variant, design, idata, diag, self.sampling.options.sampler,
                         _time.perf_counter() - start, self.name, model=model, params=params)

    def heldout_loglik(self, fit: GrowthFit, held: np.ndarray, *,
                       seed: int) -> tuple[np.ndarray, Diagnostics]:
        """Refit with the rows of the patients ``held`` weighted 0 (one compiled graph per
        model and data: two specs of one name, or one spec on other data, get their own) and
        return their marginal log-likelihood per draw, ``(S, len(held))``, and the refit's
        diagnostics. The refit's draws are kept in the sampler's cache when it has one."""
        spec, design, variant = fit.spec, fit.design, fit.variant
        weight = np.where(np.isin(design.group, held), 0.0, 1.0)
        names = population_names(fit.model)
        model_key = fit_key(spec, design, variant=variant, seed=0, engine=self.name, width=0,
                            options=self.sampling.options)
        idata, diag = self.sampling.sample_model(
            key=("bambi-kfold", spec.name, variant, model_key),
            build=lambda data: weighted_model(self.build(spec, design, variant=variant),
                                              data[KFOLD_WEIGHT]),
            data={KFOLD_WEIGHT: weight}, seed=seed, var_names=names, nutpie_kwargs=NUTPIE,
            cached=True)
        params = tidy_parameters(idata.posterior, spec, design, fit.model)
        rows = weight == 0
        ll = patients.quadrature_loglik(
            population_draws(params, spec, design), y=design.y[rows], X=design.X[rows],
            Z=design.Z[rows], group=design.group[rows], n_groups=len(design.groups),
            X_sigma=None if design.X_sigma is None else design.X_sigma[rows],
            family=spec.family, pointwise=fit_pointwise(spec))
        return ll[:, held], diag

    def with_options(self, options: SamplerOptions) -> BambiEngine:
        """An engine with other sampler options that shares this one's compiled graphs."""
        return BambiEngine(self.sampling.with_options(options))


def weighted_model(model: bmb.Model, weight: np.ndarray) -> pm.Model:
    """The PyMC graph of a built Bambi model with a likelihood weight per row.

    A potential adds ``(w - 1) * log p(y_j | ...)`` to the model's density, so a row of weight
    0 leaves the likelihood; the weights are a ``pm.Data`` container, so nutpie compiles the
    graph once and swaps the weights for each fold.
    """
    import pymc as pm
    import pytensor.tensor as pt

    model.build()
    graph = model.backend.model
    observed = graph.observed_RVs[0]
    with graph:
        w = pm.Data(KFOLD_WEIGHT, weight)
        pointwise = graph.logp(vars=[observed], sum=False)[0]
        pm.Potential("kfold_exclusion", pt.sum((w - 1.0) * pointwise))
    return graph


def population_names(model: bmb.Model) -> list[str]:
    """The population-level parameters of a Bambi model (the gate checks these)."""
    names = []
    for component_name, component in model.components.items():
        if not hasattr(component, "terms"):
            names.append(component_name)  # a constant component: sigma, nu
            continue
        prefix = "" if component_name == "mu" else f"{component_name}_"
        names += [f"{prefix}{t}" for t in component.design.common.slices]
        names += [f"{g}_sigma" for g in component.group_specific_terms]
    return names


def _stack_terms(posterior: xr.Dataset, slices: dict, prefix: str = "") -> np.ndarray:
    """The coefficients of a design's terms, in design order: ``(chain, draw, p)``."""
    parts = []
    for term in slices:
        values = posterior[f"{prefix}{term}"].values
        parts.append(values[..., None] if values.ndim == 2 else values)
    return np.concatenate(parts, axis=-1)


def tidy_parameters(posterior: xr.Dataset, spec: ModelSpec, design: Design,
                    model: bmb.Model) -> xr.Dataset:
    """The population-level parameters in the package's names (as the marginal engine's):
    ``beta`` (dim ``coef``), ``sd_intercept``, ``sd_slope`` (or ``sd_<column>``), ``sigma`` or
    ``beta_sigma`` (dim ``sigma_coef``, log scale), and ``nu``."""
    out = {"beta": (("chain", "draw", "coef"),
                    _stack_terms(posterior, design.common.slices))}
    for effect in design.effects:
        out[sd_name(spec, effect)] = (("chain", "draw"), posterior[f"{effect}_sigma"].values)
    if design.X_sigma is not None:
        slices = model.components["sigma"].design.common.slices
        out["beta_sigma"] = (("chain", "draw", "sigma_coef"),
                             _stack_terms(posterior, slices, prefix="sigma_"))
    else:
        out["sigma"] = (("chain", "draw"), posterior["sigma"].values)
    if "nu" in posterior:
        out["nu"] = (("chain", "draw"), posterior["nu"].values)
    coords = {"chain": posterior["chain"].values, "draw": posterior["draw"].values,
              "coef": list(design.columns), "sigma_coef": list(design.sigma_columns)}
    dataset = xr.Dataset(out, coords=coords)
    return dataset.drop_dims("sigma_coef") if design.X_sigma is None else dataset


def _add_patient_level(idata: InferenceData, params: xr.Dataset, spec: ModelSpec, design: Design, *,
                       seed: int) -> None:
    """The per-patient marginal log-likelihood (quadrature) and posterior predictive draws
    from the sampled patient effects (seeded by the fit's seed)."""
    draws = population_draws(params, spec, design)
    chains, n_draws = idata.posterior.sizes["chain"], idata.posterior.sizes["draw"]
    ll = patients.quadrature_loglik(draws, y=design.y, X=design.X, Z=design.Z,
                                    group=design.group, n_groups=len(design.groups),
                                    X_sigma=design.X_sigma, family=spec.family,
                                    pointwise=fit_pointwise(spec))
    keep = thinned_draws(n_draws=n_draws, n_chains=chains)
    rows = (np.arange(chains)[:, None] * n_draws + keep[None]).ravel()
    pdim = patient_dim(spec)
    ids = [design.groups[i] for i in design.observed]
    effects = np.zeros((len(rows), len(design.groups), len(design.effects)))
    for i, name in enumerate(design.effects):
        values = idata.posterior[name].transpose("chain", "draw", pdim).sel({pdim: ids}).values
        effects[:, design.observed, i] = values.reshape(chains * n_draws, -1)[rows]
    rng = np.random.default_rng(seed_for(seed, "posterior-predictive"))
    pred = patients.predictive(draws.take(rows), effects, rng, X=design.X, Z=design.Z,
                               group=design.group, X_sigma=design.X_sigma,
                               bounds=predictive_bounds(spec))
    add_fit_groups(idata, spec, design,
                   loglik=ll[:, design.observed].reshape(chains, n_draws, -1),
                   predictive=pred.reshape(chains, len(keep), -1), draws=keep)
