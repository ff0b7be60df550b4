"""Tipping point for drop-out not at random: a pattern mixture per period (delta adjustment).

Who dropped out is what the register says: a patient with ``dropout = 1`` (the treatment
drop-outs, :data:`DROPOUT`; 5 and 9 in the bundled register). Completers are never shifted,
even when their last assessment of a measure came early (a short treatment that ended as
planned): under the baseline analysis (missing at random, MAR) the model's period means at the
later d time point ``t1`` (24) already stand for every patient's unobserved value, and the
pattern mixture departs from MAR for the drop-outs only.

A drop-out ``i`` last assessed at ``last_i`` (of this measure) is shifted at ``t1`` by
``delta`` observed pooled baseline SDs in the measure's worse direction (``higher_is`` in the
schema) times ``f_i``:

- ``level`` shift: ``f_i = 1`` when ``t1`` is unobserved (``last_i < t1 -``
  :data:`OBSERVED_WINDOW`), else 0;
- ``slope`` shift (the post-drop-out trajectory turns worse): the slope after the last
  assessment is worse by ``delta`` SDs per ``t1 - t0`` months, so
  ``f_i = (t1 - last_i) / (t1 - t0)`` (0 when ``t1`` is observed).

Period ``k``'s mean at ``t1`` then moves by ``D_k = s_k * delta * SD * e_k`` with the period's
*exposure* ``e_k`` (the mean of ``f_i`` over its patients, 0 for completers) and the scenario's
sign ``s_k`` (:data:`DIRECTIONS`: "II worse", Period II's drop-outs only; "II worse & I
better", the scenario that moves the contrast most against Period II; its mirror image "I
worse & II better", which challenges a conclusion that Period II did worse; "both worse",
which moves d of both periods). Per posterior draw of the baseline's own
quantities (:func:`mbtbayes.sensitivity.quantities.main_quantities`):

- ``contrast_at_24`` and ``change_difference`` move by ``D_II - D_I``, ``contrast_slope`` by
  ``(D_II - D_I) / (t1 - t0)``; the month-0 contrast does not move (no row);
- ``d_k`` moves by ``D_k / SD_draw`` and ``d_difference`` by ``(D_II - D_I) / SD_draw``
  (the SD draw each d divides by);

so ``delta = 0`` is the baseline exactly. Each quantity's conclusion is its HDI + ROPE
decision with the direction of a "difference"; d's paper reading, "large" (mean d in the
better direction at least :data:`LARGE_D`, Cohen's benchmark the paper uses), is a conclusion
of its own (quantities ``large_d_I``, ``large_d_II``). The tipping point of a conclusion under
a scenario is the smallest delta (searched up to :data:`DELTA_MAX`) at which it changes.

Rows per scenario and quantity: :data:`TABLE_DELTAS` (up to :data:`PLAUSIBLE_DELTA`, the range
whose settings decide "robust"), and the tipping point (setting ``... tipping point: delta =
... SD (MC error ...)``; a threshold like reverse-Bayes, shown beside the verdict), or "no
tipping point up to" :data:`DELTA_MAX`. A tipping point's Monte Carlo error is that of the
summary that decides (the larger HDI end's, bootstrapped over the draws and scaled by their
relative efficiency; the mean's for "large") divided by how far the draws move per unit of
delta: about 0.1 SD for an HDI-decided conclusion of the bundled register, 0.02 for "large";
the row's ``mcse_*`` columns hold the summary's errors at the tip.

Examples
--------
>>> [s.label for s in SCENARIOS][:3]
['II worse, level shift', 'II worse, slope shift', 'II worse & I better, level shift']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from mbtbayes.core.decisions import DIFFERENCE
from mbtbayes.core.defaults import SEED
from mbtbayes.core.errors import DataError
from mbtbayes.core.seeds import seed_for
from mbtbayes.growth.baseline import spec_sd_draws
from mbtbayes.growth.result import GrowthFit
from mbtbayes.growth.trajectories import period_levels
from mbtbayes.io.patients import binary_column
from mbtbayes.sensitivity.prior_grid import better_sign
from mbtbayes.sensitivity.quantities import (
    Quantity,
    baseline_decisions,
    baseline_sd,
    bootstrap_counts,
    main_quantities,
    relative_efficiency,
    row,
    summarize,
    weighted_mcse,
)

ANALYSIS = "drop-out tipping point"
DROPOUT = "dropout"
"""The register's patient-level treatment drop-out column (1 = dropped out)."""
OBSERVED_WINDOW = 3.0
"""A last assessment within this many months before t1 counts as observed at t1."""
PLAUSIBLE_DELTA = 1.0
"""Settings up to this delta decide "robust": a drop-out whose value at t1 is one baseline SD
worse than MAR predicts has lost about the whole improvement the paper reports (d about 1)."""
TABLE_DELTAS = (PLAUSIBLE_DELTA,)
"""The deltas (baseline SDs) of the table's setting rows (a decision that changes below
:data:`PLAUSIBLE_DELTA` has changed at it too unless it changed back; the tipping-point row
says where it first changed)."""
DELTA_MAX = 5.0
"""The tipping point is searched up to this delta."""
GRID_STEP = 0.1
"""Step of the tipping-point search before bisection (a decision cannot change and change
back within it: crossing a ROPE edge takes a shift of at least the HDI's width)."""
BISECTIONS = 7
"""Bisection steps after the grid (the tipping point to 0.1 / 2^7, about 0.001 SD)."""
LARGE_D = 0.8
"""The paper's "large" d (Cohen's benchmark)."""
LARGE, NOT_LARGE = "large", "not large"
TIP_SETTING = "tipping point"
"""Text in the setting of a tipping-point row (a threshold, not a setting of the verdict)."""
SHAPES = ("level", "slope")
DIRECTIONS = (("II worse", (0, 1)), ("II worse & I better", (-1, 1)),
              ("I worse & II better", (1, -1)), ("both worse", (1, 1)))
