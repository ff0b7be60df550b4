"""Model averaging by LOO stacking: the conclusion averaged over the models the data support.

Per measure the candidates are the spec's period model (the baseline, with its correlated or
uncorrelated patient effects) and the sensitivity suite's refits that change the model but
not the question (:func:`mbtbayes.sensitivity.refits.alternatives`): the other patient-effect
structure, Student-t residuals, a period-specific residual SD (``sigma ~ period``) and, for a
spec with ``covariates``, the case-mix adjusted model (complete cases). Refits go through the
fit cache with the suite's seeds, so ``--sensitivity full`` and stacking share their draws.

Each candidate's leave-one-patient-out PSIS-LOO on the marginal likelihood (patient effects
integrated out, :func:`mbtbayes.growth.loo.patient_loo`) gives one ELPD per patient; the
stacking weights (Yao et al. 2018) maximise ``sum_i log sum_k w_k exp(elpd_ik)`` over the
simplex (``az.compare(method="stacking")``, :func:`mbtbayes.core.arviz_api.stacking`). The
sum runs over the patients *every* candidate has (the adjusted model drops patients with a
missing covariate); the patients left out are counted. A candidate whose max Pareto k
exceeds 0.7 has an unreliable LOO, said in its row (no K-fold here: its weight is read with
that caution).

The stacked posterior of each main quantity
(:func:`mbtbayes.sensitivity.quantities.main_quantities`) is the mixture of the candidates'
draws in proportion to their weights: ``round(w_k N)`` draws of candidate k (largest
remainders, summing to N, the fewest draws any candidate has), taken without replacement with
one seed and the same indices for every quantity of a candidate, then summarised by the mean,
the 95% HDI and the HDI + ROPE decision of the rest of ``sensitivity.csv``.

Examples
--------
>>> draw_counts({"a": 0.5, "b": 0.3, "c": 0.2}, total=7)
{'a': 4, 'b': 2, 'c': 1}
>>> import mbtbayes as mb
>>> reg = mb.load_register()
>>> fits = mb.fit_specs({"bsi": mb.load_specs()["bsi"]}, reg.data)  # doctest: +SKIP
>>> mb.stacking(fits, reg.data, cache="/tmp/mbt-cache")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mbtbayes.core.arviz_api import stacking as stacking_weights_of
from mbtbayes.core.defaults import SEED
from mbtbayes.core.errors import DataError
from mbtbayes.core.posterior import INTERVAL
from mbtbayes.core.sampling import SamplerOptions
from mbtbayes.core.seeds import seed_for
from mbtbayes.growth.cache import FitCache
from mbtbayes.growth.engines import Engines, engines_for
from mbtbayes.growth.loo import LooResult, patient_loo
from mbtbayes.growth.result import GrowthFit
from mbtbayes.sensitivity.fitting import refit
from mbtbayes.sensitivity.quantities import main_quantities, summarize
from mbtbayes.sensitivity.refits import (
    ADJUSTMENT,
    K_LIMIT,
    ROBUST,
    STRUCTURE,
    Alternative,
    alternatives,
)

ANALYSIS = "model averaging (LOO stacking)"
CANDIDATE_ANALYSES = (ROBUST, STRUCTURE, ADJUSTMENT)
"""The refit analyses whose models are candidates."""
NOT_CANDIDATES = ("intercept only",)
"""Settings of those analyses that are not candidates (a model without patient slopes is a
check of the structure, not a model of the question)."""
COLUMNS = ("measure", "kind", "estimand", "model", "analysis", "engine", "quantity", "units",
           "weight", "draws", "elpd_loo", "elpd_se", "max_pareto_k", "loo_reliable",
           "loo_method", "n_patients", "n_left_out", "mean", "hdi_low", "hdi_high",
           "rope_half_width", "decision", "baseline_mean", "baseline_hdi_low",
           "baseline_hdi_high", "baseline_decision", "conclusion_changed", "passed", "note",
           "interval")
"""Columns of ``stacking.csv``: ``kind`` is ``weight`` (one row per measure x model) or
``stacked`` (one row per measure x quantity)."""


@dataclass(frozen=True)
class Candidate:
    """One candidate model of a measure: its fit and its leave-one-patient-out LOO."""

    model: str
    analysis: str
    fit: GrowthFit
    loo: LooResult


def candidate_alternatives(fit: GrowthFit, data: pd.DataFrame) -> list[Alternative]:
    """The refits of a period fit that are candidates (the sensitivity suite's, less
    :data:`NOT_CANDIDATES`)."""
    return [alt for alt in alternatives(fit, data, CANDIDATE_ANALYSES)
            if alt.setting not in NOT_CANDIDATES]


def candidates(fit: GrowthFit, data: pd.DataFrame, *, engines: Engines, seed: int,
               cache: FitCache | str | Path | bool | None = None,
               log: Callable[[str], None] | None = None) -> list[Candidate]:
    """The baseline period fit and its candidate refits (through the fit cache).

    Each refit's seed is the sensitivity suite's (run seed, spec name, analysis, setting), so
    the two share cache entries.
    """
    structure = "correlated" if fit.spec.correlated else "uncorrelated"
    out = [Candidate(f"as specified ({structure} intercept and slope)", "baseline", fit,
                     patient_loo(fit))]
    for alt in candidate_alternatives(fit, data):
        made, _ = refit(engines, alt.spec, alt.data, variant="period",
                        seed=seed_for(seed, fit.spec.name, alt.analysis, alt.setting),
                        cache=cache, log=log, label=f"stacking, {alt.setting}")
        out.append(Candidate(model_label(fit, alt), alt.analysis, made, patient_loo(made)))
    return out


def model_label(fit: GrowthFit, alt: Alternative) -> str:
    """A candidate's name that says every way it differs from the baseline: a refit that
    changes the likelihood or sigma of a correlated spec also drops the correlation (the Bambi
    engine fits independent patient effects), and says so."""
    dropped = fit.spec.correlated and not alt.spec.correlated and "correlated" not in alt.setting
    return f"{alt.setting}, uncorrelated intercept and slope" if dropped else alt.setting


def common_units(loos: Mapping[str, LooResult]) -> tuple[str, ...]:
    """The units (patients) every result has, in the first result's order."""
    sets = [set(r.units) for r in loos.values()]
    first = next(iter(loos.values()))
    return tuple(u for u in first.units if all(u in s for s in sets))


