"""The whole reanalysis in one call, as ``mbtbayes reanalyze`` runs it.

Examples
--------
>>> from mbtbayes.pipeline import reanalyze
>>> reanalyze(out="results")  # doctest: +SKIP
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from mbtbayes import compare
from mbtbayes.binary import adherence, change, remission
from mbtbayes.compare import concordance_summary
from mbtbayes.core import interrupts
from mbtbayes.core.arviz_api import save_inference
from mbtbayes.core.cache import DiskCache, default_cache_dir
from mbtbayes.core.defaults import SEED
from mbtbayes.core.display import Progress, Talk, talking
from mbtbayes.core.errors import DataError, SpecError
from mbtbayes.core.execute import parse_scheduler
from mbtbayes.core.forked import in_background
from mbtbayes.core.sampling import SamplerOptions
from mbtbayes.growth import summaries
from mbtbayes.growth.adjusted import adjusted_effects
from mbtbayes.growth.bayes_factor import bayes_factor_table
from mbtbayes.growth.cache import FitCache
from mbtbayes.growth.engines import Engines, engines_for
from mbtbayes.growth.fanout import fit_specs_on
from mbtbayes.growth.fit import fit_specs
from mbtbayes.growth.joint.data import OUTCOMES
from mbtbayes.growth.likelihood_comparison import recorded_comparison
from mbtbayes.growth.loo import kfold_patients
from mbtbayes.growth.loo_pit import loo_pit_table
from mbtbayes.growth.ppc import ppc_table
from mbtbayes.growth.prior_predictive import prior_predictive_table
from mbtbayes.growth.reliable_change import reliable_change
from mbtbayes.growth.rope_curve import rope_curve
from mbtbayes.growth.shrinkage import shrinkage
from mbtbayes.growth.specs import load_specs
from mbtbayes.growth.trajectories import trajectory_table
from mbtbayes.io.output import check_output, write_run, write_tables
from mbtbayes.io.register import Register, describe, load_register, summarise
from mbtbayes.report import headline_text, run_record, write_report, write_run_json
from mbtbayes.report.figures import make_figures
from mbtbayes.report.figures_calibration import rank_figure
from mbtbayes.report.style import figure_style, save, stamp
from mbtbayes.sensitivity.calibration import BINS, RANK_DRAWS, sbc
from mbtbayes.sensitivity.calibration_bambi import sbc_bambi
from mbtbayes.sensitivity.calibration_joint import SBC_OUTCOMES, sbc_joint
from mbtbayes.sensitivity.joint_pooling import joint_pooling as pooling_table
from mbtbayes.sensitivity.power import power_table
from mbtbayes.sensitivity.stacking import stacking as stack_models
from mbtbayes.sensitivity.suite import ANALYSES, QUICK, Sensitivity, sensitivity
from mbtbayes.study.numbers import published_table
from mbtbayes.study.reanalysis import inconsistencies, published_posteriors, published_summary

if TYPE_CHECKING:
    from mbtbayes.growth.joint.fit import JointFit
    from mbtbayes.growth.modelspec import ModelSpec


def reanalyze(
    *,
    data: str | Path | pd.DataFrame | None = None,
    mapping: str | Path | Mapping | None = None,
    encoding: str | None = None,
    models: str | Path | None = None,
    out: str | Path = "mbtbayes-results",
    seed: int = SEED,
    draws: int = 1000,
    chains: int = 4,
    sampler: str = "nutpie",
    quick: bool = False,
    joint: bool = False,
    joint_pooling: bool = False,
    report: bool = True,
    sensitivity: bool | str = False,
    adjusted: bool = False,
    stacking: bool = False,
    log: Callable[[str], None] = print,
    progress: Callable[[str, int, int], None] | None = None,
    headline: Callable[[dict[str, pd.DataFrame]], None] | None = None,
    cache: str | Path | bool = True,
    scheduler: str | None = None,
) -> Path:
    """Run the reanalysis: validate the register, fit every model spec, write every table,
    the figures and the report.

    Parameters
    ----------
    data : path, DataFrame or None
        Register extract, or None for the bundled SYNTHETIC register.
    mapping : path, dict or None
        Column mapping onto the schema.
    encoding : str, optional
        Text encoding of a CSV or ``.sav`` register (default: found out, with a warning).
    models : path, optional
        Folder of model specs (default: the package's ``models/``).
    out : path
        Output folder: written atomically when the run succeeds; an existing folder is
        replaced only when it is empty or a previous mbtbayes output (otherwise OutputError,
        before any work).
    seed, draws, chains : int
        Sampling settings.
    sampler : {"nutpie", "pymc"}
        NUTS implementation.
    quick : bool
        Few draws, for a smoke run.
    joint : bool
        Also fit the joint model of the clinical outcomes (:func:`joint_tables`):
        ``joint_model.csv``, ``joint_model_comparison.csv`` and its figure.
    joint_pooling : bool
        With the joint model (implies ``joint``), also its pooling sensitivity
        (:func:`~mbtbayes.sensitivity.joint_pooling.joint_pooling`: the between-outcome SD's
        prior at x0.5, x1, x2 and unpooled; three more joint fits, several minutes):
        ``joint_pooling.csv``.
    report : bool
        Write ``figures/*.png``, ``paper_tables.md``, ``report.md`` and ``report.html``
        (``run.json`` is written either way).
    sensitivity : bool or {"quick", "full"}
        Also run the sensitivity analyses (:func:`sensitivity_tables`): ``sensitivity.csv``,
        ``sensitivity_summary.txt`` and a figure per main quantity; ``True`` or ``"quick"``
        reuses the draws, ``"full"`` adds the refits of other models.
    adjusted : bool
        Also fit the case-mix adjusted period models (:func:`adjusted_effects`, about 100 s
        on the bundled register): ``adjusted_effects.csv``; ``sensitivity="full"`` makes it
        too (its "case-mix adjustment" refits are the same fits).
    stacking : bool
        Also average each measure's conclusions over its candidate models by LOO stacking
        (:func:`~mbtbayes.sensitivity.stacking.stacking`: about four refits per measure,
        about 200 s each measure on 2 cores without the fit cache): ``stacking.csv``;
        ``sensitivity="full"`` makes it too (from the same refits).
    log : callable
        Receives progress messages.
    progress : callable, optional
        Called as ``progress(stage, done, total)`` over the fits (for a progress bar).
    headline : callable, optional
        Receives the run's tables at the end, to show the answer (default: the headline as
        text through ``log``).
    cache : bool or path
        Fit cache (:mod:`mbtbayes.growth.cache`): True (default) keeps growth fits, the
        remission and GLMM draws and the ML fits in ``.mbtbayes-cache`` beside the output
        folder, a path keeps them there, False samples every fit. A rerun that changes only
        the report or the summaries reads its fits.
    scheduler : str, optional
        Executor for the growth fits (``processes[:N]`` or a Dask scheduler address; default:
        in this process). The tables are the same whichever executor runs the fits.

    Returns
    -------
    Path
        The output folder.

    Examples
    --------
    >>> import mbtbayes as mb
    >>> mb.reanalyze(out="results", quick=True)  # doctest: +SKIP
    PosixPath('.../results')
    """
    engines = _engines(sampler=sampler, draws=draws, chains=chains, quick=quick)  # options first
    parse_scheduler(scheduler)  # a bad scheduler fails before any work
    options = {"data": data, "mapping": mapping, "encoding": encoding, "models": models,
               "out": out, "seed": seed, "draws": draws, "chains": chains, "sampler": sampler,
               "quick": quick, "sensitivity": sensitivity, "joint": joint,
               "joint_pooling": joint_pooling,
               "adjusted": adjusted, "stacking": stacking}
    clock = _Clock()
    check_output(out, data=data if isinstance(data, str | Path) else None)
    cache = _cache_for(cache, out, log)
    engines.sampling.cache = cache  # the K-fold refits' draws are cached beside the fits
    register = load_register(data, mapping=mapping, encoding=encoding)
    log(f"data: {register.label}")
    log(describe(register))
    parts = summarise(register)
    tables = {"data_summary": parts["periods"], "missing_values": parts["missing"]}
    specs = _specs_for(register, models, log)
    opts = engines.sampling.options
    log(f"fitting {2 * len(specs)} growth models with {opts.sampler} "
        f"({opts.chains} chains x {opts.draws} draws; each new model structure compiles "
        "once, which takes a while)")
    if cache is not None:
        log(f"fit cache: {cache.folder} (--no-cache to sample every fit)")
    fits = _growth_fits(specs, register.data, seed=seed, engines=engines, log=log,
                        progress=None if progress is None else partial(progress, "growth models"),
                        cache=cache, scheduler=scheduler)
    clock.lap("growth_fits")
    saved = _SavedFits(fits, out)  # written by a forked child beside the tables and report
    try:
        tables |= growth_tables(fits, register.data, engines=engines, seed=seed, log=log)
        if adjusted or sensitivity == "full":
            log("case-mix adjustment: period contrasts adjusted for intake characteristics")
            table = adjusted_effects(fits, register.data, engines=engines, seed=seed, cache=cache,
                                     log=log)
            if table.empty:
                log("case-mix adjustment: no spec declares covariates (no adjusted_effects.csv)")
            else:
                tables["adjusted_effects"] = table
            clock.lap("adjusted")
        if joint or joint_pooling:
            tables |= joint_tables(fits, register.data, options=opts, seed=seed,
                                   pooling=joint_pooling, log=log)
            clock.lap("joint_model")
        log("frequentist analysis: ML mixed models, AIC, d")
        log("remission, start-end change and adherence")
        tables |= binary_tables(register.data, seed=seed, options=opts, cache=cache, log=log)
        tables |= frequentist_tables(fits, specs, register.data, tables, log=log, cache=cache,
                                     seed=seed)
        summary = concordance_summary(tables["concordance"])
        log(summary)
        clock.lap("tables")
        robustness = None
        if sensitivity:
            robustness = sensitivity_tables(fits, specs, register.data, engines=engines, seed=seed,
                                            full=sensitivity == "full", cache=cache, log=log)
            tables["sensitivity"] = robustness.table
            clock.lap("sensitivity")
        if stacking or sensitivity == "full":
            log("model averaging: LOO stacking over each measure's candidate models")
            tables["stacking"] = stack_models(fits, register.data, engines=engines, seed=seed,
                                              cache=cache, log=log)
            clock.lap("stacking")

        def extra(folder: Path) -> None:
            (folder / "concordance_summary.txt").write_text(summary + "\n", encoding="utf-8")
            if robustness is not None:
                (folder / "sensitivity_summary.txt").write_text(robustness.summary + "\n",
                                                                encoding="utf-8")
            record = run_record(options=options, data=data, register=register, specs=specs,
                                engines=engines, fits=fits, models=models, mapping=mapping)
            if report:
                log("writing figures and the report")
                write_report(folder, tables=tables, fits=fits, specs=specs, register=register,
                             run=record)
                clock.lap("report")
            saved.move_into(folder)
            clock.lap("fits_saved")
            write_run_json(folder, record | {"seconds": clock.seconds()})

        written = write_run(out, register, tables, extra=extra)
        if headline is not None:
            headline(tables)
        else:
            log(headline_text(tables))
        return written
    except BaseException:
        saved.discard()
        raise


class _Clock:
    """Wall time per stage of a run, for ``run.json``."""

    def __init__(self) -> None:
        self._start = self._last = time.perf_counter()
        self._laps: dict[str, float] = {}

    def lap(self, stage: str) -> None:
        """End a stage (and raise a signal's exception that code in it swallowed)."""
        interrupts.reraise()
        now = time.perf_counter()
        self._laps[stage] = now - self._last
        self._last = now

    def seconds(self) -> dict[str, float]:
        return {k: round(v, 2) for k, v in self._laps.items()} | {
            "total_before_swap": round(time.perf_counter() - self._start, 2)}


def binary_tables(data: pd.DataFrame, *, seed: int = SEED,
                  options: SamplerOptions | None = None, cache: DiskCache | None = None,
                  log: Callable[[str], None] = print) -> dict[str, pd.DataFrame]:
    """Remission, start-end change and adherence tables (those whose columns are present);
    the sampled models' draws through ``cache``, the run's fit cache, when there is one."""
    sampled = {"seed": seed, "options": options, "cache": cache}
    makers = {"remission": lambda: remission.remission_table(data, **sampled),
              "start_end_change": lambda: change.start_end_change(data, **sampled),
              "adherence": lambda: adherence.adherence_table(data, seed=seed)}
    tables = {}
    for name, make in makers.items():
        try:
            tables[name] = make()
        except DataError as err:  # the register lacks those columns: say so, go on
            log(f"skipped {name}: {err}")
    return tables


def frequentist_tables(fits: list, specs: dict, data: pd.DataFrame,
                       bayes: dict[str, pd.DataFrame], *,
                       log: Callable[[str], None] = print,
                       cache: DiskCache | None = None,
                       seed: int = SEED) -> dict[str, pd.DataFrame]:
    """The frequentist tables, AIC beside LOO, the Bayes factors of the period terms, the
    intake comparison, and the concordance of the two analyses (the ML fits read from
    ``cache``, the run's fit cache, when it holds them)."""
    ml = compare.frequentist_fits(specs, data, log=log, cache=cache)
    comparison = compare.model_comparison_table(bayes["model_comparison"], ml)
    factors = bayes_factor_table(fits)
    intake = _intake(data, seed=seed, log=log)
    table = compare.concordance(fits, data, binary=bayes, ml=ml, comparison=comparison,
                                bayes_factors=factors, intake=intake)
    return ({} if intake is None else {"intake": intake}) | {
        "frequentist_growth_models": compare.frequentist_growth_table(ml),
        "frequentist_effect_sizes": compare.frequentist_effect_sizes(ml, specs, data),
        "model_comparison": comparison,
        "bayes_factors": factors,
        "concordance": table,
    }


def _intake(data: pd.DataFrame, *, seed: int,
            log: Callable[[str], None]) -> pd.DataFrame | None:
    """The intake table, or None (said) when the register has no intake characteristics."""
    log("intake: who came in each period")
    try:
        return compare.intake_table(data, seed=seed)
    except DataError as err:
        log(f"skipped intake: {err}")
        return None


def growth_tables(fits: list, data: pd.DataFrame, *, engines: Engines | None = None,
                  seed: int = SEED,
                  log: Callable[[str], None] = print) -> dict[str, pd.DataFrame]:
    """Every Bayesian growth-model table of the contract, from a list of fits.

    With ``engines`` (the run's), measures whose PSIS-LOO has a Pareto k above 0.7 are
    compared by grouped K-fold refits instead (gated, seeded by the run seed, logged).

    Returns
    -------
    dict of str to DataFrame
        ``growth_models``, ``period_effects``, ``rope_curve``, ``effect_sizes``,
        ``variance_explained``, ``model_comparison``, ``diagnostics``, ``ppc``,
        ``trajectories``, ``prior_predictive``, ``loo_pit`` and ``shrinkage``, as
        ``reanalyze`` writes them,
        ``reliable_change`` (specs with a ``[reliable_change]`` table) and
        ``likelihood_comparison`` when specs of one measure differ in likelihood
        (:func:`~.likelihood_comparison.recorded_comparison`).

    Examples
    --------
    >>> import mbtbayes as mb
    >>> reg = mb.load_register()
    >>> fits = mb.fit_specs(mb.load_specs(), reg.data)  # doctest: +SKIP
    >>> mb.growth_tables(fits, reg.data)["period_effects"]  # doctest: +SKIP
    """
    from functools import partial

    kfold = None
    if engines is not None:
        kfold = partial(kfold_patients, engines=engines, seed=seed, log=log)

    tables = {
        "growth_models": summaries.growth_table(fits),
        "period_effects": summaries.period_effects(fits, data, seed=seed),
        "rope_curve": rope_curve(fits, data, seed=seed),
        "effect_sizes": summaries.effect_sizes(fits, data, seed=seed),
        "variance_explained": summaries.variance_explained(fits, data),
        "model_comparison": summaries.model_comparison(fits, kfold=kfold),
        "diagnostics": summaries.diagnostics_table(fits),
        "ppc": ppc_table(fits, seed=seed),
        "trajectories": trajectory_table(fits),
        "prior_predictive": prior_predictive_table(fits, data, seed=seed),
        "loo_pit": loo_pit_table(fits, seed=seed),
        "shrinkage": shrinkage(fits, data),
    }
    change = reliable_change(fits, data)  # specs with a [reliable_change] table
    if not change.empty:
        tables["reliable_change"] = change
    likelihoods = recorded_comparison(fits)  # specs of one measure with other likelihoods
    if not likelihoods.empty:
        tables["likelihood_comparison"] = likelihoods
    return tables


def sensitivity_tables(fits: list, specs: dict, data: pd.DataFrame, *,
                       engines: Engines | None = None,
                       seed: int = SEED, full: bool = False, cache: FitCache | None = None,
                       log: Callable[[str], None] = print) -> Sensitivity:
    """The sensitivity analyses of a run's period fits (``--sensitivity``), logged with their
    plain-language summary; refits go through the run's fit cache (``cache``, a FitCache or
    None), so a rerun samples none of them again (K-fold comparison refits excepted).

    Returns
    -------
    mbtbayes.sensitivity.suite.Sensitivity
    """
    with_period = {k: s for k, s in specs.items()
                   if any(f.spec.name == k and f.variant == "period" for f in fits)}
    analyses = ANALYSES if full else QUICK
    log(f"sensitivity analyses of {len(with_period)} measures: {', '.join(analyses)}")
    result = sensitivity(with_period, data, fits=fits, engines=engines, seed=seed,
                         analyses=analyses, cache=cache, log=log, progress=False)
    log("sensitivity (robust: no setting that could have changed a conclusion did):\n"
        + result.summary)
    return result


def joint_tables(fits: list, data: pd.DataFrame, *,
                 joint: JointFit | Sequence[JointFit] | None = None,
                 options: SamplerOptions | None = None, seed: int = SEED,
                 pooling: bool = False,
                 log: Callable[[str], None] = print) -> dict[str, pd.DataFrame]:
    """The joint model of the clinical outcomes beside the run's single-outcome fits.

    Uses the joint fits given as ``joint`` (e.g. from :func:`mbtbayes.fit_joint`) and fits
    only what is missing: the model with and without the period terms (the second is the
    comparison of ``joint_model_comparison.csv``), on the given fits' outcomes, priors,
    pooling and scaling. Without ``joint``, both are fitted on the outcomes of
    :data:`~mbtbayes.growth.joint.data.OUTCOMES` the data has (at least two). New fits are
    sampled with ``options`` (default: the package's, 4 chains x 1000 draws).

    Parameters
    ----------
    fits : list of GrowthFit
        The single-outcome fits (their contrasts and d go beside the joint ones).
    data : pandas.DataFrame
        The data the fits (and the given joint fits) were fitted to.
    joint : JointFit or sequence of JointFit, optional
        Joint fits already made (``variant`` ``"period"`` and/or ``"no_period"``, one each,
        of one outcome set): not fitted again.
    options : SamplerOptions, optional
        Sampling of new fits and of the K-fold refits (where a Pareto k > 0.7).
    seed : int
    log : callable

    Returns
    -------
    dict of str to DataFrame
        ``joint_model`` and ``joint_model_comparison`` (empty when fewer than two outcomes).

    Raises
    ------
    SpecError
        If the given joint fits repeat a variant or differ in outcomes.
    DataError
        If a given joint fit was fitted to other patients than ``data``'s.

    Examples
    --------
    >>> import mbtbayes as mb
    >>> reg = mb.load_register()
    >>> fits = mb.fit_specs(mb.load_specs(), reg.data)  # doctest: +SKIP
    >>> jf = mb.fit_joint(reg.data)  # doctest: +SKIP
    >>> mb.joint_tables(fits, reg.data, joint=jf)["joint_model"]  # doctest: +SKIP
    """
    from functools import partial

    from mbtbayes.growth.joint.fit import fit_line as joint_line  # numba: only with --joint
    from mbtbayes.growth.joint.summaries import comparison_table, joint_table, kfold_joint

    given = _given_joint(joint)
    outcomes = _joint_outcomes(given, data)
    if len(outcomes) < 2:
        log(f"skipped the joint model: it needs two of {', '.join(OUTCOMES)}")
        return {}
    missing = [v for v in ("period", "no_period") if v not in given]
    if missing:
        log(f"joint model of {', '.join(outcomes)}: fitting "
            + " and ".join(f"the {v.replace('_', '-')} model" for v in missing))
    made = {v: _fit_joint_like(next(iter(given.values()), None), data, outcomes=outcomes,
                               variant=v, seed=seed, options=options) for v in missing}
    for fit in made.values():
        log(joint_line(fit))
    joint = given | made
    _check_joint_data(joint, data)
    kfold = partial(kfold_joint, options=options, seed=seed, log=log)
    tables = {"joint_model": joint_table(joint["period"], data, single=fits, seed=seed),
              "joint_model_comparison": comparison_table(joint["period"], joint["no_period"],
                                                         kfold=kfold)}
    if pooling:
        log("joint model's pooling: the between-outcome SD's prior at x0.5, x1, x2 and "
            "unpooled (three more joint fits)")
        tables["joint_pooling"] = pooling_table(
            data, joint=joint["period"], seed=seed, options=options, log=log,
            specs={fit.spec.measure: fit.spec for fit in  # a spec named as its measure first
                   sorted(fits, key=lambda f: f.spec.name == f.spec.measure)})
    return tables


def _given_joint(joint: JointFit | Sequence[JointFit] | None) -> dict[str, JointFit]:
    """The given joint fits by variant (one each, one outcome set)."""
    given = [] if joint is None else [joint] if hasattr(joint, "variant") else list(joint)
    variants = [f.variant for f in given]
    if len(set(variants)) < len(variants):
        raise SpecError(f"joint: one fit per variant, got variants {variants}")
    if len({f.outcomes for f in given}) > 1:
        raise SpecError("joint: the given joint fits differ in outcomes: "
                        + "; ".join(", ".join(f.outcomes) for f in given))
    return {f.variant: f for f in given}


def _joint_outcomes(given: dict, data: pd.DataFrame) -> list[str]:
    if given:
        return list(next(iter(given.values())).outcomes)
    return [o for o in OUTCOMES if o in data and data[o].notna().any()]


def _fit_joint_like(like: JointFit | None, data: pd.DataFrame, *, outcomes: list[str],
                    variant: str, seed: int, options: SamplerOptions | None) -> JointFit:
    """A joint fit of ``variant``, with the priors, pooling and scaling of ``like`` (a given
    fit of the other variant) when there is one."""
    from mbtbayes.growth.joint.fit import fit_joint  # numba kernels: only with --joint

    same = {} if like is None else {"priors": like.priors, "pooled": like.pooled,
                                    "scaling": like.data.scaling}
    return fit_joint(data, outcomes=outcomes, variant=variant, seed=seed, options=options,
                     progress=False, **same)


def _check_joint_data(joint: dict[str, JointFit], data: pd.DataFrame) -> None:
    """Both joint fits made from ``data`` (its patients, visits and values, in the fits'
    scaling): a given fit made from other data is refused."""
    import numpy as np

    from mbtbayes.growth.joint.data import prepare

    fit = joint["period"]
    mine = prepare(data, outcomes=fit.outcomes, scaling=fit.data.scaling)
    for f in joint.values():
        same = (f.data.patients == mine.patients and f.data.y.shape == mine.y.shape
                and all(np.array_equal(getattr(f.data, a), getattr(mine, a))
                        for a in ("y", "mask", "time")))
        if not same:
            raise DataError(f"joint: the {f.variant} joint fit was made from other data than "
                            f"these ({len(f.data.patients)} patients; these data have "
                            f"{len(mine.patients)} with {', '.join(fit.outcomes)})")


def _cache_for(cache: str | Path | bool, out: str | Path,
               log: Callable[[str], None]) -> FitCache | None:
    """The run's fit cache (None without one); a folder it may not use fails here, before
    any work."""
    if cache is False or cache is None:
        return None
    return FitCache(default_cache_dir(out) if cache is True else cache, log=log)


def _growth_fits(specs: dict, data: pd.DataFrame, *, seed: int, engines: Engines,
                 log: Callable[[str], None], progress: Callable[[int, int], None] | None,
                 cache: FitCache | None, scheduler: str | None) -> list:
    """The growth fits of a run: in this process, or fanned out by ``scheduler``."""
    if parse_scheduler(scheduler)[0] == "inline":
        return fit_specs(specs, data, seed=seed, engines=engines, log=log, progress=progress,
                         cache=cache)

    return fit_specs_on(scheduler, specs, data, seed=seed, engines=engines, log=log,
                        progress=progress, cache=cache)


def _specs_for(register: Register, models: str | Path | None, log: Callable[[str], None]) -> dict:
    specs = load_specs(models)
    kept = {k: s for k, s in specs.items() if s.measure in register.data}
    for name in sorted(set(specs) - set(kept)):
        log(f"skipped model '{name}': column '{specs[name].measure}' is not in the data")
    return kept


def _engines(*, sampler: str, draws: int, chains: int, quick: bool) -> Engines:
    if quick:
        return engines_for(SamplerOptions(sampler, 200, 200, 2))
    return engines_for(SamplerOptions(sampler, draws, draws, chains))


SAVED_DRAWS = 1000
"""Draws per saved fit (thinned evenly within chains; the tables use every draw)."""


class _SavedFits:
    """The growth fits written to ``fits/*.nc`` by a forked child while the tables and the
    report are made (:func:`~mbtbayes.core.forked.in_background`), into a folder of the run's
    own beside the output; moved into the run's folder at the end, removed if the run fails."""

    def __init__(self, fits: list, out: str | Path) -> None:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix=f".{out.name}-fits-", dir=out.parent))
        self.job = in_background(partial(_save_fits, fits, self.folder))

    def move_into(self, folder: Path) -> None:
        """Wait for the fits (an error of the child is raised here) and move them in."""
        self.job.wait()
        (self.folder / "fits").rename(folder / "fits")
        self.folder.rmdir()

    def discard(self) -> None:
        """Stop the child and remove what it wrote (the run failed or was interrupted)."""
        self.job.cancel()
        shutil.rmtree(self.folder, ignore_errors=True)


def _save_fits(fits: list, folder: Path) -> None:
    """Each fit as ArviZ netCDF: posterior (patient effects included), per-patient
    log-likelihood, observed and constant data, posterior predictive draws; thinned to
    :data:`SAVED_DRAWS` draws."""
    (folder / "fits").mkdir(exist_ok=True)  # (again, when a failed child's work is redone)
    for fit in fits:
        save_inference(fit.idata, folder / "fits" / f"{fit.spec.name}_{fit.variant}.nc",
                       max_draws=SAVED_DRAWS)


def published(*, out: str | Path = "mbtbayes-published",
              log: Callable[[str], None] = print) -> Path:
    """Work from the paper's published numbers alone (no register needed).

    Writes ``published_numbers.csv`` (every number, with its provenance),
    ``published_posteriors.csv`` (every pair of cell counts consistent with the reported
    remission percentages and p-values, per test variant, with the recomputed p and the
    posterior P(II < I)), ``published_summary.csv`` (how the conclusion varies across the
    reconstructions) and ``inconsistencies.csv`` (the paper's internal inconsistencies).

    Parameters
    ----------
    out : path
        Output folder (replaced atomically).
    log : callable
        Receives progress messages.

    Returns
    -------
    Path

    Examples
    --------
    >>> import mbtbayes as mb
    >>> mb.published(out="published")  # doctest: +SKIP
    PosixPath('.../published')
    """
    check_output(out)
    log("published numbers: reconstructing cell counts and fitting the conjugate models")
    return write_tables(out, published_tables(),
                        label="published numbers only (no patient data)")


def published_tables() -> dict[str, pd.DataFrame]:
    """The tables of :func:`published`, in memory (no register, nothing written).

    Returns
    -------
    dict of str to DataFrame
        ``published_numbers``, ``published_posteriors``, ``published_summary`` and
        ``inconsistencies``.

    Examples
    --------
    >>> import mbtbayes as mb
    >>> sorted(mb.published_tables())  # doctest: +SKIP
    ['inconsistencies', 'published_numbers', 'published_posteriors', 'published_summary']
    """
    posteriors = published_posteriors()
    return {"published_numbers": published_table(), "published_posteriors": posteriors,
            "published_summary": published_summary(posteriors),
            "inconsistencies": inconsistencies(posteriors)}


def calibrate(
    *,
    data: str | Path | pd.DataFrame | None = None,
    mapping: str | Path | Mapping | None = None,
    encoding: str | None = None,
    models: str | Path | None = None,
    measure: str = "bsi",
    out: str | Path = "mbtbayes-calibration",
    seed: int = SEED,
    replicates: int = 200,
    power_replicates: int = 50,
    effects: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8),
    engine: str = "marginal",
    joint: bool = False,
    outcomes: Sequence[str] = SBC_OUTCOMES,
    scheduler: str | None = None,
    log: Callable[[str], None] = print,
    progress: bool | Progress | None = True,
) -> Path:
    """Check the growth model's calibration on this design, and what the design can detect.

    Writes ``sbc_ranks.csv`` and ``sbc_summary.csv`` (simulation-based calibration: rank
    uniformity per parameter and coverage of the 90% HDIs of the period contrasts; with
    ``engine="bambi"`` ``sbc_bambi_ranks.csv`` and ``sbc_bambi_summary.csv`` instead), with
    ``joint=True`` also ``sbc_joint_ranks.csv`` and ``sbc_joint_summary.csv`` (the joint
    model), and ``power.csv`` (the probability of detecting a true period difference in level
    or slope by p < .05, the 95% HDI excluding 0, and the HDI outside the ROPE).

    Parameters
    ----------
    data, mapping, encoding, models : as in :func:`reanalyze`
    measure : str
        The spec to calibrate (its period model; a spec the marginal engine fits).
    out : path
        Output folder (the same safety rules as :func:`reanalyze`).
    seed : int
    replicates, power_replicates : int
        SBC replicates, and simulated registers per power scenario (0 skips that part).
    effects : tuple of float
        True differences for the power table, in baseline-SD units.
    engine : {"marginal", "bambi"}
        The growth engine calibrated: the marginal engine on the spec's period model
        (:func:`mbtbayes.sensitivity.calibration.sbc`), or the Bambi engine on its Student-t
        version (:func:`mbtbayes.sensitivity.calibration_bambi.sbc_bambi`).
    joint : bool
        Also calibrate the joint model of ``outcomes``
        (:func:`mbtbayes.sensitivity.calibration_joint.sbc_joint`), with ``replicates``
        replicates.
    outcomes : sequence of str
        The joint model's outcomes (default bsi, wsas, gaf).
    scheduler : str, optional
        Executor for the replicates (``processes[:N]`` or a Dask scheduler address).
    log : callable
        Receives a line per part (calibration, power) when it starts and when it ends, with
        its seconds.
    progress : bool or callable
        True (default): show progress on stderr as ``mbtbayes reanalyze`` does: on a
        terminal a bar over the parts with the part under way, elapsed time and time left
        (elsewhere the lines ``[1/2] calibration: ...``). False or None: no bar (``log``
        still gets its lines). A callable: called as ``progress(done, total)`` over the parts.
        The replicates within a part are not counted.

    Returns
    -------
    Path

    Examples
    --------
    >>> import mbtbayes as mb
    >>> from mbtbayes.pipeline import calibrate
    >>> calibrate(out="calibration", replicates=200, scheduler="processes")  # doctest: +SKIP
    """
    parse_scheduler(scheduler)
    if engine not in CALIBRATED_ENGINES:
        raise SpecError(f"engine must be one of {', '.join(CALIBRATED_ENGINES)}, got '{engine}'")
    check_output(out, data=data if isinstance(data, str | Path) else None)
    register = load_register(data, mapping=mapping, encoding=encoding)
    specs = load_specs(models)
    if measure not in specs:
        raise SpecError(f"no model spec '{measure}'; specs: {', '.join(specs)}")
    spec, parts = specs[measure], {}
    if replicates:
        parts |= _sbc_parts(spec, register.data, engine=engine, joint=joint,
                            outcomes=tuple(outcomes), replicates=replicates, seed=seed,
                            scheduler=scheduler)
    if power_replicates:
        parts[f"power of the design for {measure}: {2 * len(effects)} scenarios x "
              f"{power_replicates} simulated registers"] = \
            lambda: {"power": power_table(spec, register.data, effects=effects,
                                          replicates=power_replicates, seed=seed,
                                          scheduler=scheduler)}
    with talking("calibration", progress=progress, log=log) as talk:
        tables = _timed_parts(parts, talk)
    return write_run(out, register, tables, extra=partial(
        _calibration_figures, tables=tables, register=register))


CALIBRATED_ENGINES = ("marginal", "bambi")
"""The growth engines :func:`calibrate` calibrates (``engine=``)."""


def _sbc_parts(spec: ModelSpec, data: pd.DataFrame, *, engine: str, joint: bool,
               outcomes: tuple[str, ...], replicates: int, seed: int,
               scheduler: str | None) -> dict[str, Callable[[], dict]]:
    """The calibration parts of :func:`calibrate`: its description -> a function returning
    the tables."""
    run = {"marginal": sbc, "bambi": sbc_bambi}[engine]
    prefix = "sbc" if engine == "marginal" else "sbc_bambi"
    what = "" if engine == "marginal" else " (Bambi engine, Student-t)"
    parts = {f"simulation-based calibration of {spec.name}{what}: {replicates} replicates":
             lambda: dict(zip((f"{prefix}_ranks", f"{prefix}_summary"),
                              run(spec, data, replicates=replicates, seed=seed,
                                  scheduler=scheduler), strict=True))}
    if joint:
        parts[f"simulation-based calibration of the joint model ({', '.join(outcomes)}): "
              f"{replicates} replicates"] = \
            lambda: dict(zip(("sbc_joint_ranks", "sbc_joint_summary"),
                             sbc_joint(data, outcomes=outcomes, replicates=replicates,
                                       seed=seed, scheduler=scheduler), strict=True))
    return parts


def _timed_parts(parts: dict[str, Callable[[], dict]], talk: Talk) -> dict:
    """Run each part (its description -> a function returning tables), said when it starts
    (a line, or the bar's text on a terminal) and when it ends (with its seconds)."""
    tables: dict = {}
    talk.done(0, len(parts))
    for i, (what, run) in enumerate(parts.items()):
        if talk.display is not None:
            talk.running(what, i, len(parts))
        else:
            talk.say(what)
        start = time.perf_counter()
        tables |= run()
        talk.say(f"{what.split(':')[0]}: done in {time.perf_counter() - start:.0f} s")
        talk.done(i + 1, len(parts))
    return tables


def _calibration_figures(folder: Path, *, tables: dict, register: Register) -> None:
    """The power figure (when the power table was made) and a rank histogram per SBC ranks
    table (``figures/sbc_ranks.png``, ...) into ``folder/figures``."""
    make_figures(folder, tables=tables, fits=[], data=register.data,
                 synthetic=register.synthetic)
    with figure_style():
        for name, ranks in tables.items():
            if name.startswith("sbc") and name.endswith("_ranks"):
                fig = rank_figure(ranks, bins=BINS, top=RANK_DRAWS)
                if register.synthetic:
                    stamp(fig, "SYNTHETIC data")
                save(fig, folder / "figures" / f"{name}.png",
                     caption=f"SBC rank histograms ({name}.csv)")
