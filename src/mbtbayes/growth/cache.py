"""The fit cache: growth fits on disk (and, through its base class, the draws and records of
every other model a run samples or fits), so that a rerun that changes only the report or the
summaries does not sample again.

Each fit is stored under a key: the SHA-256 of everything that decides its draws, namely the
data the fit uses (its design: outcome, predictors, patients, rows, priors), the spec fields
that reach the model (formulas, family, priors, engine, correlation; not its label, ROPE or
d time points, which only the summaries use), the variant, the engine and its compiled width,
the sampler settings, the fit's seed, and the versions of mbtbayes, nutpie, PyMC and Bambi.
Change any of them and the fit is sampled again.

A growth fit's entry is a folder ``<key>/`` holding ``idata.nc`` (the whole InferenceData,
full precision), ``params.nc`` (the population-level parameters in the shared names) and
``entry.json`` (the diagnostics, wall time, engine, and the SHA-256 of both files). The other
models' entries (:data:`~mbtbayes.core.cache.ENTRY_LAYOUTS`: the draws of a remission, GLMM or
K-fold model, the JSON record of an ML fit), the marker, atomic writing and the checksums are
those of :class:`mbtbayes.core.cache.DiskCache`.

The cache holds posterior draws and the data of each fit (``observed_data``), keyed by the
pseudonymous ids: keep it where the outputs are kept (the default of ``mbtbayes reanalyze`` is
``.mbtbayes-cache`` beside the output folder).

Examples
--------
>>> import tempfile
>>> cache = FitCache(tempfile.mkdtemp())
>>> cache.hits, cache.misses
(0, 0)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import xarray as xr

from mbtbayes.core.arviz_api import read_exact, write_exact
from mbtbayes.core.cache import ENTRY_FILES, DiskCache, write_entry_record
from mbtbayes.core.sampling import Diagnostics, SamplerOptions
from mbtbayes.growth.design import Design
from mbtbayes.growth.engine_choice import resolve_engine
from mbtbayes.growth.engines import Engines
from mbtbayes.growth.fit_identity import fit_key
from mbtbayes.growth.modelspec import ModelSpec
from mbtbayes.growth.result import GrowthFit

if TYPE_CHECKING:
    import bambi as bmb

Rebuild = Callable[[ModelSpec, Design, str], "bmb.Model"]
"""``rebuild(spec, design, variant)``: the built (not sampled) Bambi model of a Bambi fit."""


class FitCache(DiskCache):
    """Growth fits on disk, keyed by everything that decides their draws, beside the draws and
    records of the other models (:class:`~mbtbayes.core.cache.DiskCache`).

    Parameters
    ----------
    folder : path
        The cache folder (created with its marker when the first entry is stored).
    log : callable, optional
        Receives a note when an entry is unreadable and is refitted.

    Raises
    ------
    OutputError
        If ``folder`` is a file, or a non-empty folder that is not an mbtbayes cache.
    """

    def key(self, spec: ModelSpec, design: Design, *, variant: str, seed: int, engine: str,
            width: int, options: SamplerOptions) -> str:
        """The entry key of one fit (hex SHA-256)."""
        return fit_key(spec, design, variant=variant, seed=seed, engine=engine, width=width,
                       options=options)

    def get(self, key: str, *, spec: ModelSpec, design: Design, variant: str,
            rebuild: Rebuild | None = None) -> GrowthFit | None:
        """The cached fit under ``key`` as a GrowthFit, or None (absent or unreadable).

        ``rebuild(spec, design, variant)`` returns the Bambi model of a Bambi fit (built, not
        sampled), so that a cached Bambi fit keeps ``fit.model``.
        """
        return self._load(key, lambda entry, record: _read_entry(
            entry, record, spec=spec, design=design, variant=variant, rebuild=rebuild),
            f"the entry for {spec.name} {variant}", "refitting it")

    def put(self, key: str, fit: GrowthFit) -> None:
        """Store a fit under ``key``, atomically (a failure to write is logged, not raised)."""
        self._put(key, lambda folder: _write_entry(folder, fit),
                  f"{fit.spec.name} {fit.variant}")


def fit_cached(engines: Engines, cache: FitCache | None, spec: ModelSpec, design: Design, *,
               variant: str, seed: int, engine: str | None = None) -> tuple[GrowthFit, bool]:
    """Fit one design through ``engines`` (with the engine ``engine``, default the spec's),
    or take it from ``cache`` when it holds it.

    Returns
    -------
    tuple
        ``(GrowthFit, cached)``, ``cached`` True when the fit came from the cache.
    """
    if cache is None:
        return engines.fit_design(spec, design, variant=variant, seed=seed,
                                  engine=engine), False
    key, fit = lookup(cache, engines, spec, design, variant=variant, seed=seed, engine=engine)
    if fit is not None:
        return fit, True
    fit = engines.fit_design(spec, design, variant=variant, seed=seed, engine=engine)
    cache.put(key, fit)
    return fit, False


def lookup(cache: FitCache, engines: Engines, spec: ModelSpec, design: Design, *, variant: str,
           seed: int, engine: str | None = None) -> tuple[str, GrowthFit | None]:
    """The key of one fit fitted by ``engines``, and the cached fit (None when absent)."""
    key = cache.key(spec, design, variant=variant, seed=seed,
                    engine=resolve_engine(spec, engine), width=engines.width,
                    options=engines.sampling.options)
    return key, cache.get(key, spec=spec, design=design, variant=variant,
                          rebuild=partial(rebuild_model, engines))


def rebuild_model(engines: Engines, spec: ModelSpec, design: Design, variant: str) -> bmb.Model:
    """The built (not sampled) ``bambi.Model`` of a Bambi fit."""
    model = engines.get("bambi").build(spec, design, variant=variant)
    model.build()
    return model


def _write_entry(folder: Path, fit: GrowthFit) -> None:
    write_exact(fit.idata, folder / "idata.nc")
    params = fit.params if fit.params is not None else fit.idata.posterior[[]]
    params.to_netcdf(folder / "params.nc", engine="h5netcdf")
    write_entry_record(folder, {"spec": fit.spec.name, "variant": fit.variant, "engine": fit.engine,
                           "sampler": fit.sampler, "seconds": fit.seconds,
                           "diagnostics": dataclasses.asdict(fit.diagnostics)},
                  files=ENTRY_FILES[:2])


def _read_entry(folder: Path, entry: dict, *, spec: ModelSpec, design: Design, variant: str,
                rebuild: Rebuild | None) -> GrowthFit:
    idata = read_exact(folder / "idata.nc")
    with xr.open_dataset(folder / "params.nc", engine="h5netcdf") as stored:
        params = stored.load()
    model = None
    if entry["engine"] == "bambi" and rebuild is not None:
        model = rebuild(spec, design, variant)
    return GrowthFit(spec, variant, design, idata, Diagnostics(**entry["diagnostics"]),
                     entry["sampler"], float(entry["seconds"]), entry["engine"], model=model,
                     params=params)


