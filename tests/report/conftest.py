"""Fits made without sampling, for the report tests (the quick run is in tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def make_fit():
    """A GrowthFit with given fixed-effect draws on the real design of a spec (no sampling)."""
    import arviz as az
    import numpy as np

    from mbtbayes.core.sampling import Diagnostics
    from mbtbayes.growth.design import make_design
    from mbtbayes.growth.result import GrowthFit
    from mbtbayes.growth.specs import load_specs

    def make(name: str, data, variant: str, beta, *, passed: bool = True) -> GrowthFit:
        spec = load_specs()[name]
        design = make_design(spec, data, variant=variant)
        beta = np.asarray(beta, dtype=float)
        beta = beta.reshape(1, -1, len(design.columns)) if beta.ndim < 3 else beta
        chains, draws = beta.shape[:2]
        ones = np.ones((chains, draws))
        idata = az.from_dict(posterior={"beta": beta, "sd_intercept": 0.5 * ones,
                                        "sd_slope": 0.02 * ones, "sigma": 0.3 * ones},
                             dims={"beta": ["coef"]}, coords={"coef": list(design.columns)})
        diagnostics = Diagnostics(1.0, 1000.0, 1000.0, 0, passed, 1, draws,
                                  "" if passed else "R-hat 1.1 > 1.01")
        return GrowthFit(spec, variant, design, idata, diagnostics, "test", 0.0)

    return make
