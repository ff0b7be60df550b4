"""Frequentist side of the reanalysis: linear mixed growth models (ML), AIC, Cohen's d, MANOVA.

The paper fits, per measure, linear growth models by maximum likelihood (SPSS MIXED) with a random
intercept and a random slope of time per patient, once without and once with the treatment
period on intercept and slope, and compares them by AIC. :func:`fit_mixed` reproduces that with
statsmodels ``MixedLM`` and is tested against lme4 ``lmer(..., REML = FALSE)``
(``tests/data/lme4_reference.R``).

Model and term names
--------------------
``fit_mixed(data, outcome="y", time="months", period="period")`` fits, in lme4 notation,

    y ~ months * period + (months || patient_id)      (correlated=False, the default)
    y ~ months * period + (months | patient_id)       (correlated=True)

The fixed-effect terms are named ``Intercept``, ``months`` (the time column's name),
``period[II]`` (``<period column>[<level>]``, one per non-reference level; the reference level is
the first in sorted order, "I" for the study) and ``months:period[II]`` (time-by-period slope
difference). Numeric covariates keep their column name; text or categorical covariates are
treatment-coded as ``<column>[<level>]`` with the first sorted level as reference.

``correlated=False`` gives independent random intercept and slope: SPSS MIXED's default ``VC``
covariance type and the structure Bambi 0.17 fits, so that ML and posterior can be compared
like for like. ``correlated=True`` adds their correlation (lme4's default ``(months | id)``).

Numerical choices (see gotcha G9 in the stack notes)
----------------------------------------------------
- statsmodels' default optimiser chain silently lands on a wrong optimum for a random slope on
  the months scale. The fit uses ``method="lbfgs"`` on time divided by its SD (inside the
  optimiser only; results are on the original scale), polishes the solution with BFGS at
  ``gtol=1e-9`` (statsmodels cannot pass a tolerance to L-BFGS, which stops up to 1e-7 short
  in log-likelihood), and then checks convergence: optimiser flag, finite log-likelihood and a
  positive-definite Hessian of the free parameters. Any failure raises
  :class:`~mbtbayes.errors.ConvergenceError` with advice.
- A random-slope variance of zero (the ML optimum on the boundary) is a legitimate result that
  statsmodels' optimisers do not reach. With ``correlated=False`` a random-intercept-only fit
  is also made; if it has the higher log-likelihood and adding slope variance does not raise
  it (one-sided derivative), it is the ML solution: ``sd_slope`` is 0 and ``singular`` True,
  as lme4's "boundary (singular) fit". With ``correlated=True`` a correlation at +-1
  (``CORR_BOUNDARY``) raises ConvergenceError: refit with ``correlated=False``.
- Fixed-effect standard errors are ``(X' V^-1 X)^-1`` at the ML variance components, as in lme4
  (``vcov``). statsmodels' ``bse_fe`` comes from the joint Hessian and differs by up to about
  1 % for the time-by-period term, so it is not used.
- Wald intervals and p-values use the normal distribution, at ``CI_PROB`` (95 %).
- Agreement with lme4 1.1-31 on the reference data (``tests/data``): fixed effects, SEs and SDs
  to better than 1e-5 relative, log-likelihood to 1e-10.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(1)
>>> ids = np.repeat(np.arange(60), 4)
>>> months = np.tile([0.0, 6.0, 12.0, 24.0], 60)
>>> y = 2 + rng.normal(0, 0.5, 60)[ids] - 0.03 * months + rng.normal(0, 0.3, 240)
>>> df = pd.DataFrame({"patient_id": ids, "months": months, "y": y})
>>> res = fit_mixed(df, outcome="y")
>>> res.fixed["term"].tolist()
['Intercept', 'months']
>>> res.singular  # no slope variance in these data: ML slope SD is 0, as in lme4
True
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.multivariate.manova import MANOVA
from statsmodels.regression.mixed_linear_model import MixedLM, MixedLMParams

from mbtbayes.core.defaults import CI_PROB
from mbtbayes.core.errors import ConvergenceError, DataError, SpecError

PAPER_BASELINE_THRESHOLD: float = 0.001
"""Per-test significance threshold the paper uses for baseline differences (Bonferroni)."""

SINGULAR_TOL: float = 1e-4
"""A random-effect SD below this fraction of the residual SD counts as a singular fit (as lme4)."""

CORR_BOUNDARY: float = 0.99
"""With ``correlated=True``, a fitted |correlation| at or above this raises ConvergenceError."""

_HANDLED_WARNINGS = (
    "Maximum Likelihood optimization failed",
    "The MLE may be on the boundary",
    "Retrying MixedLM optimization",
    "MixedLM optimization failed",
    "Gradient optimization failed",
    "The Hessian matrix at the estimated parameter values",
    "Random effects covariance is singular",
)


@dataclass(frozen=True, eq=False)
class MixedResult:
    """A converged ML fit of a linear mixed growth model.

    Attributes
    ----------
    fixed : pandas.DataFrame
        One row per fixed-effect term: ``term, estimate, se, ci_low, ci_high, z, p_value``
        (95 % Wald, normal reference). Term names are described in the module docstring.
    variance : pandas.DataFrame
        ``component, sd``: ``sd_intercept``, ``sd_slope``, ``corr`` (only if ``correlated``; its
        ``sd`` column holds the intercept-slope correlation) and ``sd_residual``.
    loglik, aic, bic : float
        ML log-likelihood, and AIC / BIC counting fixed effects, covariance parameters and the
        residual variance (lme4's ``df``); BIC uses the number of observations.
    n_obs, n_groups, n_excluded : int
        Observations used, groups, and rows excluded for a missing outcome.
    n_params : int
        Number of estimated parameters (the AIC's penalty count).
    converged : bool
        Always True for a returned result (a failed fit raises ``ConvergenceError``).
    singular : bool
        True if a random-effect SD is (almost) zero or the correlation (almost) +-1.
    formula : str
        The model in lme4 notation, e.g. ``"y ~ months * period + (months || patient_id)"``.
    outcome, time, group, period : str
        Column names; ``period`` is None for the linear model.
    period_levels : tuple
        Levels of ``period``, reference first (empty for the linear model).
    correlated : bool
        Whether intercept and slope were allowed to correlate.
    fixed_cov : pandas.DataFrame
        Covariance matrix of the fixed effects, indexed by term on both axes.
    covariate_means : pandas.Series
        Means of the covariate design columns over the rows used (predictions hold them there).
    """

    fixed: pd.DataFrame
    variance: pd.DataFrame
    loglik: float
    aic: float
    bic: float
    n_obs: int
    n_groups: int
    n_excluded: int
    n_params: int
    converged: bool
    singular: bool
    formula: str
    outcome: str
    time: str
    group: str
    period: str | None
    period_levels: tuple
    correlated: bool
    fixed_cov: pd.DataFrame
    covariate_means: pd.Series

    def predict_fixed(
        self, time_values: Sequence[float] | np.ndarray, period_level: object = None
    ) -> pd.DataFrame:
        """Population-level (fixed-effects only) predicted means with Wald intervals.

        Parameters
        ----------
        time_values : sequence of float
            Times at which to predict, on the scale of the fitted time column.
        period_level : optional
            One level of the period column. None predicts for every level (period model) or
            for the pooled line (linear model, where ``period`` reads ``"pooled"``).

        Returns
        -------
        pandas.DataFrame
            ``time, period, estimate, se, ci_low, ci_high``; covariates are held at their means.

        Examples
        --------
        >>> res.predict_fixed([0, 24], period_level="II")  # doctest: +SKIP
        """
        grid, design = self._contrast_rows(np.asarray(time_values, dtype=float), period_level)
        estimate, se = _linear_combination(self, design)
        low, high = _wald_interval(estimate, se)
        return grid.assign(estimate=estimate, se=se, ci_low=low, ci_high=high)

    def _levels_for(self, period_level: object) -> list:
        if self.period is None:
            if period_level is not None:
                raise SpecError(
                    f"the model for {self.outcome!r} has no period term; leave period_level=None"
                )
            return [None]
        if period_level is None:
            return list(self.period_levels)
        matches = [lv for lv in self.period_levels if str(lv) == str(period_level)]
        if not matches:
            raise SpecError(
                f"period_level={period_level!r} is not a level of {self.period!r}; "
                f"use one of {[str(lv) for lv in self.period_levels]}"
            )
        return matches

    def _contrast_rows(self, times: np.ndarray, period_level: object) -> tuple:
        """Grid (time, period) and the matching rows of the fixed-effects design matrix."""
        grid = pd.DataFrame(
            [(t, lv) for lv in self._levels_for(period_level) for t in times],
            columns=["time", "period"],
        )
        design = _fixed_design_rows(self, grid["time"].to_numpy(), grid["period"].tolist())
        grid["period"] = grid["period"].map(lambda lv: "pooled" if lv is None else str(lv))
        return grid, design


def fit_mixed(
    data: pd.DataFrame,
    *,
    outcome: str,
    time: str = "months",
    group: str = "patient_id",
    period: str | None = None,
    covariates: str | Sequence[str] = (),
    correlated: bool = False,
    method: str | Sequence[str] = "lbfgs",
    maxiter: int = 1000,
) -> MixedResult:
    """Fit a linear mixed growth model by maximum likelihood.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format, one row per observation.
    outcome, time, group : str
        Column names of the outcome, the (numeric) time and the grouping factor (patient).
    period : str, optional
        Column of a categorical period factor (reference = first sorted level) that enters on
        intercept and slope (``time * period``). None fits the linear model.
    covariates : str or sequence of str
        Further fixed effects (numeric, or text/categorical, treatment-coded), additive.
    correlated : bool, default False
        False: independent random intercept and slope (``(time || group)``, SPSS VC, Bambi).
        True: correlated (``(time | group)``).
    method : str or sequence of str, default "lbfgs"
        statsmodels optimiser(s), tried in turn until one converges. The derivative-free
        ``"nm"`` and ``"powell"`` ignore the zero-correlation constraint, so they are accepted
        only with ``correlated=True``.
    maxiter : int, default 1000
        Maximum optimiser iterations.

    Returns
    -------
    MixedResult

    Raises
    ------
    DataError
        Missing columns, missing values outside the outcome, non-numeric outcome or time, or a
        period with fewer than two levels.
    SpecError
        A derivative-free ``method`` with ``correlated=False``.
    ConvergenceError
        The optimiser did not converge, the log-likelihood is not finite, the Hessian is not
        positive definite, or (``correlated=True``) the correlation is at +-1.

    Notes
    -----
    Rows with a missing outcome are excluded and counted in ``n_excluded``; a missing value in
    any other model column is an error, so nothing is dropped silently.

    Examples
    --------
    >>> res = fit_mixed(df, outcome="y", period="period")  # doctest: +SKIP
    >>> res.fixed.set_index("term").loc["months:period[II]", "estimate"]  # doctest: +SKIP
    """
    _check_method(method, correlated)
    covariates = (covariates,) if isinstance(covariates, str) else tuple(covariates)
    used, n_excluded = _prepare(data, outcome, time, group, period, covariates)
    levels = _period_levels(used, period)
    x = _design(used, time, period, levels, covariates)
    formula = _formula(outcome, time, group, period, covariates, correlated)
    names = {"outcome": outcome, "time": time, "group": group, "period": period}
    est = _fit_model(used, x, names, correlated, method, maxiter, formula)
    return _build_result(
        used=used,
        x=x,
        est=est,
        n_excluded=n_excluded,
        formula=formula,
        names=names,
        levels=tuple(levels),
        correlated=correlated,
    )


def compare_aic(linear: MixedResult, period: MixedResult) -> pd.DataFrame:
    """AIC / BIC comparison and likelihood-ratio test of the linear against the period model.

    Parameters
    ----------
    linear, period : MixedResult
        Fits of the same outcome on the same rows with the same random-effects structure,
        without and with the period terms.

    Returns
    -------
    pandas.DataFrame
        One row: ``outcome, aic_linear, aic_period, delta_aic`` (period minus linear; negative
        favours the period model), ``bic_linear, bic_period, lrt_chi2, lrt_df, lrt_p_value,
        preferred`` (the model with the smaller AIC). The LRT is the usual chi-square test on
        the difference in parameters (as lme4's ``anova``).

    Examples
    --------
    >>> compare_aic(fit_linear, fit_period)  # doctest: +SKIP
    """
    _check_nested(linear, period)
    chi2 = max(0.0, 2.0 * (period.loglik - linear.loglik))
    df = period.n_params - linear.n_params
    row = {
        "outcome": period.outcome,
        "aic_linear": linear.aic,
        "aic_period": period.aic,
        "delta_aic": period.aic - linear.aic,
        "bic_linear": linear.bic,
        "bic_period": period.bic,
        "lrt_chi2": chi2,
        "lrt_df": df,
        "lrt_p_value": float(stats.chi2.sf(chi2, df)),
        "preferred": "period" if period.aic < linear.aic else "linear",
    }
    return pd.DataFrame([row])


def mixed_cohens_d(
    result: MixedResult,
    *,
    sd: float | Mapping[str, float],
    sd_basis: str,
    months: tuple[float, float] = (0, 24),
) -> pd.DataFrame:
    """Cohen's d of the model-predicted change between two times, per period level.

    ``d = (pred(months[1]) - pred(months[0])) / sd`` from the population-level (fixed-effects)
    predictions: the change, later minus earlier, in SD units. For symptom scores, where lower
    is better, improvement gives a negative d. The 95 % interval is the Wald interval of the
    predicted difference (delta method, exact here because the difference is linear in the
    fixed effects) divided by ``sd``, which is treated as known.

    Parameters
    ----------
    result : MixedResult
        Linear model (one row, ``period == "pooled"``) or period model (one row per level).
    sd : float or mapping of str to float
        Denominator, e.g. the observed baseline SD; a mapping gives one per period level (keys
        are the level labels, or ``"pooled"``).
    sd_basis : str
        What ``sd`` is, copied to the output (e.g. ``"observed_baseline_sd"``).
    months : tuple of float, default (0, 24)
        Earlier and later time, on the scale of the fitted time column.

    Returns
    -------
    pandas.DataFrame
        ``period, months_from, months_to, difference, difference_se, sd, sd_basis, d, d_se,
        d_ci_low, d_ci_high``.

    Examples
    --------
    >>> mixed_cohens_d(res, sd=0.7, sd_basis="observed_baseline_sd")  # doctest: +SKIP
    """
    start, end = (float(m) for m in months)
    if start == end:
        raise SpecError(f"months={months!r}: the two times must differ, e.g. months=(0, 24)")
    grid, design_end = result._contrast_rows(np.array([end]), None)
    _, design_start = result._contrast_rows(np.array([start]), None)
    diff, diff_se = _linear_combination(result, design_end - design_start)
    denom = np.array([_sd_for(sd, label) for label in grid["period"]])
    low, high = _wald_interval(diff, diff_se)
    return pd.DataFrame(
        {
            "period": grid["period"],
            "months_from": start,
            "months_to": end,
            "difference": diff,
            "difference_se": diff_se,
            "sd": denom,
            "sd_basis": sd_basis,
            "d": diff / denom,
            "d_se": diff_se / denom,
            "d_ci_low": low / denom,
            "d_ci_high": high / denom,
        }
    )


def manova_pillai(data: pd.DataFrame, *, outcomes: Sequence[str], group: str) -> pd.DataFrame:
    """One-way MANOVA of several outcomes on a group factor, Pillai's trace.

    Matches R's ``summary(manova(cbind(...) ~ group), test = "Pillai")``: the F statistic is
    the usual approximation (exact for two groups).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit (e.g. baseline rows, one per patient).
    outcomes : sequence of str
        Numeric outcome columns.
    group : str
        Group column (at least two levels).

    Returns
    -------
    pandas.DataFrame
        One row: ``term, pillai, f, num_df, den_df, p_value, n_obs, n_excluded`` (rows with a
        missing outcome or group are excluded and counted).

    Examples
    --------
    >>> manova_pillai(baseline, outcomes=["bsi", "sipp"], group="period")  # doctest: +SKIP
    """
    outcomes = list(outcomes)
    _require_columns(data, [*outcomes, group])
    complete = data[[*outcomes, group]].dropna()
    _require_numeric(complete, outcomes)
    levels = sorted(complete[group].unique())
    if len(levels) < 2:
        raise DataError(f"manova_pillai needs at least two levels of {group!r}, got {levels}")
    dummies = np.column_stack([complete[group].eq(lv) for lv in levels[1:]]).astype(float)
    exog = np.column_stack([np.ones(len(complete)), dummies])
    contrast = np.eye(exog.shape[1])[1:]
    test = MANOVA(complete[outcomes].to_numpy(float), exog).mv_test(hypotheses=[(group, contrast)])
    stat = test.results[group]["stat"].loc["Pillai's trace"]
    row = {
        "term": group,
        "pillai": float(stat["Value"]),
        "f": float(stat["F Value"]),
        "num_df": float(stat["Num DF"]),
        "den_df": float(stat["Den DF"]),
        "p_value": float(stat["Pr > F"]),
        "n_obs": len(complete),
        "n_excluded": len(data) - len(complete),
    }
    return pd.DataFrame([row])


def bonferroni(
    p_values: Mapping[str, float] | pd.Series | Sequence[float],
    *,
    alpha: float = 0.05,
    n_tests: int | None = None,
    threshold: float | None = None,
) -> pd.DataFrame:
    """Bonferroni correction: adjusted p-values and significance at ``alpha / n_tests``.

    The paper judges baseline differences at ``p < 0.001`` (``PAPER_BASELINE_THRESHOLD``), i.e.
    ``alpha = 0.05`` over 50 tests; pass ``n_tests=50`` or ``threshold=0.001`` to follow it.

    Parameters
    ----------
    p_values : mapping, Series or sequence of float
        Unadjusted p-values; keys or index name the tests.
    alpha : float, default 0.05
        Family-wise error rate.
    n_tests : int, optional
        Size of the family (default: the number of p-values given).
    threshold : float, optional
        Per-test threshold to use instead of ``alpha / n_tests``.

    Returns
    -------
    pandas.DataFrame
        ``test, p_value, p_adjusted`` (``min(1, p * n_tests)``), ``threshold, significant``
        (``p_value < threshold``).

    Examples
    --------
    >>> bonferroni({"bsi": 0.0004, "sipp": 0.02}, n_tests=50)["significant"].tolist()
    [True, False]
    """
    series = pd.Series(p_values, dtype=float)
    if series.empty or series.isna().any() or ((series < 0) | (series > 1)).any():
        raise DataError("bonferroni needs p-values in [0, 1] without missing values")
    m = len(series) if n_tests is None else int(n_tests)
    if m < len(series):
        raise SpecError(f"n_tests={m} is smaller than the {len(series)} p-values given")
    cut = alpha / m if threshold is None else float(threshold)
    return pd.DataFrame(
        {
            "test": [str(k) for k in series.index],
            "p_value": series.to_numpy(),
            "p_adjusted": np.minimum(1.0, series.to_numpy() * m),
            "threshold": cut,
            "significant": series.to_numpy() < cut,
        }
    )


# --- data preparation -------------------------------------------------------------------------


def _require_columns(data: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise DataError(
            f"column(s) {missing} not in the data; available: {list(data.columns)}",
            problems=[f"missing column {c!r}" for c in missing],
        )


def _require_numeric(data: pd.DataFrame, columns: Sequence[str]) -> None:
    bad = [c for c in columns if not pd.api.types.is_numeric_dtype(data[c])]
    if bad:
        raise DataError(
            f"column(s) {bad} must be numeric; convert them (e.g. pd.to_numeric) first",
            problems=[f"non-numeric column {c!r}" for c in bad],
        )


def _prepare(
    data: pd.DataFrame,
    outcome: str,
    time: str,
    group: str,
    period: str | None,
    covariates: Sequence[str],
) -> tuple[pd.DataFrame, int]:
    """Validate the model columns; drop (and count) rows with a missing outcome."""
    predictors = [time, group, *([period] if period else []), *covariates]
    if len(set([outcome, *predictors])) != len(predictors) + 1:
        raise SpecError(f"outcome, time, group, period and covariates must differ: {predictors}")
    _require_columns(data, [outcome, *predictors])
    _require_numeric(data, [outcome, time])
    gaps = {c: int(data[c].isna().sum()) for c in predictors if data[c].isna().any()}
    if gaps:
        raise DataError(
            f"missing values in model columns other than the outcome: {gaps}; fill or drop "
            "those rows first (only rows with a missing outcome are excluded automatically)",
            problems=[f"{n} missing value(s) in {c!r}" for c, n in gaps.items()],
        )
    keep = data[outcome].notna()
    used = data.loc[keep, [outcome, *predictors]].reset_index(drop=True)
    if used.empty:
        raise DataError(f"no rows with a non-missing {outcome!r}")
    return used, int((~keep).sum())


def _period_levels(used: pd.DataFrame, period: str | None) -> list:
    if period is None:
        return []
    levels = sorted(used[period].unique())
    if len(levels) < 2:
        raise DataError(
            f"period column {period!r} has {len(levels)} level(s) among rows with an outcome; "
            "fit the linear model (period=None) instead"
        )
    return levels


def _dummies(values: pd.Series, name: str, levels: Sequence) -> pd.DataFrame:
    """Treatment coding with ``levels[0]`` as reference: columns ``name[level]``."""
    return pd.DataFrame(
        {f"{name}[{lv}]": values.eq(lv).astype(float).to_numpy() for lv in levels[1:]}
    )


def _design(
    used: pd.DataFrame, time: str, period: str | None, levels: list, covariates: Sequence[str]
) -> pd.DataFrame:
    """Fixed-effects design matrix with the documented term names as columns."""
    t = used[time].to_numpy(float)
    x = pd.DataFrame({"Intercept": np.ones(len(used)), time: t})
    if period is not None:
        dummies = _dummies(used[period], period, levels)
        slopes = dummies.mul(t, axis=0).add_prefix(f"{time}:")
        x = pd.concat([x, dummies, slopes], axis=1)
    for cov in covariates:
        col = used[cov]
        if pd.api.types.is_numeric_dtype(col):
            x[cov] = col.to_numpy(float)
        else:
            x = pd.concat([x, _dummies(col, cov, sorted(col.unique()))], axis=1)
    if np.linalg.matrix_rank(x.to_numpy()) < x.shape[1]:
        raise DataError(f"the fixed-effects design is rank-deficient (columns {list(x.columns)})")
    return x


def _formula(
    outcome: str,
    time: str,
    group: str,
    period: str | None,
    covariates: Sequence[str],
    correlated: bool,
) -> str:
    rhs = time if period is None else f"{time} * {period}"
    rhs += "".join(f" + {c}" for c in covariates)
    bar = "|" if correlated else "||"
    return f"{outcome} ~ {rhs} + ({time} {bar} {group})"


# --- fitting and checks -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Estimates:
    """ML estimates on the original time scale, independent of statsmodels' result objects."""

    fe_params: np.ndarray
    cov_re: np.ndarray  # 2 x 2 covariance of random intercept and slope
    scale: float  # residual variance
    loglik: float
    singular: bool


def _advice() -> str:
    return (
        "Check that most groups have several observations; then try centring covariates, "
        "correlated=False, a larger maxiter, or method=('lbfgs', 'nm') (correlated=True only)."
    )


def _fit_model(
    used: pd.DataFrame,
    x: pd.DataFrame,
    names: Mapping[str, str | None],
    correlated: bool,
    method: str | Sequence[str],
    maxiter: int,
    formula: str,
) -> _Estimates:
    """Fit on a rescaled time axis and check convergence; handle a zero slope variance."""
    t = used[names["time"]].to_numpy(float)
    unit = float(np.std(t)) or 1.0  # time unit used inside the optimiser only
    is_time = np.array([c == names["time"] or c.startswith(f"{names['time']}:") for c in x.columns])
    to_fit = np.where(is_time, 1.0 / unit, 1.0)
    y = used[names["outcome"]].to_numpy(float)
    groups = used[names["group"]].to_numpy()
    x_fit = x.to_numpy() * to_fit
    z_fit = np.column_stack([np.ones(len(t)), t / unit])
    free = None if correlated else MixedLMParams.from_components(np.ones(x.shape[1]), np.eye(2))
    model, full, full_ok = _run_mixedlm(y, x_fit, groups, z_fit, free, method, maxiter)
    back = np.diag([1.0, 1.0 / unit])
    if correlated:
        _check_full(full, full_ok, formula, correlated=True)
        return _to_estimates(full, to_fit, back, correlated=True)
    _, reduced, reduced_ok = _run_mixedlm(
        y, x_fit, groups, z_fit[:, :1], None, method, maxiter, polish=False
    )
    if not reduced_ok or (full_ok and full.llf >= reduced.llf):
        _check_full(full, full_ok, formula, correlated=False)
        return _to_estimates(full, to_fit, back, correlated=False)
    if _slope_variance_helps(model, reduced):
        raise ConvergenceError(
            f"{formula}: the ML optimiser did not reach the optimum (a random-intercept-only "
            f"fit has a higher log-likelihood, yet some slope variance improves it). {_advice()}"
        )
    return _to_estimates(reduced, to_fit, back, correlated=False)


def _check_method(method: str | Sequence[str], correlated: bool) -> None:
    methods = {method} if isinstance(method, str) else set(method)
    derivative_free = sorted(methods & {"nm", "powell"})
    if derivative_free and not correlated:
        raise SpecError(
            f"method {derivative_free} ignores the zero intercept-slope correlation of "
            "correlated=False (statsmodels applies it through the gradient); use 'lbfgs', "
            "'bfgs' or 'cg'"
        )


def _run_mixedlm(y, x, groups, z, free, method, maxiter, *, polish=True):
    """One statsmodels ML fit, polished; returns (model, fit, converged).

    statsmodels' convergence warnings are replaced by explicit checks. MixedLM.fit cannot pass
    a gradient tolerance to L-BFGS, which stops up to 1e-7 short in log-likelihood; a short
    BFGS run with ``gtol=1e-9`` from that solution reaches lme4's optimum to about 1e-12 and
    is kept only if it does not lower the log-likelihood.
    """
    model = MixedLM(y, x, groups, exog_re=z)
    methods = [method] if isinstance(method, str) else list(method)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name in methods:
            fit = model.fit(reml=False, method=name, maxiter=maxiter, free=free)
            if fit.converged:
                break
        converged = bool(fit.converged) and np.isfinite(fit.llf)
        if converged and polish:
            polished = model.fit(
                reml=False,
                method="bfgs",
                maxiter=20,
                free=free,
                start_params=fit.params_object,
                gtol=1e-9,
            )
            if polished.llf >= fit.llf:
                fit = polished
    for w in caught:
        if not str(w.message).startswith(_HANDLED_WARNINGS):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return model, fit, converged


def _check_full(fit, converged: bool, formula: str, *, correlated: bool) -> None:
    """Raise ConvergenceError unless the full (intercept and slope) fit is a proper maximum."""
    if not converged:
        raise ConvergenceError(
            f"{formula}: the ML optimiser did not converge (or the log-likelihood is not "
            f"finite). {_advice()}"
        )
    corr = _correlation(np.asarray(fit.cov_re))
    if correlated and not abs(corr) < CORR_BOUNDARY:
        raise ConvergenceError(
            f"{formula}: the intercept-slope correlation ({corr:.3f}) is at the +-1 boundary, "
            "where statsmodels does not locate the ML optimum reliably; fit correlated=False."
        )
    if not _hessian_positive_definite(fit):
        raise ConvergenceError(
            f"{formula}: the Hessian at the optimum is not positive definite (a saddle point "
            f"or a flat ridge, not a maximum). {_advice()}"
        )


def _slope_variance_helps(model, reduced) -> bool:
    """Whether the profiled log-likelihood rises when a slope variance enters at zero.

    Evaluated at the random-intercept-only optimum; if it does not rise (one-sided derivative
    <= 0), that optimum is the ML optimum of the full model, on the boundary (slope SD = 0).
    """
    var_int = float(np.asarray(reduced.cov_re_unscaled)[0, 0])
    step = 1e-6 * max(var_int, 1.0)

    def loglik(var_slope: float) -> float:
        params = MixedLMParams.from_components(np.zeros(model.k_fe), np.diag([var_int, var_slope]))
        return model.loglike(params, profile_fe=True)

    return loglik(2 * step) - loglik(step) > 1e-8 * max(1.0, abs(reduced.llf))


def _to_estimates(fit, to_fit: np.ndarray, back: np.ndarray, *, correlated: bool) -> _Estimates:
    cov_re = np.zeros((2, 2))
    k = np.asarray(fit.cov_re).shape[0]
    cov_re[:k, :k] = np.asarray(fit.cov_re)
    cov_re = back @ cov_re @ back
    sds = np.sqrt(np.diag(cov_re)) / np.sqrt(fit.scale)
    corr = _correlation(cov_re) if correlated else 0.0
    singular = bool(sds.min() < SINGULAR_TOL or not abs(corr) < 1 - 1e-6)
    return _Estimates(
        fe_params=np.asarray(fit.fe_params, dtype=float) * to_fit,
        cov_re=cov_re,
        scale=float(fit.scale),
        loglik=float(fit.llf),
        singular=singular,
    )


def _correlation(cov_re: np.ndarray) -> float:
    denom = np.sqrt(cov_re[0, 0] * cov_re[1, 1])
    return float(cov_re[0, 1] / denom) if denom > 0 else float("nan")


def _variance_components(est: _Estimates, correlated: bool) -> dict[str, float]:
    sds = np.sqrt(np.clip(np.diag(est.cov_re), 0.0, None))
    out = {"sd_intercept": float(sds[0]), "sd_slope": float(sds[1])}
    if correlated:
        out["corr"] = _correlation(est.cov_re)
    out["sd_residual"] = float(np.sqrt(est.scale))
    return out


def _hessian_positive_definite(fit) -> bool:
    """Check the inverse Hessian (``cov_params``) on the free parameters."""
    cov = np.asarray(fit.cov_params())
    if fit.freepat is not None:
        free = np.flatnonzero(fit.freepat.get_packed(use_sqrt=False, has_fe=True))
        cov = cov[np.ix_(free, free)]
    if not np.all(np.isfinite(cov)):
        return False
    return bool(np.all(np.linalg.eigvalsh((cov + cov.T) / 2) > 0))


def _fixed_covariance(used: pd.DataFrame, x: pd.DataFrame, est: _Estimates, time: str, group: str):
    """``(X' V^-1 X)^-1`` at the ML variance components (lme4's ``vcov``)."""
    xm = x.to_numpy()
    z = np.column_stack([np.ones(len(used)), used[time].to_numpy(float)])
    info = np.zeros((xm.shape[1], xm.shape[1]))
    for rows in used.groupby(group, sort=False).indices.values():
        zi, xi = z[rows], xm[rows]
        v = zi @ est.cov_re @ zi.T + est.scale * np.eye(len(rows))
        info += xi.T @ np.linalg.solve(v, xi)
    cov = np.linalg.inv(info)
    return pd.DataFrame(cov, index=x.columns, columns=x.columns)


def _build_result(
    *,
    used: pd.DataFrame,
    x: pd.DataFrame,
    est: _Estimates,
    n_excluded: int,
    formula: str,
    names: dict,
    levels: tuple,
    correlated: bool,
) -> MixedResult:
    cov = _fixed_covariance(used, x, est, names["time"], names["group"])
    se = np.sqrt(np.diag(cov.to_numpy()))
    low, high = _wald_interval(est.fe_params, se)
    z = est.fe_params / se
    fixed = pd.DataFrame(
        {
            "term": list(x.columns),
            "estimate": est.fe_params,
            "se": se,
            "ci_low": low,
            "ci_high": high,
            "z": z,
            "p_value": 2 * stats.norm.sf(np.abs(z)),
        }
    )
    components = _variance_components(est, correlated)
    variance = pd.DataFrame({"component": list(components), "sd": list(components.values())})
    n_params = x.shape[1] + (3 if correlated else 2) + 1
    n_base = 2 * max(1, len(levels))  # intercept and time, plus period and time:period terms
    return MixedResult(
        fixed=fixed,
        variance=variance,
        loglik=est.loglik,
        aic=-2 * est.loglik + 2 * n_params,
        bic=-2 * est.loglik + np.log(len(used)) * n_params,
        n_obs=len(used),
        n_groups=int(used[names["group"]].nunique()),
        n_excluded=n_excluded,
        n_params=n_params,
        converged=True,
        singular=est.singular,
        formula=formula,
        outcome=names["outcome"],
        time=names["time"],
        group=names["group"],
        period=names["period"],
        period_levels=levels,
        correlated=correlated,
        fixed_cov=cov,
        covariate_means=x.iloc[:, n_base:].mean(),
    )


# --- predictions --------------------------------------------------------------------------------


def _fixed_design_rows(result: MixedResult, times: np.ndarray, levels: list) -> np.ndarray:
    """Design rows for (time, period level) pairs, covariates at their means."""
    terms = result.fixed["term"].tolist()
    rows = np.zeros((len(times), len(terms)))
    col = {t: i for i, t in enumerate(terms)}
    rows[:, col["Intercept"]] = 1.0
    rows[:, col[result.time]] = times
    for name, mean in result.covariate_means.items():
        rows[:, col[name]] = mean
    for k, lv in enumerate(levels):
        if lv is not None and lv != result.period_levels[0]:
            rows[k, col[f"{result.period}[{lv}]"]] = 1.0
            rows[k, col[f"{result.time}:{result.period}[{lv}]"]] = times[k]
    return rows


def _linear_combination(result: MixedResult, design: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    beta = result.fixed["estimate"].to_numpy()
    cov = result.fixed_cov.to_numpy()
    estimate = design @ beta
    se = np.sqrt(np.einsum("ij,jk,ik->i", design, cov, design))
    return estimate, se


def _wald_interval(estimate, se, ci_prob: float = CI_PROB) -> tuple[np.ndarray, np.ndarray]:
    q = stats.norm.ppf(0.5 + ci_prob / 2)
    return estimate - q * se, estimate + q * se


def _sd_for(sd: float | Mapping[str, float], label: str) -> float:
    value = sd.get(label) if isinstance(sd, Mapping) else sd
    if value is None:
        raise SpecError(
            f"sd has no entry for period {label!r}: give a number, or a mapping with one entry "
            'per period level ("pooled" for the linear model)'
        )
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise SpecError(f"sd must be a positive number, got {value!r} for {label!r}")
    return value


def _check_nested(linear: MixedResult, period: MixedResult) -> None:
    problems = []
    if linear.period is not None or period.period is None:
        problems.append("pass the model without period first and the one with period second")
    if linear.outcome != period.outcome:
        problems.append(f"different outcomes ({linear.outcome!r}, {period.outcome!r})")
    if (linear.n_obs, linear.n_groups) != (period.n_obs, period.n_groups):
        problems.append("the fits use different rows (n_obs or n_groups differ)")
    if linear.correlated != period.correlated:
        problems.append("the random-effects structures differ (correlated=True vs False)")
    if problems:
        raise SpecError("compare_aic needs nested fits on the same rows: " + "; ".join(problems))
