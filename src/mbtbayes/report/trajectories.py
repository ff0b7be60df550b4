"""Population trajectories per period from a growth fit, and observed means per wave.

:func:`population_trajectories` is the one place that turns a fit into population means on a
month grid; it reads the fixed effects of the linear and period formulas (``Intercept``,
time, ``period[..]``, ``time:period[..]``), holding any other covariate (for example the WAI
version) at its mean in the data the fit used, so that the curve averages over the
covariate as the sample does. Patient effects have mean zero, so the fixed-effects mean is
the population mean of a Gaussian growth model.

Examples
--------
>>> curves = population_trajectories(fit, months=[0, 12, 24])  # doctest: +SKIP
>>> list(curves.columns)  # doctest: +SKIP
['period', 'months', 'mean', 'hdi_low', 'hdi_high', 'interval']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mbtbayes.core.arviz_api import hdi
from mbtbayes.core.posterior import INTERVAL


def population_trajectories(fit, months) -> pd.DataFrame:
    """Posterior population mean per period on a month grid, with its 95% HDI.

    Parameters
    ----------
    fit : GrowthFit
        A linear fit (one curve, ``period = "pooled"``) or a period fit (one per period).
    months : array-like
        The time grid, in the spec's time unit.

    Returns
    -------
    pandas.DataFrame
        period, months, mean, hdi_low, hdi_high, interval.
    """
    spec, design = fit.spec, fit.design
    beta = fit.beta().to_numpy()
    months = np.asarray(months, dtype=float)
    rows = []
    for period, level in _levels(fit):
        X = np.column_stack([_column_values(c, spec, design, months, level)
                             for c in design.columns])
        draws = beta @ X.T  # (S, grid)
        for j, t in enumerate(months):
            low, high = hdi(draws[:, j])
            rows.append({"period": period, "months": t, "mean": float(draws[:, j].mean()),
                         "hdi_low": low, "hdi_high": high, "interval": INTERVAL})
    return pd.DataFrame(rows)


def _levels(fit) -> list[tuple[str, str | None]]:
    """(period label, design level or None for the reference period) of a fit."""
    prefix = f"{fit.spec.period}["
    levels = [c[len(prefix):-1] for c in fit.design.columns if c.startswith(prefix)]
    if fit.variant == "linear" or not levels:
        return [("pooled", None)]
    return [("I" if levels[0] == "II" else "reference", None)] + [(lv, lv) for lv in levels]


def _column_values(column: str, spec, design, months: np.ndarray,
                   level: str | None) -> np.ndarray:
    period, time = spec.period, spec.time
    if column == "Intercept":
        return np.ones_like(months)
    if column == time:
        return months
    if column.startswith(f"{period}["):
        return np.full_like(months, float(column == f"{period}[{level}]"))
    if column.startswith(f"{time}:{period}["):
        return months * float(column == f"{time}:{period}[{level}]")
    index = design.columns.index(column)  # another covariate: its mean in the data used
    return np.full_like(months, float(design.X[:, index].mean()))


def observed_waves(data: pd.DataFrame, *, outcome: str, time: str, period: str | None,
                   wave: str = "assessment") -> pd.DataFrame:
    """Observed mean and its standard error per period and wave (assessment).

    The wave's position on the time axis is the mean time of its observations.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format.
    outcome, time : str
    period : str or None
        Period column (None: pooled).
    wave : str
        Column numbering the assessments; without it, time points are used as waves.

    Returns
    -------
    pandas.DataFrame
        period, wave, months, n, mean, se.

    Examples
    --------
    >>> df = pd.DataFrame({"y": [1.0, 3.0, 2.0, 2.0], "t": [0, 1, 6, 7],
    ...                    "assessment": [1, 1, 2, 2], "g": ["I"] * 4})
    >>> observed_waves(df, outcome="y", time="t", period="g").round(3).to_dict("records")[0]
    {'period': 'I', 'wave': 1, 'months': 0.5, 'n': 2, 'mean': 2.0, 'se': 1.0}
    """
    used = data.dropna(subset=[outcome])
    wave = wave if wave in used else time
    keys = [period, wave] if period is not None and period in used else [wave]
    grouped = used.groupby(keys, observed=True)
    table = pd.DataFrame({"months": grouped[time].mean(), "n": grouped[outcome].size(),
                          "mean": grouped[outcome].mean(),
                          "se": grouped[outcome].std(ddof=1) / np.sqrt(grouped[outcome].size())})
    table = table.reset_index().rename(columns={wave: "wave", period: "period"})
    if "period" not in table:
        table.insert(0, "period", "pooled")
    table["period"] = table["period"].astype(str)
    return table[["period", "wave", "months", "n", "mean", "se"]]
