"""Two engines, one spec: which engine fits a spec, the engine protocol, and the pair of
engines a run shares.

The **marginal** engine integrates the patient effects out analytically (Gaussian family,
``(time | group)``, Normal and HalfNormal priors; the correlated variant too) and compiles one
graph for every measure; the **Bambi** engine builds ``bmb.Model(formula, data, family=...,
priors=...)`` and samples the patient effects (Student-t, intercept-only, ``sigma ~ period``,
splines, other covariates). ``engine = "auto"`` in a spec takes the marginal engine when the
spec qualifies and Bambi otherwise. Both return a :class:`~mbtbayes.growth.fit.GrowthFit` with
the same estimands, computed through the design.

Examples
--------
>>> import mbtbayes as mb
>>> resolve_engine(mb.load_specs()["bsi"])
'marginal'
>>> from dataclasses import replace
>>> resolve_engine(replace(mb.load_specs()["bsi"], correlated=False), "bambi")
'bambi'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from mbtbayes.core.errors import SpecError
from mbtbayes.core.hints import did_you_mean
from mbtbayes.core.sampling import Sampler, SamplerOptions
from mbtbayes.growth.priors import prior_terms
from mbtbayes.growth.specs import ENGINES, ModelSpec, make_spec  # noqa: F401  (doctest)
from mbtbayes.growth.terms import comma_terms


class Engine(Protocol):
    """What an engine does: fit one variant of a spec, and refit without some patients."""

    name: str

    def fit(self, spec: ModelSpec, data: pd.DataFrame, *, variant: str, seed: int,
            gate: bool = True):
        """Fit one variant of a spec to long-format data behind the gate -> GrowthFit."""

    def heldout_loglik(self, fit, held: np.ndarray, *, seed: int):
        """Refit without the patients ``held`` (indices into ``fit.design.groups``) and return
        their marginal log-likelihood per draw, ``(S, len(held))``, and the refit's
        diagnostics."""


def marginal_obstacles(spec: ModelSpec) -> list[str]:
    """Why the marginal engine cannot fit a spec (empty when it can)."""
    out = []
    if spec.family != "gaussian":
        out.append(f"family '{spec.family}' (it is Gaussian only)")
    if spec.censored:
        out.append("censored = true (a censored likelihood has no closed-form marginal)")
    wanted = {f"1|{spec.group}", f"{spec.time}|{spec.group}"}
    for variant in spec.formulas:
        groups = {g.name for g in spec.formula(variant).group}
        if groups != wanted:
            out.append(f"group-specific terms {sorted(groups)} in '{variant}' (it needs exactly "
                       f"({spec.time} | {spec.group}))")
        out += [f"'{a.text}' in '{variant}'" for a in spec.auxiliary_formulas(variant)]
    kinds = prior_terms(spec)
    wants = {"common": "Normal", "group": "Normal", "sigma": "HalfNormal"}
    for key, prior in spec.priors.items():
        want = wants.get(kinds[key])
        if want is None:  # nu or a sigma formula's term: named above
            continue
        hyper = prior.get("sigma") if kinds[key] == "group" else None
        if prior["dist"] != want or (hyper is not None and hyper["dist"] != "HalfNormal"):
            out.append(f"the {prior['dist']} prior on '{key}' (it takes Normal coefficients "
                       "and HalfNormal SDs)")
    return out


def bambi_obstacles(spec: ModelSpec) -> list[str]:
    """Why the Bambi engine cannot fit a spec (empty when it can)."""
    out = []
    if spec.correlated:
        out.append("correlated = true (Bambi 0.17 has no correlated patient effects; the "
                   "marginal engine fits them exactly, with an LKJ prior; correlated = false "
                   "gives Bambi's uncorrelated ones)")
    for variant in spec.formulas:
        for term in comma_terms(spec.formula(variant)):
            out.append(f"the term '{term}' in '{variant}' (nutpie cannot sample a name with a "
                       "comma; write a B-spline as bs3(x) .. bs6(x), e.g. bs4(months))")
    return out


def resolve_engine(spec: ModelSpec, requested: str | None = None) -> str:
    """The engine that fits a spec: the requested one, or by ``spec.engine``.

    ``auto`` takes the marginal engine when the spec qualifies (Gaussian, exactly
    ``(time | group)``, Normal and HalfNormal priors, no ``sigma ~`` formula) and Bambi
    otherwise.

    Raises
    ------
    SpecError
        If the chosen engine (or, for ``auto``, every engine) cannot fit the spec; the message
        says why.

    Examples
    --------
    >>> spec = make_spec(outcome="y", time="t", group="id", range=(0, 10), family="t")
    >>> resolve_engine(spec)
    'bambi'
    >>> resolve_engine(spec, "marginal")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mbtbayes.core.errors.SpecError: y: the marginal engine cannot fit family 't' (it is ...
    """
    want = requested or spec.engine
    if want not in ENGINES:
        raise SpecError(f"engine must be one of {', '.join(ENGINES)}, got '{want}'"
                        f"{did_you_mean(str(want), ENGINES)}")
    marginal = marginal_obstacles(spec)
    if spec.correlated and marginal:
        raise SpecError(f"{spec.name}: correlated = true needs the marginal engine, which "
                        f"cannot fit {'; '.join(marginal)}")
    if want == "marginal" and marginal:
        raise SpecError(f"{spec.name}: the marginal engine cannot fit {'; '.join(marginal)}; "
                        "use engine = \"bambi\" or \"auto\"")
    if want == "marginal" or (want == "auto" and not marginal):
        return "marginal"
    bambi = bambi_obstacles(spec)
    if bambi:
        hint = "; use engine = \"marginal\"" if not marginal else ""
        raise SpecError(f"{spec.name}: the Bambi engine cannot fit {'; '.join(bambi)}{hint}")
    return "bambi"


@dataclass
class Engines:
    """The two engines of a run, sharing one sampler (options, gate, compiled graphs).

    Parameters
    ----------
    sampler : Sampler

    Examples
    --------
    >>> engines = Engines(Sampler(SamplerOptions(draws=500)))
    >>> engines.get("bambi").name, engines.sampler.options.draws
    ('bambi', 500)
    """

    sampler: Sampler = field(default_factory=Sampler)
    width: int = 5
    _engines: dict = field(default_factory=dict, repr=False)

    def get(self, name: str):
        """The engine called ``name`` (``"marginal"`` or ``"bambi"``)."""
        if name not in self._engines:
            if name == "marginal":
                from mbtbayes.growth.marginal import MarginalEngine

                self._engines[name] = MarginalEngine(self.sampler, self.width)
            elif name == "bambi":
                from mbtbayes.growth.bambi_engine import BambiEngine

                self._engines[name] = BambiEngine(self.sampler)
            else:
                raise SpecError(f"engine must be 'marginal' or 'bambi', got '{name}'"
                                f"{did_you_mean(str(name), ENGINES)}")
        return self._engines[name]

    def for_spec(self, spec: ModelSpec, requested: str | None = None):
        """The engine that fits ``spec`` (see :func:`resolve_engine`)."""
        return self.get(resolve_engine(spec, requested))

    def fit(self, spec: ModelSpec, data: pd.DataFrame, *, variant: str, seed: int,
            gate: bool = True, requested: str | None = None):
        """Fit one variant of a spec with the engine it resolves to."""
        return self.for_spec(spec, requested).fit(spec, data, variant=variant, seed=seed,
                                                 gate=gate)

    def fit_design(self, spec: ModelSpec, design, *, variant: str, seed: int,
                   requested: str | None = None):
        """Fit a prepared design with the engine the spec resolves to."""
        return self.for_spec(spec, requested).fit_design(spec, design, variant=variant,
                                                        seed=seed)

    def heldout_loglik(self, fit, held: np.ndarray, *, seed: int):
        """Refit a fit's engine without some patients (see :class:`Engine`)."""
        return self.get(fit.engine).heldout_loglik(fit, held, seed=seed)

    def with_options(self, options: SamplerOptions) -> Engines:
        """Engines with other sampler options that share these engines' compiled graphs."""
        return Engines(self.sampler.with_options(options), self.width)


def engines_for(options: SamplerOptions | None = None) -> Engines:
    """Both engines with one new sampler (and compiled-graph cache)."""
    return Engines(Sampler(options or SamplerOptions()))
