"""One sampling path for every sampled model: options, the diagnostics gate, one retry policy,
and the compiled-graph cache.

Every sampled model of the package (growth models, the logistic remission model, the GLMMs)
is drawn through a :class:`Sampler`: it validates the options once, samples (nutpie by default,
PyMC's NUTS on request), checks the gate (:data:`GATE`: max R-hat <= 1.01, bulk and tail ESS
>= 400, no divergences, over the sampled parameters), and refits a failing model once by
:data:`RETRY` (twice the tuning, three times the draws, ``target_accept = 0.95``). A fit that
still fails is kept with ``passed = False`` and a ``reason``. nutpie's compiled graphs are
kept by the sampler object, keyed by the caller, and reused through ``with_data``.

A sampler may hold a ``cache`` of draws (the run's fit cache,
:class:`mbtbayes.core.cache.DiskCache`): a model sampled with an ``identity`` (everything
that decides its draws besides the seed and the options) is then read from the cache when it
holds it, and stored in it after sampling, so that a rerun neither compiles nor samples it
again.

Examples
--------
>>> opts = SamplerOptions(draws=500, chains=2)
>>> opts.retry().draws, opts.retry().tune
(1500, 2000)
>>> SamplerOptions(draws=0)
Traceback (most recent call last):
...
mbtbayes.core.errors.SpecError: draws must be a whole number >= 1, got 0
"""

from __future__ import annotations

import contextlib
import functools
import logging
import warnings
from collections.abc import Callable, Hashable, Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

from mbtbayes.core import graphs, interrupts
from mbtbayes.core.arviz_api import convergence
from mbtbayes.core.errors import SpecError

if TYPE_CHECKING:
    import bambi as bmb
    import pymc as pm
    from arviz import InferenceData
    from nutpie.compile_pymc import CompiledModel

SAMPLERS: tuple[str, ...] = ("nutpie", "pymc")
"""NUTS implementations: nutpie (numba; the default) and PyMC's own."""

GATE: dict[str, float] = {"max_r_hat": 1.01, "min_ess_bulk": 400, "min_ess_tail": 400,
                          "divergences": 0}
"""Thresholds of the diagnostics gate."""

TARGET_ACCEPT: float = 0.8
"""Target acceptance of a first attempt."""

RETRY: dict[str, float] = {"tune": 2, "draws": 3, "target_accept": 0.95}
"""The one retry policy: multiply tuning and draws, raise the target acceptance."""

SampleFn = Callable[[int, int, int, float], object]
"""``sample(seed, draws, tune, target_accept) -> InferenceData``."""


