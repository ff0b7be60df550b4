"""A column's codes onto the schema's values, by a mapping's ``[values]`` table or SPSS labels.

A value is looked up in the mapping by its code (``"1"``) first, then by its SPSS value label
(``"Periode 1"``); a value the mapping does not name is kept when it is already a schema value,
or when its label is. So ``"1" = "I"`` and ``"Periode 1" = "I"`` both work on a labelled
``.sav`` file, and a file that already says ``I`` / ``II`` needs no mapping.

Examples
--------
>>> import pandas as pd
>>> column = pd.Series([1.0, 2.0, 3.0], index=[1, 2, 3])
>>> coded = recode(column, {"1": "I"}, {1.0: "Periode 1", 2.0: "II", 3.0: "Periode 3"},
...                levels=("I", "II"))
>>> coded.values.tolist(), coded.unknown, coded.unused
(['I', 'II', None], {("'Periode 3'", 'code 3; '): [3]}, [])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MAX_ROWS_SHOWN = 5
"""How many rows (or distinct values) a message lists before "and N more"."""


def as_text(value: object) -> str:
    """Text form of a code: 1, 1.0 and "1" all become "1".

    Examples
    --------
    >>> as_text(1.0), as_text(" I "), as_text(2.5)
    ('1', 'I', '2.5')
    """
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def rows_text(found: dict) -> str:
    """'5.2' at row 3, ... (at most MAX_ROWS_SHOWN shown).

    Examples
    --------
    >>> rows_text({3: "5.2", 7: "x"})
    "'5.2' at row 3, 'x' at row 7"
    """
    items = [f"{value!r} at row {row}" for row, value in list(found.items())[:MAX_ROWS_SHOWN]]
    more = len(found) - MAX_ROWS_SHOWN
    return ", ".join(items) + (f" and {more} more" if more > 0 else "")


@dataclass(frozen=True)
class Recoded:
    """A recoded column.

    Attributes
    ----------
    values : pandas.Series
        Schema values (None where unknown or missing), or the codes kept as they were.
    unknown : dict
        Each distinct unknown value, as (value shown, its code when a label is shown) -> the
        rows that hold it.
    unused : list of str
        Mapping keys that matched no value of the column.
    """

    values: pd.Series
    unknown: dict[tuple[str, str], list] = field(default_factory=dict)
    unused: list[str] = field(default_factory=list)


def recode(
    column: pd.Series,
    codes: Mapping[str, str],
    labels: Mapping | None = None,
    *,
    levels: tuple[str, ...] | None = None,
) -> Recoded:
    """Map a column's values by code or label onto the schema's values.

    Parameters
    ----------
    column : pandas.Series
        The values as read (codes), indexed by data row.
    codes : mapping
        The mapping's ``[values.<column>]`` table: code or label (as text) -> schema value.
    labels : mapping, optional
        SPSS value labels of the column: code -> label.
    levels : tuple of str, optional
        The schema's values for a label column; values that resolve to none of them are
        unknown. Without ``levels`` (numeric columns) unmapped values are kept as they are.

    Returns
    -------
    Recoded
    """
    label_of = {as_text(k): str(v) for k, v in (labels or {}).items()}
    used: set[str] = set()
    unknown: dict[tuple[str, str], list] = {}

    def one(value: object) -> tuple[object, tuple[str, str] | None]:
        """The recoded value, and how an unknown value is shown (None when known)."""
        if pd.isna(value):
            return None, None
        code = as_text(value)
        label = label_of.get(code)
        for key in (code, label):
            if key is not None and key in codes:
                used.add(key)
                return codes[key], None
        if levels is None:
            return value, None
        for candidate in (code, label):
            if candidate in levels:
                return candidate, None
        return None, (f"'{label}'", f"code {code}; ") if label is not None else (repr(code), "")

    out = []
    for row, (value, shown) in zip(column.index, by_value(one, column), strict=True):
        out.append(value)
        if shown is not None:
            unknown.setdefault(shown, []).append(row)
    values = pd.Series(out, index=column.index, dtype=object)
    return Recoded(values, unknown, [k for k in codes if k not in used])


def by_value(fn: Callable[[object], object], column: pd.Series) -> list:
    """``[fn(v) for v in column]``, computing ``fn`` once per distinct value (a register has
    many rows and few distinct codes); ``fn`` must depend on the value and its type only.

    Examples
    --------
    >>> calls = []
    >>> by_value(lambda v: calls.append(v) or str(v), pd.Series([1, 1, 2.0, "1", 1]))
    ['1', '1', '2.0', '1', '1']
    >>> calls
    [1, 2.0, '1']
    """
    memo: dict = {}
    out = []
    for value in column:
        try:
            key = (type(value), value)
            hit = memo[key] if key in memo else memo.setdefault(key, fn(value))
        except TypeError:  # unhashable: computed each time
            hit = fn(value)
        out.append(hit)
    return out


def with_labels(column: pd.Series, labels: Mapping) -> pd.Series:
    """A column outside the schema with its SPSS value labels in place of the codes."""
    label_of = {as_text(k): v for k, v in labels.items()}
    return column.map(lambda v: v if pd.isna(v) else label_of.get(as_text(v), v))


def unknown_text(unknown: Mapping[tuple[str, str], list]) -> str:
    """Each distinct unknown value once, with its code (if labelled), count and first row.

    Examples
    --------
    >>> unknown_text({("'III'", ""): [5], ("'Periode 3'", "code 3; "): [40, 41, 42]})
    "'III' (row 5), 'Periode 3' (code 3; 3 rows, first 40)"
    """
    items = [f"{shown} ({code}" + (f"row {rows[0]})" if len(rows) == 1
                                   else f"{len(rows)} rows, first {rows[0]})")
             for (shown, code), rows in list(unknown.items())[:MAX_ROWS_SHOWN]]
    more = len(unknown) - MAX_ROWS_SHOWN
    return ", ".join(items) + (f" and {more} more distinct value(s)" if more > 0 else "")
