"""The register: load, map, validate and summarise a user's extract, or the bundled synthetic one.

Every problem in a file is reported at once, with its column and data rows. Missing measure
values are allowed and counted; nothing is dropped silently: a measure column without a single
value is treated as absent, with a warning.

Examples
--------
>>> import mbtbayes as mb
>>> reg = mb.load_register()  # the bundled SYNTHETIC register
>>> reg.synthetic, reg.measures[:4]
(True, ('bsi', 'cip', 'wsas', 'gaf'))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd

from mbtbayes.core.defaults import SEED
from mbtbayes.core.errors import DataError
from mbtbayes.io import requirements, schema
from mbtbayes.io.mapping import (
    ColumnMapping,
    apply_mapping,
    convert_types,
    read_mapping,
    schema_names,
)
from mbtbayes.io.missing import COUNT_COLUMNS, RULES, counts_text, mark_missing
from mbtbayes.io.read import RawTable, read_raw
from mbtbayes.io.validate import check_patients, check_rows, missing_keys

MappingLike = str | Path | Mapping | ColumnMapping | None
DataLike = str | Path | pd.DataFrame | None

@dataclass(frozen=True)
class Register:
    """A validated register in the package's schema.

    Attributes
    ----------
    data : pandas.DataFrame
        Long format, one row per patient x assessment, columns named as in
        :mod:`mbtbayes.io.schema`.
        Columns outside the schema are kept as they were, and not used.
    source : str
        Where the data came from (a path, or a description of the synthetic register).
    synthetic : bool
        True for the simulated register; every output made from it says so.
    measures : tuple of str
        Measures present in the data (with at least one value).
    warnings : tuple of str
        Things to check that do not stop an analysis (a guessed encoding, months that look
        like days, empty measure columns, mapping keys that matched nothing).
    recoded : pandas.DataFrame
        The cells read as missing, one row per schema column and code: ``column``, ``code``
        (as text; ``(empty)`` for empty cells), ``n`` and ``rule`` (empty cell, missing mark,
        code for this column, code for all columns); see :mod:`mbtbayes.io.missing`.
    """

    data: pd.DataFrame
    source: str
    synthetic: bool
    measures: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    recoded: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=COUNT_COLUMNS))

    @property
    def label(self) -> str:
        """One line saying what the data are, for tables and console output."""
        kind = "SYNTHETIC register" if self.synthetic else "register"
        return f"{kind}: {self.source}"



@dataclass(frozen=True)
class Validation:
    """The outcome of :func:`validate_register`.

    Attributes
    ----------
    source : str
        What was checked.
    problems : tuple of str
        Every problem that stops an analysis (empty when the register is valid).
    warnings : tuple of str
        Things to check that do not stop an analysis.
    register : Register or None
        The validated register, when there are no problems.
    recoded : pandas.DataFrame
        The cells read as missing (as :attr:`Register.recoded`), also when there are problems.
    """

    source: str
    problems: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    register: Register | None = None
    recoded: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=COUNT_COLUMNS))

    @property
    def ok(self) -> bool:
        """True when the register can be analysed."""
        return not self.problems

    def __str__(self) -> str:
        lines = [f"{self.source}: " + ("OK" if self.ok else f"{len(self.problems)} problem(s)")]
        lines += [f"  problem: {p}" for p in self.problems]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def validate_register(
    data: DataLike = None,
    *,
    mapping: MappingLike = None,
    encoding: str | None = None,
) -> Validation:
    """Check a register extract and collect every problem, without raising for bad data.

    Checks everything the reanalysis needs: the file can be read, the columns map onto the
    schema, every value is valid, both periods are present, and every measure has enough
    patients with repeated values for its growth model
    (:data:`~mbtbayes.io.requirements.MIN_PATIENTS_PER_PERIOD` per period).

    Parameters
    ----------
    data : path, DataFrame or None
        A CSV, ``.xlsx``, Parquet or SPSS ``.sav`` file, a DataFrame, or None for the bundled
        SYNTHETIC register.
    mapping : path, dict or None
        Column mapping onto the schema.
    encoding : str, optional
        Text encoding of a CSV or ``.sav`` file (default: UTF-8, else Windows-1252 with a
        warning).

    Returns
    -------
    Validation
        ``ok``, ``problems``, ``warnings`` and, when valid, the ``register``.

    Raises
    ------
    SpecError
        If the mapping itself is invalid.

    Examples
    --------
    >>> import mbtbayes as mb
    >>> mb.validate_register().ok
    True
    """
    spec = read_mapping(mapping)
    try:
        raw, source, synthetic = _read(data, spec, encoding)
    except DataError as err:
        return Validation(_name(data), tuple(err.problems) or (str(err),))
    return check_table(raw, mapping=spec, source=source, synthetic=synthetic)


def _name(data: DataLike) -> str:
    if data is None:
        return f"bundled synthetic register (simulate_register(seed={SEED}))"
    return "data frame" if isinstance(data, pd.DataFrame) else str(data)


def _read(data: DataLike, spec: ColumnMapping,
          encoding: str | None) -> tuple[RawTable, str, bool]:
    """The raw table, its name for messages, and whether it is synthetic."""
    if isinstance(data, pd.DataFrame):
        return RawTable(data), _name(data), _is_synthetic(data, spec)
    raw = read_raw(bundled_path() if data is None else data, encoding=encoding)
    return raw, _name(data), data is None or _is_synthetic(raw.frame, spec)


def _is_synthetic(raw: pd.DataFrame, mapping: ColumnMapping) -> bool:
    column = mapping.columns.get(schema.DATASET, schema.DATASET)
    return column in raw and bool((raw[column].astype(str) == schema.SYNTHETIC).all())


def check_table(
    raw: RawTable,
    *,
    mapping: MappingLike = None,
    source: str = "data frame",
    synthetic: bool = False,
) -> Validation:
    """Map, type-convert and check a table as read; every problem and warning at once.

    Parameters
    ----------
    raw : RawTable
        The table as read, with its value labels and reading warnings.
    mapping : path, dict or None
        Column mapping, see :func:`read_mapping`.
    source : str
        Name of the data, for messages.
    synthetic : bool
        Whether this is simulated data.

    Returns
    -------
    Validation
    """
    spec = read_mapping(mapping)
    warnings = list(raw.warnings)
    frame, problems = apply_mapping(raw.frame, spec)
    if frame is None or not len(frame):
        if frame is not None:
            problems.append("the file has a header but no data rows")
        return Validation(source, tuple(problems), tuple(warnings))
    read = mark_missing(frame, codes=spec.missing_codes, column_codes=spec.column_codes,
                        mapped=spec.values)
    frame, recoded = read.frame, read.counts
    warnings += read.warnings + [f"[missing_codes] {c} is not used: the data have no column '{c}'"
                                 for c in spec.column_codes if c not in frame]
    problems += missing_keys(frame)
    renamed = {theirs: ours for ours, theirs in spec.columns.items()}
    labels = {renamed.get(c, c): v for c, v in raw.value_labels.items()}
    frame, found, notes = convert_types(frame, spec, labels=labels,
                                        decimal_comma=raw.decimal_comma)
    problems += found
    warnings += notes
    frame, notes = _drop_empty_measures(frame)
    warnings += notes
    problems += check_rows(frame) + check_patients(frame)
    problems = problems or _needs(frame)  # what the analysis needs, once the rows are valid
    if all(c in frame for c in schema.KEY_COLUMNS):
        warnings += requirements.months_warning(frame)
    if problems:
        return Validation(source, tuple(problems), tuple(warnings), recoded=recoded)
    measures = tuple(m for m in schema.MEASURES if m in frame)
    data = frame.sort_values([schema.ID, schema.ASSESSMENT], kind="stable").reset_index(drop=True)
    register = Register(data, source, synthetic, measures, tuple(warnings), recoded)
    return Validation(source, (), tuple(warnings), register, recoded)


def _drop_empty_measures(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    empty = requirements.empty_measures(frame)
    if not empty or len(empty) == sum(m in frame for m in schema.MEASURES):
        return frame, []  # every measure empty: the patients check says so
    return frame.drop(columns=empty), [
        f"column '{m}' has no values at all: treated as absent, not analysed" for m in empty]


def _needs(frame: pd.DataFrame) -> list[str]:
    """What the reanalysis needs beyond valid rows (both periods, repeated values)."""
    if any(c not in frame for c in schema.KEY_COLUMNS) or frame[schema.PERIOD].isna().all():
        return []
    measures = [m for m in schema.MEASURES if m in frame]
    return requirements.check_periods(frame) + requirements.check_growth(frame, measures)


def prepare_register(
    raw: pd.DataFrame,
    *,
    mapping: MappingLike = None,
    source: str = "data frame",
    synthetic: bool = False,
) -> Register:
    """Map, type-convert and validate a table already in memory.

    Parameters
    ----------
    raw : pandas.DataFrame
        The table as read.
    mapping, source, synthetic
        As in :func:`check_table`.

    Returns
    -------
    Register

    Raises
    ------
    DataError
        Listing every problem found.
    """
    return _checked(check_table(RawTable(raw), mapping=mapping, source=source,
                                synthetic=synthetic))


MAX_MESSAGE = 1200
"""Characters of problems an error message lists before it says how many more there are."""


def _checked(validation: Validation) -> Register:
    if not validation.ok:
        problems = list(validation.problems)
        raise DataError(f"{validation.source}: {len(problems)} problem(s): "
                        + problems_text(problems), problems)
    return validation.register


def problems_text(problems: list[str], *, limit: int = MAX_MESSAGE) -> str:
    """The problems joined by "; ", cut after ``limit`` characters with how many more there are.

    Examples
    --------
    >>> problems_text(["a" * 8, "b" * 8, "c" * 8], limit=12)
    'aaaaaaaa; and 2 more problem(s) (mbtbayes validate lists every one)'
    """
    shown: list[str] = []
    for problem in problems:
        if shown and len("; ".join([*shown, problem])) > limit:
            break
        shown.append(problem)
    more = len(problems) - len(shown)
    tail = [f"and {more} more problem(s) (mbtbayes validate lists every one)"] if more else []
    return "; ".join(shown + tail)


BUNDLED = "synthetic_register.csv"
"""File name of the bundled register (``simulate_register(seed=SEED)`` written as CSV)."""


def bundled_path() -> Path:
    """Path of the bundled synthetic register CSV inside the installed package."""
    return Path(str(resources.files("mbtbayes") / "resources" / BUNDLED))


def load_register(
    data: DataLike = None,
    *,
    mapping: MappingLike = None,
    encoding: str | None = None,
) -> Register:
    """Load and validate a register: the user's file or table, or the bundled synthetic one.

    Parameters
    ----------
    data : path, DataFrame or None
        A CSV (or other delimited text), ``.xlsx``, Parquet or SPSS ``.sav`` file, a
        DataFrame, or None for the bundled SYNTHETIC register.
    mapping : path, dict or None
        Column mapping onto the schema (see :func:`mbtbayes.io.mapping.read_mapping`).
    encoding : str, optional
        Text encoding of a CSV or ``.sav`` file (default: UTF-8, else Windows-1252 with a
        warning in ``Register.warnings``).

    Returns
    -------
    Register

    Raises
    ------
    DataError
        The file cannot be read (one message with the likely cause), or listing every
        problem found, each with its column and rows.
    SpecError
        If the mapping itself is invalid.

    Examples
    --------
    >>> import mbtbayes as mb
    >>> reg = mb.load_register()
    >>> reg.label
    'SYNTHETIC register: bundled synthetic register (simulate_register(seed=20250403))'
    """
    spec = read_mapping(mapping)
    raw, source, synthetic = _read(data, spec, encoding)
    return _checked(check_table(raw, mapping=spec, source=source, synthetic=synthetic))


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


def _recoded_lines(register: Register) -> list[str]:
    """Cells read as missing, per column and code; the measures' empty cells are in the
    missing-values table already."""
    counts = register.recoded
    shown = counts[~((counts["rule"] == RULES["empty"]) & counts["column"].isin(schema.MEASURES))]
    if not len(shown):
        return []
    return ["", "Read as missing, per column (cells x code; the measures' empty cells are "
            "counted above):"] + [f"  {line}" for line in counts_text(shown)]


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
    extra = [c for c in register.data if c not in schema_names()]
    lines = [register.label, "", "Patients and assessments per patient:",
             parts["periods"].to_string(index=False), "",
             "Missing values per measure (kept; each model uses the observed values):",
             parts["missing"].to_string(index=False)]
    if absent:
        lines += ["", "Measures not in the data (not analysed): " + ", ".join(absent)]
    if extra:
        lines += ["", "Columns outside the schema (kept, not used): " + ", ".join(map(str, extra))]
    lines += _recoded_lines(register)
    if register.warnings:
        lines += ["", "Warnings (check these; they do not stop the analysis):"]
        lines += [f"  warning: {w}" for w in register.warnings]
    return "\n".join(lines)

