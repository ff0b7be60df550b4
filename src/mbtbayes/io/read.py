"""Reading a register file: CSV, Parquet or SPSS ``.sav``.

Examples
--------
>>> from mbtbayes.io.read import read_table
>>> raw = read_table("register.sav")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mbtbayes.core.errors import DataError
from mbtbayes.io import schema


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


