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

import pandas as pd

from mbtbayes.core.defaults import SEED
from mbtbayes.core.errors import SpecError
from mbtbayes.sensitivity.quantities import COLUMNS, baseline_rows, main_quantities

REVERSE = "reverse-Bayes"
POWER = "power-scaling"
REMISSION = "remission: missing end data"
QUICK = ("prior grid", REVERSE, "drop-out tipping point", POWER, REMISSION)
"""The analyses that reuse the baseline draws (refits only where a Pareto k > 0.7): the
default, and ``--sensitivity``."""
REFITS = ("robust likelihood", "random-effect structure", "assessments as predictor",
          "WAI version")
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
    specs,
    data: pd.DataFrame,
    *,
    fits: list | None = None,
    engine=None,
    options=None,
    seed: int = SEED,
    analyses: tuple[str, ...] = QUICK,
    cache=None,
    kfold: bool = True,
    log: Callable[[str], None] | None = None,
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
    engine : Engines, optional
        Engines to fit and refit with (compiled graphs reused); default: new engines with
        ``options``.
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
        Receives one line per analysed measure and per refit.

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
    from mbtbayes.growth.cache import open_cache
    from mbtbayes.growth.fit import _engines
    from mbtbayes.growth.specs import ModelSpec

    unknown = [a for a in analyses if a not in ANALYSES]
    if unknown:
        raise SpecError(f"unknown sensitivity analysis {unknown}; choose from {ANALYSES}")
    specs = {specs.name: specs} if isinstance(specs, ModelSpec) else dict(specs)
    engines, _ = _engines(engine, options)
    store = open_cache(cache, log=log)
    period_fits = _period_fits(specs, data, fits or [], engines=engines, seed=seed,
                               cache=store, log=log)
    rows = []
    for fit in period_fits:
        rows += analyse(fit, data, engines=engines, seed=seed, analyses=analyses, cache=store,
                        kfold=kfold, log=log)
        if log is not None:
            log(f"sensitivity: {fit.spec.name} done")
    if REMISSION in analyses:
        rows += _remission(data, seed=seed, log=log)
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    return Sensitivity(table, summary_text(table))


def _period_fits(specs: dict, data: pd.DataFrame, fits: list, *, engines, seed: int,
                 cache=None, log=None) -> list:
    """The period fit of every spec: reused from ``fits`` or fitted (through the cache)."""
    from mbtbayes.core.seeds import seed_for
    from mbtbayes.sensitivity.fitting import refit

    have = {f.spec.name: f for f in fits if f.variant == "period"}
    out = []
    for name, spec in specs.items():
        if name in have:
            out.append(have[name])
            continue
        if "period" not in spec.formulas or spec.period not in data:
            raise SpecError(f"{name}: sensitivity analyses compare periods, and the spec has no "
                            "period variant or the data no period column")
        out.append(refit(engines, spec, data, variant="period",
                         seed=seed_for(seed, name, "period"), cache=cache, log=log)[0])
    return out


def analyse(fit, data: pd.DataFrame, *, engines, seed: int,
            analyses: tuple[str, ...] = QUICK, cache=None, kfold: bool = True,
            log: Callable[[str], None] | None = None) -> list[dict]:
    """The baseline rows and every analysis's rows of one period fit."""
    from mbtbayes.sensitivity.refits import KFOLD, Comparison

    quantities = main_quantities(fit, data, seed=seed)
    rows = baseline_rows(fit, quantities, seed=seed)
    decided = {r["quantity"]: r["decision"] for r in rows}
    compare = Comparison(fit, engines=engines, seed=seed, folds=KFOLD if kfold else None,
                         log=log)  # one per fit: the baseline's LOO and K-fold computed once
    for name in (a for a in analyses if a in RUNNERS):
        rows += RUNNERS[name](fit, data, engines=engines, seed=seed, baseline=decided,
                              cache=cache, compare=compare, log=log)
    return rows


def _prior_grid(fit, data, *, engines, seed, baseline, cache, log, **_):
    from mbtbayes.sensitivity.prior_grid import prior_grid_rows

    return prior_grid_rows(fit, data, engines=engines, seed=seed, baseline=baseline,
                           cache=cache, log=log)


