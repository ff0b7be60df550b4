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
from statsmodels.regression.mixed_linear_model import MixedLM, MixedLMParams

from mbtbayes.core.errors import ConvergenceError, SpecError
from mbtbayes.frequentist.prepare import (
    fixed_design,
    fixed_design_rows,
    linear_combination,
    lme4_formula,
    period_levels,
    prepare_rows,
    wald_interval,
)

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
        estimate, se = linear_combination(self, design)
        low, high = wald_interval(estimate, se)
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
        design = fixed_design_rows(self, grid["time"].to_numpy(), grid["period"].tolist())
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
    used, n_excluded = prepare_rows(data, outcome, time, group, period, covariates)
    levels = period_levels(used, period)
    x = fixed_design(used, time, period, levels, covariates)
    formula = lme4_formula(outcome, time, group, period, covariates, correlated)
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

    A singular-matrix failure (a variance at zero) counts as not converged (``fit`` is None
    when every method failed), so that the random-intercept-only fit can take over, as
    lme4's "boundary (singular) fit".

    statsmodels' convergence warnings are replaced by explicit checks. MixedLM.fit cannot pass
    a gradient tolerance to L-BFGS, which stops up to 1e-7 short in log-likelihood; a short
    BFGS run with ``gtol=1e-9`` from that solution reaches lme4's optimum to about 1e-12 and
    is kept only if it does not lower the log-likelihood.
    """
    model = MixedLM(y, x, groups, exog_re=z)
    methods = [method] if isinstance(method, str) else list(method)
    fit = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name in methods:
            try:
                fit = model.fit(reml=False, method=name, maxiter=maxiter, free=free)
            except np.linalg.LinAlgError:  # a variance at zero makes statsmodels' V singular
                continue
            if fit.converged:
                break
        converged = fit is not None and bool(fit.converged) and np.isfinite(fit.llf)
        if converged and polish:
            try:
                polished = model.fit(reml=False, method="bfgs", maxiter=20, free=free,
                                     start_params=fit.params_object, gtol=1e-9)
            except np.linalg.LinAlgError:
                polished = fit
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
    low, high = wald_interval(est.fe_params, se)
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
