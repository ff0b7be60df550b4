"""Sensitivity by refitting other models: robust likelihood, random-effect structures, the
number of assessments as a predictor, and the WAI version term.

Each alternative is the baseline spec with one change, refitted on the same data with the
run's engines (compiled graphs reused where the structure is shared), and every main
quantity is recomputed under it. Where the likelihoods are comparable (same outcome, same
patients) the row's diagnostic gives the leave-one-patient-out ELPD of the alternative minus
the baseline's (PSIS-LOO on the marginal likelihood, patient effects integrated out). Where
either model has a Pareto k > 0.7 the PSIS comparison is flagged unreliable and, as in the
growth model comparison, both models are compared again by 10-fold leave-patients-out
cross-validation (:func:`mbtbayes.growth.loo.kfold_patients`: the same folds and fold seeds for
both, refits behind the gate); a K-fold refit that fails the gate is named in the same row.
With a fit cache (:mod:`mbtbayes.sensitivity.fitting`) a refit is sampled once.

- **robust likelihood**: Student-t residuals (Bambi engine); the note gives the posterior of nu.
- **random-effect structure**: the other structure of intercept and slope (uncorrelated for the
  default correlated specs; correlated, LKJ, marginal engine, for uncorrelated ones), intercept
  only (no patient slopes), and a period-specific residual SD (``sigma ~ period``).
- **assessments as predictor** (the paper's check): each patient's number of assessments of
  the measure (centred) on intercept and slope; the note gives both coefficients.
- **WAI version**: for a spec with a ``wai_version`` term, the model without it (the paper's
  check on the Goals+Tasks increase).
- **case-mix adjustment**: for a spec with ``covariates``, the period model with the intake
  characteristics on intercept and slope (:mod:`mbtbayes.growth.adjusted`; complete cases, the
  patients left out said in the note; the same fit as ``adjusted_effects.csv``'s).

Examples
--------
>>> add_terms("y ~ t * g + (t | id)", ["n", "t:n"])
'y ~ t * g + n + t:n + (t | id)'
>>> drop_term("y ~ t * g + v + (t | id)", "v")
'y ~ t * g + (t | id)'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from mbtbayes.core.posterior import summarize_draws
from mbtbayes.core.seeds import seed_for
from mbtbayes.growth.adjusted import ANALYSIS as ADJUSTMENT
from mbtbayes.growth.adjusted import adjustment
from mbtbayes.growth.cache import FitCache
from mbtbayes.growth.engine_choice import marginal_obstacles
from mbtbayes.growth.engines import Engines
from mbtbayes.growth.loo import LooResult, elpd_difference, kfold_patients, patient_loo
from mbtbayes.growth.modelspec import ModelSpec
from mbtbayes.growth.result import GrowthFit
from mbtbayes.sensitivity.fitting import refit as fit_through
from mbtbayes.sensitivity.quantities import (
    baseline_decisions,
    gate_text,
    main_quantities,
    row,
    summarize,
)

ROBUST = "robust likelihood"
STRUCTURE = "random-effect structure"
ASSESSMENTS = "assessments as predictor"
VERSION = "WAI version"
REFIT_ANALYSES = (ROBUST, STRUCTURE, ASSESSMENTS, VERSION, ADJUSTMENT)
COUNT = "n_assessments_centred"
"""Column added to the data: the patient's number of observed assessments, centred."""
K_LIMIT = 0.7
"""Pareto k above which the PSIS-LOO comparison is unreliable (and K-fold is used)."""
KFOLD = 10
"""Folds of the K-fold fallback (as in the growth model comparison)."""


@dataclass(frozen=True)
class Alternative:
    """One refit: the changed spec and data, and what it is called in the table."""

    analysis: str
    setting: str
    spec: object
    data: pd.DataFrame
    comparable: bool = True
    report: tuple[str, ...] = ()
    note: str = ""


def add_terms(formula: str, terms: list[str]) -> str:
    """Add fixed-effect terms before the first group term ``(... | ...)``."""
    head, bar, tail = formula.partition(" + (")
    extra = "".join(f" + {t}" for t in terms)
    return f"{head}{extra}{bar}{tail}"


