"""Numbers for people: tables rounded to the precision that matters (CSV keeps full precision).

The rule, by column name (see :func:`column_kind`):

- counts (``n``, ``n_*``, ``divergences``, ``attempts``, ``draws``, ESS, ``*_df``) as integers;
- posterior probabilities (``p_direction``, ``p_rope``, ``prob_*``) to 2 decimals;
- p-values (``p_value``, ``*_p_value``) to 2 decimals, 3 below 0.01, and ``< 0.001`` below that;
- R-hat to 3 decimals (1.01 is the gate);
- every other number (estimates, intervals, SDs, ELPD, AIC) to 3 significant digits, with at
  most one decimal from 100 upwards (AIC 1057.2, not 1060) and in scientific notation below
  0.0001 (1.19e-08);
- missing values as empty cells; text and booleans as they are.

Examples
--------
>>> import pandas as pd
>>> t = pd.DataFrame({"mean": [0.000711216, -1.0904], "p_direction": [0.96153, 1.0],
...                   "n_at_risk": [55.0, 43.0], "aic_linear": [1057.2079, 598.8],
...                   "p_value": [0.0002, 0.2123], "r_hat": [1.00225, 1.0101]})
>>> format_table(t).to_dict("records")[0]
{'mean': '0.000711', 'p_direction': '0.96', 'n_at_risk': '55', 'aic_linear': '1057.2', \
'p_value': '< 0.001', 'r_hat': '1.002'}
"""

from __future__ import annotations

import math
import re

import pandas as pd

_COUNT = re.compile(r"^(n|n_.*|.*_n|divergences|attempts|draws|chains|tune|(.*_)?ess(_.*)?|.*_df|"
                    r"assessments_(min|max)|seed|.*_count)$")
_PROBABILITY = re.compile(r"^(p_direction|p_rope|prob_.*|.*_probability)$")
_P_VALUE = re.compile(r"^(p_value|.*_p_value|p)$")
_R_HAT = re.compile(r"^(r_hat|.*_r_hat)$")


def column_kind(name: str) -> str:
    """How a column is rounded: ``count``, ``probability``, ``p_value``, ``r_hat`` or
    ``estimate``.

    Examples
    --------
    >>> [column_kind(c) for c in ("n_remitted", "prob_ii_worse", "lrt_p_value", "d_mean")]
    ['count', 'probability', 'p_value', 'estimate']
    """
    for kind, pattern in (("count", _COUNT), ("probability", _PROBABILITY),
                          ("p_value", _P_VALUE), ("r_hat", _R_HAT)):
        if pattern.match(name):
            return kind
    return "estimate"


def significant(x: float, digits: int = 3) -> str:
    """A number to ``digits`` significant digits, at most one decimal from 100 upwards, and in
    scientific notation below 0.0001.

    Examples
    --------
    >>> significant(0.000711216), significant(-0.0312), significant(26.149), significant(-528.88)
    ('0.000711', '-0.0312', '26.1', '-528.9')
    >>> significant(0.0), significant(1.0), significant(1.19e-08)
    ('0', '1.00', '1.19e-08')
    """
    if x == 0:
        return "0"
    if not math.isfinite(x):
        return str(x)
    if abs(x) >= 100:
        return f"{x:.1f}"
    if abs(x) < 1e-4:
        return f"{x:.{digits - 1}e}"
    decimals = digits - 1 - math.floor(math.log10(abs(x)))
    text = f"{x:.{max(decimals, 0)}f}"
    return "0" if float(text) == 0 else text


def p_value(p: float) -> str:
    """A p-value: 2 decimals, 3 below 0.01, ``< 0.001`` below that.

    Examples
    --------
    >>> p_value(0.2123), p_value(0.0054), p_value(5e-27)
    ('0.21', '0.005', '< 0.001')
    """
    if p < 0.001:
        return "< 0.001"
    return f"{p:.3f}" if p < 0.01 else f"{p:.2f}"


def format_value(value: object, kind: str) -> str:
    """One cell as text, by the column's kind (:func:`column_kind`)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    x = float(value)
    if kind == "count" or (isinstance(value, int) and kind == "estimate"):
        return str(round(x)) if math.isfinite(x) else str(x)
    if kind == "probability":
        return f"{x:.2f}"
    if kind == "p_value":
        return p_value(x)
    if kind == "r_hat":
        return f"{x:.3f}"
    return significant(x)


def format_table(table: pd.DataFrame) -> pd.DataFrame:
    """Every cell of a table as rounded text, by column (see the module docstring).

    Parameters
    ----------
    table : pandas.DataFrame

    Returns
    -------
    pandas.DataFrame
        Same shape and column names, every cell a string.
    """
    out = {}
    for column in table.columns:
        kind = column_kind(str(column))
        out[column] = [format_value(v.item() if hasattr(v, "item") else v, kind)
                       for v in table[column].tolist()]
    return pd.DataFrame(out, index=table.index, columns=table.columns)


def markdown_table(table: pd.DataFrame) -> str:
    """A table as a GitHub Markdown table, rounded for reading, numbers right-aligned.

    Examples
    --------
    >>> import pandas as pd
    >>> print(markdown_table(pd.DataFrame({"measure": ["bsi"], "mean": [0.16053407]})))
    | measure   |   mean |
    |:----------|-------:|
    | bsi       |  0.161 |
    """
    text = format_table(table)
    align = ["right" if pd.api.types.is_numeric_dtype(table[c])
             and not pd.api.types.is_bool_dtype(table[c]) else "left" for c in table.columns]
    return text.to_markdown(index=False, disable_numparse=True, colalign=align)
