"""The sensitivity suite: every analysis on every period fit, one table and a plain summary.

:func:`sensitivity` takes one spec or a dict of specs (and, optionally, their fits), runs each
analysis of :data:`ANALYSES` on each period fit and returns the tidy table of
``sensitivity.csv`` (:data:`mbtbayes.sensitivity.quantities.COLUMNS`) with a short summary of
which conclusions are robust and which are fragile.

Examples
--------
>>> import mbtbayes as mb
>>> result = mb.sensitivity(mb.load_specs()["bsi"], mb.load_register().data)  # doctest: +SKIP
>>> print(result.summary)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mbtbayes.core.decisions import DIFFERENCE, NONZERO
from mbtbayes.core.defaults import SEED
from mbtbayes.core.display import Progress, talking
from mbtbayes.core.errors import DataError, SpecError
from mbtbayes.core.sampling import SamplerOptions
from mbtbayes.core.seeds import seed_for
from mbtbayes.growth.cache import FitCache
from mbtbayes.growth.engines import Engines, engines_for
from mbtbayes.growth.modelspec import ModelSpec
from mbtbayes.growth.result import GrowthFit
from mbtbayes.sensitivity.fitting import refit
from mbtbayes.sensitivity.power_scaling import power_scaling_rows
from mbtbayes.sensitivity.prior_grid import prior_grid_rows
from mbtbayes.sensitivity.quantities import COLUMNS, baseline_rows, main_quantities
from mbtbayes.sensitivity.refits import KFOLD, Comparison, refit_rows
from mbtbayes.sensitivity.remission import remission_rows
from mbtbayes.sensitivity.reverse import reverse_bayes_rows
from mbtbayes.sensitivity.tipping import ANALYSIS as TIPPING
from mbtbayes.sensitivity.tipping import (
    LARGE,
    SCENARIOS,
    SHAPES,
    TIP_SETTING,
    not_run_rows,
    tipping_rows,
)

REVERSE = "reverse-Bayes"
POWER = "power-scaling"
REMISSION = "remission: missing end data"
QUICK = ("prior grid", REVERSE, TIPPING, POWER, REMISSION)
"""The analyses that reuse the baseline draws (refits only where a Pareto k > 0.7): the
default, and ``--sensitivity``."""
REFITS = ("robust likelihood", "random-effect structure", "assessments as predictor",
          "WAI version", "case-mix adjustment")
"""The analyses that refit other models (about six refits per measure; ``--sensitivity
full``)."""
ANALYSES = QUICK + REFITS


@dataclass(frozen=True)
class Sensitivity:
    """The result of :func:`sensitivity`.

    Attributes
    ----------
    table : pandas.DataFrame
        ``sensitivity.csv``: one row per measure x analysis x setting x quantity.
    summary : str
        Plain-language lines: per measure and quantity, robust or fragile (and under what).
    """

    table: pd.DataFrame
    summary: str


def sensitivity(
    specs: ModelSpec | dict[str, ModelSpec],
    data: pd.DataFrame,
    *,
    fits: list | None = None,
    engines: Engines | None = None,
    options: SamplerOptions | None = None,
    seed: int = SEED,
    analyses: tuple[str, ...] = QUICK,
    cache: FitCache | str | Path | bool | None = None,
    kfold: bool = True,
    log: Callable[[str], None] | None = None,
    progress: bool | Progress | None = True,
) -> Sensitivity:
    """Does each conclusion survive other priors, reverse-Bayes scepticism and drop-out not at
    random?

    Parameters
    ----------
    specs : ModelSpec or dict of str to ModelSpec
    data : pandas.DataFrame
        Long-format register data (the fits' data).
    fits : list of GrowthFit, optional
        Existing fits to reuse (their period fits are analysed); the period variant of each
        spec without one is fitted.
    engines : Engines, optional
        The engines to fit and refit with (their sampling options and fit cache); default:
        new engines with ``options``.
    options : SamplerOptions, optional
    seed : int
        Run seed; refits derive their seeds from it.
    analyses : tuple of str
        A subset of :data:`ANALYSES` (default :data:`QUICK`; add :data:`REFITS` for the
        robust likelihood, random-effect structures, assessments and WAI version refits).
    cache : FitCache, path, None or False
        Fit cache (:mod:`mbtbayes.growth.cache`): every fit and refit of the suite is read
        from it when it holds it and stored in it otherwise, so a rerun samples nothing it
        sampled before. None or False (default): every refit is sampled.
    kfold : bool
        Where a refit analysis's PSIS-LOO comparison has a Pareto k > 0.7, compare the two
        models by 10-fold leave-patients-out ELPD too (refits; as the growth model
        comparison does). Only the refit analyses compare models.
    log : callable, optional
        Receives one line per analysed measure and per refit (default with
        ``progress=True``: the progress display).
    progress : bool or callable
        True (default): show progress on stderr as ``mbtbayes reanalyze`` does: a first line,
        the measure being analysed, a line per refit and per measure done; on a terminal a bar
        with the count, elapsed time and time left (in a notebook or a log, plain lines).
        False or None: show nothing (``log`` still gets its lines). A callable: called as
        ``progress(done, total)`` over the measures (and remission).

    Returns
    -------
    Sensitivity
        ``.table`` (``sensitivity.csv``) and ``.summary``.

    Raises
    ------
    SpecError
        An unknown analysis, or a spec without a period (nothing to compare).

    Examples
    --------
    >>> import mbtbayes as mb
    >>> s = mb.sensitivity(mb.load_specs(), mb.load_register().data)  # doctest: +SKIP
    >>> s.table.groupby("analysis").size()  # doctest: +SKIP
    """
    unknown = [a for a in analyses if a not in ANALYSES]
    if unknown:
        raise SpecError(f"unknown sensitivity analysis {unknown}; choose from {ANALYSES}")
    specs = {specs.name: specs} if isinstance(specs, ModelSpec) else dict(specs)
    engines = engines or engines_for(options)
    with talking("sensitivity", progress=progress, log=log) as talk:
        talk.announce(f"sensitivity analyses of {len(specs)} measure(s): {', '.join(analyses)}")
        cache = FitCache.open(cache, log=talk.log)

        def starting(name: str) -> None:
            talk.announce(f"sensitivity: {name} period model ...")

        period_fits = _period_fits(specs, data, fits or [], engines=engines, seed=seed,
                                   cache=cache, log=talk.log, starting=starting)
        steps = [f.spec.name for f in period_fits] + (["remission"] if REMISSION in analyses
                                                       else [])
        rows = []
        for i, fit in enumerate(period_fits):
            talk.running(fit.spec.name, i, len(steps))
            rows += analyse(fit, data, engines=engines, seed=seed, analyses=analyses,
                            cache=cache, kfold=kfold, log=talk.log)
            talk.say(f"sensitivity: {fit.spec.name} done")
            talk.done(i + 1, len(steps))
        if REMISSION in analyses:
            talk.running("remission", len(steps) - 1, len(steps))
            rows += _remission(data, seed=seed, log=talk.log)
            talk.done(len(steps), len(steps))
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    return Sensitivity(table, summary_text(table))


def _period_fits(specs: dict, data: pd.DataFrame, fits: list, *, engines: Engines, seed: int,
                 cache: FitCache | None = None, log: Callable[[str], None] | None = None,
                 starting: Callable[[str], None] | None = None) -> list:
    """The period fit of every spec: reused from ``fits`` or fitted (through the cache;
    ``starting(name)`` first)."""
    have = {f.spec.name: f for f in fits if f.variant == "period"}
    out = []
    for name, spec in specs.items():
        if name in have:
            out.append(have[name])
            continue
        if "period" not in spec.formulas or spec.period not in data:
            raise SpecError(f"{name}: sensitivity analyses compare periods, and the spec has no "
                            "period variant or the data no period column")
        if starting is not None:
            starting(name)
        out.append(refit(engines, spec, data, variant="period",
                         seed=seed_for(seed, name, "period"), cache=cache, log=log)[0])
    return out


def analyse(fit: GrowthFit, data: pd.DataFrame, *, engines: Engines, seed: int,
            analyses: tuple[str, ...] = QUICK, cache: FitCache | None = None, kfold: bool = True,
            log: Callable[[str], None] | None = None) -> list[dict]:
    """The baseline rows and every analysis's rows of one period fit."""
    quantities = main_quantities(fit, data, seed=seed)
    rows = baseline_rows(fit, quantities, seed=seed)
    decided = {r["quantity"]: r["decision"] for r in rows}
    compare = Comparison(fit, engines=engines, seed=seed, folds=KFOLD if kfold else None,
                         log=log)  # one per fit: the baseline's LOO and K-fold computed once
    for name in (a for a in analyses if a in RUNNERS):
        rows += RUNNERS[name](fit, data, engines=engines, seed=seed, baseline=decided,
                              cache=cache, compare=compare, log=log)
    return rows


def _prior_grid(fit: GrowthFit, data: pd.DataFrame, *, engines: Engines, seed: int,
                baseline: dict[str, str], cache: FitCache | None, log: Callable[[str], None] | None,
                **_: object) -> list[dict]:
    return prior_grid_rows(fit, data, engines=engines, seed=seed, baseline=baseline,
                           cache=cache, log=log)


def _reverse(fit: GrowthFit, data: pd.DataFrame, *, baseline: dict[str, str], seed: int,
             **_: object) -> list[dict]:
    return reverse_bayes_rows(fit, data, baseline=baseline, seed=seed)


def _tipping(fit: GrowthFit, data: pd.DataFrame, *, baseline: dict[str, str], seed: int,
             log: Callable[[str], None] | None = None, **_: object) -> list[dict]:
    try:
        return tipping_rows(fit, data, baseline=baseline, seed=seed)
    except DataError as err:  # no drop-out column: one row per quantity says so
        if log is not None:
            log(f"sensitivity: {fit.spec.name}: drop-out tipping point not run ({err})")
        return not_run_rows(fit, data, baseline=baseline, reason=str(err), seed=seed)


def _power(fit: GrowthFit, data: pd.DataFrame, *, baseline: dict[str, str], seed: int,
           **_: object) -> list[dict]:
    return power_scaling_rows(fit, data, baseline=baseline, seed=seed)


def _remission(data: pd.DataFrame, *, seed: int, log: Callable[[str], None] | None) -> list[dict]:
    try:
        return remission_rows(data, seed=seed_for(seed, "sensitivity", "remission"))
    except DataError as err:  # the register has no remission columns: say so, go on
        if log is not None:
            log(f"sensitivity: skipped remission ({err})")
        return []


def _refits(name: str) -> Callable[..., list[dict]]:
    def run(fit: GrowthFit, data: pd.DataFrame, *, engines: Engines, seed: int,
            baseline: dict[str, str], cache: FitCache | None, compare: Comparison,
            log: Callable[[str], None] | None) -> list[dict]:
        return refit_rows(fit, data, engines=engines, seed=seed, baseline=baseline,
                          analyses=(name,), cache=cache, compare=compare, log=log)
    return run


RUNNERS = {"prior grid": _prior_grid, REVERSE: _reverse, TIPPING: _tipping,
           POWER: _power} | {name: _refits(name) for name in REFITS}
FLAGS = (REVERSE, POWER)
"""Analyses whose rows state a threshold or a flag rather than a new conclusion."""


def summary_text(table: pd.DataFrame) -> str:
    """Per measure (one block) and quantity (one line each, ``<measure> <quantity>: ...``):
    the baseline conclusion, and robust or fragile counted over the settings that *could*
    have changed it.

    A setting could have changed a conclusion when it moved the posterior toward another
    decision (:func:`could_change`): for a claim on one side (a "difference" beyond the ROPE, a
    "nonzero" existence, a "large" d) the interval end (or d's mean) nearest the boundary
    moved toward it; for any other conclusion the interval moved at all. A setting that left
    the posterior where it was (a shift of the other period's drop-outs) or moved it away from
    the boundary is no test and is counted apart. Only rows whose fit passed its checks count;
    reverse-Bayes and power-scaling rows state a threshold or a flag, and tipping-point rows
    state where a conclusion tips; they follow the verdict. "Robust" needs at least one
    setting that could have changed the conclusion; "fragile at" names each setting (once;
    per drop-out scenario its smallest delta) that changed it.

    Examples
    --------
    >>> t = pd.DataFrame({"measure": ["bsi"] * 3,
    ...                   "analysis": ["baseline", "prior grid", "prior grid"],
    ...                   "setting": ["as specified", "sceptical, strong", "enthusiastic, strong"],
    ...                   "quantity": ["d_I"] * 3, "decision": ["difference"] * 3,
    ...                   "mean": [1.0, 0.8, 1.2], "hdi_low": [0.6, 0.4, 0.8],
    ...                   "hdi_high": [1.4, 1.2, 1.6],
    ...                   "conclusion_changed": [False] * 3, "passed": [True] * 3,
    ...                   "baseline": [True, False, False]})
    >>> print(summary_text(t))  # doctest: +NORMALIZE_WHITESPACE
    bsi d_I: difference, robust: 1 setting could have changed it and none did (prior grid 1);
    no test (left it or moved it away from the other decisions): prior grid 1.
    """
    lines = []
    for _, part in table.groupby("measure", sort=False):
        for (measure, quantity), rows in part.groupby(["measure", "quantity"], sort=False):
            lines.append(_quantity_line(measure, quantity, rows))
    return "\n".join(lines)


def _quantity_line(measure: str, quantity: str, part: pd.DataFrame) -> str:
    """One quantity's verdict, fragile settings, tipping points and thresholds."""
    flags = _bools(part["baseline"])
    base = part[flags]
    decision = (base["decision"].iloc[0] if len(base) else
                part["baseline_decision"].iloc[0] if len(part) else "?")
    head = f"{measure} {quantity}: {decision}"
    if len(base) and not _bools(base["passed"]).iloc[0]:
        return (f"{head}, NOT ASSESSED: the baseline fit failed its diagnostics (see the "
                "diagnostic column).")
    settings = part[~flags & _bools(part["passed"]) & ~part["analysis"].isin(FLAGS)
                    & ~_is_tipping_point(part)]
    reference = base.iloc[0] if len(base) else None
    test = settings.apply(lambda r: could_change(r, reference), axis=1).astype(bool)
    checks, idle = settings[test], settings[~test]
    changed = checks[_bools(checks["conclusion_changed"])]
    if checks.empty:
        verdict = ", NOT CHECKED: no setting could have changed it"
    elif changed.empty:
        verdict = (f", robust: {_count(len(checks))} could have changed it and none did "
                   f"({_by_analysis(checks)})")
    else:
        verdict = (f", FRAGILE at {_fragile(changed)} ({len(changed)} of {_count(len(checks))} "
                   "that could have changed it)")
    idle_text = ("" if idle.empty else "; no test (left it or moved it away from the other "
                 f"decisions): {_by_analysis(idle)}")
    return head + verdict + idle_text + "." + _tipping_points(part) + _thresholds(part)


def grouped_summary(table: pd.DataFrame, *,
                    better_if: dict[str, str] | None = None) -> list[str]:
    """The verdicts of :func:`summary_text` grouped: a line naming each analysis and its
    number of settings once, then one line per measure (its better sign from ``better_if``)
    with its quantities grouped by verdict and decision, each fragile setting named once for
    the quantities it changed, the nearest drop-out tipping point, and the reverse-Bayes limits
    that exist.

    Examples
    --------
    >>> t = pd.DataFrame({"measure": ["bsi"] * 4,
    ...                   "analysis": ["baseline", "prior grid", "baseline", "prior grid"],
    ...                   "setting": ["as specified", "sceptical, strong"] * 2,
    ...                   "quantity": ["d_I", "d_I", "d_II", "d_II"],
    ...                   "decision": ["difference", "difference", "difference", "undecided"],
    ...                   "mean": [1.0, 0.9, 1.0, 0.5], "hdi_low": [0.6, 0.5, 0.6, 0.1],
    ...                   "hdi_high": [1.4, 1.3, 1.4, 0.9],
    ...                   "conclusion_changed": [False, False, False, True],
    ...                   "passed": [True] * 4, "baseline": [True, False, True, False]})
    >>> for line in grouped_summary(t, better_if={"bsi": "lower"}):
    ...     print(line)  # doctest: +NORMALIZE_WHITESPACE
    Settings, each counted where it could have changed a conclusion: prior grid 1.
    **bsi** (lower is better): robust: d_I (difference). FRAGILE: d_II (difference) at
    prior grid (sceptical, strong) -> undecided.
    """
    better_if = better_if or {}
    settings = table[~_bools(table["baseline"]) & ~table["analysis"].isin(FLAGS)
                     & ~_is_tipping_point(table)]
    counts = settings.groupby("analysis", sort=False)["setting"].nunique()
    lines = ["Settings, each counted where it could have changed a conclusion: "
             + ", ".join(f"{a} {n}" for a, n in counts.items()) + "."]
    for measure, part in table.groupby("measure", sort=False):
        better = better_if.get(measure, "")
        head = f"**{measure}**" + (f" ({better} is better)" if better else "") + ": "
        lines.append(head + _measure_text(part) + _nearest_tip(part) + _limits(part))
    return lines


def _verdict(part: pd.DataFrame) -> tuple[str, str, str]:
    """(verdict, baseline decision, the changing settings) of one quantity."""
    flags = _bools(part["baseline"])
    base = part[flags]
    decision = (base["decision"].iloc[0] if len(base) else
                part["baseline_decision"].iloc[0] if "baseline_decision" in part else "?")
    if len(base) and not _bools(base["passed"]).iloc[0]:
        return "NOT ASSESSED (baseline fit failed its diagnostics)", decision, ""
    settings = part[~flags & _bools(part["passed"]) & ~part["analysis"].isin(FLAGS)
                    & ~_is_tipping_point(part)]
    reference = base.iloc[0] if len(base) else None
    test = settings.apply(lambda r: could_change(r, reference), axis=1).astype(bool)
    checks = settings[test]
    changed = checks[_bools(checks["conclusion_changed"])]
    if checks.empty:
        return "NOT CHECKED (no setting could have changed it)", decision, ""
    if changed.empty:
        return "robust", decision, ""
    return "FRAGILE", decision, _settings_once(changed)


def _settings_once(changed: pd.DataFrame) -> str:
    """The settings that changed a conclusion, each analysis named once per resulting
    decision: ``prior grid (sceptical, strong / neutral, strong) -> negligible``; a drop-out
    scenario at its smallest delta, level and slope shifts as one."""
    out: dict[tuple[str, str], list[str]] = {}
    seen = set()
    for r in changed.itertuples(index=False):
        setting, analysis = str(r.setting), str(r.analysis)
        if analysis == TIPPING:
            scenario, _, delta = setting.partition(": ")
            name = scenario.rpartition(", ")[0]
            if name in seen:
                continue
            seen.add(name)
            analysis, setting = f"drop-out at {delta}", name
        out.setdefault((analysis, str(r.decision)), []).append(setting)
    return "; ".join(f"{analysis} ({' / '.join(dict.fromkeys(names))}) -> {decision}"
                     for (analysis, decision), names in out.items())


def _measure_text(part: pd.DataFrame) -> str:
    """A measure's quantities grouped by verdict, then decision (and fragile settings)."""
    groups: dict[tuple[str, str], dict[str, list[str]]] = {}
    for quantity, rows in part.groupby("quantity", sort=False):
        verdict, decision, where = _verdict(rows)
        groups.setdefault((verdict, where), {}).setdefault(str(decision), []).append(
            str(quantity))
    order = sorted(groups, key=lambda k: (k[0] != "robust", k[0]))
    texts = []
    for verdict, where in order:
        named = "; ".join(f"{', '.join(qs)} ({d})" for d, qs in groups[(verdict, where)].items())
        texts.append(f"{verdict}: {named}" + (f" at {where}" if where else ""))
    return ". ".join(texts) + "."


def _tip_delta(setting: str) -> float:
    number = setting.rpartition("delta = ")[2].split(" ")[0]
    try:
        return float(number)
    except ValueError:
        return float("nan")


def _nearest_tip(part: pd.DataFrame) -> str:
    """The smallest drop-out tipping point of a measure, with its quantities and scenarios."""
    tips = part[(part["analysis"] == TIPPING) & _is_tipping_point(part)
                & ~part["setting"].astype(str).str.contains(f"no {TIP_SETTING}")]
    if tips.empty:
        return ""
    deltas = tips["setting"].astype(str).map(_tip_delta)
    nearest = tips[deltas == deltas.min()]
    scenarios = sorted({str(s).partition(": ")[0].rpartition(", ")[0]
                        for s in nearest["setting"]})
    return (f" Nearest drop-out tipping point: delta = {deltas.min():g} SD ("
            + ", ".join(dict.fromkeys(nearest["quantity"].astype(str))) + "; "
            + ", ".join(scenarios) + ").")


def _limits(part: pd.DataFrame) -> str:
    """The reverse-Bayes limits that exist (a limit of "none" is left to the full text) and
    power-scaling flags."""
    reverse = part[(part["analysis"] == REVERSE)
                   & ~part["setting"].astype(str).str.contains(": none")]
    texts = []
    for r in reverse.itertuples(index=False):
        conflict = getattr(r, "prior_data_conflict_p", float("nan"))
        box = f", Box's p = {conflict:.3g}" if pd.notna(conflict) else ""
        texts.append(f"{r.quantity} {r.setting}{box}")
    power = part[(part["analysis"] == POWER)
                 & ~part.get("diagnostic", part["analysis"]).astype(str).str.contains("no flag")]
    texts += [f"power-scaling of the {r.setting} flags {r.quantity}"
              for r in power.itertuples(index=False)]
    return (" Reverse-Bayes and power-scaling: " + "; ".join(texts) + ".") if texts else ""


def _bools(values: pd.Series) -> pd.Series:
    """A flag column as booleans, also when read back from a CSV as text."""
    if values.dtype == bool:
        return values
    return values.map(lambda v: str(v).strip().lower() in ("true", "1", "1.0"))


def could_change(r: pd.Series, base: pd.Series | None) -> bool:
    """Whether a setting's row moved the posterior toward another decision than the
    baseline's (``base``: the baseline row, or None when there is none: then it counts)."""
    if base is None:
        return True
    ends = ("mean", "hdi_low", "hdi_high")
    now = np.array([_number(r, c) for c in ends])
    then = np.array([_number(base, c) for c in ends])
    scale = max(1.0, float(np.nanmax(np.abs(then)))) if np.isfinite(then).any() else 1.0
    same = np.isclose(now, then, rtol=0, atol=1e-9 * scale, equal_nan=True)
    if same.all():
        return False
    decision = str(base["decision"])
    if decision == LARGE:
        return bool(abs(now[0]) < abs(then[0])) if np.isfinite(now[0]) else True
    if decision in (DIFFERENCE, NONZERO) and np.isfinite(then[1:]).all():
        if then[1] > 0:
            return bool(not np.isfinite(now[1]) or now[1] < then[1])
        if then[2] < 0:
            return bool(not np.isfinite(now[2]) or now[2] > then[2])
    return True


def _number(r: pd.Series, column: str) -> float:
    value = r.get(column, float("nan")) if hasattr(r, "get") else float("nan")
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _is_tipping_point(part: pd.DataFrame) -> pd.Series:
    return (part["analysis"] == TIPPING) & part["setting"].astype(str).str.contains(TIP_SETTING)


def _count(n: int) -> str:
    return f"{n} setting" + ("" if n == 1 else "s")


def _by_analysis(rows: pd.DataFrame) -> str:
    return ", ".join(f"{a} {n}" for a, n in rows.groupby("analysis", sort=False).size().items())


def _fragile(changed: pd.DataFrame) -> str:
    """Each changing setting once: a drop-out scenario and shape at its first (smallest)
    delta, the level and slope shifts together when they agree."""
    out: dict[tuple, list[str]] = {}
    seen = set()
    for r in changed.itertuples(index=False):
        setting = str(r.setting)
        if r.analysis != TIPPING:
            out.setdefault((r.analysis, setting, "", r.decision), [])
            continue
        scenario, _, delta = setting.partition(": ")
        name, _, shape = scenario.rpartition(", ")
        if (name, shape) in seen:
            continue
        seen.add((name, shape))
        out.setdefault((r.analysis, name, delta, r.decision), []).append(
            shape.removesuffix(" shift"))
    return "; ".join(f"{analysis}: {setting}" + (f" ({' and '.join(shapes)} shift): {delta}"
                                                  if shapes else "") + f" (-> {decision})"
                     for (analysis, setting, delta, decision), shapes in out.items())


def _tipping_points(part: pd.DataFrame) -> str:
    """The drop-out tipping points of a quantity, scenarios with the same point together."""
    tips = part[_is_tipping_point(part) | part["setting"].astype(str).str.contains(
        f"no {TIP_SETTING}")]
    tips = tips[tips["analysis"] == TIPPING]
    if tips.empty:
        return ""
    by_point: dict[str, dict[str, list[str]]] = {}
    for setting in tips["setting"].astype(str):
        scenario, _, point = setting.partition(": ")
        name, _, shape = scenario.rpartition(", ")
        point = point.removeprefix(f"{TIP_SETTING}: ")
        by_point.setdefault(point, {}).setdefault(name, []).append(shape.removesuffix(" shift"))
    every = {s.name for s in SCENARIOS}
    parts = []
    for point, names in by_point.items():
        whole = {n for n, shapes in names.items() if set(shapes) >= set(SHAPES)}
        if whole >= every:
            parts.append(f"{point} (every scenario)")
            continue
        parts.append(point + " (" + ", ".join(
            name if name in whole else f"{name}: {' and '.join(shapes)} shift"
            for name, shapes in names.items()) + ")")
    return (" Drop-out tipping points (level and slope shifts alike unless one is named): "
            + "; ".join(parts) + ".")


def _thresholds(part: pd.DataFrame) -> str:
    """Reverse-Bayes limits (with Box's prior-data conflict p) and power-scaling flags."""
    text = "".join(f" Reverse-Bayes {r.setting}" + (
        f", Box's prior-data conflict p = {r.prior_data_conflict_p:.3g}"
        if pd.notna(getattr(r, "prior_data_conflict_p", float("nan"))) else "") + "."
        for r in part[part["analysis"] == REVERSE].itertuples(index=False))
    power = part[(part["analysis"] == POWER)
                 & ~part.get("diagnostic", part["analysis"]).astype(str).str.contains("no flag")]
    return text + "".join(f" Power-scaling of the {r.setting}: {r.diagnostic}."
                          for r in power.itertuples(index=False))
