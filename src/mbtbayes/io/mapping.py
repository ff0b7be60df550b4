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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mbtbayes.core.errors import SpecError
from mbtbayes.core.hints import did_you_mean
from mbtbayes.io import schema
from mbtbayes.io.codes import Recoded, as_text, recode, rows_text, unknown_text, with_labels

MAPPING_KEYS = ("columns", "values", "missing_codes")
ALL_COLUMNS = "all"
"""The key of ``[missing_codes]`` that holds the global codes."""
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
    missing_codes : tuple
        Codes (numbers or text) that mean "missing" in every column whose valid values do not
        contain them (e.g. 99 in a 0-40 sum score, not in a 0-100 scale).
    column_codes : dict
        Schema column -> codes that mean "missing" in that column, always.
    """

    columns: dict[str, str]
    values: dict[str, dict[str, str]]
    missing_codes: tuple[float | str, ...] = ()
    column_codes: dict[str, tuple[float | str, ...]] = field(default_factory=dict)


def read_mapping(mapping: str | Path | Mapping | ColumnMapping | None) -> ColumnMapping:
    """Read a column mapping from a TOML file or a dict.

    Parameters
    ----------
    mapping : path, dict, ColumnMapping or None
        A TOML file (or the same structure as a dict) with the tables ``[columns]``
        (``schema_name = "your_column"``), ``[values.<schema_column>]``
        (``"your value" = "schema value"``, e.g. ``"1" = "I"``) and optional missing codes:
        a list ``missing_codes = [99, 999]`` (for every column whose valid values do not
        contain the code), or a table ``[missing_codes]`` of per-column lists
        (``eq_vas = [999]``, always missing in that column) with ``all = [...]`` for the
        global codes. Codes are numbers or text (``"."``).

    Returns
    -------
    ColumnMapping

    Raises
    ------
    SpecError
        Naming every mistake in the mapping at once: unknown keys or schema names (with a
        did-you-mean hint), values the schema does not know, malformed tables and codes.

    Examples
    --------
    >>> m = read_mapping({"columns": {"patient_id": "pasnr"}, "values": {"period": {"1": "I"}}})
    >>> m.columns["patient_id"]
    'pasnr'
    >>> read_mapping({"missing_codes": {"all": [99], "eq_vas": [999, "."]}}).column_codes
    {'eq_vas': (999, '.')}
    """
    if mapping is None:
        return ColumnMapping({}, {})
    if isinstance(mapping, ColumnMapping):
        return mapping
    raw = dict(mapping) if isinstance(mapping, Mapping) else _read_toml(Path(mapping))
    problems: list[str] = []
    problems += _unknown(raw, MAPPING_KEYS, "mapping")
    columns = {str(k): str(v) for k, v in _table(raw, "columns", "[columns]", problems).items()}
    problems += _unknown(columns, schema_names(), "[columns]") + _one_each(columns)
    values = {str(k): {as_text(a): as_text(b)
                       for a, b in _table(v, None, f"[values.{k}]", problems).items()}
              for k, v in _table(raw, "values", "[values]", problems).items()}
    problems += _unknown(values, value_columns(), "[values]")
    for column, codes in values.items():
        problems += _targets(column, codes)
    codes, column_codes = _missing_codes(raw.get("missing_codes", ()), problems)
    problems += _codes_and_values(column_codes, values)
    if problems:
        raise SpecError(f"the mapping has {len(problems)} mistake(s): " + "; ".join(problems)
                        if len(problems) > 1 else problems[0])
    return ColumnMapping(columns, values, codes, column_codes)


def _unknown(given: Mapping, allowed: tuple[str, ...], where: str) -> list[str]:
    """The unknown keys of ``given`` as one problem (empty when there are none); the allowed
    keys are listed only when a key has no did-you-mean hint.

    Examples
    --------
    >>> _unknown({"colums": {}}, MAPPING_KEYS, "mapping")
    ["unknown key(s) in mapping: 'colums' (did you mean 'columns'?)"]
    """
    unknown = [str(k) for k in given if k not in allowed]
    if not unknown:
        return []
    hints = {k: did_you_mean(k, allowed) for k in unknown}
    listed = "" if all(hints.values()) else f"; allowed: {', '.join(allowed)}"
    return [f"unknown key(s) in {where}: "
            + ", ".join(f"'{k}'{hint}" for k, hint in hints.items()) + listed]


def _table(raw: object, key: str | None, where: str, problems: list[str]) -> dict:
    """``raw[key]`` (or ``raw``) as a dict; a problem (and an empty dict) when it is not a table."""
    value = raw if key is None else raw.get(key, {})
    if not isinstance(value, Mapping):
        problems.append(f"{where} must be a table of \"name\" = \"value\" pairs, got {value!r}")
        return {}
    return dict(value)


def _one_each(columns: dict[str, str]) -> list[str]:
    """Two schema names may not take the same column of the file."""
    taken: dict[str, list[str]] = {}
    for ours, theirs in columns.items():
        taken.setdefault(theirs, []).append(ours)
    twice = {theirs: ours for theirs, ours in taken.items() if len(ours) > 1}
    if not twice:
        return []
    listed = "; ".join(f"'{theirs}' for {' and '.join(ours)}" for theirs, ours in twice.items())
    return [f"[columns] names the same column for two schema names: {listed}; "
            "each of your columns can be one schema column"]


def value_columns() -> tuple[str, ...]:
    """Schema columns whose values a mapping may recode: label columns and 0/1 columns."""
    return tuple(CATEGORICAL) + _binary_names()


def code_columns() -> tuple[str, ...]:
    """Schema columns a ``[missing_codes]`` table may name (every column but the id)."""
    return tuple(n for n in schema_names() if n not in (schema.ID, schema.DATASET))


def allowed_values(column: str) -> tuple[str, ...]:
    """The schema values a ``[values.<column>]`` table may map onto."""
    return CATEGORICAL.get(column, ("0", "1"))


def _targets(column: str, codes: dict[str, str]) -> list[str]:
    allowed = allowed_values(column)
    bad = [f"'{k}' to '{v}'{_hint(v, allowed)}" for k, v in codes.items() if v not in allowed]
    if not bad:
        return []
    return [f"[values.{column}] maps {', '.join(bad)}, which the schema does not know; map "
            f"onto {' or '.join(allowed)}"]


def _hint(value: str, allowed: tuple[str, ...]) -> str:
    same = [a for a in allowed if a.casefold() == value.casefold()]
    return f" (did you mean '{same[0]}'?)" if same else did_you_mean(value, allowed)


def _missing_codes(given: object, problems: list[str]
                   ) -> tuple[tuple[float | str, ...], dict[str, tuple[float | str, ...]]]:
    """The global codes and the per-column codes of ``missing_codes`` (a list or a table)."""
    if not isinstance(given, Mapping):
        return _codes(given, "missing_codes", problems), {}
    table = {str(k): v for k, v in given.items()}
    problems += _unknown(table, (ALL_COLUMNS, *code_columns()), "[missing_codes]")
    codes = _codes(table.pop(ALL_COLUMNS, ()), f"[missing_codes] {ALL_COLUMNS}", problems)
    per_column = {k: _codes(v, f"[missing_codes] {k}", problems) for k, v in table.items()
                  if k in code_columns()}
    return codes, {k: v for k, v in per_column.items() if v}


def _codes(given: object, where: str, problems: list[str]) -> tuple[float | str, ...]:
    items = given if isinstance(given, list | tuple) else [given]
    bad = [c for c in items if isinstance(c, bool) or not isinstance(c, int | float | str)
           or (isinstance(c, str) and not c.strip())]
    if bad:
        problems.append(f"{where} must be a list of codes, numbers or text, e.g. [99, 999] or "
                        f'["."]; got {given!r}')
        return ()
    return tuple(c.strip() if isinstance(c, str) else c for c in items)


def _codes_and_values(column_codes: Mapping[str, tuple], values: Mapping[str, Mapping]
                      ) -> list[str]:
    """A per-column missing code that ``[values.<column>]`` also maps is a contradiction."""
    both = [(column, as_text(code)) for column, codes in column_codes.items() for code in codes
            if as_text(code) in values.get(column, {})]
    return [f"[missing_codes] {column} lists '{code}', which [values.{column}] maps to "
            f"'{values[column][code]}'; a code is a value or missing, not both"
            for column, code in both]


def _read_toml(path: Path) -> dict:
    if path.is_dir():
        raise SpecError(f"mapping {path} is a folder; --mapping takes a .toml file")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(f"mapping file not found: {path}") from None
    except UnicodeDecodeError as err:
        raise SpecError(f"mapping file {path} is not UTF-8 text (byte {err.object[err.start]:#04x}"
                        "); save it as UTF-8, as TOML requires") from None
    except OSError as err:
        raise SpecError(f"cannot read the mapping file {path}: {err.strerror or err}") from None
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"mapping file {path} is not valid TOML: {err}") from None


def schema_names() -> tuple[str, ...]:
    return (*schema.KEY_COLUMNS, *schema.MEASURES, schema.WAI_VERSION, *schema.PATIENT_FIELDS,
            schema.DATASET)


def _binary_names() -> tuple[str, ...]:
    return tuple(f.name for f in schema.PATIENT_FIELDS.values() if f.kind == "binary")


def apply_mapping(
    raw: pd.DataFrame, spec: ColumnMapping
) -> tuple[pd.DataFrame | None, list[str]]:
    """Rename the user's columns onto the schema; list what is missing or ambiguous.

    Returns
    -------
    frame : pandas.DataFrame or None
        Renamed, indexed by data row from 1; None when a column name is used twice (in the
        file, or by the renaming), since nothing more can be checked.
    problems : list of str
        Mapped columns the file lacks, names used twice, missing required columns, no measure
        column.
    """
    raw = raw.set_axis([as_text(c) for c in raw.columns], axis=1)
    names = list(raw.columns)
    problems = [f"the mapping names column '{theirs}' for {ours}, but the file has no such "
                f"column{did_you_mean(theirs, names)}"
                for ours, theirs in spec.columns.items() if theirs not in names]
    twice = _used_twice(names)
    if twice:
        return None, [f"column name(s) used more than once in the header: {twice}; "
                     "give each column its own name"] + problems
    renames = {theirs: ours for ours, theirs in spec.columns.items() if theirs in names}
    clashes = [f"the mapping takes column '{theirs}' as {ours}, but the file also has a column "
               f"named '{ours}'; rename or remove one of them in the file"
               for theirs, ours in renames.items() if ours in names and ours not in renames]
    if clashes:
        return None, problems + clashes
    frame = raw.rename(columns=renames)
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    missing = [c for c in schema.KEY_COLUMNS if c not in frame]
    if missing:
        problems.append(f"missing required column(s): {', '.join(missing)}"
                        + "; map your names onto them with --mapping")
    if not any(m in frame for m in schema.MEASURES):
        problems.append("no measure column found (expected at least one of "
                        + ", ".join(schema.MEASURES) + ")")
    return frame, problems


def _used_twice(names: list[str]) -> str:
    """"'bsi' (columns 3 and 9), ..." for every name that occurs more than once."""
    where: dict[str, list[int]] = {}
    for k, name in enumerate(names, start=1):
        where.setdefault(name, []).append(k)
    return ", ".join(f"'{name}' (columns {' and '.join(map(str, ks))})"
                     for name, ks in where.items() if len(ks) > 1)


def convert_types(
    frame: pd.DataFrame,
    spec: ColumnMapping,
    *,
    labels: Mapping[str, Mapping] | None = None,
    decimal_comma: bool = False,
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Recode label columns and convert numeric columns of a renamed register frame.

    Parameters
    ----------
    frame : pandas.DataFrame
        Output of :func:`apply_mapping`.
    spec : ColumnMapping
    labels : mapping, optional
        SPSS value labels by schema column name (code -> label).
    decimal_comma : bool
        Numbers may be written ``1,5``.

    Returns
    -------
    frame : pandas.DataFrame
    problems : list of str
        Non-numeric values, unknown labels (each distinct value once, with its count).
    warnings : list of str
        ``[values]`` keys that matched nothing in the data.
    """
    labels = labels or {}
    problems: list[str] = []
    warnings = [f"[values.{c}] is not used: the data have no column '{c}'"
                for c in spec.values if c not in frame]
    for column in list(frame.columns):
        codes = spec.values.get(column, {})
        if column in CATEGORICAL:
            levels = CATEGORICAL[column]
            coded = recode(frame[column], codes, labels.get(column), levels=levels)
            frame[column] = pd.Categorical(coded.values, categories=list(levels))
            if coded.unknown:
                problems.append(_unknown_problem(column, levels, coded))
                continue
        elif column in _numeric_columns():
            coded = recode(frame[column], codes, labels.get(column))
            frame[column], bad = _to_number(coded.values, decimal_comma)
            if bad:
                problems.append(f"column '{column}': non-numeric value(s) {rows_text(bad)}")
        else:
            if column in labels and column != schema.ID:
                frame[column] = with_labels(frame[column], labels[column])
            continue
        if coded.unused:
            warnings.append(f"[values.{column}]: key(s) {_quoted(coded.unused)} matched no "
                            "value in the data")
    if schema.ID in frame:
        frame[schema.ID] = frame[schema.ID].map(lambda v: v if pd.isna(v) else as_text(v))
    return frame, problems, warnings


def _quoted(keys: list[str]) -> str:
    return ", ".join(f"'{k}'" for k in keys)


def _unknown_problem(column: str, levels: tuple[str, ...], coded: Recoded) -> str:
    text = (f"column '{column}': unknown label(s) {unknown_text(coded.unknown)}; expected "
            f"{' or '.join(levels)} (map your codes under [values.{column}])")
    if coded.unused:
        text += f"; the mapping's key(s) {_quoted(coded.unused)} matched no value in the data"
    return text


def _numeric_columns() -> set[str]:
    patient = {f.name for f in schema.PATIENT_FIELDS.values() if f.kind != "category"}
    return {schema.MONTHS, schema.ASSESSMENT} | set(schema.MEASURES) | patient


def _to_number(column: pd.Series, decimal_comma: bool) -> tuple[pd.Series, dict]:
    text = column.map(lambda v: v.strip() if isinstance(v, str) else v)
    text = text.replace({"": np.nan})
    readable = text.map(lambda v: v.replace(",", ".") if isinstance(v, str) else v
                        ) if decimal_comma else text
    values = pd.to_numeric(readable, errors="coerce").astype(float)
    bad = {row: text[row] for row in values.index[values.isna() & text.notna()]}
    return values, bad
