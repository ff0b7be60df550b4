"""Fitting growth specs: one fit per spec and variant, seeded by name, behind the gate.

:func:`fit_growth` fits one variant of one spec; :func:`fit_specs` fits every variant of every
spec with one pair of engines (so compiled graphs are reused) and shows progress (the command
line's display, :mod:`mbtbayes.core.display`, unless ``progress=False``). Each spec
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
from functools import partial
from pathlib import Path

import pandas as pd

from mbtbayes.core.defaults import SEED
from mbtbayes.core.display import Progress, talking
from mbtbayes.core.sampling import SamplerOptions
from mbtbayes.core.seeds import seed_for
from mbtbayes.growth.cache import FitCache, lookup
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
    progress: bool | Progress | None = True,
    cache: FitCache | str | Path | bool | None = None,
) -> list[GrowthFit]:
    """Fit every variant of every spec, reusing compiled graphs, and show progress.

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
        Receives one line per fit (default with ``progress=True``: the progress display).
    progress : bool or callable
        True (default): show progress on stderr as ``mbtbayes reanalyze`` does: a first line
        with the number of fits, the fit being sampled and a line per finished fit; on a
        terminal a bar with the count, elapsed time and time left (in a notebook or a log,
        plain lines ``[3/18] bsi period ...``). False or None: show nothing (``log`` still
        gets its lines). A callable: called as ``progress(done, total)`` before the first fit
        and after each fit (the command line's own bar).
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
    fitting 18 growth models with nutpie (4 chains x 1000 draws; ...)
    [1/18] growth models: bsi linear ...
    [1/18] bsi linear: n=650 (excluded 0), marginal engine, 41.2 s, ..., passed
    ...
    >>> fits = mb.fit_specs(mb.load_specs(), mb.load_register().data,  # doctest: +SKIP
    ...                     progress=False)                          # silent
    >>> len(fits)  # doctest: +SKIP
    18
    """
    engines = engines or engines_for(options)
    jobs = growth_jobs(specs, data, engine=engine)
    with talking("growth models", progress=progress, log=log) as talk:
        cache = FitCache.open(cache, log=talk.log)
        talk.announce(_first_line(len(jobs), engines))
        talk.done(0, len(jobs))
        fits = []
        for i, (spec, variant, design) in enumerate(jobs):
            fit, cached = _fit_job(engines, cache, spec, design, variant=variant,
                                   seed=seed_for(seed, spec.name, variant), engine=engine,
                                   starting=partial(talk.running, f"{spec.name} {variant}", i,
                                                    len(jobs)))
            if talk.log is not None:
                talk.say(fit_line(fit, i + 1, len(jobs), cached=cached))
            talk.done(i + 1, len(jobs))
            fits.append(fit)
    return fits


def _first_line(n: int, engines: Engines) -> str:
    opts = engines.sampling.options
    return (f"fitting {n} growth models with {opts.sampler} ({opts.chains} chains x "
            f"{opts.draws} draws; each new model structure compiles once, which takes a while)")


def _fit_job(engines: Engines, cache: FitCache | None, spec: ModelSpec, design: Design, *,
             variant: str, seed: int, engine: str | None,
             starting: Callable[[], None]) -> tuple[GrowthFit, bool]:
    """One fit, read from ``cache`` when it holds it (``(fit, True)``), else sampled
    (``starting()`` called first) and stored in it."""
    key = None
    if cache is not None:
        key, fit = lookup(cache, engines, spec, design, variant=variant, seed=seed,
                          engine=engine)
        if fit is not None:
            return fit, True
    starting()
    fit = engines.fit_design(spec, design, variant=variant, seed=seed, engine=engine)
    if cache is not None:
        cache.put(key, fit)
    return fit, False


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


def fit_line(fit: GrowthFit, i: int, n: int, *, cached: bool = False) -> str:
    """One progress line for a finished fit: its sampling time, or "from the fit cache" for
    a fit read back (not the time its first run took to sample it).

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> d = NS(max_r_hat=1.001, min_ess_bulk=1900, min_ess_tail=1500, divergences=0,
    ...        passed=True)
    >>> fit = NS(diagnostics=d, design=NS(y=NS(size=650), n_excluded=2), seconds=82.3,
    ...          spec=NS(name="bsi"), variant="period", engine="marginal")
    >>> fit_line(fit, 2, 18)
    '[2/18] bsi period: n=650 (excluded 2), marginal engine, 82.3 s, max R-hat 1.001, ...'
    >>> fit_line(fit, 2, 18, cached=True)
    '[2/18] bsi period: n=650 (excluded 2), marginal engine, from the fit cache, max R-hat ...'
    """
    d, design = fit.diagnostics, fit.design
    when = "from the fit cache" if cached else f"{fit.seconds:.1f} s"
    return (f"[{i}/{n}] {fit.spec.name} {fit.variant}: n={design.y.size} "
            f"(excluded {design.n_excluded}), {fit.engine} engine, {when}, "
            f"max R-hat {d.max_r_hat:.3f}, "
            f"min ESS {d.min_ess_bulk:.0f}/{d.min_ess_tail:.0f}, divergences {d.divergences}, "
            + ("passed" if d.passed else f"FAILED the gate after {d.attempts} attempts "
               f"({d.reason})"))
