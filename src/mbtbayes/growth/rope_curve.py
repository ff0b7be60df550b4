"""The ROPE curve: how the decision on the primary estimand depends on the margin.

For each measure's difference in change (Period II - I over the d months, in the measure's
units; :func:`mbtbayes.growth.summaries.contrast_draws`), the posterior probability inside
the ROPE ``[-h, h]`` and the HDI + ROPE decision as the half-width ``h`` runs from 0 to 0.5
reference SD (the spec's ``[rope] reference_sd``), so that a reader sees at which margin each
conclusion holds. The pre-specified margin is marked (``margin``; added to the grid when it
is not on it). Two columns say where the decision turns: it is "difference" while ``h`` is
below ``difference_below_sd`` (0 when the HDI holds 0) and "negligible" from
``negligible_from_sd`` on; in between it is undecided.

At ``h = 0`` no draw lies inside; the decision there is its limit from above: "difference"
when the HDI excludes 0, else "too imprecise".

Examples
--------
>>> decision_limits(0.1, 0.4)
(0.1, 0.4)
>>> decision_limits(-0.3, 0.1)
(0.0, 0.3)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mbtbayes.core.decisions import DIFFERENCE, TOO_IMPRECISE, rope_decision
from mbtbayes.core.defaults import SEED
from mbtbayes.core.posterior import INTERVAL, summarize_draws
from mbtbayes.growth.rope import rope_for
from mbtbayes.growth.summaries import better_if, contrast_draws

GRID = tuple(float(u) for u in np.round(np.arange(0.0, 0.5 + 1e-9, 0.025), 3))
"""Half-widths of the curve in reference-SD units: 0 to 0.5 in steps of 0.025."""


def decision_limits(low: float, high: float) -> tuple[float, float]:
    """Where the HDI + ROPE decision on an interval turns, as half-widths ``h``.

    Returns
    -------
    (float, float)
        The decision is "difference" for ``h`` below the first (``min(|low|, |high|)`` when
        the interval excludes 0, else 0) and "negligible" from the second on
        (``max(|low|, |high|)``).
    """
    below = min(abs(low), abs(high)) if (low > 0 or high < 0) else 0.0
    return float(below), float(max(abs(low), abs(high)))


def decision_at(low: float, high: float, half_width: float) -> str:
    """:func:`~mbtbayes.core.decisions.rope_decision`, and at ``half_width = 0`` its limit
    from above ("difference" when the interval excludes 0, else "too imprecise").

    Examples
    --------
    >>> decision_at(0.1, 0.4, 0.0), decision_at(-0.1, 0.4, 0.0), decision_at(-0.1, 0.1, 0.2)
    ('difference', 'undecided: too imprecise', 'negligible')
    """
    if half_width > 0:
        return rope_decision(low, high, half_width=half_width)
    return DIFFERENCE if (low > 0 or high < 0) else TOO_IMPRECISE


def rope_curve(fits: list, data: pd.DataFrame, *, sd_units: tuple[float, ...] = GRID,
               seed: int = SEED) -> pd.DataFrame:
    """P(in ROPE) and the decision on the difference in change as the margin varies.

    Parameters
    ----------
    fits : list of GrowthFit
        Period fits are used; others are skipped.
    data : pandas.DataFrame
        The data the fits used (the reference SD of a spec that states none).
    sd_units : tuple of float
        Half-widths in reference-SD units (default :data:`GRID`, 0 to 0.5).
    seed : int
        Run seed (as for ``period_effects.csv``).

    Returns
    -------
    pandas.DataFrame
        measure, estimand, better_if, sd_units, half_width (measure's units), p_rope,
        decision, margin (the spec's pre-specified margin), prespecified, hdi_low,
        hdi_high, difference_below_sd, negligible_from_sd, reference_sd,
        reference_sd_basis, interval, passed.
    """
    rows = []
    for fit in (f for f in fits if f.variant == "period"):
        spec, margin = fit.spec, rope_for(fit.spec, data)
        draws = contrast_draws(fit, data, seed=seed)["change"]
        post = summarize_draws(draws)
        low, high, sd = post["hdi_low"], post["hdi_high"], margin.reference_sd
        below, negligible = decision_limits(low, high)
        grid = sorted(set(sd_units) | {round(margin.half_width / sd, 6)})
        for units in grid:
            at_margin = bool(np.isclose(units * sd, margin.half_width, rtol=1e-6, atol=0.0))
            h = margin.half_width if at_margin else units * sd
            rows.append({
                "measure": spec.name,
                "estimand": (f"difference in change {spec.d_months[0]:g}-{spec.d_months[1]:g} "
                             "months: change(II) - change(I)"),
                "better_if": better_if(spec.measure), "sd_units": units, "half_width": h,
                "p_rope": float((np.abs(draws) < h).mean()),
                "decision": decision_at(low, high, h),
                "margin": at_margin,
                "prespecified": margin.prespecified, "hdi_low": low, "hdi_high": high,
                "difference_below_sd": below / sd, "negligible_from_sd": negligible / sd,
                "reference_sd": sd, "reference_sd_basis": margin.reference_basis,
                "interval": INTERVAL, "passed": fit.diagnostics.passed})
    return pd.DataFrame(rows)
