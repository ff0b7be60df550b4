"""Shared fixtures: the synthetic register, a small valid table to break, and one real quick
reanalysis through the command line (shared by the report and reproducibility tests)."""

from __future__ import annotations

import contextlib
import io
import shutil
from dataclasses import dataclass
from pathlib import Path

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
