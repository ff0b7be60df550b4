"""Shared fixtures: a small valid register table to break in each test."""

from __future__ import annotations

import pandas as pd
import pytest

from mbtbayes.io.synthetic import simulate_register


@pytest.fixture(scope="session")
def synthetic() -> pd.DataFrame:
    """The register at the default seed (read-only: copy before changing)."""
    return simulate_register()


@pytest.fixture
def small(synthetic: pd.DataFrame) -> pd.DataFrame:
    """Six patients per period with three or more assessments each (52 rows), as text as a CSV
    would give them: the smallest slice of the synthetic register that the validator passes."""
    sizes = synthetic.groupby("patient_id").size()
    ids = [pid for period in ("I", "II")
           for pid in [p for p in synthetic.loc[synthetic["period"] == period, "patient_id"]
                       .unique() if sizes[p] >= 3][:6]]
    rows = synthetic[synthetic["patient_id"].isin(ids)]
    return rows.astype(str).replace({"nan": None}).reset_index(drop=True)
