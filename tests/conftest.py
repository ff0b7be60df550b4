"""Shared fixtures: the synthetic register, a small valid table to break, and one real quick
reanalysis through the command line (shared by the report and reproducibility tests)."""

from __future__ import annotations

import contextlib
import io
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mbtbayes.io.synthetic import simulate_register


class MonteCarloError:
    """Monte Carlo standard errors of posterior draws, by ArviZ (``az.mcse``), for tests that
    compare two sets of draws within their Monte Carlo error instead of a typed tolerance.

    ``draws`` are ``(chains, draws_per_chain)`` arrays, or flat arrays with ``chains`` given.
    """

    @staticmethod
    def _dataset(draws: np.ndarray, chains: int | None):
        import arviz as az

        x = np.asarray(draws, float)
        x = x.reshape(chains, -1) if chains is not None else np.atleast_2d(x)
        return az.convert_to_dataset({"x": x})

    def mean(self, draws: np.ndarray, *, chains: int | None = None) -> float:
        """MCSE of the mean (for an indicator: of a probability)."""
        import arviz as az

        return float(az.mcse(self._dataset(draws, chains), method="mean")["x"])

    def sd(self, draws: np.ndarray, *, chains: int | None = None) -> float:
        """MCSE of the standard deviation, by the delta method: MCSE of the mean of the squared
        deviations over ``2 sd`` (``az.mcse(method="sd")`` raises a TypeError in ArviZ 0.23 on
        a plain (chain, draw) dataset)."""
        x = np.asarray(draws, float)
        return self.mean((x - x.mean()) ** 2, chains=chains) / (2 * x.std())


@pytest.fixture(scope="session")
def mcse() -> MonteCarloError:
    """:class:`MonteCarloError`: ``mcse.mean(draws, chains=4)``, ``mcse.sd(...)``."""
    return MonteCarloError()


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


SPECS = ("bsi", "wai_bonds")
"""An outcome and a process measure (the latter with a covariate, the WAI version)."""


@dataclass(frozen=True)
class Run:
    out: Path
    stdout: str
    stderr: str
    status: int


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory) -> Run:
    """``mbtbayes reanalyze --quick`` on two specs of the bundled synthetic register."""
    from mbtbayes.cli import main
    from mbtbayes.growth.specs import models_dir

    root = tmp_path_factory.mktemp("quick_run")
    models = root / "models"
    models.mkdir()
    for name in SPECS:
        shutil.copy(models_dir() / f"{name}.toml", models / f"{name}.toml")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["reanalyze", "--quick", "--models", str(models),
                       "--out", str(root / "results")])
    return Run(root / "results", out.getvalue(), err.getvalue(), status)
