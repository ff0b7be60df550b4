"""The frequentist analysis the paper's way, per growth-model spec.

Each spec's two growth models by maximum likelihood (independent patient intercept and slope,
SPSS MIXED's default VC structure and Bambi's), AIC, the likelihood-ratio test, and Cohen's d
from predicted values with the same denominator as the Bayesian d. A fit on the boundary (a
patient SD of 0) is reported with its estimate, as lme4 and SPSS report it: every row of it
says so in ``singular`` and ``ml_note``.

Examples
--------
>>> ml = frequentist_fits(specs, data)  # doctest: +SKIP
>>> aic_table(ml)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mbtbayes.core.cache import DiskCache
from mbtbayes.core.errors import ConvergenceError, DataError
from mbtbayes.frequentist.effects import compare_aic, mixed_cohens_d
from mbtbayes.frequentist.mixed import ENGINE, MixedResult, fit_mixed
from mbtbayes.frequentist.stored import from_record, to_record
from mbtbayes.growth.baseline import observed_baseline_sd
from mbtbayes.growth.modelspec import ModelSpec


@dataclass(frozen=True)
class FailedFit:
    """An ML fit that could not be made: kept, so that its rows say why (``passed = False``)."""

    reason: str


def unlike_reasons(spec: ModelSpec) -> tuple[str, ...]:
    """How a spec's Bayesian models differ from the ML models they are compared with.

    The ML side is always the paper's model: Gaussian, a constant residual SD, linear in time
    (``time * period`` in the period model), a patient intercept and time slope, and the
    spec's covariates. A spec with another family, a modelled residual SD, other time terms
    or other patient effects asks a different question of the data; its concordance rows
    compare unlike models.

    Returns
    -------
    tuple of str
        One phrase per difference; empty when the models are alike.

    Examples
    --------
    >>> from mbtbayes.growth.specs import make_spec
    >>> unlike_reasons(make_spec(outcome="y", time="t", group="id", period="g", range=(0, 4)))
    ()
    >>> unlike_reasons(make_spec(outcome="y", time="t", group="id", period="g", range=(0, 4),
    ...                          time_terms=("t", "I(t**2)")))
    ('terms I(t ** 2), I(t ** 2):g (ML: linear in t)',)
    """
    time, reasons, extra = spec.time, [], {}
    if spec.family != "gaussian":
        reasons.append(f"{spec.family} likelihood (ML: Gaussian)")
    if spec.censored:
        reasons.append("censored at the scale's bounds (ML: not censored)")
    for variant in spec.variants:
        formula = spec.formula(variant)
        expected = {"Intercept", time, *spec.covariates(variant)}
        if variant == "period":
            expected |= {spec.period, f"{time}:{spec.period}"}
        extra |= dict.fromkeys(t for t in formula.common if t not in expected)
        if spec.sigma_modelled(variant):
            reasons.append("residual SD modelled (ML: constant)")
        groups = {g.name for g in formula.group}
        if groups != {f"1|{spec.group}", f"{time}|{spec.group}"}:
            reasons.append(f"patient effects {', '.join(sorted(groups)) or 'none'} (ML: "
                           f"intercept and {time} slope)")
    if extra:
        reasons.append(f"terms {', '.join(extra)} (ML: linear in {time})")
    return tuple(dict.fromkeys(reasons))


def frequentist_fits(
    specs: dict[str, ModelSpec],
    data: pd.DataFrame,
    *,
    log: Callable[[str], None] = print,
    cache: DiskCache | None = None,
) -> dict[tuple[str, str], MixedResult | FailedFit]:
    """ML fits of every variant of every spec (the paper's rows 1 and 2).

    Rows with a missing covariate are left out before fitting and logged. A fit that does not
    converge (or cannot be made on the data) does not stop the run: it is logged and kept as a
    :class:`FailedFit`, and every table shows its rows with ``passed = False`` and the reason.
    With a ``cache`` (the run's fit cache), a fit it holds (same rows, model, fitting engine
    and scipy version) is read instead of refitted, and a new fit is stored.

    Returns
    -------
    dict
        ``(spec name, variant) -> MixedResult`` (or ``FailedFit``).
    """
    fits = {}
    for spec in specs.values():
        for variant in spec.variants:
            if variant == "period" and spec.period not in data:
                continue
            covariates = spec.covariates(variant)
            used = data.dropna(subset=list(covariates))
            if len(used) < len(data):
                log(f"{spec.name} {variant} (ML): left out {len(data) - len(used)} rows with a "
                    f"missing {', '.join(covariates)}")
            fits[(spec.name, variant)] = _ml_fit(spec, variant, used, covariates, cache=cache,
                                                 log=log)
    return fits


def _ml_fit(spec: ModelSpec, variant: str, used: pd.DataFrame, covariates: tuple, *,
            cache: DiskCache | None, log: Callable[[str], None]) -> MixedResult | FailedFit:
    """One ML fit, from the cache when it holds it."""
    from importlib.metadata import version

    options = {"outcome": spec.measure, "time": spec.time, "group": spec.group,
               "period": spec.period if variant == "period" else None,
               "covariates": tuple(covariates), "correlated": spec.correlated}
    key = None
    if cache is not None:
        columns = [c for c in dict.fromkeys([*options.values(), *covariates])
                   if isinstance(c, str)]
        key = cache.identity_key({"ml": options, "rows": used[columns], "engine": ENGINE,
                                  "scipy": version("scipy")})
        if (record := cache.get_record(key)) is not None:
            if "failed" not in record:
                return from_record(record)
            log(f"{spec.name} {variant} (ML): FAILED (fit cache), kept with passed = False")
            return FailedFit(record["failed"])
    try:
        fit = fit_mixed(used, **options)
    except (ConvergenceError, DataError) as err:
        log(f"{spec.name} {variant} (ML): FAILED, kept with passed = False: {err}")
        fit = FailedFit(f"ML fit failed: {err}")
    if key is not None:
        cache.put_record(key, {"failed": fit.reason} if isinstance(fit, FailedFit)
                         else to_record(fit))
    return fit


def fitted(ml: dict) -> dict[tuple[str, str], MixedResult]:
    """The ML fits that succeeded."""
    return {k: v for k, v in ml.items() if isinstance(v, MixedResult)}


def failure(ml: dict, *keys: tuple[str, str]) -> str:
    """The reasons the named fits failed ("" when all succeeded)."""
    return "; ".join(ml[k].reason for k in keys if isinstance(ml.get(k), FailedFit))


def _flags(res: MixedResult) -> dict[str, object]:
    """A fit's lme4-style flags for its rows: passed (lme4's convergence checks), singular,
    ml_note (lme4's messages, e.g. "boundary (singular) fit: ...")."""
    return {"passed": res.converged, "reason": "" if res.converged else res.note,
            "singular": res.singular, "ml_note": res.note}


def frequentist_growth_table(ml: dict[tuple[str, str], MixedResult]) -> pd.DataFrame:
    """Fixed effects and variance components of every ML fit.

    Returns
    -------
    pandas.DataFrame
        measure, model, term, estimate, se, ci_low, ci_high, p_value, interval, method,
        loglik (the fit's ML log-likelihood), passed, reason, singular, ml_note.
    """
    rows = []
    for (name, variant), res in ml.items():
        if isinstance(res, FailedFit):
            rows.append(pd.DataFrame([{"measure": name, "model": variant, "term": np.nan,
                                       "passed": False, "reason": res.reason}]))
            continue
        fixed = res.fixed[["term", "estimate", "se", "ci_low", "ci_high", "p_value"]].copy()
        var = res.variance.rename(columns={"component": "term", "sd": "estimate"})
        table = pd.concat([fixed, var], ignore_index=True)
        table.insert(0, "model", variant)
        table.insert(0, "measure", name)
        table["interval"] = "95% Wald CI"
        table["method"] = f"{ENGINE}, {res.formula}"
        table["loglik"] = res.loglik
        rows.append(table.assign(**_flags(res)))
    return pd.concat(rows, ignore_index=True)


def aic_table(ml: dict[tuple[str, str], MixedResult]) -> pd.DataFrame:
    """AIC and log-likelihood of the linear and period models and their likelihood-ratio test,
    per measure.

    ``ml_reason`` says why a fit could not be made (its values are then missing); ``ml_passed``
    is False when a fit fails lme4's convergence checks; ``ml_note`` holds lme4's messages
    ("period: boundary (singular) fit: ..."), "" when there are none.
    """
    rows = []
    for name in dict.fromkeys(n for n, _ in ml):
        if (name, "period") not in ml:
            continue
        reason = failure(ml, (name, "linear"), (name, "period"))
        if reason:
            rows.append({"measure": name, "ml_passed": False, "ml_reason": reason})
            continue
        linear, period = ml[(name, "linear")], ml[(name, "period")]
        row = compare_aic(linear, period).iloc[0].to_dict()
        notes = [f"{variant}: {fit.note}" for variant, fit in
                 (("linear", linear), ("period", period)) if fit.note]
        rows.append({"measure": name, "aic_linear": row["aic_linear"],
                     "aic_period": row["aic_period"], "loglik_linear": linear.loglik,
                     "loglik_period": period.loglik, "lrt_chi2": row["lrt_chi2"],
                     "lrt_df": row["lrt_df"], "lrt_p_value": row["lrt_p_value"],
                     "ml_passed": linear.converged and period.converged,
                     "ml_reason": "", "ml_note": "; ".join(notes)})
    return pd.DataFrame(rows, columns=["measure", "aic_linear", "aic_period", "loglik_linear",
                                       "loglik_period", "lrt_chi2", "lrt_df", "lrt_p_value",
                                       "ml_passed", "ml_reason", "ml_note"])


def frequentist_effect_sizes(
    ml: dict[tuple[str, str], MixedResult],
    specs: dict[str, ModelSpec],
    data: pd.DataFrame,
) -> pd.DataFrame:
    """Cohen's d from ML-predicted values, divided by the observed pooled baseline SD.

    Periods from the period model; ``pooled`` from the linear model (the paper's rows), named
    in ``model``; ``passed``, ``reason``, ``singular`` and ``ml_note`` as in
    :func:`frequentist_growth_table`.
    """
    rows = []
    for (name, variant), res in ml.items():
        if isinstance(res, FailedFit):
            rows.append(pd.DataFrame([{"measure": name, "model": variant, "passed": False,
                                       "reason": res.reason}]))
            continue
        spec = specs[name]
        sd = observed_baseline_sd(data, outcome=spec.measure, time=spec.time, group=spec.group,
                                  period=spec.period if spec.period in data else None,
                                  start=spec.d_months[0])
        table = mixed_cohens_d(res, sd=sd, sd_basis="observed_baseline_sd",
                               months=spec.d_months)
        table.insert(0, "model", variant)
        table.insert(0, "measure", name)
        rows.append(table.assign(**_flags(res)))
    return pd.concat(rows, ignore_index=True)


def model_comparison_table(loo: pd.DataFrame, ml: dict) -> pd.DataFrame:
    """The Bayesian LOO comparison (``summaries.model_comparison``) with AIC columns beside it."""
    return loo.merge(aic_table(ml), on="measure", how="left") if ml else loo

