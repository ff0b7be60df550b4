"""Register data: load (CSV, Parquet, SPSS), map a user's column names, validate, summarise.

Every problem in a file is reported at once, with its column and data rows (rows are numbered from
1 at the first data row, as a spreadsheet shows them below the header). Missing measure values
are allowed and counted; nothing is dropped silently.

Examples
--------
>>> from mbtbayes.io.read import load_register
>>> reg = load_register("register.csv", mapping="mapping.toml")  # doctest: +SKIP
>>> reg.synthetic, reg.measures  # doctest: +SKIP
(False, ('bsi', 'cip', 'wsas', 'gaf'))
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mbtbayes.io import schema
from mbtbayes.core.errors import DataError, SpecError
from mbtbayes.core.hints import check_keys, did_you_mean

MAX_ROWS_SHOWN = 5
MAPPING_KEYS = ("columns", "values", "missing_codes")
CATEGORICAL = {schema.PERIOD: schema.PERIODS, schema.WAI_VERSION: schema.WAI_VERSIONS} | {
    f.name: f.levels for f in schema.PATIENT_FIELDS.values() if f.kind == "category"
}


@dataclass(frozen=True)
class Register:
    """A validated register in the package's schema.

    Attributes
    ----------
    data : pandas.DataFrame
        Long format, one row per patient x assessment, columns named as in :mod:`mbtbayes.io.schema`.
        Columns outside the schema are kept as they were, and not used.
    source : str
        Where the data came from (a path, or a description of the synthetic register).
    synthetic : bool
        True for the simulated register; every output made from it says so.
    measures : tuple of str
        Measures present in the data.
    """

    data: pd.DataFrame
    source: str
    synthetic: bool
    measures: tuple[str, ...]

    @property
    def label(self) -> str:
        """One line saying what the data are, for tables and console output."""
        kind = "SYNTHETIC register" if self.synthetic else "register"
        return f"{kind}: {self.source}"


# ---------------------------------------------------------------- mapping


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
    check_keys(columns, _schema_names(), "[columns]")
    values = {str(k): {_as_text(a): str(b) for a, b in dict(v).items()}
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


def _schema_names() -> tuple[str, ...]:
    return (*schema.KEY_COLUMNS, *schema.MEASURES, schema.WAI_VERSION, *schema.PATIENT_FIELDS,
            schema.DATASET)


def _binary_names() -> tuple[str, ...]:
    return tuple(f.name for f in schema.PATIENT_FIELDS.values() if f.kind == "binary")


def _as_text(value: object) -> str:
    """Text form of a code: 1, 1.0 and "1" all become "1"."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


# ---------------------------------------------------------------- reading files


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV, Parquet or SPSS ``.sav`` file as it is, before any mapping.

    SPSS value labels become the values of non-numeric schema columns (period, WAI version,
    gender, ...) and of columns outside the schema; numeric measures keep their numeric codes.
    SPSS user-missing values become missing.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    pandas.DataFrame
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"data file not found: {path}")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return pd.read_csv(path, dtype=str, keep_default_na=True, skipinitialspace=True)
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if suffix == ".sav":
        return _read_sav(path)
    raise DataError(f"cannot read {path}: use a .csv, .parquet or .sav file")


def _read_sav(path: Path) -> pd.DataFrame:
    import pyreadstat

    frame, meta = pyreadstat.read_sav(str(path))
    numeric_roles = set(schema.MEASURES) | {schema.MONTHS, schema.ASSESSMENT}
    for column, labels in meta.variable_value_labels.items():
        if column in numeric_roles or column not in frame:
            continue
        frame[column] = frame[column].map(lambda v, lab=labels: lab.get(v, v))
    return frame


# ---------------------------------------------------------------- load + validate


def load_register(
    path: str | Path,
    *,
    mapping: str | Path | Mapping | None = None,
) -> Register:
    """Load and validate a register extract.

    Parameters
    ----------
    path : str or Path
        CSV, Parquet or SPSS ``.sav`` file, long format (one row per patient x assessment).
    mapping : path, dict or None
        Column mapping (see :func:`read_mapping`) from the user's names onto the schema.

    Returns
    -------
    Register

    Raises
    ------
    DataError
        Listing every problem found, each with its column and rows.
    SpecError
        If the mapping itself is invalid.
    """
    spec = read_mapping(mapping)
    raw = read_table(path)
    synthetic = _is_synthetic(raw, spec)
    return prepare_register(raw, mapping=spec, source=str(path), synthetic=synthetic)


def _is_synthetic(raw: pd.DataFrame, mapping: ColumnMapping) -> bool:
    column = mapping.columns.get(schema.DATASET, schema.DATASET)
    return column in raw and bool((raw[column].astype(str) == schema.SYNTHETIC).all())


