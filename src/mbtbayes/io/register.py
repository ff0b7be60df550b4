"""The register: load, map, validate and summarise a user's extract, or the bundled synthetic one.

Every problem in a file is reported at once, with its column and data rows. Missing measure
values are allowed and counted; nothing is dropped silently.

Examples
--------
>>> import mbtbayes as mb
>>> reg = mb.load_register()  # the bundled SYNTHETIC register
>>> reg.synthetic, reg.measures[:4]
(True, ('bsi', 'cip', 'wsas', 'gaf'))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from mbtbayes.core.defaults import SEED
from mbtbayes.core.errors import DataError
from mbtbayes.io import schema
from mbtbayes.io.mapping import (
    ColumnMapping,
    apply_mapping,
    convert_types,
    read_mapping,
    schema_names,
)
from mbtbayes.io.read import read_table
from mbtbayes.io.validate import check_patients, check_rows, missing_keys


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
    """

    source: str
    problems: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    register: Register | None = None

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
    data: str | Path | pd.DataFrame | None = None,
    *,
    mapping: str | Path | Mapping | None = None,
) -> Validation:
    """Check a register extract and collect every problem, without raising for bad data.

    Parameters
    ----------
    data : path, DataFrame or None
        As in :func:`load_register`.
    mapping : path, dict or None
        Column mapping onto the schema.

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
    source = "bundled synthetic register" if data is None else (
        "data frame" if isinstance(data, pd.DataFrame) else str(data))
    try:
        register = load_register(data, mapping=mapping)
    except DataError as err:
        return Validation(source, tuple(err.problems) or (str(err),))
    return Validation(register.source, (), (), register)


def read_register(
    path: str | Path,
    *,
    mapping: str | Path | Mapping | None = None,
) -> Register:
    """Read and validate a register file.

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
    frame, problems = apply_mapping(raw, spec)
    problems += missing_keys(frame)
    frame, type_problems = convert_types(frame, spec)
    problems += type_problems + check_rows(frame) + check_patients(frame)
    if problems:
        raise DataError(f"{source}: {len(problems)} problem(s): " + "; ".join(problems), problems)
    measures = tuple(m for m in schema.MEASURES if m in frame)
    data = frame.sort_values([schema.ID, schema.ASSESSMENT], kind="stable").reset_index(drop=True)
    return Register(data=data, source=source, synthetic=synthetic, measures=measures)


BUNDLED = "synthetic_register.csv"
"""File name of the bundled register (``simulate_register(seed=SEED)`` written as CSV)."""


def bundled_path() -> Path:
    """Path of the bundled synthetic register CSV inside the installed package."""
    return Path(str(resources.files("mbtbayes") / "resources" / BUNDLED))


def load_register(
    data: str | Path | pd.DataFrame | None = None,
    *,
    mapping: str | Path | Mapping | None = None,
) -> Register:
    """Load and validate a register: the user's file or table, or the bundled synthetic one.

    Parameters
    ----------
    data : path, DataFrame or None
        A CSV, Parquet or SPSS ``.sav`` file, a DataFrame, or None for the bundled SYNTHETIC
        register.
    mapping : path, dict or None
        Column mapping onto the schema (see :func:`mbtbayes.io.mapping.read_mapping`).

    Returns
    -------
    Register

    Raises
    ------
    DataError
        Listing every problem found, each with its column and rows.
    SpecError
        If the mapping itself is invalid.

    Examples
    --------
    >>> import mbtbayes as mb
    >>> reg = mb.load_register()
    >>> reg.label
    'SYNTHETIC register: bundled synthetic register (simulate_register(seed=20250403))'
    """
    if data is None:
        reg = read_register(bundled_path(), mapping=mapping)
        source = f"bundled synthetic register (simulate_register(seed={SEED}))"
        return Register(reg.data, source, True, reg.measures)
    if isinstance(data, pd.DataFrame):
        return prepare_register(data, mapping=mapping)
    return read_register(data, mapping=mapping)


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
    extra = [c for c in register.data if c not in schema_names()]
    lines = [register.label, "", "Patients and assessments per patient:",
             parts["periods"].to_string(index=False), "",
             "Missing values per measure (kept; each model uses the observed values):",
             parts["missing"].to_string(index=False)]
    if absent:
        lines += ["", "Measures not in the data (not analysed): " + ", ".join(absent)]
    if extra:
        lines += ["", "Columns outside the schema (kept, not used): " + ", ".join(map(str, extra))]
    return "\n".join(lines)

