"""The prior grid for the period terms (after Zampieri et al. 2021, AJRCCM 203:543).

Nine priors for the period terms: centres *sceptical* (Period II worse), *neutral* (no
difference) and *enthusiastic* (Period II better) by :data:`CENTRE_SD` baseline SDs, crossed
with widths *weak*, *moderate* and *strong* (:data:`WIDTHS`, prior SD in baseline SDs). They
are defined in units of the measure's observed pooled baseline SD and translated to its units:
the period shift (``period``) gets ``Normal(c x SD, w x SD)``, the period x time term
(``months:period``) ``Normal(c x SD / t1, w x SD / t1)`` per month (a slope difference that
accumulates to the same amount by the later d time point ``t1``, as the slope ROPE does).
"Better" follows the measure's direction (``higher_is`` in :mod:`mbtbayes.io.schema`); for a
measure the schema does not know, "enthusiastic" means Period II higher, and the table says so.

Each main quantity is recomputed under each prior by Pareto-smoothed importance sampling of
the baseline fit's draws on the log prior ratio ``log p_new(b) - log p_old(b)`` (only the
period coefficients change, so the ratio is exact); where the Pareto k exceeds
:data:`K_LIMIT` the spec is refitted with that prior (same engine, compiled graph reused;
through the fit cache when one is given, so a rerun reads the refit back).

Examples
--------
>>> [p.setting for p in grid_priors()][:2]
['sceptical, weak', 'sceptical, moderate']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from mbtbayes.core.arviz_api import psis_weights
from mbtbayes.core.errors import SpecError
from mbtbayes.core.seeds import seed_for
from mbtbayes.io import schema
from mbtbayes.sensitivity.fitting import refit as fit_through
from mbtbayes.sensitivity.quantities import (
    baseline_sd,
    gate_text,
    main_quantities,
    row,
    summarize,
)

CENTRE_SD = 0.2
"""Distance of the sceptical and enthusiastic centres from 0, in baseline SDs (a small
effect, twice the default ROPE)."""
CENTRES = {"sceptical": -1.0, "neutral": 0.0, "enthusiastic": 1.0}
"""Centre of each prior in units of :data:`CENTRE_SD`, signed so that + is Period II better."""
WIDTHS = {"weak": 1.0, "moderate": 0.5, "strong": 0.2}
"""Prior SD of the period shift in baseline SDs."""
K_LIMIT = 0.7
"""Pareto k above which the reweighted estimate is not trusted and the spec is refitted."""
ANALYSIS = "prior grid"


@dataclass(frozen=True)
class GridPrior:
    """One prior of the grid, in baseline-SD units."""

    centre: str
    width: str

    @property
    def setting(self) -> str:
        return f"{self.centre}, {self.width}"

    def sd_units(self) -> tuple[float, float]:
        """(centre, SD) of the period shift in baseline SDs, + = Period II better."""
        return CENTRES[self.centre] * CENTRE_SD, WIDTHS[self.width]


def grid_priors() -> list[GridPrior]:
    """The nine priors of the grid, sceptical to enthusiastic, weak to strong."""
    return [GridPrior(c, w) for c in CENTRES for w in WIDTHS]


def better_sign(measure: str) -> tuple[float, str]:
    """+1 when a higher value is better, -1 when worse; and how that was decided."""
    known = schema.MEASURES.get(measure)
    if known is None:
        return 1.0, f"'{measure}' is not in the schema: 'better' taken as Period II higher"
    return (1.0 if known.higher_is == "better" else -1.0), f"higher is {known.higher_is}"


def period_terms(fit) -> dict[str, float]:
    """The period terms of a fit and the divisor of their prior (1 for the shift, t1 for
    the period x time term)."""
    spec = fit.spec
    shift, slope = spec.period, f"{spec.time}:{spec.period}"
    terms = {t: 1.0 for t in fit.design.terms if t == shift}
    terms |= {t: float(spec.d_months[1]) for t in fit.design.terms if t == slope}
    if shift not in terms:
        raise SpecError(f"{spec.name}: the prior grid needs the term '{shift}' in the period "
                        "formula")
    return terms


def translate(fit, prior: GridPrior, sd: float) -> dict[str, dict]:
    """The grid prior as Normal priors on the fit's period terms, in the measure's units."""
    sign, _ = better_sign(fit.spec.measure)
    centre, width = prior.sd_units()
    return {term: {"dist": "Normal", "mu": sign * centre * sd / divisor,
                   "sigma": width * sd / divisor}
            for term, divisor in period_terms(fit).items()}


def translation_note(fit, prior: GridPrior, sd: float) -> str:
    """The translation to the measure's units, for the table's note column."""
    _, direction = better_sign(fit.spec.measure)
    parts = [f"{t} ~ Normal({p['mu']:.4g}, {p['sigma']:.4g})"
             for t, p in translate(fit, prior, sd).items()]
    centre, width = prior.sd_units()
    return (f"centre {centre:+g} SD (+ = II better; {direction}), SD {width:g} baseline SD; "
            f"baseline SD {sd:.4g}: " + "; ".join(parts))


def log_prior_ratio(fit, new: dict[str, dict]) -> np.ndarray:
    """Per draw, log p_new - log p_old of the fit's period coefficients."""
    beta = fit.draws("beta")
    out = np.zeros(len(beta))
    for j, term in enumerate(fit.design.terms):
        if term not in new:
            continue
        old = fit.design.priors[term]
        if old.get("dist") != "Normal":
            raise SpecError(f"{fit.spec.name}: the prior grid reweights a Normal prior on "
                            f"'{term}'; the spec has {old}")
        out += stats.norm.logpdf(beta[:, j], new[term]["mu"], new[term]["sigma"])
        out -= stats.norm.logpdf(beta[:, j], old.get("mu", 0.0), old["sigma"])
    return out