def prepare_register(
    raw: pd.DataFrame,
    *,
    mapping: str | Path | Mapping | None = None,
    source: str = "data frame",
    synthetic: bool = False,
) -> Register:
    """Map, type-convert and validate a table already in memory.

    Parameters
    ----------
    raw : pandas.DataFrame
        The table as read.
    mapping : path, dict or None
        Column mapping, see :func:`read_mapping`.
    source : str
        Name of the data, for messages.
    synthetic : bool
        Whether this is simulated data.

    Returns
    -------
    Register

    Raises
    ------
    DataError
        Listing every problem found.
    """
    spec = read_mapping(mapping)
    frame, problems = _apply_mapping(raw, spec)
    problems += _missing_keys(frame)
    frame, type_problems = _convert_types(frame, spec)
    problems += type_problems + _check_rows(frame) + _check_patients(frame)
    if problems:
        raise DataError(f"{source}: {len(problems)} problem(s): " + "; ".join(problems), problems)
    measures = tuple(m for m in schema.MEASURES if m in frame)
    data = frame.sort_values([schema.ID, schema.ASSESSMENT], kind="stable").reset_index(drop=True)
    return Register(data=data, source=source, synthetic=synthetic, measures=measures)


def _apply_mapping(raw: pd.DataFrame, spec: ColumnMapping) -> tuple[pd.DataFrame, list[str]]:
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


def _convert_types(frame: pd.DataFrame, spec: ColumnMapping) -> tuple[pd.DataFrame, list[str]]:
    problems: list[str] = []
    numeric = [c for c in frame if c in _numeric_columns()]
    for column in numeric:
        frame[column], bad = _to_number(frame[column], spec.missing_codes)
        if bad:
            problems.append(f"column '{column}': non-numeric value(s) {_rows(bad)}")
    for column, levels in CATEGORICAL.items():
        if column in frame:
            frame[column], bad = _to_category(frame[column], levels, spec.values.get(column, {}))
            if bad:
                problems.append(f"column '{column}': unknown label(s) {_rows(bad)}; expected "
                                f"{' or '.join(levels)} (map your codes under [values.{column}])")
    if schema.ID in frame:
        frame[schema.ID] = frame[schema.ID].map(lambda v: v if pd.isna(v) else _as_text(v))
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
    text = column.map(lambda v: v if pd.isna(v) else codes.get(_as_text(v), _as_text(v)))
    bad = {row: column[row] for row in text.index[text.notna() & ~text.isin(levels)]}
    return pd.Categorical(text.where(text.isin(levels)), categories=list(levels)), bad


def _rows(found: dict) -> str:
    """'5.2' at row 3, ... (at most MAX_ROWS_SHOWN shown)."""
    items = [f"{value!r} at row {row}" for row, value in list(found.items())[:MAX_ROWS_SHOWN]]
    more = len(found) - MAX_ROWS_SHOWN
    return ", ".join(items) + (f" and {more} more" if more > 0 else "")


def _missing_keys(frame: pd.DataFrame) -> list[str]:
    return [f"column '{c}': missing value(s) at row(s) {_listing(frame.index[frame[c].isna()])}"
            for c in schema.KEY_COLUMNS if c in frame and frame[c].isna().any()]


def _listing(rows) -> str:
    rows = list(rows)
    more = len(rows) - MAX_ROWS_SHOWN
    return ", ".join(map(str, rows[:MAX_ROWS_SHOWN])) + (f" and {more} more" if more > 0 else "")


def _check_rows(frame: pd.DataFrame) -> list[str]:
    problems = []
    for name, measure in schema.MEASURES.items():
        if name in frame:
            out = (frame[name] < measure.low) | (frame[name] > measure.high)
            if out.any():
                problems.append(f"column '{name}': value(s) outside {measure.low:g}-"
                                f"{measure.high:g} ({measure.label}) "
                                + _rows(_where(frame, out, name)))
    problems += _check_key_values(frame)
    problems += _check_patient_field_values(frame)
    return problems


def _where(frame: pd.DataFrame, mask: pd.Series, column: str) -> dict:
    return {row: _as_text(v) if not pd.isna(v) else "missing"
            for row, v in frame.loc[mask, column].items()}


def _check_key_values(frame: pd.DataFrame) -> list[str]:
    problems = []
    if schema.MONTHS in frame and (frame[schema.MONTHS] < 0).any():
        bad = _where(frame, frame[schema.MONTHS] < 0, schema.MONTHS)
        problems.append(f"column 'months': negative value(s) {_rows(bad)}")
    if schema.ASSESSMENT in frame:
        a = frame[schema.ASSESSMENT]
        out = a.notna() & ((a % 1 != 0) | (a < 1) | (a > schema.MAX_ASSESSMENTS))
        if out.any():
            problems.append(f"column 'assessment': not a whole number 1-{schema.MAX_ASSESSMENTS} "
                            + _rows(_where(frame, out, schema.ASSESSMENT)))
    return problems


def _check_patient_field_values(frame: pd.DataFrame) -> list[str]:
    problems = []
    for field in schema.PATIENT_FIELDS.values():
        if field.name not in frame or field.kind == "category":
            continue
        v = frame[field.name]
        if field.kind == "binary":
            out, allowed = v.notna() & ~v.isin([0, 1]), "0 or 1"
        else:
            out, allowed = (v < field.low) | (v > field.high), f"{field.low:g}-{field.high:g}"
        if out.any():
            problems.append(f"column '{field.name}': value(s) not {allowed} "
                            + _rows(_where(frame, out, field.name)))
    return problems


