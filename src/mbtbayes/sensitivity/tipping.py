"""Tipping point for drop-out not at random (pattern mixture, delta adjustment).

A patient *dropped out* of a measure when their last observed assessment lies more than
:data:`DROP_WINDOW` months before the later d time point ``t1`` (24). Under MAR the model's
period means at ``t1`` already stand for the drop-outs' unobserved values (its predictions).
The delta adjustment shifts those values by ``delta`` baseline SDs in the worse direction of
the measure (``higher_is`` in the schema), so the mean of period ``k`` at ``t1`` moves by
``delta * SD * p_k``, with ``p_k`` the share of period ``k``'s patients who dropped out:

- 24-month contrast (II - I): ``contrast(delta) = contrast + worse * delta * SD * (p_II - p_I)``;
- d of period ``k`` (change 0-24 over the same pooled baseline SD):
  ``d_k(delta) = d_k + worse * delta * p_k``,

per posterior draw of the fit's own quantities (:func:`main_quantities`), so ``delta = 0`` is
the baseline exactly. The table gives every delta of :data:`DELTAS` and, per quantity, the
smallest delta at which the HDI + ROPE decision changes (the tipping point).

Examples
--------
>>> DELTAS[:3]
(0.0, 0.1, 0.2)
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from mbtbayes.core.defaults import SEED
from mbtbayes.sensitivity.quantities import (
    Quantity,
    baseline_sd,
    main_quantities,
    row,
    summarize,
)

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


def dropout_shares(fit) -> dict[str, float]:
    """Per period level, the share of its patients (those with an observation of the measure)
    who dropped out (:func:`dropped_out`)."""
    from mbtbayes.growth.trajectories import period_levels

    periods, out = patient_periods(fit), dropped_out(fit)
    return {level: float(out[periods == i].mean()) if (periods == i).any() else 0.0
            for i, level in enumerate(period_levels(fit))}


def delta_quantities(fit, data: pd.DataFrame, delta: float, *, base=None,
                     shares: dict[str, float] | None = None,
                     worse: float | None = None) -> dict[str, Quantity]:
    """The 24-month contrast and d per period with drop-outs shifted by ``delta`` SDs."""
    from mbtbayes.growth.trajectories import period_levels
    from mbtbayes.sensitivity.prior_grid import better_sign

    spec = fit.spec
    base = base or main_quantities(fit, data)
    shares = shares or dropout_shares(fit)
    if worse is None:
        worse = -better_sign(spec.measure)[0]
    shift = worse * delta
    levels = period_levels(fit)
    name = f"contrast_at_{spec.d_months[1]:g}"
    gap = shares[levels[-1]] - shares[levels[0]]
    out = {name: replace(base[name], draws=base[name].draws
                         + shift * baseline_sd(spec, data) * gap)}
    for level in levels:
        d = base[f"d_{level}"]
        out[d.name] = replace(d, draws=d.draws + shift * shares[level])
    return out


def tipping_rows(fit, data: pd.DataFrame, *, baseline: dict[str, str],
                 deltas: tuple[float, ...] = DELTAS, seed: int = SEED) -> list[dict]:
    """Rows of every delta, with the tipping point of each quantity in the note."""
    base, shares = main_quantities(fit, data, seed=seed), dropout_shares(fit)
    table = []
    for delta in deltas:
        for q in delta_quantities(fit, data, delta, base=base, shares=shares).values():
            table.append((delta, q, summarize(q.draws, rope=q.rope)))
    reference = {q.name: s["decision"] for d, q, s in table if d == deltas[0]}
    tips = {}
    for delta, q, s in table:
        if s["decision"] != reference[q.name]:
            tips.setdefault(q.name, delta)
    rows = []
    for delta, q, s in table:
        tip = tips.get(q.name)
        share = ", ".join(f"{level} {p:.0%}" for level, p in shares.items())
        note = (f"drop-outs (last assessment > {DROP_WINDOW:g} months before "
                f"{fit.spec.d_months[1]:g}) by period: {share}; their values shifted {delta:g} "
                "baseline SD worse; "
                + (f"tipping point: delta = {tip:g} SD" if tip is not None else
                   f"no tipping point up to delta = {deltas[-1]:g} SD"))
        rows.append(row(measure=fit.spec.name, analysis=ANALYSIS, setting=f"delta = {delta:g} SD",
                        quantity=q, summary=s, baseline_decision=baseline.get(q.name, "?"),
                        method="delta adjustment", diagnostic="per draw of the fit's quantities",
                        passed=fit.diagnostics.passed, note=note))
    return rows