def prior_grid_rows(fit, data: pd.DataFrame, *, engines=None, seed: int = 0,
                    baseline: dict[str, str], priors: list[GridPrior] | None = None,
                    k_limit: float = K_LIMIT, cache=None,
                    log: Callable[[str], None] | None = None) -> list[dict]:
    """The main quantities of a period fit under each prior of the grid.

    Parameters
    ----------
    fit : GrowthFit
        The baseline period fit.
    data : pandas.DataFrame
    engines : Engines, optional
        For refits where k > ``k_limit``; without engines such rows are reported as
        reweighted with their k flagged and ``passed = False``.
    seed : int
        Run seed (each refit's seed derives from it and the setting).
    baseline : dict
        Quantity -> the baseline decision.
    priors : list of GridPrior, optional
        Default: :func:`grid_priors`.
    k_limit : float
    cache : FitCache, path or None
        Fit cache for the refits (read back when it holds them).
    log : callable, optional
        Receives one line per refit.

    Returns
    -------
    list of dict
        Rows of ``sensitivity.csv``; ``diagnostic`` gives the Pareto k (and the refit's gate).
    """
    sd = baseline_sd(fit.spec, data)
    quantities = main_quantities(fit, data)
    rows = []
    for prior in priors or grid_priors():
        new = translate(fit, prior, sd)
        weights, k = psis_weights(log_prior_ratio(fit, new))
        note = translation_note(fit, prior, sd)
        if k <= k_limit or engines is None:
            diagnostic = f"Pareto k {k:.2f}" + ("" if k <= k_limit else
                                               f" > {k_limit}: unreliable, no engine to refit")
            rows += [row(measure=fit.spec.name, analysis=ANALYSIS, setting=prior.setting,
                         quantity=q, summary=summarize(q.draws, rope=q.rope, weights=weights),
                         baseline_decision=baseline[q.name], method="reweighted",
                         diagnostic=diagnostic, passed=fit.diagnostics.passed and k <= k_limit,
                         note=note) for q in quantities.values()]
            continue
        refit = refit_with_priors(fit, data, new, engines=engines,
                                  seed=seed_for(seed, fit.spec.name, "prior", prior.setting),
                                  cache=cache, log=log, label=f"prior grid, {prior.setting}")
        diagnostic = f"Pareto k {k:.2f} > {k_limit}: refitted, {gate_text(refit.diagnostics)}"
        rows += [row(measure=fit.spec.name, analysis=ANALYSIS, setting=prior.setting,
                     quantity=q, summary=summarize(q.draws, rope=q.rope),
                     baseline_decision=baseline[q.name], method="refit", diagnostic=diagnostic,
                     passed=refit.diagnostics.passed, note=note)
                 for q in main_quantities(refit, data).values()]
    return rows


def refit_with_priors(fit, data: pd.DataFrame, priors: dict[str, dict], *, engines, seed: int,
                      cache=None, log: Callable[[str], None] | None = None, label: str = ""):
    """Refit a fit's spec and variant with some priors replaced (same engine; through the
    fit cache when ``cache`` is given)."""
    spec = replace(fit.spec, priors={**fit.spec.priors, **priors})
    return fit_through(engines, spec, data, variant=fit.variant, seed=seed, cache=cache,
                       requested=fit.engine, log=log, label=label or "prior refit")[0]