def _check_patients(frame: pd.DataFrame) -> list[str]:
    if any(c not in frame for c in schema.KEY_COLUMNS):
        return []
    problems = _duplicates(frame) + _mixed_periods(frame) + _decreasing_months(frame)
    problems += _empty_patients(frame) + _varying_patient_fields(frame)
    return problems


def _duplicates(frame: pd.DataFrame) -> list[str]:
    dup = frame.duplicated([schema.ID, schema.ASSESSMENT], keep=False)
    dup &= frame[schema.ASSESSMENT].notna()
    if not dup.any():
        return []
    rows = {row: f"{frame.at[row, schema.ID]}/{_as_text(frame.at[row, schema.ASSESSMENT])}"
            for row in frame.index[dup]}
    return [f"duplicate (patient_id, assessment) rows: {_rows(rows)}"]


def _mixed_periods(frame: pd.DataFrame) -> list[str]:
    n_periods = frame.groupby(schema.ID, observed=True)[schema.PERIOD].nunique()
    both = n_periods.index[n_periods > 1]
    return [f"patient(s) in both periods: {_listing(both)}"] if len(both) else []


def _decreasing_months(frame: pd.DataFrame) -> list[str]:
    ordered = frame.dropna(subset=[schema.ASSESSMENT, schema.MONTHS]).sort_values(
        [schema.ID, schema.ASSESSMENT], kind="stable")
    step = ordered.groupby(schema.ID, observed=True)[schema.MONTHS].diff()
    bad = step.index[step <= 0]
    if not len(bad):
        return []
    rows = {row: f"{frame.at[row, schema.ID]} months {frame.at[row, schema.MONTHS]:g}"
            for row in bad}
    return [f"months not increasing with assessment number: {_rows(rows)}"]


def _empty_patients(frame: pd.DataFrame) -> list[str]:
    measures = [m for m in schema.MEASURES if m in frame]
    if not measures:
        return []
    observed = frame[measures].notna().any(axis=1).groupby(frame[schema.ID]).any()
    empty = observed.index[~observed]
    if not len(empty):
        return []
    return [f"patient(s) with no assessment (every measure missing): {_listing(empty)}"]


def _varying_patient_fields(frame: pd.DataFrame) -> list[str]:
    problems = []
    for name in schema.PATIENT_FIELDS:
        if name in frame:
            n = frame.groupby(schema.ID, observed=True)[name].nunique(dropna=False)
            varying = n.index[n > 1]
            if len(varying):
                problems.append(f"column '{name}' differs within patient(s) "
                                f"{_listing(varying)} (it must be constant per patient)")
    return problems


# ---------------------------------------------------------------- summary


def summarise(register: Register) -> dict[str, pd.DataFrame]:
    """Patients per period, assessments per patient, and missing values per measure.

    Parameters
    ----------
    register : Register

    Returns
    -------
    dict of str to pandas.DataFrame
        ``"periods"`` (period, n_patients, n_rows, assessments_min/mean/max) and
        ``"missing"`` (measure, n_observed, n_missing, pct_missing).
    """
    data = register.data
    per_patient = data.groupby([schema.PERIOD, schema.ID], observed=True).size()
    grouped = per_patient.groupby(level=0, observed=True)
    periods = pd.DataFrame({
        "n_patients": grouped.size(), "n_rows": grouped.sum(),
        "assessments_min": grouped.min(), "assessments_mean": grouped.mean().round(2),
        "assessments_max": grouped.max(),
    })
    total = pd.DataFrame({
        "n_patients": [per_patient.size], "n_rows": [per_patient.sum()],
        "assessments_min": [per_patient.min()],
        "assessments_mean": [round(per_patient.mean(), 2)],
        "assessments_max": [per_patient.max()],
    }, index=["all"])
    periods = pd.concat([periods, total]).rename_axis(schema.PERIOD).reset_index()
    missing = pd.DataFrame([
        {"measure": m, "n_observed": int(data[m].notna().sum()),
         "n_missing": int(data[m].isna().sum()),
         "pct_missing": round(100 * data[m].isna().mean(), 1)}
        for m in register.measures])
    return {"periods": periods, "missing": missing}


def describe(register: Register) -> str:
    """A short plain-text account of the data, as ``mbtbayes validate`` prints it.

    Parameters
    ----------
    register : Register

    Returns
    -------
    str
    """
    parts = summarise(register)
    absent = [m for m in schema.MEASURES if m not in register.measures]
    extra = [c for c in register.data if c not in _schema_names()]
    lines = [register.label, "", "Patients and assessments per patient:",
             parts["periods"].to_string(index=False), "",
             "Missing values per measure (kept; each model uses the observed values):",
             parts["missing"].to_string(index=False)]
    if absent:
        lines += ["", "Measures not in the data (not analysed): " + ", ".join(absent)]
    if extra:
        lines += ["", "Columns outside the schema (kept, not used): " + ", ".join(map(str, extra))]
    return "\n".join(lines)
