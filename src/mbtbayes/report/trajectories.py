"""Observed means per period and wave, the data the figures draw beside the model's
population means (which come from :mod:`mbtbayes.growth.trajectories`, the one implementation
of the model's trajectories).

Examples
--------
>>> df = pd.DataFrame({"y": [1.0, 3.0], "t": [0, 1], "assessment": [1, 1], "g": ["I", "I"]})
>>> observed_waves(df, outcome="y", time="t", period="g")[["period", "wave", "n", "mean"]]
  period  wave  n  mean
0      I     1  2   2.0
"""

from __future__ import annotations

import numpy as np
import pandas as pd


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