def drop_term(formula: str, term: str) -> str:
    """Remove a ``+ term`` from a formula."""
    return re.sub(rf"\s*\+\s*{re.escape(term)}(?=\s*(\+|$))", "", formula, count=1)


def _with_formula(spec: ModelSpec, formula: str, *, drop_priors: Sequence[str] = (),
                  **changes: object) -> ModelSpec:
    priors = {k: v for k, v in spec.priors.items() if k not in drop_priors}
    return replace(spec, formulas={**spec.formulas, "period": formula}, priors=priors,
                   **changes)


def alternatives(fit: GrowthFit, data: pd.DataFrame,
                 analyses: Sequence[str] = REFIT_ANALYSES) -> list[Alternative]:
    """The refits of :data:`REFIT_ANALYSES` that apply to a period fit."""
    spec = fit.spec
    formula = spec.formulas["period"]
    slope = f"{spec.time}|{spec.group}"
    out = []
    if ROBUST in analyses:
        out.append(Alternative(ROBUST, "Student-t residuals", replace(
            spec, family="t", engine="bambi", correlated=False), data, report=("nu",)))
    if STRUCTURE in analyses:
        flipped = not spec.correlated  # the other structure of the patient effects
        if not flipped or not marginal_obstacles(spec):
            out.append(Alternative(
                STRUCTURE, f"{'' if flipped else 'un'}correlated intercept and slope",
                replace(spec, correlated=flipped, engine="marginal" if flipped else "auto"),
                data, report=("corr",) if flipped else ()))
        out.append(Alternative(STRUCTURE, "intercept only", _with_formula(
            spec, formula.replace(f"({spec.time} | {spec.group})", f"(1 | {spec.group})"),
            drop_priors=(slope,), engine="bambi", correlated=False), data))
        out.append(Alternative(STRUCTURE, "period-specific residual SD", _with_formula(
            spec, formula, drop_priors=("sigma",), engine="bambi", correlated=False,
            auxiliary={**spec.auxiliary, "period": (f"sigma ~ {spec.period}",)}), data))
    if ASSESSMENTS in analyses:
        counts = data.dropna(subset=[spec.measure]).groupby(spec.group)[spec.measure].size()
        extended = data.assign(**{COUNT: data[spec.group].map(counts).fillna(0)
                                  - counts.mean()})
        out.append(Alternative(ASSESSMENTS, "number of assessments on intercept and slope",
                               _with_formula(spec, add_terms(formula, [
                                   COUNT, f"{spec.time}:{COUNT}"])), extended,
                               report=(COUNT, f"{spec.time}:{COUNT}")))
    if VERSION in analyses and "wai_version" in spec.formula("period").variables:
        out.append(Alternative(VERSION, "without the version term", _with_formula(
            spec, drop_term(formula, "wai_version"), drop_priors=("wai_version",)), data))
    if ADJUSTMENT in analyses and (adj := adjustment(spec, data)) is not None:
        left = sum(adj.left_out.values())  # compared by LOO only on the same patients
        out.append(Alternative(ADJUSTMENT, adj.setting, adj.spec, adj.data,
                               comparable=not left, report=adj.terms, note="; ".join(
                                   filter(None, [f"complete cases: {left} patient(s) left "
                                                 "out" if left else "", adj.note]))))
    return out


