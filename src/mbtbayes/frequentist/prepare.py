"""Data preparation and prediction helpers of the ML mixed models (internal).

Examples
--------
>>> import pandas as pd
>>> period_levels(pd.DataFrame({"period": ["II", "I", "II"]}), "period")
['I', 'II']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from mbtbayes.core.defaults import CI_PROB
from mbtbayes.core.errors import DataError, SpecError

# --- data preparation -------------------------------------------------------------------------


def require_columns(data: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise DataError(
            f"column(s) {missing} not in the data; available: {list(data.columns)}",
            problems=[f"missing column {c!r}" for c in missing],
        )


def require_numeric(data: pd.DataFrame, columns: Sequence[str]) -> None:
    bad = [c for c in columns if not pd.api.types.is_numeric_dtype(data[c])]
    if bad:
        raise DataError(
            f"column(s) {bad} must be numeric; convert them (e.g. pd.to_numeric) first",
            problems=[f"non-numeric column {c!r}" for c in bad],
        )


def prepare_rows(
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
    require_columns(data, [outcome, *predictors])
    require_numeric(data, [outcome, time])
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


def period_levels(used: pd.DataFrame, period: str | None) -> list:
    if period is None:
        return []
    levels = sorted(used[period].unique())
    if len(levels) < 2:
        raise DataError(
            f"period column {period!r} has {len(levels)} level(s) among rows with an outcome; "
            "fit the linear model (period=None) instead"
        )
    return levels


def treatment_dummies(values: pd.Series, name: str, levels: Sequence) -> pd.DataFrame:
    """Treatment coding with ``levels[0]`` as reference: columns ``name[level]``."""
    return pd.DataFrame(
        {f"{name}[{lv}]": values.eq(lv).astype(float).to_numpy() for lv in levels[1:]}
    )


def fixed_design(
    used: pd.DataFrame, time: str, period: str | None, levels: list, covariates: Sequence[str]
) -> pd.DataFrame:
    """Fixed-effects design matrix with the documented term names as columns."""
    t = used[time].to_numpy(float)
    x = pd.DataFrame({"Intercept": np.ones(len(used)), time: t})
    if period is not None:
        dummies = treatment_dummies(used[period], period, levels)
        slopes = dummies.mul(t, axis=0).add_prefix(f"{time}:")
        x = pd.concat([x, dummies, slopes], axis=1)
    for cov in covariates:
        col = used[cov]
        if pd.api.types.is_numeric_dtype(col):
            x[cov] = col.to_numpy(float)
        else:
            x = pd.concat([x, treatment_dummies(col, cov, sorted(col.unique()))], axis=1)
    if np.linalg.matrix_rank(x.to_numpy()) < x.shape[1]:
        raise DataError(f"the fixed-effects design is rank-deficient (columns {list(x.columns)})")
    return x


def lme4_formula(
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


# --- predictions --------------------------------------------------------------------------------


def wald_interval(estimate: np.ndarray | float, se: np.ndarray | float,
                  ci_prob: float = CI_PROB) -> tuple[np.ndarray, np.ndarray]:
    q = stats.norm.ppf(0.5 + ci_prob / 2)
    return estimate - q * se, estimate + q * se