def _reverse(fit, data, *, baseline, seed, **_):
    from mbtbayes.sensitivity.reverse import reverse_bayes_rows

    return reverse_bayes_rows(fit, data, baseline=baseline, seed=seed)


def _tipping(fit, data, *, baseline, seed, **_):
    from mbtbayes.sensitivity.tipping import tipping_rows

    return tipping_rows(fit, data, baseline=baseline, seed=seed)


def _power(fit, data, *, baseline, seed, **_):
    from mbtbayes.sensitivity.power_scaling import power_scaling_rows

    return power_scaling_rows(fit, data, baseline=baseline, seed=seed)


def _remission(data, *, seed, log) -> list[dict]:
    from mbtbayes.core.errors import DataError
    from mbtbayes.core.seeds import seed_for
    from mbtbayes.sensitivity.remission import remission_rows

    try:
        return remission_rows(data, seed=seed_for(seed, "sensitivity", "remission"))
    except DataError as err:  # the register has no remission columns: say so, go on
        if log is not None:
            log(f"sensitivity: skipped remission ({err})")
        return []


def _refits(name):
    def run(fit, data, *, engines, seed, baseline, cache, compare, log):
        from mbtbayes.sensitivity.refits import refit_rows

        return refit_rows(fit, data, engines=engines, seed=seed, baseline=baseline,
                          analyses=(name,), cache=cache, compare=compare, log=log)
    return run


RUNNERS = {"prior grid": _prior_grid, REVERSE: _reverse, "drop-out tipping point": _tipping,
           POWER: _power} | {name: _refits(name) for name in REFITS}
FLAGS = (REVERSE, POWER)
"""Analyses whose rows state a threshold or a flag rather than a new conclusion."""


def summary_text(table: pd.DataFrame) -> str:
    """Per measure and quantity: robust (no setting changes the conclusion) or fragile.

    Only rows whose fit passed its checks count; reverse-Bayes rows state a threshold and are
    summarised by it.

    Examples
    --------
    >>> t = pd.DataFrame({"measure": ["bsi"] * 2, "analysis": ["baseline", "prior grid"],
    ...                   "setting": ["as specified", "sceptical, strong"],
    ...                   "quantity": ["d_I"] * 2, "decision": ["difference"] * 2,
    ...                   "conclusion_changed": [False, False], "passed": [True, True],
    ...                   "baseline": [True, False]})
    >>> print(summary_text(t))
    bsi d_I: difference, robust (1 setting(s) checked).
    """
    lines = []
    for (measure, quantity), part in table.groupby(["measure", "quantity"], sort=False):
        base = part[part["baseline"].astype(bool)]
        decision = base["decision"].iloc[0] if len(base) else "?"
        reverse = part[part["analysis"] == REVERSE]
        others = part[~part["baseline"].astype(bool) & part["passed"].astype(bool)
                      & ~part["analysis"].isin(FLAGS)]
        changed = others[others["conclusion_changed"].astype(bool)]
        limit = "".join(f" Reverse-Bayes {r.setting}." for r in reverse.itertuples(index=False))
        power = part[(part["analysis"] == POWER)
                     & ~part.get("diagnostic", part["analysis"]).astype(str).str.contains(
                         "no flag")]
        limit += "".join(f" Power-scaling of the {r.setting}: {r.diagnostic}."
                         for r in power.itertuples(index=False))
        if len(base) and not bool(base["passed"].iloc[0]):
            lines.append(f"{measure} {quantity}: {decision}, NOT ASSESSED: the baseline fit "
                         "failed its diagnostics (see the diagnostic column).")
            continue
        if changed.empty:
            lines.append(f"{measure} {quantity}: {decision}, robust "
                         f"({len(others)} setting(s) checked).{limit}")
            continue
        where = "; ".join(f"{r.analysis} {r.setting} -> {r.decision}"
                          for r in changed.head(4).itertuples(index=False))
        more = f" and {len(changed) - 4} more" if len(changed) > 4 else ""
        lines.append(f"{measure} {quantity}: {decision}, FRAGILE: changes under {where}{more} "
                     f"({len(changed)} of {len(others)} settings).{limit}")
    return "\n".join(lines)
