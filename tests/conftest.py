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
    """The first 40 rows of the synthetic register, as text as a CSV would give them."""
    return synthetic.head(40).astype(str).replace({"nan": None}).reset_index(drop=True)
