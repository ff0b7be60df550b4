"""A growth fit with chosen posterior draws (no sampling), for estimands known by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import mbtbayes as mb
from mbtbayes.core.sampling import Diagnostics
from mbtbayes.growth.design import make_design
from mbtbayes.growth.result import GrowthFit


def constructed_fit(spec, data: pd.DataFrame, beta: dict[str, np.ndarray]) -> GrowthFit:
    """A period fit of ``spec`` on ``data`` whose fixed-effect draws are ``beta`` (by design
    column, one chain)."""
    design = make_design(spec, data, variant="period")
    values = np.stack([beta[c] for c in design.columns], -1)[None]
    params = xr.Dataset({"beta": (("chain", "draw", "coef"), values)},
                        coords={"coef": list(design.columns)})
    diagnostics = Diagnostics(1.0, 1000, 1000, 0, True, reason="")
    return GrowthFit(spec, "period", design, None, diagnostics, "none", 0.0, params=params)


@pytest.fixture(scope="module")
def two_period_register() -> pd.DataFrame:
    """120 patients in periods I and II (measure 'bsi', higher is worse) seen at months 0, 12
    and 24; 'dropout' marks 6 patients of Period II."""
    rng = np.random.default_rng(8)
    rows = []
    for i in range(120):
        period = "I" if i < 60 else "II"
        for t in (0.0, 12.0, 24.0):
            rows.append((f"p{i:03d}", period, t, float(np.clip(rng.normal(2.0, 0.6), 0, 4)),
                         float(i >= 114)))
    return pd.DataFrame(rows, columns=["patient_id", "period", "months", "bsi", "dropout"])


@pytest.fixture(scope="module")
def bsi_spec():
    return mb.make_spec(outcome="bsi", time="months", group="patient_id", period="period",
                        range=(0, 4))


@pytest.fixture(scope="session")
def fit_with_draws():
    """:func:`constructed_fit`, for tests (conftest is not importable under importlib)."""
    return constructed_fit