@dataclass(frozen=True)
class SamplerOptions:
    """How models are sampled; validated once, here.

    The seed is not an option: each fit's seed derives from the run seed and the fit's name
    (:func:`mbtbayes.core.seeds.seed_for`).

    Attributes
    ----------
    sampler : {"nutpie", "pymc"}
    draws, tune, chains : int
        Per chain; all >= 1.
    target_accept : float
    progress : bool
        Show the sampler's own progress bar.
    """

    sampler: str = "nutpie"
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    target_accept: float = TARGET_ACCEPT
    progress: bool = False

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLERS:
            raise SpecError(f"sampler must be one of {', '.join(SAMPLERS)}, got '{self.sampler}'")
        for name in ("draws", "tune", "chains"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SpecError(f"{name} must be a whole number >= 1, got {value}")
        if not 0 < self.target_accept < 1:
            raise SpecError(f"target_accept must be in (0, 1), got {self.target_accept}")

    def retry(self) -> SamplerOptions:
        """The options of the one refit (:data:`RETRY`)."""
        return replace(self, tune=int(RETRY["tune"] * self.tune),
                       draws=int(RETRY["draws"] * self.draws),
                       target_accept=max(self.target_accept, RETRY["target_accept"]))


@dataclass(frozen=True)
class Diagnostics:
    """Convergence diagnostics of one fit, and whether it passed the gate.

    Attributes
    ----------
    max_r_hat, min_ess_bulk, min_ess_tail : float
    divergences : int
    passed : bool
    attempts : int
        1, or 2 after the refit.
    draws : int
        Draws per chain of the kept fit.
    reason : str
        Which checks failed (empty when passed).
    """

    max_r_hat: float
    min_ess_bulk: float
    min_ess_tail: float
    divergences: int
    passed: bool
    attempts: int = 1
    draws: int = 0
    reason: str = ""

    def as_row(self) -> dict:
        """The diagnostics as table columns."""
        return asdict(self)


def diagnose(idata: InferenceData, *, var_names: list[str], attempts: int = 1) -> Diagnostics:
    """Apply the gate (:data:`GATE`) over the named posterior variables of a fit.

    Parameters
    ----------
    idata : arviz.InferenceData
    var_names : list of str
        The sampled parameters to check (not deterministics, not nutpie's extras).
    attempts : int

    Returns
    -------
    Diagnostics
    """
    r_hat, bulk, tail, divergences = convergence(idata, var_names=var_names)
    failed = [f"R-hat {r_hat:.3f} > {GATE['max_r_hat']}" if not r_hat <= GATE["max_r_hat"] else "",
              f"bulk ESS {bulk:.0f} < {GATE['min_ess_bulk']:.0f}"
              if not bulk >= GATE["min_ess_bulk"] else "",
              f"tail ESS {tail:.0f} < {GATE['min_ess_tail']:.0f}"
              if not tail >= GATE["min_ess_tail"] else "",
              f"{divergences} divergences" if divergences > GATE["divergences"] else ""]
    reason = "; ".join(f for f in failed if f)
    draws = int(idata.posterior.sizes["draw"])
    return Diagnostics(r_hat, bulk, tail, divergences, not reason, attempts, draws, reason)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence Bambi's and PyMC's info logging and the samplers' warnings during a fit."""
    loggers = [logging.getLogger(name) for name in ("bambi", "pymc")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Let BLAS use one thread while a sampler runs its chains on threads (or processes).

    The chains already occupy the cores; OpenBLAS's own threads for the log-density's
    matrix-vector products then fight them for the cores. On 2 cores, with 18,500 patients, a
    fit sampled 4-14x slower that way (``bench/scaling.py``); with a few hundred patients
    BLAS stays single-threaded anyway. The limit is lifted afterwards.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


@dataclass
class Sampler:
    """Samples models behind the diagnostics gate; nutpie's compiled graphs come from the
    process-wide registry (:mod:`mbtbayes.core.graphs`), so any sampler reuses a structure
    another one compiled.

    Parameters
    ----------
    options : SamplerOptions

    Examples
    --------
    >>> sampler = Sampler(SamplerOptions(draws=200, chains=2))
    >>> idata, diag = sampler.sample_model(key="demo", build=my_model, data={},  # doctest: +SKIP
    ...                                    seed=1, var_names=["mu"])
    """

    options: SamplerOptions = field(default_factory=SamplerOptions)
    cache: DrawCache | None = field(default=None, repr=False)
    n_compiled: int = field(default=0, repr=False)
    """Graphs this sampler compiled (structures no sampler of the process had compiled)."""
    n_graphs: int = field(default=0, repr=False)
    """Graphs this sampler used, compiled or reused from the registry."""

    def gated(self, sample: SampleFn, *, seed: int, var_names: list[str],
              gate: bool = True, identity: dict | None = None) -> tuple[object, Diagnostics]:
        """Sample, check the gate, and refit once by :data:`RETRY` if it fails.

        Parameters
        ----------
        sample : callable
            ``sample(seed, draws, tune, target_accept)`` -> InferenceData.
        seed : int
            This fit's seed; the refit uses ``seed + 1``.
        var_names : list of str
            Parameters the gate checks.
        gate : bool
            False: one attempt, diagnosed but never refitted.
        identity : dict, optional
            What decides the draws besides the seed and the options (JSON values, arrays,
            data frames); with a :attr:`cache`, the fit is read from it or stored in it.

        Returns
        -------
        tuple
            ``(idata, Diagnostics)``.
        """
        key = self._cache_key(identity, seed=seed, var_names=var_names, gate=gate)
        if key is not None and (cached := self.cache.get_draws(key)) is not None:
            return cached
        idata, diag = self._attempts(sample, seed=seed, var_names=var_names, gate=gate)
        if key is not None:
            self.cache.put_draws(key, idata, diag)
        return idata, diag

    def _cache_key(self, identity: dict | None, **what: object) -> str | None:
        if self.cache is None or identity is None:
            return None
        return self.cache.identity_key({"model": identity, "options": asdict(self.options),
                                        **what})

    def _attempts(self, sample: SampleFn, *, seed: int, var_names: list[str],
                  gate: bool) -> tuple[object, Diagnostics]:
        first = self.options
        with one_blas_thread():
            idata = sample(seed, first.draws, first.tune, first.target_accept)
        diag = diagnose(idata, var_names=var_names)
        if gate and not diag.passed:
            again = first.retry()
            with one_blas_thread():
                idata = sample(seed + 1, again.draws, again.tune, again.target_accept)
            diag = diagnose(idata, var_names=var_names, attempts=2)
        return idata, diag

    def sample_model(self, *, key: Hashable, build: Callable[[dict], object], data: dict,
                     seed: int, var_names: list[str], keep: list[str] | None = None,
                     gate: bool = True, nutpie_kwargs: dict | None = None,
                     cached: bool = False) -> tuple[InferenceData, Diagnostics]:
        """Sample a PyMC model built from data containers, behind the gate.

        With nutpie the graph is compiled once per ``key`` (from ``build(data)``) and reused
        for later data through ``with_data``; with PyMC the model is built from ``data``.

        Parameters
        ----------
        key : hashable
            Identifies the graph structure (same key = same compiled graph).
        build : callable
            ``build(data) -> pymc.Model`` whose ``pm.Data`` containers are named as ``data``.
        data : dict
            Values of the data containers for this fit.
        seed : int
        var_names : list of str
            Sampled parameters the gate checks.
        keep : list of str, optional
            Variables nutpie stores (default: every free and deterministic variable).
        gate : bool
        nutpie_kwargs : dict, optional
            Passed to ``nutpie.sample`` (e.g. ``low_rank_modified_mass_matrix``).
        cached : bool
            Read the draws from the sampler's :attr:`cache` when it holds them (neither
            compiling nor sampling), and store them there otherwise; the identity is ``key``,
            ``data``, ``keep`` and ``nutpie_kwargs``.

        Returns
        -------
        tuple
            ``(idata, Diagnostics)``.
        """
        identity = ({"key": repr(key), "data": data, "keep": keep,
                     "nutpie_kwargs": nutpie_kwargs} if cached else None)

        @functools.cache
        def prepared() -> tuple[CompiledModel, pm.Model] | pm.Model:  # when not cached
            if self.options.sampler == "pymc":
                return build(data)
            return self._graph(key, lambda: build(data), keep=keep)

        def sample(*args: int | float) -> InferenceData:
            if self.options.sampler == "pymc":
                return self._pymc(prepared(), *args)
            compiled, model = prepared()
            with graphs.in_use(key, keep):  # the model's data are this fit's while it samples
                _set_initial_data(model, data)
                return self._nutpie(compiled.with_data(**data), *args,
                                    **(nutpie_kwargs or {}))

        return self.gated(sample, seed=seed, var_names=var_names, gate=gate,
                          identity=identity)

    def sample_bambi(self, model: bmb.Model, *, seed: int, var_names: list[str], gate: bool = True,
                     nutpie_kwargs: dict | None = None,
                     identity: dict | None = None) -> tuple[InferenceData, Diagnostics]:
        """Fit a ``bambi.Model`` behind the gate; with nutpie, its graph is compiled through
        the store of compiled graphs (:func:`~mbtbayes.core.graph_store.constants_as_data`),
        with PyMC by Bambi's own ``fit``.

        ``nutpie_kwargs`` go to nutpie (e.g. ``low_rank_modified_mass_matrix``). With an
        ``identity`` (what decides the model: formula, family, priors, data) the draws are
        read from the sampler's :attr:`cache` when it holds them, and stored there otherwise.

        Returns
        -------
        tuple
            ``(idata, Diagnostics)``.
        """
        compiled = functools.cache(lambda: _compile_bambi(model))

        def sample(seed: int, draws: int, tune: int, target_accept: float) -> InferenceData:
            if self.options.sampler == "nutpie":  # through the store of compiled graphs
                idata = self._nutpie(compiled(), seed, draws, tune, target_accept,
                                     **(nutpie_kwargs or {}))
                return _bambi_results(model, idata)
            with quiet():
                idata = model.fit(inference_method="pymc", draws=draws, tune=tune,
                                  chains=self.options.chains, random_seed=seed,
                                  progressbar=self.options.progress,
                                  target_accept=target_accept,
                                  cores=min(2, self.options.chains))
            return whole(idata, chains=self.options.chains, draws=draws)

        if identity is not None:
            identity = {**identity, "nutpie_kwargs": nutpie_kwargs}
        return self.gated(sample, seed=seed, var_names=var_names, gate=gate, identity=identity)

    def compiled(self, key: Hashable, build: Callable[[], object], *,
                 keep: list[str] | None = None) -> CompiledModel:
        """nutpie's compiled graph for ``key``, compiling ``build()`` the first time in the
        process (:func:`mbtbayes.core.graphs.compiled_graph`)."""
        return self._graph(key, build, keep=keep)[0]

    def _graph(self, key: Hashable, build: Callable[[], object], *,
               keep: list[str] | None = None) -> tuple[object, object]:
        new = not graphs.is_compiled(key, keep)
        with quiet():
            graph = graphs.compiled_graph(key, build, keep=keep)
        self.n_compiled += new
        self.n_graphs += 1
        return graph

    def with_options(self, options: SamplerOptions) -> Sampler:
        """A sampler with other options (and the same cache); compiled graphs are shared by
        every sampler of the process."""
        return Sampler(options, self.cache)

    def _nutpie(self, compiled: CompiledModel, seed: int, draws: int, tune: int,
                target_accept: float, **kwargs: object) -> InferenceData:
        import nutpie

        with quiet():
            idata = nutpie.sample(compiled, draws=draws, tune=tune, chains=self.options.chains,
                                  seed=seed, progress_bar=self.options.progress,
                                  save_warmup=False, target_accept=target_accept, **kwargs)
        return whole(idata, chains=self.options.chains, draws=draws)

    def _pymc(self, model: pm.Model, seed: int, draws: int, tune: int,
              target_accept: float) -> InferenceData:
        import pymc as pm

        with quiet():
            idata = pm.sample(draws=draws, tune=tune, chains=self.options.chains,
                              cores=min(2, self.options.chains), random_seed=seed,
                              target_accept=target_accept, model=model,
                              progressbar=self.options.progress,
                              compute_convergence_checks=False)
        return whole(idata, chains=self.options.chains, draws=draws)


def _bambi_sampled(model: bmb.Model) -> list[str]:
    """What Bambi's own ``fit`` samples: the free variables and deterministics, without the
    likelihood's parameters (as ``bambi.backend.PyMCModel._run_mcmc``)."""
    from pymc.util import get_default_varnames

    pm_model = model.backend.model
    names = [v.name for v in get_default_varnames(pm_model.unobserved_value_vars,
                                                  include_transformed=False)]
    params = model.backend.spec.family.likelihood.params
    return [n for n in names
            if not (n in params and pm_model.named_vars[n] in pm_model.deterministics)]


def _compile_bambi(model: bmb.Model) -> CompiledModel:
    """nutpie's compiled graph of a Bambi model, its constants made data so that the store of
    compiled graphs keeps it (:func:`mbtbayes.core.graph_store.constants_as_data`)."""
    from mbtbayes.core.graph_store import compile_model, constants_as_data

    if not model.built:
        model.build()
    with quiet():
        return compile_model(constants_as_data(model.backend.model), _bambi_sampled(model))


def _bambi_results(model: bmb.Model, idata: InferenceData) -> InferenceData:
    """nutpie's draws of a Bambi model as Bambi's ``fit`` returns them: Bambi's clean-up
    (dimension order, offsets dropped, intercepts uncentred) and, as PyMC adds them, the
    observed and constant data."""
    import pymc as pm
    from arviz import dict_to_dataset
    from pymc.backends.arviz import (
        coords_and_dims_for_inferencedata,
        find_constants,
        find_observations,
    )

    pm_model = model.backend.model
    coords, dims = coords_and_dims_for_inferencedata(pm_model)
    idata.add_groups({name: dict_to_dataset(values(pm_model), library=pm, coords=coords,
                                            dims=dims, default_dims=[])
                      for name, values in (("constant_data", find_constants),
                                           ("observed_data", find_observations))},
                     coords=coords, dims=dims)
    model.backend.fit = True
    return model.backend._clean_results(idata, omit_offsets=True, include_response_params=False)


class DrawCache(Protocol):
    """Where a :class:`Sampler` keeps draws between runs: the fit cache
    (:class:`mbtbayes.core.cache.DiskCache`; a protocol here, since that cache reads
    :class:`Diagnostics` from this module)."""

    def identity_key(self, identity: dict) -> str: ...

    def get_draws(self, key: str) -> tuple[object, Diagnostics] | None: ...

    def put_draws(self, key: str, idata: InferenceData, diagnostics: Diagnostics) -> None: ...


def _set_initial_data(model: pm.Model, data: dict) -> None:
    """Give the PyMC model behind a compiled graph this fit's data.

    nutpie's ``with_data`` swaps the data of the log-density only; its initial points come
    from PyMC's initial-point function, which reads the model's own ``pm.Data``. Without this,
    a fit's starting points (and so its draws) would depend on the data the graph was first
    compiled from: on which fits ran before it in the same process.
    """
    import pymc as pm

    if data:
        with quiet():
            pm.set_data(data, model=model)


def whole(idata: InferenceData, *, chains: int, draws: int) -> InferenceData:
    """``idata`` when it holds every chain and draw asked for; otherwise the sampler was
    interrupted (nutpie and PyMC answer Ctrl-C by returning the draws so far), and a partial
    posterior must not pass for a fit: :class:`KeyboardInterrupt` is raised.

    Examples
    --------
    >>> import arviz as az, numpy as np
    >>> full = az.from_dict(posterior={"x": np.zeros((2, 5))})
    >>> whole(full, chains=2, draws=5) is full
    True
    """
    interrupts.reraise()  # a signal the sampler answered by returning: never lost
    post = getattr(idata, "posterior", None)
    got_chains = 0 if post is None else post.sizes.get("chain", 0)
    got_draws = 0 if post is None else post.sizes.get("draw", 0)
    if got_chains < chains or got_draws < draws:
        raise KeyboardInterrupt(f"sampling interrupted after {got_draws} of {draws} draws")
    return idata
