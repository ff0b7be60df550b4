"""Fitting growth specs: one fit per spec and variant, seeded by name, behind the gate.

:func:`fit_growth` fits one variant of one spec; :func:`fit_specs` fits every variant of every
spec with one pair of engines (so compiled graphs are reused) and reports progress. Each spec
goes to the engine it resolves to (``engine = "auto"``: the marginal engine when the spec
qualifies, Bambi otherwise; see :mod:`mbtbayes.growth.engine_choice`). Each fit's seed derives from
the run seed and the fit's identity (:func:`mbtbayes.core.seeds.seed_for`), so adding a spec
changes no other fit's draws.

Examples
--------
>>> import mbtbayes as mb
>>> spec = mb.make_spec(outcome="y", time="week", group="id", period="arm", range=(0, 10))
>>> fit = mb.fit_growth(spec, data, variant="period")  # doctest: +SKIP
>>> fit.diagnostics.passed  # doctest: +SKIP
True
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from mbtbayes.core.defaults import SEED
from mbtbayes.core.sampling import SamplerOptions
from mbtbayes.core.seeds import seed_for
from mbtbayes.growth.cache import FitCache, fit_cached
from mbtbayes.growth.design import Design, check_prior_keys, make_design
from mbtbayes.growth.engine_choice import resolve_engine
from mbtbayes.growth.engines import Engines, engines_for
from mbtbayes.growth.modelspec import ModelSpec
from mbtbayes.growth.result import GrowthFit


def fit_growth(
    spec: ModelSpec,
    data: pd.DataFrame,
    *,
    variant: str = "period",
    seed: int = SEED,
    options: SamplerOptions | None = None,
    engine: str | None = None,
    engines: Engines | None = None,
) -> GrowthFit:
    """Fit one variant of a growth-model spec to long-format data.

    Parameters
    ----------
    spec : ModelSpec
        From ``models/*.toml`` (:func:`mbtbayes.load_specs`) or :func:`mbtbayes.make_spec`.
    data : pandas.DataFrame
        Long format with the spec's columns; rows with a missing outcome or predictor are
        left out and counted (``fit.design.n_excluded``).
    variant : {"linear", "period"}
    seed : int
        Run seed; the fit's own seed derives from it and the spec's name and variant.
    options : SamplerOptions, optional
        Sampler, draws, tuning and chains (default: nutpie, 4 chains x 1000 draws).
    engine : {"auto", "marginal", "bambi"}, optional
        The engine (default: the spec's ``engine``).
    engines : Engines, optional
        The engines to fit with (their sampling options and fit cache; they override
        ``options``); default: new ones with ``options``.

    Returns
    -------
    GrowthFit
        With ``engine = "bambi"``, ``fit.model`` is the ``bambi.Model`` and ``fit.idata`` its
        ArviZ InferenceData.

    Raises
    ------
    SpecError
        If the chosen engine cannot fit the spec (the message says why).

    Examples
    --------
    >>> import mbtbayes as mb
    >>> reg = mb.load_register()
    >>> fit = mb.fit_growth(mb.load_specs()["bsi"], reg.data, engine="bambi")  # doctest: +SKIP
    >>> fit.model.predict(fit.idata, kind="response", inplace=False)  # doctest: +SKIP
    >>> fit.beta()["period[II]"].mean()  # doctest: +SKIP
    0.15...
    """
    engines = engines or engines_for(options)
    return engines.fit(spec, data, variant=variant, seed=seed_for(seed, spec.name, variant),
                       engine=engine)


def fit_specs(
    specs: dict[str, ModelSpec],
    data: pd.DataFrame,
    *,
    seed: int = SEED,
    options: SamplerOptions | None = None,
    engine: str | None = None,
    engines: Engines | None = None,
    log: Callable[[str], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
    cache: FitCache | str | Path | bool | None = None,
) -> list[GrowthFit]:
    """Fit every variant of every spec, reusing compiled graphs, and log progress.

    A spec whose period column is absent from the data fits the linear variant only. Each
    spec goes to the engine it resolves to, unless ``engine`` names one.

    Parameters
    ----------
    specs : dict of str to ModelSpec
    data : pandas.DataFrame
    seed : int
        Run seed; each fit's seed derives from it by the fit's name.
    options : SamplerOptions, optional
        As in :func:`fit_growth`.
    engine : {"auto", "marginal", "bambi"}, optional
        As in :func:`fit_growth`: every spec with this engine (default: each spec's own).
    engines : Engines, optional
        As in :func:`fit_growth`.
    log : callable, optional
        Receives one line per fit.
    progress : callable, optional
        Called as ``progress(done, total)`` before the first fit and after each fit (for a
        progress bar).
    cache : path, FitCache, None or False
        A fit cache folder (:class:`mbtbayes.growth.cache.FitCache`): fits it holds are read,
        not sampled, and new fits are stored in it. None or False: every fit is sampled.

    Returns
    -------
    list of GrowthFit
        In spec order, linear before period.

    Examples
    --------
    >>> import mbtbayes as mb
    >>> fits = mb.fit_specs(mb.load_specs(), mb.load_register().data)  # doctest: +SKIP
    >>> len(fits)  # doctest: +SKIP
    18
    """
    engines = engines or engines_for(options)
    jobs = growth_jobs(specs, data, engine=engine)
    cache = FitCache.open(cache, log=log)
    fits = []
    if progress is not None:
        progress(0, len(jobs))
    for i, (spec, variant, design) in enumerate(jobs, start=1):
        fit, cached = fit_cached(engines, cache, spec, design, variant=variant,
                                 seed=seed_for(seed, spec.name, variant), engine=engine)
        if log is not None:
            log(fit_line(fit, i, len(jobs)) + (" (from the fit cache)" if cached else ""))
        if progress is not None:
            progress(i, len(jobs))
        fits.append(fit)
    return fits


def growth_jobs(specs: dict[str, ModelSpec], data: pd.DataFrame, *,
                engine: str | None = None) -> list[tuple[ModelSpec, str, Design]]:
    """Every (spec, variant, design) to fit, with every prior key and engine checked first."""
    jobs = []
    for spec in specs.values():
        resolve_engine(spec, engine)
        variants = [v for v in spec.variants if v == "linear" or spec.period in data]
        designs = [make_design(spec, data, variant=v) for v in variants]
        check_prior_keys(spec, designs)
        jobs += [(spec, v, d) for v, d in zip(variants, designs, strict=True)]
    return jobs


def fit_line(fit: GrowthFit, i: int, n: int) -> str:
    """One progress line for a finished fit."""
    d, design = fit.diagnostics, fit.design
    return (f"[{i}/{n}] {fit.spec.name} {fit.variant}: n={design.y.size} "
            f"(excluded {design.n_excluded}), {fit.engine} engine, {fit.seconds:.1f} s, "
            f"max R-hat {d.max_r_hat:.3f}, "
            f"min ESS {d.min_ess_bulk:.0f}/{d.min_ess_tail:.0f}, divergences {d.divergences}, "
            + ("passed" if d.passed else f"FAILED the gate after {d.attempts} attempts "
               f"({d.reason})"))