"""Scenario name (whose drop-outs are shifted which way) and sign per period (reference
first): +1 worse, -1 better, 0 unshifted."""
MOVED = ("contrast_slope", "change_difference", "d_difference")
"""Quantities besides ``contrast_at_<t1>`` and ``d_<period>`` that drop-out shifts move."""


@dataclass(frozen=True)
class Scenario:
    """Which periods' drop-outs are shifted (sign per period, reference first) and how."""

    name: str
    signs: tuple[int, int]
    shape: str

    @property
    def label(self) -> str:
        return f"{self.name}, {self.shape} shift"


SCENARIOS = tuple(Scenario(name, signs, shape) for name, signs in DIRECTIONS
                  for shape in SHAPES)


def dropouts(fit: GrowthFit, data: pd.DataFrame) -> np.ndarray:
    """Per patient of ``fit.design.groups``: True for a treatment drop-out (``dropout = 1``;
    missing counts as not dropped out).

    Raises
    ------
    DataError
        The data have no ``dropout`` column.
    """
    group = fit.spec.group
    if DROPOUT not in data.columns:
        raise DataError(f"the drop-out tipping point needs the patient-level column '{DROPOUT}' "
                        "(1 = dropped out of treatment); the data have none by that name")
    flags = binary_column(data.drop_duplicates(group), DROPOUT, what=ANALYSIS)
    by_patient = pd.Series(flags.to_numpy(), index=data.drop_duplicates(group)[group].astype(str))
    values = by_patient.reindex([str(g) for g in fit.design.groups]).to_numpy(float)
    return values == 1.0


def last_assessment(fit: GrowthFit) -> np.ndarray:
    """Per patient, the time of the last observation of the measure (-inf without any)."""
    last = np.full(len(fit.design.groups), -np.inf)
    np.maximum.at(last, fit.design.group, fit.design.time)
    return last


def patient_periods(fit: GrowthFit) -> np.ndarray:
    """Per patient, the index of their period level (-1 when not observed)."""
    levels = period_levels(fit)
    frame = fit.design.frame
    out = np.full(len(fit.design.groups), -1)
    codes = pd.Categorical(frame[fit.spec.period].astype(str), categories=levels).codes
    out[fit.design.group] = codes
    return out


def shift_fractions(fit: GrowthFit, data: pd.DataFrame, shape: str) -> np.ndarray:
    """Per patient, ``f_i``: the share of ``delta`` by which the value at t1 is shifted."""
    t0, t1 = fit.spec.d_months
    last = last_assessment(fit)
    unobserved = np.isfinite(last) & (last < t1 - OBSERVED_WINDOW) & dropouts(fit, data)
    if shape == "level":
        return unobserved.astype(float)
    if shape == "slope":
        return np.where(unobserved, (t1 - last) / (t1 - t0), 0.0)
    raise ValueError(f"shape must be one of {SHAPES}, got {shape!r}")


