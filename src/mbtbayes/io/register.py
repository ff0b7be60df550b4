"""The bundled synthetic register, and the one entry point that yields a register to analyse.

Examples
--------
>>> from mbtbayes.io.register import get_register
>>> reg = get_register()  # the bundled SYNTHETIC register
>>> reg.synthetic
True
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import pandas as pd

from mbtbayes.io.read import Register, load_register, prepare_register
from mbtbayes.core.defaults import SEED

BUNDLED = "synthetic_register.csv"
"""File name of the bundled register (``simulate_register(seed=SEED)`` written as CSV)."""


def bundled_path() -> Path:
    """Path of the bundled synthetic register CSV inside the installed package."""
    return Path(str(resources.files("mbtbayes") / "resources" / BUNDLED))


def get_register(
    data: str | Path | pd.DataFrame | None = None,
    *,
    mapping: str | Path | Mapping | None = None,
) -> Register:
    """Load a register: the user's file or table, or the bundled synthetic one.

    Parameters
    ----------
    data : path, DataFrame or None
        A CSV, Parquet or SPSS file, a DataFrame, or None for the bundled SYNTHETIC register.
    mapping : path, dict or None
        Column mapping onto the schema (see :func:`mbtbayes.data.read_mapping`).

    Returns
    -------
    Register
    """
    if data is None:
        reg = load_register(bundled_path(), mapping=mapping)
        source = f"bundled synthetic register (simulate_register(seed={SEED}))"
        return Register(reg.data, source, True, reg.measures)
    if isinstance(data, pd.DataFrame):
        return prepare_register(data, mapping=mapping)
    return load_register(data, mapping=mapping)
