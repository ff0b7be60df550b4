"""Posterior summaries of growth fits as tidy tables: parameters, period contrasts, Cohen's d
(with the uncertainty of its SD), variance explained by period (pseudo R-squared), and
leave-one-patient-out model comparison.

Every interval is a 95% highest-density interval (``interval = "95% HDI"``); every row that
uses a fit carries that fit's ``passed`` flag from the diagnostics gate. Contrasts and changes
come from the population-mean trajectories (:mod:`mbtbayes.growth.trajectories`), so they hold
for any formula of time, and both engines give the same tables.

Examples
--------
>>> tables = growth_table(fits)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from mbtbayes.core.arviz_api import summary
from mbtbayes.core.decisions import rope_decision
from mbtbayes.core.defaults import SEED
from mbtbayes.core.posterior import INTERVAL, summarize_draws
from mbtbayes.growth.baseline import spec_sd_draws
from mbtbayes.growth.loo import LooResult, elpd_difference, patient_loo
from mbtbayes.growth.modelspec import ModelSpec
from mbtbayes.growth.result import GrowthFit
from mbtbayes.growth.rope import rope_for
from mbtbayes.growth.trajectories import (
    change_draws,
    period_contrasts,
    period_levels,
    standardisation,
)
from mbtbayes.io import schema

SD_BASES = ("observed_baseline_sd", "model_total_sd")
"""Denominators of Cohen's d: the observed pooled baseline SD (the paper's; its uncertainty by
the Bayesian bootstrap), or the model-implied SD at baseline (patient effects and residual)."""
REMOVED_BASES = ("model_between_patient_sd", "model_residual_sd")
PARETO_K_LIMIT = 0.7


def _fit_key(fit: GrowthFit) -> dict:
    return {"measure": fit.spec.name, "model": fit.variant}


# ---------------------------------------------------------------- parameters


def growth_table(fits: list[GrowthFit]) -> pd.DataFrame:
    """Fixed effects and variance components of every fit, in the same names for both engines.

    Returns
    -------
    pandas.DataFrame
        measure, model, engine, term, mean, sd, hdi_low, hdi_high, r_hat, ess_bulk, ess_tail,
        interval, passed. Terms: the design columns (``period[II]`` is Period II minus I),
        ``sd_intercept`` and ``sd_slope`` (patient SDs), ``sigma`` (residual SD; the scale of
        the t family), ``sigma_<term>`` (log residual SD, when it is modelled), ``nu`` (t
        degrees of freedom) and ``corr`` when the patient effects are correlated.
    """
    rows = []
    for fit in fits:
        table = summary(fit.params, var_names=list(fit.params.data_vars))
        table.index = [_term_name(i) for i in table.index]
        table = table.rename_axis("term").reset_index()
        table.insert(0, "engine", fit.engine)
        for key, value in reversed(_fit_key(fit).items()):
            table.insert(0, key, value)
        table["interval"] = INTERVAL
        table["passed"] = fit.diagnostics.passed
        rows.append(table)
    return pd.concat(rows, ignore_index=True)


def _term_name(index: str) -> str:
    """'beta[months]' -> 'months'; 'beta_sigma[sigma_Intercept]' -> 'sigma_Intercept'."""
    for prefix in ("beta[", "beta_sigma["):
        if index.startswith(prefix):
            return index[len(prefix):-1]
    return index


# ---------------------------------------------------------------- period contrasts


def better_if(measure: str) -> str:
    """Which way a measure is better: ``"lower"`` or ``"higher"`` (the schema's ``higher_is``);
    ``""`` for a measure the schema does not know.

    Examples
    --------
    >>> better_if("bsi"), better_if("gaf"), better_if("my_score")
    ('lower', 'higher', '')
    """
    known = schema.MEASURES.get(measure)
    if known is None:
        return ""
    return "lower" if known.higher_is == "worse" else "higher"


def prob_ii_better(draws: np.ndarray, better: str) -> float:
    """P(Period II - I lies on the better side of 0): P(< 0) when lower is better, P(> 0)
    when higher is; NaN when the direction is unknown.

    Examples
    --------
    >>> x = np.array([-2.0, -1.0, 1.0, 3.0])
    >>> prob_ii_better(x, "lower"), prob_ii_better(x, "higher")
    (0.5, 0.5)
    >>> prob_ii_better(np.array([-1.0, -1.0, 2.0]), "lower")
    0.6666666666666666
    """
    draws = np.asarray(draws, dtype=float)
    if better not in ("lower", "higher"):
        return float("nan")
    return float((draws < 0).mean() if better == "lower" else (draws > 0).mean())


ROLES = {"intercept": "intake case mix", "change": "course (primary)",
         "change_d": "course (primary, d units)", "slope": "course (per month)",
         "at": "level at {months} months (secondary)"}
"""What each row of :func:`period_effects` answers. The month-0 difference is who was
admitted (Period II admitted more severe patients), not what the treatment did; the primary
question, whether improvement was sustained, is the difference in change."""


def contrast_draws(fit: GrowthFit, data: pd.DataFrame, *,
                   seed: int = SEED) -> dict[str, np.ndarray]:
    """Per draw, every Period II - I estimand of a period fit (both periods standardised over
    the pooled covariate mix, :func:`~mbtbayes.growth.trajectories.period_contrasts`).

    - ``intercept``: the difference at t0 (intake case mix);
    - ``change``: the difference in change t0-t1, change(II) - change(I) from the
      population-mean trajectories (= (t1 - t0) x the slope contrast for linear time);
    - ``change_d``: d(II) - d(I), the difference in change divided by the same per-draw SD as
      ``effect_sizes.csv`` (Bayesian bootstrap of the observed pooled baseline SD,
      :func:`mbtbayes.growth.baseline.spec_sd_draws`);
    - ``slope``: the difference in the mean slope per time unit;
    - ``at_<t1>``: the difference at t1 (e.g. ``at_24``).
    """
    t1 = fit.spec.d_months[1]
    base = period_contrasts(fit)
    later = f"at_{t1:g}"
    change = base[later] - base["intercept"]
    sd, _ = spec_sd_draws(fit.spec, data, draws=len(change), seed=seed)
    return {"intercept": base["intercept"], "change": change, "change_d": change / sd,
            "slope": base["slope"], later: base[later]}


def _row_meaning(contrast: str, spec: ModelSpec) -> tuple[str, str, str]:
    """(estimand, role, units) of a row of :func:`period_effects`."""
    t0, t1 = spec.d_months
    units = f"{spec.measure} units"
    span = f"{t0:g}-{t1:g} months"
    return {
        "intercept": (f"Period II - I at month {t0:g}", ROLES["intercept"], units),
        "change": (f"difference in change {span}: change(II) - change(I)", ROLES["change"],
                   units),
        "change_d": (f"difference in Cohen's d {span}: d(II) - d(I)", ROLES["change_d"],
                     "observed pooled baseline SD"),
        "slope": ("difference in mean slope: slope(II) - slope(I)", ROLES["slope"],
                  f"{units} per month"),
    }.get(contrast, (f"Period II - I at month {t1:g}", ROLES["at"].format(months=f"{t1:g}"),
                     units))


def period_effects(fits: list[GrowthFit], data: pd.DataFrame, *,
                   seed: int = SEED) -> pd.DataFrame:
    """The Period II - I estimands of every period fit, each decided against the margin.

    Rows per measure (:func:`contrast_draws`): the month-0 difference (role "intake case
    mix": who was admitted, not a period effect), the difference in change 0-24 months in the
    measure's units and in d units (role "course (primary)": was improvement sustained?), the
    slope difference per month, and the difference at 24 months (secondary: it holds the
    intake difference). The margin is the spec's (:func:`mbtbayes.growth.rope.rope_for`):
    per month for the slope (margin / the later d month), in SD units for d (margin / the
    reference SD). The decision is the HDI + ROPE rule
    (:func:`mbtbayes.core.decisions.rope_decision`); ``better_if`` says which sign is
    improvement, and ``prob_ii_better`` is the posterior probability that Period II is
    on the better side (for a change: improved more; at intake: admitted less severe).

    Parameters
    ----------
    fits : list of GrowthFit
    data : pandas.DataFrame
        The data the fits used (the SD draws of d; an SD-unit ROPE of a spec without margin).
    seed : int
        Run seed (the SD draws of ``change_d``, as in ``effect_sizes.csv``).

    Returns
    -------
    pandas.DataFrame
        measure, contrast, estimand, role, units, better_if, mean, sd, hdi_low, hdi_high,
        p_direction, prob_ii_better, rope_low, rope_high, p_rope, rope_basis,
        prespecified (the margin fixed in the spec), reference_sd (its provenance is in
        ``rope_curve.csv`` and the spec), standardisation (the same, pooled covariate mix in
        both periods), decision, interval, passed.
    """
    rows = []
    for fit in (f for f in fits if f.variant == "period"):
        margin, better = rope_for(fit.spec, data), better_if(fit.spec.measure)
        ropes = {"slope": margin.per_month(fit.spec.d_months[1]), "change_d": margin.in_sd()}
        for contrast, draws in contrast_draws(fit, data, seed=seed).items():
            rope = ropes.get(contrast, margin)
            post = summarize_draws(draws, rope=rope.half_width)
            estimand, role, units = _row_meaning(contrast, fit.spec)
            rows.append({"measure": fit.spec.name, "contrast": contrast, "estimand": estimand,
                         "role": role, "units": units, "better_if": better, **post,
                         "prob_ii_better": prob_ii_better(draws, better),
                         "rope_basis": rope.basis, "prespecified": rope.prespecified,
                         "reference_sd": rope.reference_sd,
                         "standardisation": standardisation(fit, "II", standardise="pooled_mix"),
                         "decision": rope_decision(post["hdi_low"], post["hdi_high"],
                                                   half_width=rope.half_width),
                         "interval": INTERVAL, "passed": fit.diagnostics.passed})
    return pd.DataFrame(rows)


def period_variance_share(fit: GrowthFit, *, share_period_two: float,
                          component: str = "intercept") -> np.ndarray:
    """Per draw of the period model, the share of between-patient variance that period
    accounts for: ``b^2 q (1 - q) / (b^2 q (1 - q) + sd^2)``.

    ``q`` is the share of patients in Period II; for ``component="intercept"``, ``b`` is the
    period difference at t0 and ``sd`` the patient intercept SD; for ``"slope"``, ``b`` is the
    period difference in the (mean) slope and ``sd`` the patient slope SD. It is the pseudo
    R-squared of the component if the linear model's component absorbed the period
    difference (``sd^2 + b^2 q (1 - q)``), computed from one joint posterior.
    """
    b = period_contrasts(fit)[component]
    between = b**2 * share_period_two * (1 - share_period_two)
    return between / (between + fit.draws(f"sd_{component}") ** 2)


VARIANCE_QUANTITIES = {
    "pseudo_r2_intercept": "1 - sd_intercept^2(period model) / sd_intercept^2(linear model): "
                           "proportional reduction in between-patient intercept variance",
    "pseudo_r2_slope": "1 - sd_slope^2(period model) / sd_slope^2(linear model): proportional "
                       "reduction in between-patient slope variance",
    "period_share_intercept_variance": "within the period model: b^2 q(1-q) / (b^2 q(1-q) + "
                                       "sd_intercept^2), b the period difference at month 0, "
                                       "q the share of patients in Period II",
    "period_share_slope_variance": "within the period model: g^2 q(1-q) / (g^2 q(1-q) + "
                                   "sd_slope^2), g the period difference in slope, q the "
                                   "share of patients in Period II",
}
"""The rows of :func:`variance_explained` and what each is."""
TWO_FITS = ("two separate fits: a point value from each fit's posterior median SD; no "
            "interval (two separately fitted posteriors have no joint posterior)")
JOINT = "the period model's joint posterior"
AT_ZERO = 0.1
"""An SD's posterior piles at zero when its 95% HDI starts below this share of its median."""


def pseudo_r2(reduced: np.ndarray, full: np.ndarray) -> float:
    """``1 - median(full)^2 / median(reduced)^2`` for SD draws of a variance component in the
    model without (``reduced``) and with (``full``) a predictor: the two-model pseudo
    R-squared from the posterior medians (separate fits have no joint posterior, so no
    per-draw version exists).

    Examples
    --------
    >>> pseudo_r2(np.array([2.0, 4.0, 4.0]), np.array([1.0, 2.0, 9.0]))
    0.75
    """
    return float(1 - np.median(full) ** 2 / np.median(reduced) ** 2)


def piles_at_zero(sd: np.ndarray) -> bool:
    """Whether the posterior of an SD piles at zero: its 95% HDI starts below
    :data:`AT_ZERO` x its median (a component the data hardly identify; a ratio of such SDs
    is unstable).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> piles_at_zero(np.abs(rng.normal(0, 1, 4000))), piles_at_zero(rng.normal(1, 0.1, 4000))
    (True, False)
    """
    return bool(summarize_draws(sd)["hdi_low"] < AT_ZERO * np.median(sd))


def variance_explained(fits: list[GrowthFit], data: pd.DataFrame) -> pd.DataFrame:
    """Between-patient variance explained by period, per measure, as the field reports it.

    The paper's "time periods explained 0-5% intercept variation, no additional slope
    variation" is the pseudo R-squared of Singer & Willett (2003, ch. 4) and Raudenbush &
    Bryk (2002): the proportional reduction in a variance component from the linear to the
    period model (``pseudo_r2_*``). The two models are separate fits, so no posterior of that
    ratio exists: the row gives the point value from each fit's posterior median SD
    (:func:`pseudo_r2`), labelled so, without an interval.

    The ``period_share_*`` rows are a posterior of one model (:func:`period_variance_share`):
    the share of the between-patient variance that the period difference accounts for in the
    period model, in [0, 1), with its 95% HDI. ``sd_at_zero`` flags a row whose SD posterior
    (in either model) piles at zero (:func:`piles_at_zero`): the component is hardly
    identified and its share or reduction is not to be read. Rows need the component in the
    fits (no slope rows without patient slopes).

    Returns
    -------
    pandas.DataFrame
        measure, quantity, estimate, estimate_basis, mean, hdi_low, hdi_high, sd_at_zero,
        definition, draws, interval, passed.
    """
    pairs: dict[str, dict[str, GrowthFit]] = {}
    for fit in fits:
        pairs.setdefault(fit.spec.name, {})[fit.variant] = fit
    rows = []
    for measure, pair in pairs.items():
        period, linear = pair.get("period"), pair.get("linear")
        if period is None:
            continue
        passed = all(f.diagnostics.passed for f in pair.values())
        patients = data.drop_duplicates(period.spec.group)
        q = float((patients[period.spec.period].astype(str) != period_levels(period)[0]).mean())
        for component in ("intercept", "slope"):
            name = f"sd_{component}"
            if name not in period.params:
                continue
            full = period.draws(name)
            if linear is not None and name in linear.params:
                reduced = linear.draws(name)
                rows.append(_variance_row(
                    measure, f"pseudo_r2_{component}", pseudo_r2(reduced, full),
                    "from the two fits' posterior median SDs", None, TWO_FITS, passed,
                    at_zero=piles_at_zero(full) or piles_at_zero(reduced)))
            share = period_variance_share(period, share_period_two=q, component=component)
            rows.append(_variance_row(
                measure, f"period_share_{component}_variance", float(np.median(share)),
                "posterior median", share, JOINT, period.diagnostics.passed,
                at_zero=piles_at_zero(full)))
    return pd.DataFrame(rows)


def _variance_row(measure: str, quantity: str, estimate: float, basis: str,
                  draws: np.ndarray | None, source: str, passed: bool, *,
                  at_zero: bool) -> dict:
    post = summarize_draws(draws) if draws is not None else {}
    return {"measure": measure, "quantity": quantity, "estimate": estimate,
            "estimate_basis": basis, "mean": post.get("mean", np.nan),
            "hdi_low": post.get("hdi_low", np.nan), "hdi_high": post.get("hdi_high", np.nan),
            "sd_at_zero": at_zero, "definition": VARIANCE_QUANTITIES[quantity],
            "draws": source, "interval": INTERVAL if draws is not None else "none",
            "passed": passed}


# ---------------------------------------------------------------- Cohen's d


def effect_sizes(
    fits: list[GrowthFit],
    data: pd.DataFrame,
    *,
    sd_basis: str = "observed_baseline_sd",
    seed: int = SEED,
) -> pd.DataFrame:
    """Cohen's d of the change between the d time points (0 and 24 months), per draw.

    ``d = (mean(t1) - mean(t0)) / SD``, the change from the population-mean trajectories;
    negative d is a decrease: an improvement where ``better_if`` is "lower" (BSI: d = -1.1),
    a deterioration where it is "higher" (GAF: there d = +1.5 is the improvement). Periods I
    and II come from the period model, ``pooled`` from the linear model. Each posterior draw
    of the change is divided by its own draw of the SD, so the interval holds the uncertainty
    of both:

    - ``observed_baseline_sd`` (default, the paper's denominator): the observed pooled
      within-period SD of each patient's first value near t0 (:mod:`~.baseline`), with its
      sampling uncertainty by the Bayesian bootstrap over those patients (one Dirichlet weight
      vector per posterior draw, seeded by the measure; the same SD draws for both models of a
      measure and in every table that shows this d:
      :func:`mbtbayes.growth.baseline.spec_sd_draws`). The table counts the patients in the
      SD and those left out.
    - ``model_total_sd``: the model-implied SD of the outcome at t0 per draw,
      ``sqrt(var(patient intercept + slope x t0) + residual variance)`` (the residual SD of
      a t family is ``sigma sqrt(nu / (nu - 2))``): the fully Bayesian counterpart. In the
      period model it is the SD within a period, as the pooled observed SD.

    The model's between-patient SD or residual SD alone is not offered: each holds only part
    of the baseline variance that an observed SD holds, so a d divided by either is inflated
    and not comparable with the paper's.

    Parameters
    ----------
    fits : list of GrowthFit
    data : pandas.DataFrame
        The data the fits used (for the observed baseline SD).
    sd_basis : str
        One of :data:`SD_BASES`; named in the ``sd_basis`` column.
    seed : int
        Run seed (the bootstrap's seed derives from it and the measure's name).

    Returns
    -------
    pandas.DataFrame
        measure, period, better_if (the direction of improvement: "lower" or "higher"),
        months_from, months_to, change_mean, sd_basis, sd_point, sd_mean,
        sd_hdi_low, sd_hdi_high, d_mean, d_hdi_low, d_hdi_high (the SD's uncertainty
        included), d_sd_fixed_mean, d_sd_fixed_hdi_low, d_sd_fixed_hdi_high (the change's
        uncertainty only: divided by ``sd_point``, the observed SD or the posterior mean of
        the model's), n_sd_patients, n_sd_first_value_late, n_sd_no_value (NaN for
        ``model_total_sd``), sd_note, interval, passed.
    """
    if sd_basis not in SD_BASES:
        hint = (" (the between-patient or residual SD alone is not comparable with an observed "
                "SD, which holds both: use 'model_total_sd')" if sd_basis in REMOVED_BASES
                else "")
        raise ValueError(f"sd_basis must be one of {SD_BASES}, got '{sd_basis}'{hint}")
    rows = []
    for fit in fits:
        sd, point, counts, note = _sd_draws(fit, data, sd_basis, seed=seed)
        sd_post = summarize_draws(sd)
        for period, change in change_draws(fit).items():
            d, fixed = summarize_draws(change / sd), summarize_draws(change / point)
            rows.append({"measure": fit.spec.name, "period": period,
                         "better_if": better_if(fit.spec.measure),
                         "months_from": fit.spec.d_months[0], "months_to": fit.spec.d_months[1],
                         "change_mean": float(change.mean()), "sd_basis": sd_basis,
                         "sd_point": point, "sd_mean": sd_post["mean"],
                         "sd_hdi_low": sd_post["hdi_low"], "sd_hdi_high": sd_post["hdi_high"],
                         "d_mean": d["mean"], "d_hdi_low": d["hdi_low"],
                         "d_hdi_high": d["hdi_high"], "d_sd_fixed_mean": fixed["mean"],
                         "d_sd_fixed_hdi_low": fixed["hdi_low"],
                         "d_sd_fixed_hdi_high": fixed["hdi_high"], **counts,
                         "sd_note": note, "interval": INTERVAL,
                         "passed": fit.diagnostics.passed})
    return pd.DataFrame(rows)


def _sd_draws(fit: GrowthFit, data: pd.DataFrame, sd_basis: str, *,
              seed: int) -> tuple[np.ndarray, float, dict, str]:
    """Draws of the SD (one per posterior draw), its point value (the observed SD; the
    posterior mean of the model's), the patient counts and a note on them."""
    spec, n_draws = fit.spec, len(fit.draws("beta"))
    if sd_basis == "observed_baseline_sd":
        sd, base = spec_sd_draws(spec, data, draws=n_draws, seed=seed)
        counts = {"n_sd_patients": base.n_used, "n_sd_first_value_late": base.n_late,
                  "n_sd_no_value": base.n_missing}
        return sd, base.sd, counts, (f"observed pooled baseline SD ({base.note}); uncertainty "
                                     "by the Bayesian bootstrap over these patients, one draw "
                                     "per posterior draw")
    counts = dict.fromkeys(("n_sd_patients", "n_sd_first_value_late", "n_sd_no_value"), np.nan)
    sd = model_total_sd(fit)
    return sd, float(np.mean(sd)), counts, (
        f"model-implied SD at {spec.time} {spec.d_months[0]:g}: sqrt(patient-effect variance "
        f"+ residual variance) per posterior draw ({fit.variant} model)")


def model_total_sd(fit: GrowthFit) -> np.ndarray:
    """Per draw, the model-implied SD of the outcome at the first d time point ``t0``.

    ``sqrt(sd_intercept^2 + 2 corr sd_intercept sd_slope t0 + sd_slope^2 t0^2 + residual
    variance)`` (``t0 = 0``: intercept plus residual variance); the residual variance of a
    t family with scale ``sigma`` is ``sigma^2 nu / (nu - 2)`` (infinite if ``nu <= 2``).

    Raises
    ------
    ValueError
        If the residual SD is modelled (it then differs by row), or the fit has patient
        effects other than an intercept and a time slope.
    """
    spec, t0 = fit.spec, fit.spec.d_months[0]
    known = {f"1|{spec.group}", f"{spec.time}|{spec.group}"}
    if "sigma" not in fit.params or not set(fit.design.effects) <= known:
        raise ValueError(f"{spec.name}: model_total_sd needs a constant residual SD and "
                         f"patient effects on intercept and {spec.time} only; use "
                         "sd_basis='observed_baseline_sd'")
    var = fit.draws("sigma") ** 2
    if "nu" in fit.params:
        nu = fit.draws("nu")
        var = np.where(nu > 2, var * nu / np.maximum(nu - 2, 1e-12), np.inf)
    tau0 = fit.draws("sd_intercept") if "sd_intercept" in fit.params else 0.0
    tau1 = fit.draws("sd_slope") if "sd_slope" in fit.params else 0.0
    corr = fit.draws("corr") if "corr" in fit.params else 0.0
    return np.sqrt(var + tau0**2 + 2 * corr * tau0 * tau1 * t0 + (tau1 * t0) ** 2)


# ---------------------------------------------------------------- model comparison


def model_comparison(
    fits: list[GrowthFit],
    *,
    kfold: Callable[[GrowthFit], LooResult] | None = None,
    k_limit: float = PARETO_K_LIMIT,
) -> pd.DataFrame:
    """ELPD of the period model minus the linear model, per measure.

    Positive ``elpd_diff`` favours the period model. ``loo_method`` names the estimand and how
    it was computed: leave-one-patient-out PSIS-LOO on the marginal likelihood (patient
    effects integrated out exactly by the marginal engine, by quadrature for Bambi fits), or,
    where a Pareto k exceeds ``k_limit`` and ``kfold`` is given, grouped K-fold by patient on
    the same likelihood (refits).

    Parameters
    ----------
    fits : list of GrowthFit
    kfold : callable, optional
        Fit -> LooResult by K-fold refits (e.g. :func:`mbtbayes.growth.loo.kfold_patients`
        bound to the engines); used only where PSIS is unreliable.
    k_limit : float
        Pareto k above which PSIS-LOO is not trusted.

    Returns
    -------
    pandas.DataFrame
        measure, elpd_linear, elpd_period, elpd_diff, elpd_diff_se, p_loo_linear,
        p_loo_period, max_pareto_k, loo_method, loo_reliable, passed.
    """
    by_measure: dict[str, dict[str, GrowthFit]] = {}
    for fit in fits:
        by_measure.setdefault(fit.spec.name, {})[fit.variant] = fit
    rows = []
    for measure, pair in by_measure.items():
        if set(pair) != {"linear", "period"}:
            continue
        loo = {v: patient_loo(f) for v, f in pair.items()}
        max_k = max(r.max_k for r in loo.values())
        reliable = max_k <= k_limit
        if not reliable and kfold is not None:
            loo = {v: kfold(f) for v, f in pair.items()}
            reliable = all(r.refits_passed for r in loo.values())
        diff, se = elpd_difference(loo["period"], loo["linear"])
        methods = dict.fromkeys(r.method for r in loo.values())
        rows.append({"measure": measure, "elpd_linear": loo["linear"].elpd,
                     "elpd_period": loo["period"].elpd, "elpd_diff": diff, "elpd_diff_se": se,
                     "p_loo_linear": loo["linear"].p_loo, "p_loo_period": loo["period"].p_loo,
                     "max_pareto_k": max_k, "loo_method": " / ".join(methods),
                     "loo_reliable": bool(reliable),
                     "passed": all(f.diagnostics.passed for f in pair.values())})
    return pd.DataFrame(rows)


def diagnostics_table(fits: list[GrowthFit]) -> pd.DataFrame:
    """One row per fit: the gate's diagnostics, the data used, the engine and the sampler.

    Wall times are not here (they differ between runs, and the tables of two runs with one
    seed are byte-identical); ``run.json`` has them.

    Returns
    -------
    pandas.DataFrame
        fit, measure, model, engine, max_r_hat, min_ess_bulk, min_ess_tail, divergences,
        passed, reason, attempts, draws, n_obs, n_excluded, n_patients, sampler.
    """
    rows = []
    for fit in fits:
        d, g = fit.diagnostics, fit.design
        rows.append({"fit": f"{fit.spec.name}/{fit.variant}", **_fit_key(fit),
                     "engine": fit.engine, "max_r_hat": d.max_r_hat,
                     "min_ess_bulk": d.min_ess_bulk, "min_ess_tail": d.min_ess_tail,
                     "divergences": d.divergences, "passed": d.passed, "reason": d.reason,
                     "attempts": d.attempts, "draws": d.draws,
                     "n_obs": int(g.y.size), "n_excluded": g.n_excluded,
                     "n_patients": int((np.bincount(g.group) > 0).sum()),
                     "sampler": fit.sampler})
    return pd.DataFrame(rows)
