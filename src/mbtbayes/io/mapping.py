"""A user's column names and codes onto the schema: the mapping file, renaming, type conversion.

Examples
--------
>>> m = read_mapping({"columns": {"patient_id": "pasnr"}, "values": {"period": {"1": "I"}}})
>>> m.columns["patient_id"]
'pasnr'
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mbtbayes.core.errors import SpecError
from mbtbayes.core.hints import check_keys, did_you_mean
from mbtbayes.io import schema

MAX_ROWS_SHOWN = 5
MAPPING_KEYS = ("columns", "values", "missing_codes")
CATEGORICAL = {schema.PERIOD: schema.PERIODS, schema.WAI_VERSION: schema.WAI_VERSIONS} | {
    f.name: f.levels for f in schema.PATIENT_FIELDS.values() if f.kind == "category"
}


@dataclass(frozen=True)
class ColumnMapping:
    """A column mapping: the user's names and codes onto the schema.

    Attributes
    ----------
    columns : dict
        Schema name -> the user's column name.
    values : dict
        Schema column -> {user's value (as text): schema value}.
    missing_codes : tuple of float
        Numeric codes that mean "missing" (e.g. 99, 999) in numeric columns.
    """

    columns: dict[str, str]
    values: dict[str, dict[str, str]]
    missing_codes: tuple[float, ...] = ()


def read_mapping(mapping: str | Path | Mapping | ColumnMapping | None) -> ColumnMapping:
    """Read a column mapping from a TOML file or a dict.

    Parameters
    ----------
    mapping : path, dict, ColumnMapping or None
        A TOML file (or the same structure as a dict) with the tables ``[columns]``
        (``schema_name = "your_column"``), ``[values.<schema_column>]``
        (``"your value" = "schema value"``, e.g. ``"1" = "I"``) and an optional
        ``missing_codes = [99, 999]``.

    Returns
    -------
    ColumnMapping

    Raises
    ------
    SpecError
        On unknown keys or schema names (with a did-you-mean hint).

    Examples
    --------
    >>> m = read_mapping({"columns": {"patient_id": "pasnr"}, "values": {"period": {"1": "I"}}})
    >>> m.columns["patient_id"]
    'pasnr'
    """
    if mapping is None:
        return ColumnMapping({}, {})
    if isinstance(mapping, ColumnMapping):
        return mapping
    raw = dict(mapping) if isinstance(mapping, Mapping) else _read_toml(Path(mapping))
    check_keys(raw, MAPPING_KEYS, "mapping")
    columns = {str(k): str(v) for k, v in dict(raw.get("columns", {})).items()}
    check_keys(columns, schema_names(), "[columns]")
    values = {str(k): {as_text(a): str(b) for a, b in dict(v).items()}
              for k, v in dict(raw.get("values", {})).items()}
    check_keys(values, tuple(CATEGORICAL) + _binary_names(), "[values]")
    codes = tuple(float(c) for c in raw.get("missing_codes", ()))
    return ColumnMapping(columns, values, codes)


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(f"mapping file not found: {path}") from None
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"mapping file {path} is not valid TOML: {err}") from None


def schema_names() -> tuple[str, ...]:
    return (*schema.KEY_COLUMNS, *schema.MEASURES, schema.WAI_VERSION, *schema.PATIENT_FIELDS,
            schema.DATASET)


def _binary_names() -> tuple[str, ...]:
    return tuple(f.name for f in schema.PATIENT_FIELDS.values() if f.kind == "binary")


def as_text(value: object) -> str:
    """Text form of a code: 1, 1.0 and "1" all become "1"."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def apply_mapping(raw: pd.DataFrame, spec: ColumnMapping) -> tuple[pd.DataFrame, list[str]]:
    problems = [f"the mapping names column '{theirs}' for {ours}, but the file has no such "
                f"column{did_you_mean(theirs, tuple(map(str, raw.columns)))}"
                for ours, theirs in spec.columns.items() if theirs not in raw]
    renames = {theirs: ours for ours, theirs in spec.columns.items() if theirs in raw}
    frame = raw.rename(columns=renames).copy()
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    missing = [c for c in schema.KEY_COLUMNS if c not in frame]
    if missing:
        problems.append(f"missing required column(s): {', '.join(missing)}"
                        + "; map your names onto them with --mapping")
    if not any(m in frame for m in schema.MEASURES):
        problems.append("no measure column found (expected at least one of "
                        + ", ".join(schema.MEASURES) + ")")
    return frame, problems


def convert_types(frame: pd.DataFrame, spec: ColumnMapping) -> tuple[pd.DataFrame, list[str]]:
    problems: list[str] = []
    numeric = [c for c in frame if c in _numeric_columns()]
    for column in numeric:
        frame[column], bad = _to_number(frame[column], spec.missing_codes)
        if bad:
            problems.append(f"column '{column}': non-numeric value(s) {rows_text(bad)}")
    for column, levels in CATEGORICAL.items():
        if column in frame:
            frame[column], bad = _to_category(frame[column], levels, spec.values.get(column, {}))
            if bad:
                problems.append(f"column '{column}': unknown label(s) {rows_text(bad)}; expected "
                                f"{' or '.join(levels)} (map your codes under [values.{column}])")
    if schema.ID in frame:
        frame[schema.ID] = frame[schema.ID].map(lambda v: v if pd.isna(v) else as_text(v))
    return frame, problems


def _numeric_columns() -> set[str]:
    patient = {f.name for f in schema.PATIENT_FIELDS.values() if f.kind != "category"}
    return {schema.MONTHS, schema.ASSESSMENT} | set(schema.MEASURES) | patient


def _to_number(column: pd.Series, missing_codes: tuple[float, ...]) -> tuple[pd.Series, dict]:
    text = column.map(lambda v: v.strip() if isinstance(v, str) else v)
    text = text.replace({"": np.nan})
    values = pd.to_numeric(text, errors="coerce").astype(float)
    bad = {row: text[row] for row in values.index[values.isna() & text.notna()]}
    return values.where(~values.isin(missing_codes)), bad


def _to_category(
    column: pd.Series, levels: tuple[str, ...], codes: dict[str, str]
) -> tuple[pd.Series, dict]:
    text = column.map(lambda v: v if pd.isna(v) else codes.get(as_text(v), as_text(v)))
    bad = {row: column[row] for row in text.index[text.notna() & ~text.isin(levels)]}
    return pd.Categorical(text.where(text.isin(levels)), categories=list(levels)), bad


def rows_text(found: dict) -> str:
    """'5.2' at row 3, ... (at most MAX_ROWS_SHOWN shown)."""
    items = [f"{value!r} at row {row}" for row, value in list(found.items())[:MAX_ROWS_SHOWN]]
    more = len(found) - MAX_ROWS_SHOWN
    return ", ".join(items) + (f" and {more} more" if more > 0 else "")