def exposures(fit: GrowthFit, data: pd.DataFrame, shape: str) -> dict[str, float]:
    """Per period level, the mean of ``f_i`` over its patients with the measure observed."""
    periods, f = patient_periods(fit), shift_fractions(fit, data, shape)
    return {level: float(f[periods == i].mean()) if (periods == i).any() else 0.0
            for i, level in enumerate(period_levels(fit))}


def dropout_counts(fit: GrowthFit, data: pd.DataFrame) -> dict[str, tuple[int, int, int]]:
    """Per period level: drop-outs unobserved at t1, drop-outs, patients (measure observed)."""
    periods, drops = patient_periods(fit), dropouts(fit, data)
    shifted = shift_fractions(fit, data, "level") > 0
    return {level: (int((shifted & (periods == i)).sum()), int((drops & (periods == i)).sum()),
                    int((periods == i).sum())) for i, level in enumerate(period_levels(fit))}


@dataclass(frozen=True)
class Prepared:
    """What every delta of a fit shares: the baseline's quantities that drop-out moves, the
    observed pooled baseline SD (delta's unit), the SD draws d divides by, and the exposures
    per shape and period."""

    quantities: dict[str, Quantity]
    sd: float
    sd_draws: np.ndarray
    exposure: dict[str, dict[str, float]]


def prepare(fit: GrowthFit, data: pd.DataFrame, *, seed: int = SEED) -> Prepared:
    """The :class:`Prepared` inputs of a fit (``seed``: the run seed, as for
    :func:`main_quantities`)."""
    base = main_quantities(fit, data, seed=seed)
    moved = {n: q for n, q in base.items() if n != "contrast_intercept"}
    n = len(next(iter(base.values())).draws)
    sd_draws, _ = spec_sd_draws(fit.spec, data, draws=n, seed=seed)
    return Prepared(moved, baseline_sd(fit.spec, data), sd_draws,
                    {shape: exposures(fit, data, shape) for shape in SHAPES})


def delta_quantities(fit: GrowthFit, data: pd.DataFrame, delta: float, *, scenario: Scenario,
                     prepared: Prepared | None = None, seed: int = SEED) -> dict[str, Quantity]:
    """The quantities drop-out moves, with the scenario's drop-outs shifted by ``delta`` SDs.

    Parameters
    ----------
    fit : GrowthFit
        A period fit.
    data : pandas.DataFrame
        Its data (with the ``dropout`` column).
    delta : float
        The shift in observed pooled baseline SDs, in the measure's worse direction.
    scenario : Scenario
        Which periods' drop-outs are shifted, in which direction, level or slope.
    prepared : Prepared, optional
        :func:`prepare`'s inputs (computed from ``seed`` if not given).
    seed : int
        The run seed (d's SD draws, as :func:`main_quantities` draws them).

    Returns
    -------
    dict of str to Quantity
        ``contrast_slope``, ``contrast_at_<t1>``, ``d_<period>``, ``change_difference``,
        ``d_difference``; the baseline's own draws at ``delta = 0``.
    """
    spec = fit.spec
    prepared = prepared or prepare(fit, data, seed=seed)
    levels = period_levels(fit)
    worse = -better_sign(spec.measure)[0]
    exposure = prepared.exposure[scenario.shape]
    shift = {level: worse * sign * delta * prepared.sd * exposure[level]
             for level, sign in zip(levels, scenario.signs, strict=True)}
    gap = shift[levels[1]] - shift[levels[0]]
    span = spec.d_months[1] - spec.d_months[0]
    moves = {f"contrast_at_{spec.d_months[1]:g}": gap, "change_difference": gap,
             "contrast_slope": gap / span, "d_difference": gap / prepared.sd_draws}
    moves |= {f"d_{level}": shift[level] / prepared.sd_draws for level in levels}
    return {name: replace(q, draws=q.draws + moves[name])
            for name, q in prepared.quantities.items() if name in moves}


# ---------------------------------------------------------------- conclusions and rows


def conclusion(q: Quantity, *, better: float) -> tuple[dict, str]:
    """The summary of a quantity's draws and its conclusion: the HDI + ROPE decision (a
    "difference" with its direction, ``higher`` / ``lower``) or, for a ``large_`` quantity,
    :data:`LARGE` when the mean d in the better direction (``better`` = +1 when higher is
    better) is at least :data:`LARGE_D`."""
    if q.name.startswith("large_"):
        mean = float(np.mean(q.draws))
        s = summarize(q.draws, rope=q.rope) | {"rope_half_width": float("nan")}
        s["decision"] = LARGE if better * mean >= LARGE_D else NOT_LARGE
        return s, s["decision"]
    s = summarize(q.draws, rope=q.rope)
    if s["decision"] != DIFFERENCE:
        return s, s["decision"]
    return s, f"{DIFFERENCE} ({'higher' if s['hdi_low'] > 0 else 'lower'})"