def stacking_weights(loos: Mapping[str, LooResult], *,
                     k_limit: float = K_LIMIT) -> pd.DataFrame:
    """LOO stacking weights of models over the patients every model has.

    Parameters
    ----------
    loos : dict of str to LooResult
        Model name -> its leave-one-patient-out result (``units``: the patient ids).
    k_limit : float
        Pareto k above which a model's LOO is unreliable.

    Returns
    -------
    pandas.DataFrame
        One row per model: ``model``, ``weight``, ``elpd_loo`` and ``elpd_se`` (over the
        common patients), ``max_pareto_k`` (over them), ``loo_reliable``, ``loo_method``,
        ``n_patients`` (common patients) and ``n_left_out`` (the model's patients that are
        not common, not in the weights).

    Raises
    ------
    DataError
        When a result has no unit ids, or no patient is common to all.

    Examples
    --------
    >>> a = LooResult(0, 0, 0, np.array([-1.0, -2.0, -3.0]), np.zeros(3), "m", ("p", "q", "r"))
    >>> b = LooResult(0, 0, 0, np.array([-9.0, -9.0]), np.zeros(2), "m", ("q", "p"))
    >>> stacking_weights({"a": a, "b": b})[["model", "weight", "n_patients", "n_left_out"]]
      model  weight  n_patients  n_left_out
    0     a     1.0           2           1
    1     b     0.0           2           0
    """
    if any(not r.units for r in loos.values()):
        raise DataError("stacking needs each LOO's patient ids (LooResult.units)")
    common = common_units(loos)
    if not common:
        raise DataError("no patient is common to every candidate model: nothing to stack")
    points, ks, rows = {}, {}, []
    for name, r in loos.items():
        at = {u: i for i, u in enumerate(r.units)}
        index = [at[u] for u in common]
        points[name], ks[name] = r.pointwise[index], r.pareto_k[index]
        max_k = float(np.max(ks[name]))
        rows.append({"model": name, "elpd_loo": float(points[name].sum()),
                     "elpd_se": float(np.sqrt(len(common) * points[name].var(ddof=1))),
                     "max_pareto_k": max_k, "loo_reliable": max_k <= k_limit,
                     "loo_method": r.method, "n_patients": len(common),
                     "n_left_out": len(r.units) - len(common)})
    weights = stacking_weights_of(points, pareto_k=ks, good_k=k_limit)
    table = pd.DataFrame(rows)
    table.insert(1, "weight", table["model"].map(weights))
    return table


