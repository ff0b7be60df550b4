"""Cells that mean "missing": empty cells, marks and missing codes, read as missing, counted.

Every schema column is read the same way: an empty cell and the marks in :data:`MARKS` (``.``,
``-``, ``NA``, ``n/a``, ...) are missing; a mapping's per-column codes
(``[missing_codes] eq_vas = [999]``) are missing in their column always; a global code
(``missing_codes = [99, 999]``) is missing only in a column whose valid values do not contain
it (so 99 stays a score on the 0-100 EQ-VAS, and is missing in the 0-40 WSAS). Every cell
read as missing is counted per column and code; a global code kept as a value is a warning.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"wsas": ["12", "99", "NA"], "eq_vas": ["99", "", "999"]})
>>> read = mark_missing(frame, codes=("99",), column_codes={"eq_vas": ("999",)})
>>> read.frame["wsas"].tolist(), read.frame["eq_vas"].tolist()
(['12', nan, nan], ['99', nan, nan])
>>> read.counts[["column", "code", "n"]].values.tolist()
[['wsas', '99', 1], ['wsas', 'NA', 1], ['eq_vas', '(empty)', 1], ['eq_vas', '999', 1]]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mbtbayes.io import schema
from mbtbayes.io.codes import by_value

MARKS: tuple[str, ...] = (".", "-", "NA", "N/A", "n/a", "NaN", "null", "None", "#N/A")
"""Texts read as missing in every schema column, besides an empty cell (case does not matter)."""

_MARKS = {m.casefold() for m in MARKS} | {""}

EMPTY = "(empty)"
"""How an empty cell (or a missing value in an ``.xlsx``, Parquet or ``.sav`` file) is counted."""

RULES = {"empty": "empty cell", "mark": "missing mark", "column": "code for this column",
         "all": "code for all columns"}
"""The ``rule`` of a count: why the cells were read as missing."""

COUNT_COLUMNS = ("column", "code", "n", "rule")


@dataclass(frozen=True)
class Missing:
    """A frame with its missing cells as NaN, and what was read as missing.

    Attributes
    ----------
    frame : pandas.DataFrame
        The frame, with every missing cell of a schema column as NaN.
    counts : pandas.DataFrame
        One row per column and code: ``column``, ``code`` (as text; ``(empty)`` for empty
        cells), ``n`` (cells) and ``rule`` (see :data:`RULES`).
    warnings : list of str
        Global codes kept as values, where a column's valid values contain them.
    """

    frame: pd.DataFrame
    counts: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


def code_key(value: object) -> float | str:
    """The key a cell and a code are compared by: a number when it reads as one, else text.

    Examples
    --------
    >>> code_key("99.0") == code_key(99), code_key(" . ")
    (True, '.')
    """
    text = value.strip() if isinstance(value, str) else value
    try:
        number = float(text)
    except (TypeError, ValueError):
        return str(text)
    return number if not math.isnan(number) else str(text)


def holds(column: str, code: object) -> bool:
    """Whether ``code`` is a valid value of ``column`` (its range, 0/1, or its levels).

    Examples
    --------
    >>> holds("eq_vas", 99), holds("wsas", 99), holds("period", "II"), holds("dropout", 9)
    (True, False, True, False)
    """
    key = code_key(code)
    if column in (schema.ID, schema.DATASET):
        return True
    levels = _levels(column)
    if levels is not None:
        return str(code).strip() in levels
    if isinstance(key, str):
        return False
    field_ = schema.PATIENT_FIELDS.get(column)
    if field_ is not None and field_.kind == "binary":
        return key in (0.0, 1.0)
    low, high = valid_range(column)
    return low <= key <= high


def _levels(column: str) -> tuple[str, ...] | None:
    if column == schema.PERIOD:
        return schema.PERIODS
    if column == schema.WAI_VERSION:
        return schema.WAI_VERSIONS
    field_ = schema.PATIENT_FIELDS.get(column)
    return field_.levels if field_ is not None and field_.kind == "category" else None


def valid_range(column: str) -> tuple[float, float]:
    """The inclusive range of a numeric schema column (0-1 for a 0/1 column)."""
    if column in schema.MEASURES:
        return schema.MEASURES[column].low, schema.MEASURES[column].high
    if column == schema.MONTHS:
        return 0.0, math.inf
    if column == schema.ASSESSMENT:
        return 1.0, float(schema.MAX_ASSESSMENTS)
    field_ = schema.PATIENT_FIELDS[column]
    return (0.0, 1.0) if field_.kind == "binary" else (field_.low, field_.high)


def mark_missing(
    frame: pd.DataFrame,
    *,
    codes: Iterable[object] = (),
    column_codes: Mapping[str, Iterable[object]] | None = None,
    mapped: Mapping[str, Iterable[str]] | None = None,
    columns: Iterable[str] | None = None,
) -> Missing:
    """Read empty cells, missing marks and missing codes as missing, and count them.

    Parameters
    ----------
    frame : pandas.DataFrame
        A renamed register frame (schema names), cells as read.
    codes : iterable
        Global missing codes: missing where the column's valid values do not contain them.
    column_codes : mapping, optional
        Per-column missing codes: missing in that column always.
    mapped : mapping, optional
        The mapping's ``[values.<column>]`` keys: a cell a mapping names is a value, never
        missing by a global code or a mark.
    columns : iterable of str, optional
        The columns to read (default: every schema column in ``frame``).

    Returns
    -------
    Missing
    """
    column_codes = column_codes or {}
    mapped = mapped or {}
    names = [c for c in (columns if columns is not None else _schema_columns()) if c in frame]
    frame = frame.copy()
    rows: list[dict] = []
    kept: dict[str, dict[str, int]] = {}
    for column in names:
        own = {code_key(c): c for c in column_codes.get(column, ())}
        glob = {code_key(c): c for c in codes}
        values = {code_key(k) for k in mapped.get(column, ())}
        why = by_value(lambda v: _why(v, own, glob, values, column), frame[column])  # noqa: B023
        for (rule, code), n in pd.Series(why, dtype=object).value_counts(sort=False).items():
            if rule == "kept":
                kept.setdefault(code, {})[column] = int(n)
            elif rule is not None:
                rows.append({"column": column, "code": code, "n": int(n), "rule": RULES[rule]})
        missing = np.array([w[0] not in (None, "kept") for w in why], dtype=bool)
        frame[column] = frame[column].astype(object).where(~missing, np.nan)
    counts = pd.DataFrame(rows, columns=list(COUNT_COLUMNS)).astype({"n": int})
    return Missing(frame, counts, _kept_warnings(kept))


_NONE = (None, None)


def _why(value: object, own: dict, glob: dict, values: set, column: str) -> tuple:
    """(rule, code shown) for a cell read as missing; ("kept", code) for a global code kept."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "empty", EMPTY
    if value is pd.NA or value is pd.NaT:
        return "empty", EMPTY
    key = code_key(value)
    if key in own:
        return "column", _shown(own[key])
    if key in values:
        return _NONE
    text = str(value).strip()
    if text.casefold() in _MARKS:
        return ("empty", EMPTY) if not text else ("mark", text)
    if key in glob:
        return ("kept", _shown(glob[key])) if holds(column, key) else (
            "all", _shown(glob[key]))
    return _NONE


