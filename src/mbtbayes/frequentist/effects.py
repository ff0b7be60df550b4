"""What the paper computes from the ML fits: AIC and the likelihood-ratio test, Cohen's d from
predicted values, and, at baseline, MANOVA (Pillai's trace) with the Bonferroni threshold.

Examples
--------
>>> bonferroni([0.0004, 0.02], threshold=0.001)["significant"].tolist()
[True, False]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from mbtbayes.core.errors import DataError, SpecError
from mbtbayes.frequentist.mixed import MixedResult, linear_combination
from mbtbayes.frequentist.prepare import require_columns, require_numeric, wald_interval

PAPER_BASELINE_THRESHOLD: float = 0.001
"""Per-test significance threshold the paper uses for baseline differences (Bonferroni)."""


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
    diff, diff_se = linear_combination(result, design_end - design_start)
    denom = np.array([_sd_for(sd, label) for label in grid["period"]])
    low, high = wald_interval(diff, diff_se)
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
    from statsmodels.multivariate.manova import MANOVA  # statsmodels takes a second to import

    outcomes = list(outcomes)
    require_columns(data, [*outcomes, group])
    complete = data[[*outcomes, group]].dropna()
    require_numeric(complete, outcomes)
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