def draw_counts(weights: Mapping[str, float], *, total: int) -> dict[str, int]:
    """How many of ``total`` mixture draws each model gives: ``w_k total`` rounded by largest
    remainders (the counts sum to ``total``; ties go to the earlier model)."""
    names = list(weights)
    exact = np.array([weights[n] for n in names], float) * total / sum(weights.values())
    counts = np.floor(exact).astype(int)
    order = sorted(range(len(names)), key=lambda i: (-(exact[i] - counts[i]), i))
    counts[order[:total - counts.sum()]] += 1
    return dict(zip(names, counts.tolist(), strict=True))


def stacked_draws(draws: Mapping[str, Mapping[str, np.ndarray]], counts: Mapping[str, int], *,
                  seed: int) -> dict[str, np.ndarray]:
    """The mixture: ``counts[k]`` draws of model k, without replacement, the same draw indices
    for every quantity of a model (so joint quantities stay joint).

    Parameters
    ----------
    draws : dict of str to dict of str to numpy.ndarray
        Model -> quantity -> its draws ``(S_k,)``.
    counts : dict of str to int
        Model -> draws it gives (:func:`draw_counts`; at most ``S_k``).
    seed : int

    Returns
    -------
    dict of str to numpy.ndarray
        Quantity -> the mixture's draws, for the quantities every contributing model has.
    """
    rng = np.random.default_rng(seed)
    used = [m for m in draws if counts.get(m, 0) > 0]
    names = [q for q in draws[used[0]] if all(q in draws[m] for m in used)]
    parts: dict[str, list[np.ndarray]] = {q: [] for q in names}
    for m in used:
        size = len(draws[m][names[0]])
        if counts[m] > size:
            raise DataError(f"model {m!r} has {size} draws, fewer than the {counts[m]} asked")
        index = rng.choice(size, counts[m], replace=False)
        for q in names:
            parts[q].append(np.asarray(draws[m][q])[index])
    return {q: np.concatenate(p) for q, p in parts.items()}


def stacking_rows(fit: GrowthFit, data: pd.DataFrame, *, engines: Engines, seed: int,
                  cache: FitCache | str | Path | bool | None = None,
                  log: Callable[[str], None] | None = None) -> list[dict]:
    """The rows of ``stacking.csv`` of one period fit: a weight per candidate, then the
    stacked posterior of each main quantity beside the baseline's."""
    found = candidates(fit, data, engines=engines, seed=seed, cache=cache, log=log)
    weights = stacking_weights({c.model: c.loo for c in found})
    quantities = {c.model: main_quantities(c.fit, data, seed=seed) for c in found}
    total = min(len(next(iter(q.values())).draws) for q in quantities.values())
    counts = draw_counts(dict(zip(weights["model"], weights["weight"], strict=True)),
                         total=total)
    measure, n, left = fit.spec.name, int(weights["n_patients"].iloc[0]), _left_out(found)
    rows = []
    for c, w in zip(found, weights.to_dict("records"), strict=True):
        rows.append(w | {"measure": measure, "kind": "weight", "analysis": c.analysis,
                         "engine": c.fit.engine, "draws": counts[c.model],
                         "passed": c.fit.diagnostics.passed,
                         "estimand": _weight_estimand(n)})
    mixed = stacked_draws({m: {k: q.draws for k, q in qs.items()}
                           for m, qs in quantities.items()}, counts,
                          seed=seed_for(seed, measure, "stacking"))
    base = quantities[found[0].model]
    used = [c for c in found if counts[c.model] > 0]
    note = _note(used, weights)
    for name, draws in mixed.items():
        q = base[name]
        s, b = summarize(draws, rope=q.rope), summarize(q.draws, rope=q.rope)
        rows.append({"measure": measure, "kind": "stacked", "model": "stacked",
                     "analysis": ANALYSIS, "quantity": name, "units": q.units,
                     "estimand": _quantity_estimand(name, fit), "draws": len(draws),
                     "n_patients": n, "n_left_out": left, **s,
                     **{f"baseline_{k}": b[k] for k in ("mean", "hdi_low", "hdi_high",
                                                         "decision")},
                     "conclusion_changed": s["decision"] != b["decision"],
                     "passed": all(c.fit.diagnostics.passed for c in used), "note": note})
    return [{c: r.get(c) for c in COLUMNS} | {"interval": INTERVAL} for r in rows]