def _shown(code: object) -> str:
    if isinstance(code, float) and code.is_integer():
        return str(int(code))
    return str(code).strip()


def _kept_warnings(kept: dict[str, dict[str, int]]) -> list[str]:
    return [f"missing code {code} (for all columns) kept as a value where it is valid: "
            + ", ".join(f"{c} ({n} cell(s))" for c, n in where.items())
            + f"; to read it as missing there, list it per column, e.g. [missing_codes] "
            f"{next(iter(where))} = [{code if _number(code) else repr(code)}]"
            for code, where in kept.items()]


def _number(code: str) -> bool:
    return not isinstance(code_key(code), str)


def _schema_columns() -> tuple[str, ...]:
    return (*schema.KEY_COLUMNS, *schema.MEASURES, schema.WAI_VERSION, *schema.PATIENT_FIELDS)


def counts_text(counts: pd.DataFrame) -> list[str]:
    """One line per column: each code with its cells, e.g. ``eq_vas: '999' x 3, (empty) x 54``.

    Examples
    --------
    >>> counts = pd.DataFrame({"column": ["eq_vas", "eq_vas"], "code": ["999", "(empty)"],
    ...                        "n": [3, 54], "rule": ["code for this column", "empty cell"]})
    >>> counts_text(counts)
    ["eq_vas: '999' x 3 (code for this column), (empty) x 54"]
    """
    lines = []
    for column, rows in counts.groupby("column", sort=False):
        parts = [(r.code if r.code == EMPTY else repr(r.code)) + f" x {r.n}"
                 + (f" ({r.rule})" if r.rule not in (RULES["empty"], RULES["mark"]) else "")
                 for r in rows.itertuples()]
        lines.append(f"{column}: " + ", ".join(parts))
    return lines
