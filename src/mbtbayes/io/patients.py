"""Patient-level rows of a long register: one row per patient, checked to be constant.

Remission, start-end change and adherence all work on patient-level columns (constant within a
patient) of the long register; these helpers take them out and check them.

Examples
--------
>>> import pandas as pd
>>> long = pd.DataFrame({"patient_id": ["a", "a", "b"], "period": ["I", "I", "II"],
...                      "dropout": [0.0, 0.0, 1.0]})
>>> patient_rows(long, ["dropout"], what="adherence")["dropout"].tolist()
[0.0, 1.0]
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from mbtbayes.core.errors import DataError
from mbtbayes.io import schema


def patient_rows(data: pd.DataFrame, columns: Sequence[str], *, what: str) -> pd.DataFrame:
    """One row per patient with the key columns and the given patient-level columns.

    Parameters
    ----------
    data : pandas.DataFrame
        Register in long format (patient-level columns constant within patient).
    columns : sequence of str
        Patient-level columns needed.
    what : str
        Name of the analysis, for error messages.

    Returns
    -------
    pandas.DataFrame
        ``patient_id``, ``period`` (string ``"I"``/``"II"``) and ``columns``, one row per patient
        in order of first appearance.

    Raises
    ------
    DataError
        A column is absent, a period label is unknown, or a column varies within a patient.

    Examples
    --------
    >>> long = pd.DataFrame({"patient_id": ["a", "a", "b"], "period": ["I", "I", "II"],
    ...                      "dropout": [0.0, 0.0, 1.0]})
    >>> patient_rows(long, ["dropout"], what="adherence").shape
    (2, 3)
    """
    needed = [schema.ID, schema.PERIOD, *columns]
    absent = [c for c in needed if c not in data.columns]
    if absent:
        raise DataError(f"{what} needs the column(s) {', '.join(absent)}; the data have none "
                        "by that name (map your names onto the schema with a mapping file).")
    frame = data[needed].copy()
    frame[schema.PERIOD] = frame[schema.PERIOD].astype(str)
    unknown = sorted(set(frame[schema.PERIOD]) - set(schema.PERIODS))
    if unknown:
        raise DataError(f"{what}: unknown period label(s) {unknown}; expected {schema.PERIODS}.")
    varying = frame.groupby(schema.ID, sort=False).nunique(dropna=False)
    bad = [c for c in needed[1:] if (varying[c] > 1).any()]
    if bad:
        raise DataError(f"{what}: column(s) {', '.join(bad)} differ within a patient; "
                        "patient-level columns must be constant per patient.")
    return frame.drop_duplicates(schema.ID).reset_index(drop=True)


def binary_column(frame: pd.DataFrame, column: str, *, what: str) -> pd.Series:
    """A 0/1 column as floats (missing kept); DataError naming the column if not binary."""
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = frame[column].notna() & ~values.isin([0, 1])
    if bad.any():
        raise DataError(f"{what}: column {column} must be 0/1 (or missing); "
                        f"{int(bad.sum())} patient(s) have another value.")
    return values