def _left_out(found: Sequence[Candidate]) -> int:
    """Patients some candidate has that are not common to all."""
    every = set().union(*(c.loo.units for c in found))
    return len(every) - len(common_units({c.model: c.loo for c in found}))


def _note(used: Sequence[Candidate], weights: pd.DataFrame) -> str:
    unreliable = set(weights.loc[~weights["loo_reliable"], "model"])
    parts = [f"{c.model}: LOO unreliable (Pareto k > {K_LIMIT})" for c in used
             if c.model in unreliable]
    parts += [f"{c.model}: gate FAILED" for c in used if not c.fit.diagnostics.passed]
    return "; ".join(parts)


def _weight_estimand(n: int) -> str:
    return ("LOO stacking weight (Yao et al. 2018) of the model's predictive density for a new "
            "patient (leave-one-patient-out PSIS-LOO, patient effects integrated out), over "
            f"the {n} patients every candidate fits")


def _quantity_estimand(name: str, fit: GrowthFit) -> str:
    t0, t1 = fit.spec.d_months
    what = {"contrast_intercept": f"Period II - I difference at month {t0:g} (intake)",
            "contrast_slope": "Period II - I difference in slope per month",
            f"contrast_at_{t1:g}": f"Period II - I difference at month {t1:g}",
            "change_difference": f"Period II - I difference in change {t0:g}-{t1:g} months",
            "d_difference": f"d_II - d_I of the change {t0:g}-{t1:g} months"}.get(name)
    if what is None and name.startswith("d_"):
        what = f"Cohen's d of the change {t0:g}-{t1:g} months, Period {name[2:]}"
    return f"{what or name}; stacked posterior (the candidates' draws mixed by their weights)"


def stacking(fits: Sequence[GrowthFit], data: pd.DataFrame, *, engines: Engines | None = None,
             options: SamplerOptions | None = None, seed: int = SEED,
             cache: FitCache | str | Path | bool | None = None,
             log: Callable[[str], None] | None = None) -> pd.DataFrame:
    """``stacking.csv``: LOO stacking weights of each measure's candidate models and the
    stacked posterior of its main quantities beside the baseline's.

    About four refits per measure (each read back from the fit cache when it holds it).

    Parameters
    ----------
    fits : sequence of GrowthFit
        The run's fits; every period fit is the baseline of its measure.
    data : pandas.DataFrame
        The register the fits used.
    engines : Engines, optional
        The run's engines (default: new ones with ``options``).
    options : SamplerOptions, optional
    seed : int
        Run seed (the refits' seeds, as the sensitivity suite's; the mixture's draws).
    cache : FitCache, path or None
        Fit cache: refits it holds are read back, new ones stored.
    log : callable, optional
        Receives one line per refit.

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS`: ``kind == "weight"`` rows (one per measure x model: weight, draws
        in the mixture, ELPD over the common patients, max Pareto k and ``loo_reliable``,
        ``n_patients``, ``n_left_out``, the gate's ``passed``) and ``kind == "stacked"`` rows
        (one per measure x quantity: mean, HDI and decision of the mixture beside the
        baseline's, ``conclusion_changed``).

    Examples
    --------
    >>> import mbtbayes as mb
    >>> reg = mb.load_register()
    >>> fits = mb.fit_specs({"bsi": mb.load_specs()["bsi"]}, reg.data)  # doctest: +SKIP
    >>> table = mb.stacking(fits, reg.data, cache="/tmp/mbt-cache")  # doctest: +SKIP
    >>> table.query("kind == 'weight'")[["model", "weight"]]  # doctest: +SKIP
    """
    engines = engines or engines_for(options)
    cache = FitCache.open(cache, log=log)
    rows = []
    for fit in (f for f in fits if f.variant == "period"):
        rows += stacking_rows(fit, data, engines=engines, seed=seed, cache=cache, log=log)
    return pd.DataFrame(rows, columns=list(COLUMNS))