def refit_rows(fit: GrowthFit, data: pd.DataFrame, *, engines: Engines, seed: int,
               baseline: dict[str, str] | None = None,
               analyses: Sequence[str] = REFIT_ANALYSES,
               cache: FitCache | str | Path | bool | None = None, kfold: int | None = KFOLD,
               k_limit: float = K_LIMIT, compare: Comparison | None = None,
               log: Callable[[str], None] | None = None) -> list[dict]:
    """Rows of every applicable refit: the main quantities under the changed model.

    Parameters
    ----------
    fit : GrowthFit
        The baseline period fit.
    data : pandas.DataFrame
    engines : Engines
    seed : int
        Run seed (each refit's seed derives from it, the measure and the setting).
    baseline : dict, optional
        Quantity -> the baseline decision; a quantity it lacks is decided on the baseline
        fit's own draws (:func:`~mbtbayes.sensitivity.quantities.baseline_decisions`).
    analyses : tuple of str
        A subset of :data:`REFIT_ANALYSES`.
    cache : FitCache, path or None
        Fit cache: refits it holds are read back, new ones stored.
    kfold : int or None
        Folds of the K-fold comparison where a Pareto k exceeds ``k_limit``; None: only flag.
    k_limit : float
    compare : Comparison, optional
        Shared between calls on one fit (the baseline's K-fold is computed once); built from
        ``kfold`` and ``k_limit`` when not given.
    log : callable, optional

    Returns
    -------
    list of dict
    """
    compare = compare or Comparison(fit, engines=engines, seed=seed, folds=kfold,
                                    k_limit=k_limit, log=log)
    decided = baseline_decisions(main_quantities(fit, data, seed=seed), baseline)
    rows = []
    for alt in alternatives(fit, data, analyses):
        refit, _ = fit_through(engines, alt.spec, alt.data, variant="period",
                               seed=seed_for(seed, fit.spec.name, alt.analysis, alt.setting),
                               cache=cache, log=log, label=f"refit, {alt.setting}")
        diagnostic = gate_text(refit.diagnostics)
        if alt.comparable:
            diagnostic += "; " + compare.text(refit, label=alt.setting)
        note = "; ".join(filter(None, [alt.note, _reported(refit, alt.report)]))
        for q in main_quantities(refit, data, seed=seed).values():
            rows.append(row(measure=fit.spec.name, analysis=alt.analysis, setting=alt.setting,
                            quantity=q, summary=summarize(q.draws, rope=q.rope),
                            baseline_decision=decided[q.name], method="refit",
                            diagnostic=diagnostic, passed=refit.diagnostics.passed,
                            note=note))
    return rows


@dataclass
class Comparison:
    """Leave-patients-out ELPD of refits against one baseline fit (the baseline's PSIS-LOO and
    K-fold are computed once)."""

    fit: object
    engines: object
    seed: int
    folds: int | None = KFOLD
    k_limit: float = K_LIMIT
    log: Callable[[str], None] | None = None
    _base: dict = field(default_factory=dict, repr=False)

    def text(self, refit: GrowthFit, *, label: str = "refit") -> str:
        """The comparison of ``refit`` with the baseline, for the diagnostic column."""
        if "psis" not in self._base:
            self._base["psis"] = patient_loo(self.fit)
        base, alt = self._base["psis"], patient_loo(refit)
        k = max(alt.max_k, base.max_k)
        text = _elpd_text("leave-one-patient-out PSIS-LOO", alt, base)
        if k <= self.k_limit:
            return text
        text += f" (max Pareto k {k:.2f} > {self.k_limit}: unreliable)"
        if not self.folds:
            return text
        if "kfold" not in self._base:
            self._base["kfold"] = self._kfold(self.fit, self.engines, "baseline")
        base = self._base["kfold"]
        alt = self._kfold(refit, self.engines, label)
        failed = [who for who, r in (("the baseline", base), ("this model", alt))
                  if not r.refits_passed]
        text += "; " + _elpd_text(f"{self.folds}-fold leave-patients-out", alt, base)
        if failed:
            text += f" (a K-fold refit of {' and of '.join(failed)} FAILED the gate)"
        return text

    def _kfold(self, fit: GrowthFit, engines: Engines, label: str) -> LooResult:
        say = self.log
        return kfold_patients(fit, engines=engines, k=self.folds, seed=self.seed,
                              log=None if say is None else
                              (lambda line: say(f"sensitivity, {label}: {line}")))


def _elpd_text(method: str, alt: LooResult, base: LooResult) -> str:
    diff, se = elpd_difference(alt, base)
    return (f"{method} ELPD vs baseline {diff:+.1f} (SE {se:.1f}; > 0 favours this model)")


def _reported(fit: GrowthFit, names: tuple[str, ...]) -> str:
    """Posterior mean and 95% HDI of the parameters an alternative adds."""
    parts = []
    for name in names:
        if name in fit.params:
            draws = fit.draws(name)
        elif "beta" in fit.params and name in fit.design.columns:
            draws = fit.draws("beta")[:, list(fit.design.columns).index(name)]
        else:
            continue
        s = summarize_draws(draws)
        parts.append(f"{name} {s['mean']:.3g} [{s['hdi_low']:.3g}, {s['hdi_high']:.3g}]")
    return "; ".join(parts)
