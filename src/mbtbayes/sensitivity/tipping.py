"""Tipping point for drop-out not at random (pattern mixture, delta adjustment).

A patient *dropped out* of a measure when their last observed assessment lies more than
:data:`DROP_WINDOW` months before the later d time point ``t1`` (24). Under MAR each patient's
value at ``t1`` is the model's prediction with their own effects, per draw:
``mu_period(t1) + u0_i + u1_i t1``. The delta adjustment shifts the drop-outs' values by
``delta`` baseline SDs in the worse direction of the measure (``higher_is`` in the schema).
Per draw, the mean over the patients of each period gives the 24-month contrast
(``contrast_at_<t1>``, II - I) and d of each period (mean change from ``t0`` over the observed
pooled baseline SD); the table gives every delta of :data:`DELTAS` and, per quantity, the
smallest delta at which the HDI + ROPE decision changes (the tipping point).

The patient-averaged quantities at delta = 0 differ slightly from the population-mean baseline
(they average the patients' own effects): the ``delta = 0`` row is the reference.

Examples
--------
>>> DELTAS[:3]
(0.0, 0.1, 0.2)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mbtbayes.core.errors import SpecError
from mbtbayes.sensitivity.quantities import Quantity, baseline_sd, row, summarize

DROP_WINDOW = 3.0
"""Months before t1 within which a last assessment still counts as staying to t1."""
DELTAS = tuple(round(0.1 * i, 1) for i in range(11))
"""Shifts of the drop-outs' values, in baseline SDs, in the worse direction."""
ANALYSIS = "drop-out tipping point"


def dropped_out(fit) -> np.ndarray:
    """Per patient of ``fit.design.groups``: True when the last observation of the measure is
    more than :data:`DROP_WINDOW` months before t1 (patients without any observation: False,
    they have no value to shift and are left out)."""
    n = len(fit.design.groups)
    last = np.full(n, -np.inf)
    np.maximum.at(last, fit.design.group, fit.design.time)
    return np.isfinite(last) & (last < fit.spec.d_months[1] - DROP_WINDOW)


def patient_periods(fit) -> np.ndarray:
    """Per patient, the index of their period level (-1 when not observed)."""
    from mbtbayes.growth.trajectories import period_levels

    levels = period_levels(fit)
    frame = fit.design.frame
    out = np.full(len(fit.design.groups), -1)
    codes = pd.Categorical(frame[fit.spec.period].astype(str), categories=levels).codes
    out[fit.design.group] = codes
    return out


def patient_values(fit) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per draw and patient with effects, the MAR predictions at t0 and t1: two
    ``(S, patients)`` arrays, and those patients' indices into ``fit.design.groups``."""
    from mbtbayes.growth.groups import patient_dim
    from mbtbayes.growth.trajectories import trajectories

    spec = fit.spec
    wanted = (f"1|{spec.group}", f"{spec.time}|{spec.group}")
    if tuple(fit.design.effects) != wanted:
        raise SpecError(f"{spec.name}: the tipping point needs patient effects "
                        f"({spec.time} | {spec.group}); the fit has {fit.design.effects}")
    names = [str(v) for v in fit.idata.posterior[wanted[0]].coords[patient_dim(spec)].values]
    position = {g: i for i, g in enumerate(fit.design.groups)}
    index = np.array([position[n] for n in names])
    t0, t1 = spec.d_months
    traj = trajectories(fit, [t0, t1])
    periods = patient_periods(fit)[index]
    u0, u1 = fit.draws(wanted[0]), fit.draws(wanted[1])
    mean = traj[:, np.maximum(periods, 0), :]
    return mean[..., 0] + u0 + u1 * t0, mean[..., 1] + u0 + u1 * t1, index


def delta_quantities(fit, data: pd.DataFrame, delta: float, *, values=None,
                     worse: float | None = None) -> dict[str, Quantity]:
    """The 24-month contrast and d per period with drop-outs shifted by ``delta`` SDs."""
    from mbtbayes.growth.rope import rope_for
    from mbtbayes.growth.trajectories import period_levels
    from mbtbayes.sensitivity.prior_grid import better_sign

    spec = fit.spec
    start, end, index = values or patient_values(fit)
    if worse is None:
        worse = -better_sign(spec.measure)[0]
    sd = baseline_sd(spec, data)
    rope = rope_for(spec, data).half_width
    shifted = end + worse * delta * sd * dropped_out(fit)[index]
    periods = patient_periods(fit)[index]
    means_end, means_start = {}, {}
    for i, level in enumerate(period_levels(fit)):
        keep = periods == i
        means_end[level], means_start[level] = shifted[:, keep].mean(1), start[:, keep].mean(1)
    levels = period_levels(fit)
    out = {f"contrast_at_{spec.d_months[1]:g}": Quantity(
        f"contrast_at_{spec.d_months[1]:g}", means_end[levels[-1]] - means_end[levels[0]],
        f"{spec.measure} units", rope)}
    for level in levels:
        out[f"d_{level}"] = Quantity(f"d_{level}", (means_end[level] - means_start[level]) / sd,
                                     "baseline SD", rope / sd)
    return out


def tipping_rows(fit, data: pd.DataFrame, *, baseline: dict[str, str],
                 deltas: tuple[float, ...] = DELTAS) -> list[dict]:
    """Rows of every delta, with the tipping point of each quantity in the note."""
    values = patient_values(fit)
    share = dropped_out(fit)[values[2]].mean()
    table = []
    for delta in deltas:
        for q in delta_quantities(fit, data, delta, values=values).values():
            table.append((delta, q, summarize(q.draws, rope=q.rope)))
    reference = {q.name: s["decision"] for d, q, s in table if d == deltas[0]}
    tips = {}
    for delta, q, s in table:
        if s["decision"] != reference[q.name]:
            tips.setdefault(q.name, delta)
    rows = []
    for delta, q, s in table:
        tip = tips.get(q.name)
        note = (f"drop-outs {share:.0%} of patients (last assessment > {DROP_WINDOW:g} months "
                f"before {fit.spec.d_months[1]:g}); values shifted {delta:g} baseline SD worse; "
                + (f"tipping point: delta = {tip:g} SD" if tip is not None else
                   f"no tipping point up to delta = {deltas[-1]:g} SD"))
        rows.append(row(measure=fit.spec.name, analysis=ANALYSIS, setting=f"delta = {delta:g} SD",
                        quantity=q, summary=s, baseline_decision=baseline.get(q.name, "?"),
                        method="per-draw imputation", diagnostic="MAR predictions per draw",
                        passed=fit.diagnostics.passed, note=note))
    return rows