def with_large(quantities: dict[str, Quantity]) -> dict[str, Quantity]:
    """The quantities plus ``large_d_<period>`` (the same draws as ``d_<period>``)."""
    large = {f"large_{n}": replace(q, name=f"large_{n}") for n, q in quantities.items()
             if n.startswith("d_") and n != "d_difference"}
    return quantities | large


def tipping_point(shifted: Callable[[float], dict[str, Quantity]], name: str, reference: str, *,
                  better: float, delta_max: float = DELTA_MAX) -> float | None:
    """The smallest delta at which quantity ``name``'s conclusion differs from ``reference``
    (grid of :data:`GRID_STEP`, then bisection); None when it does not up to ``delta_max``.
    ``shifted(delta)`` returns the quantities at a delta."""
    def changed(delta: float) -> bool:
        return conclusion(shifted(delta)[name], better=better)[1] != reference

    grid = np.arange(GRID_STEP, delta_max + GRID_STEP / 2, GRID_STEP)
    low = 0.0
    for delta in grid:
        if changed(float(delta)):
            high = float(delta)
            for _ in range(BISECTIONS):
                middle = (low + high) / 2
                low, high = (low, middle) if changed(middle) else (middle, high)
            return high
        low = float(delta)
    return None


def tipping_rows(fit: GrowthFit, data: pd.DataFrame, *, baseline: dict[str, str],
                 seed: int = SEED, scenarios: tuple[Scenario, ...] = SCENARIOS,
                 deltas: tuple[float, ...] = TABLE_DELTAS) -> list[dict]:
    """Rows of every scenario: each quantity drop-out moves at ``deltas`` and at its tipping
    point (or "no tipping point up to" :data:`DELTA_MAX`); and the baseline rows of the
    ``large_`` conclusions (``baseline = True``).

    Raises
    ------
    DataError
        The data have no ``dropout`` column.
    """
    better = better_sign(fit.spec.measure)[0]
    prepared = prepare(fit, data, seed=seed)
    moved = prepared.quantities
    reference = {n: conclusion(q, better=better) for n, q in with_large(moved).items()}
    rows = [_row(fit, q, reference[q.name][0], setting="delta = 0 SD (MAR: the baseline)",
                 decided=reference[q.name][1], baseline=reference[q.name][0]["decision"],
                 note=f"the paper's 'large': mean d in the better direction >= {LARGE_D:g}",
                 is_baseline=True)
            for n, q in with_large(moved).items() if n.startswith("large_")]
    counts = _counts_text(fit, data)
    mcse = _mcse(fit, len(prepared.sd_draws), seed=seed)
    searched: dict[tuple, tuple] = {}
    for scenario in scenarios:
        def shifted(delta: float, scenario: Scenario = scenario) -> dict[str, Quantity]:
            return with_large(delta_quantities(fit, data, delta, scenario=scenario,
                                               prepared=prepared))

        note = _note(fit, scenario, prepared.exposure[scenario.shape], counts)
        moves = (scenario.signs, tuple(prepared.exposure[scenario.shape].values()))
        for name, (ref_summary, ref) in reference.items():
            if (name, moves) not in searched:  # level and slope alike: searched once
                tip = tipping_point(shifted, name, ref, better=better)
                searched[name, moves] = (tip, None if tip is None else
                                         tip_error(shifted, name, tip, mcse=mcse))
            tip, error = searched[name, moves]
            decided = baseline.get(name, ref_summary["decision"])
            for delta in deltas:
                q = shifted(delta)[name]
                s, key = conclusion(q, better=better)
                rows.append(_row(fit, q, s, setting=f"{scenario.label}: delta = {delta:g} SD",
                                 decided=key, reference=ref, baseline=decided,
                                 note=note + _tip_text(tip, error)))
            at = tip if tip is not None else DELTA_MAX
            q = shifted(at)[name]
            s, key = conclusion(q, better=better)
            if error is not None:
                s |= error[1]
            setting = (f"{scenario.label}: {TIP_SETTING}: {_tip_text(tip, error, short=True)}"
                       if tip is not None else
                       f"{scenario.label}: no {TIP_SETTING} up to delta = {DELTA_MAX:g} SD")
            rows.append(_row(fit, q, s, setting=setting, decided=key, reference=ref,
                             baseline=decided, note=note + _tip_text(tip, error)))
    return rows


