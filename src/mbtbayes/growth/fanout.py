"""Growth fits fanned out through an executor (local processes or a Dask cluster).

The fits of a run are independent: each has its own seed, derived from the run seed and its
name (:func:`mbtbayes.core.seeds.seed_for`), so the draws, and the tables, are the same
whichever executor runs them. Fits the fit cache holds are read in this process; the others
are split into one chunk per worker (each worker compiles its graphs once per chunk), fitted
there, returned, and stored in the cache here. A Bambi fit comes back without its
``bambi.Model`` (it does not pickle) and gets it rebuilt here (built, not sampled).

Examples
--------
>>> import mbtbayes as mb
>>> fits = fit_specs_on("processes:2", mb.load_specs(), mb.load_register().data)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pandas as pd

from mbtbayes.core.defaults import SEED
from mbtbayes.core.execute import chunked, executor_for
from mbtbayes.core.sampling import Sampler, SamplerOptions
from mbtbayes.core.seeds import seed_for
from mbtbayes.growth.cache import FitCache, lookup, rebuild_model
from mbtbayes.growth.engines import Engines, engines_for
from mbtbayes.growth.fit import fit_line, growth_jobs


def fit_specs_on(scheduler: str | None, specs: dict, data: pd.DataFrame, *, seed: int = SEED,
                 engine: str | None = None, engines: Engines | None = None,
                 options: SamplerOptions | None = None, log: Callable[[str], None] | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 cache: FitCache | str | Path | bool | None = None) -> list:
    """:func:`mbtbayes.fit_specs` with the fits run by ``scheduler``'s executor.

    Parameters
    ----------
    scheduler : str or None
        ``"processes[:N]"``, a Dask scheduler address, or None / ``"inline"``.
    specs, data, seed, engine, engines, options, log, progress, cache
        As in :func:`mbtbayes.fit_specs`.

    Returns
    -------
    list of GrowthFit
        In spec order, linear before period: the same fits as :func:`mbtbayes.fit_specs`.
    """
    engines = engines or engines_for(options)
    cache = FitCache.open(cache, log=log)
    jobs = growth_jobs(specs, data, engine=engine)
    fits: list = [None] * len(jobs)
    keys: list = [None] * len(jobs)
    for i, (spec, variant, design) in enumerate(jobs):
        if cache is not None:
            keys[i], fits[i] = lookup(cache, engines, spec, design, variant=variant,
                                      seed=seed_for(seed, spec.name, variant), engine=engine)
    todo = [i for i, fit in enumerate(fits) if fit is None]
    if progress is not None:
        progress(len(jobs) - len(todo), len(jobs))
    if todo:
        work = partial(_fit_chunk, specs=specs, data=data, seed=seed, engine=engine,
                       options=engines.sampling.options, width=engines.width)
        with executor_for(scheduler) as executor:
            if log is not None:
                log(f"{len(todo)} growth fits on {executor.name}")
            done = executor.map(work, chunked(todo, executor.workers))
        for chunk in done:
            for i, fit in chunk:
                if fit.engine == "bambi":
                    fit = dataclasses.replace(fit, model=rebuild_model(
                        engines, fit.spec, jobs[i][2], fit.variant))
                fit = dataclasses.replace(fit, design=jobs[i][2])
                fits[i] = fit
                if cache is not None:
                    cache.put(keys[i], fit)
    for i, fit in enumerate(fits, start=1):
        if log is not None:
            log(fit_line(fit, i, len(jobs), cached=i - 1 not in todo))
    if progress is not None:
        progress(len(jobs), len(jobs))
    return fits


def _fit_chunk(indices: tuple, *, specs: dict, data: pd.DataFrame, seed: int,
               engine: str | None, options: SamplerOptions, width: int) -> list:
    """Fit some of a run's jobs in a worker; the fits without their Bambi models."""
    engines = Engines(Sampler(options), width)
    jobs = growth_jobs(specs, data, engine=engine)
    out = []
    for i in indices:
        spec, variant, design = jobs[i]
        fit = engines.fit_design(spec, design, variant=variant,
                                 seed=seed_for(seed, spec.name, variant), engine=engine)
        out.append((i, dataclasses.replace(fit, model=None, design=None)))
    return out
