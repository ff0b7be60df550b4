"""Two engines, one spec: the engine protocol and the pair of engines a run shares.

The **marginal** engine (:mod:`mbtbayes.growth.marginal`) integrates the patient effects out
analytically and compiles one graph for every measure; the **Bambi** engine
(:mod:`mbtbayes.growth.bambi_engine`) builds ``bmb.Model(formula, data, family=...,
priors=...)`` and samples the patient effects. Which of them fits a spec is decided by
:func:`mbtbayes.growth.engine_choice.resolve_engine`. Both return a
:class:`~mbtbayes.growth.result.GrowthFit` with the same estimands, computed through the
design.

Examples
--------
>>> engines = Engines(Sampler(SamplerOptions(draws=500)))
>>> engines.get("marginal").name, engines.sampling.options.draws
('marginal', 500)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from mbtbayes.core.errors import SpecError
from mbtbayes.core.hints import did_you_mean
from mbtbayes.core.sampling import Diagnostics, Sampler, SamplerOptions
from mbtbayes.growth.bambi_engine import BambiEngine
from mbtbayes.growth.design import Design
from mbtbayes.growth.engine_choice import ENGINES, resolve_engine
from mbtbayes.growth.marginal import MarginalEngine
from mbtbayes.growth.modelspec import ModelSpec
from mbtbayes.growth.result import GrowthFit


class Engine(Protocol):
    """What an engine does: fit one variant of a spec, and refit without some patients."""

    name: str

    def fit(self, spec: ModelSpec, data: pd.DataFrame, *, variant: str, seed: int,
            gate: bool = True) -> GrowthFit:
        """Fit one variant of a spec to long-format data behind the gate -> GrowthFit."""

    def heldout_loglik(self, fit: GrowthFit, held: np.ndarray, *,
                       seed: int) -> tuple[np.ndarray, Diagnostics]:
        """Refit without the patients ``held`` (indices into ``fit.design.groups``) and return
        their marginal log-likelihood per draw, ``(S, len(held))``, and the refit's
        diagnostics."""


@dataclass
class Engines:
    """The two engines of a run, sharing one sampling path (options, gate, fit cache; the
    compiled graphs are the process's, :mod:`mbtbayes.core.graphs`).

    Parameters
    ----------
    sampling : Sampler
    width : int
        Fixed-effect columns the marginal engine pads every design to (one compiled graph).

    Examples
    --------
    >>> engines = Engines(Sampler(SamplerOptions(draws=500)))
    >>> engines.get("bambi").name, engines.sampling.options.draws
    ('bambi', 500)
    """

    sampling: Sampler = field(default_factory=Sampler)
    width: int = 5
    _engines: dict = field(default_factory=dict, repr=False)

    def get(self, name: str) -> MarginalEngine | BambiEngine:
        """The engine called ``name`` (``"marginal"`` or ``"bambi"``)."""
        if name not in self._engines:
            if name == "marginal":
                self._engines[name] = MarginalEngine(self.sampling, self.width)
            elif name == "bambi":
                self._engines[name] = BambiEngine(self.sampling)
            else:
                raise SpecError(f"engine must be 'marginal' or 'bambi', got '{name}'"
                                f"{did_you_mean(str(name), ENGINES)}")
        return self._engines[name]

    def for_spec(self, spec: ModelSpec, engine: str | None = None) -> MarginalEngine | BambiEngine:
        """The engine that fits ``spec``: ``engine`` (``"auto"``, ``"marginal"``, ``"bambi"``)
        or, by default, the spec's (see :func:`~mbtbayes.growth.engine_choice.resolve_engine`)."""
        return self.get(resolve_engine(spec, engine))

    def fit(self, spec: ModelSpec, data: pd.DataFrame, *, variant: str, seed: int,
            gate: bool = True, engine: str | None = None) -> GrowthFit:
        """Fit one variant of a spec with the engine it resolves to."""
        return self.for_spec(spec, engine).fit(spec, data, variant=variant, seed=seed,
                                              gate=gate)

    def fit_design(self, spec: ModelSpec, design: Design, *, variant: str, seed: int,
                   engine: str | None = None) -> GrowthFit:
        """Fit a prepared design with the engine the spec resolves to."""
        return self.for_spec(spec, engine).fit_design(spec, design, variant=variant,
                                                     seed=seed)

    def heldout_loglik(self, fit: GrowthFit, held: np.ndarray, *,
                       seed: int) -> tuple[np.ndarray, Diagnostics]:
        """Refit a fit's engine without some patients (see :class:`Engine`)."""
        return self.get(fit.engine).heldout_loglik(fit, held, seed=seed)

    def with_options(self, options: SamplerOptions) -> Engines:
        """Engines with other sampler options that share these engines' compiled graphs."""
        return Engines(self.sampling.with_options(options), self.width)


def engines_for(options: SamplerOptions | None = None) -> Engines:
    """Both engines with one new sampling path (no fit cache)."""
    return Engines(Sampler(options or SamplerOptions()))