def tip_error(shifted: Callable[[float], dict[str, Quantity]], name: str, tip: float, *,
              mcse: Callable[[np.ndarray], dict]) -> tuple[float, dict]:
    """Monte Carlo error of a tipping point: the Monte Carlo error of the summary that decides
    (an HDI end, the larger of the two; the mean for a ``large_`` conclusion) at the tip,
    divided by how far the quantity's draws move per unit of delta. ``mcse(draws)`` gives
    :func:`mbtbayes.sensitivity.quantities.weighted_mcse`'s errors of unweighted draws."""
    q = shifted(tip)[name]
    errors = mcse(q.draws)
    rate = float(np.mean(np.abs(shifted(tip + 1.0)[name].draws - q.draws)))
    end = (errors["mcse_mean"] if name.startswith("large_") else
           max(errors["mcse_hdi_low"], errors["mcse_hdi_high"]))
    return end / rate, errors


def not_run_rows(fit: GrowthFit, data: pd.DataFrame, *, baseline: dict[str, str], reason: str,
                 seed: int = SEED) -> list[dict]:
    """One row per quantity saying why the analysis did not run (``passed = False``: no
    verdict counts it)."""
    empty = {"mean": float("nan"), "hdi_low": float("nan"), "hdi_high": float("nan")}
    rows = []
    quantities = main_quantities(fit, data, seed=seed)
    decisions = baseline_decisions(quantities, baseline)
    for q in quantities.values():
        decided = decisions[q.name]
        summary = empty | {"rope_half_width": q.rope, "decision": decided}
        rows.append(row(measure=fit.spec.name, analysis=ANALYSIS, setting="not run",
                        quantity=q, summary=summary, baseline_decision=decided,
                        method="delta adjustment", diagnostic=f"not run: {reason}",
                        passed=False, note=reason))
    return rows


def _row(fit: GrowthFit, q: Quantity, summary: dict, *, setting: str, decided: str, baseline: str,
         reference: str | None = None, note: str = "", is_baseline: bool = False) -> dict:
    out = row(measure=fit.spec.name, analysis=ANALYSIS, setting=setting, quantity=q,
              summary=summary, baseline_decision=baseline, method="delta adjustment",
              diagnostic="per draw of the fit's quantities", passed=fit.diagnostics.passed,
              baseline=is_baseline, note=note)
    return out | {"conclusion_changed": reference is not None and decided != reference}


def _counts_text(fit: GrowthFit, data: pd.DataFrame) -> str:
    counts = dropout_counts(fit, data)
    return "; ".join(f"{level}: {drop} drop-out(s) of {n} patients, {shifted} unobserved at "
                     f"{fit.spec.d_months[1]:g}" for level, (shifted, drop, n) in counts.items())


def _note(fit: GrowthFit, scenario: Scenario, exposure: dict[str, float], counts: str) -> str:
    t0, t1 = fit.spec.d_months
    how = ("value at {t1:g} shifted delta baseline SD" if scenario.shape == "level" else
           "slope after the last assessment worse by delta baseline SD per {span:g} months")
    share = ", ".join(f"{level} {e:.3f}" for level, e in exposure.items())
    return (f"pattern mixture: register drop-outs ({DROPOUT} = 1; completers never shifted) "
            f"by period: {counts}; {scenario.name}: "
            + how.format(t1=t1, span=t1 - t0)
            + f" in the worse direction; exposure (mean shift per patient, in delta SD): "
            f"{share}; ")


def _mcse(fit: GrowthFit, n: int, *, seed: int) -> Callable[[np.ndarray], dict]:
    """Monte Carlo errors of a quantity's unweighted draws (bootstrap over the draws, scaled
    by their relative efficiency), one resampling for the fit."""
    chains = fit.idata.posterior.sizes["chain"] if fit.idata is not None else 1
    counts = bootstrap_counts(n, seed=seed_for(seed, fit.spec.name, "tipping point"))
    return lambda draws: weighted_mcse(draws, np.ones(n), counts=counts,
                                       r_eff=relative_efficiency(draws, chains=chains))


def _tip_text(tip: float | None, error: tuple[float, dict] | None = None, *,
              short: bool = False) -> str:
    if tip is None:
        return f"no tipping point up to delta = {DELTA_MAX:g} SD"
    point = f"delta = {tip:.2f} SD" + ("" if error is None else f" (MC error {error[0]:.2g})")
    return point if short else f"tipping point: {point}"
