"""The whole reanalysis through a Dask cluster of worker processes gives the inline tables.

Reference: the same :func:`mbtbayes.reanalyze` run in this process (no scheduler). The fits'
seeds are derived by name (:func:`mbtbayes.core.seeds.seed_for`), so where a fit runs must not
change its draws; the tables are computed here from the fits that come back.
"""

from __future__ import annotations

import os
import shutil
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import mbtbayes as mb
from mbtbayes.core.graph_store import store_folder
from mbtbayes.growth.specs import models_dir
from mbtbayes.io.synthetic import simulate_register

SPECS = ("bsi", "wai_bonds")
"""An outcome and a process measure with a covariate (the WAI version): 4 of the 18 growth fits.
All 9 specs (18 fits, 23 tables) were compared once by hand the same way: identical."""

SAMPLED = ("beta", "sd_intercept", "sd_slope", "sigma", "corr")
"""What the sampler draws: bitwise equal wherever the fit ran (see tests/growth/test_fanout.py:
whatever is computed from the draws afterwards goes through BLAS and is compared to 1e-6)."""


def _models(folder: Path) -> Path:
    folder.mkdir()
    for name in SPECS:
        shutil.copy(models_dir() / f"{name}.toml", folder / f"{name}.toml")
    return folder


def _assert_same_outputs(out: Path, reference: Path) -> None:
    """Every CSV table of ``reference`` in ``out`` and equal (rtol 1e-6); the saved fits' sampled
    draws identical."""
    tables = sorted(p.name for p in reference.glob("*.csv"))
    assert tables == sorted(p.name for p in out.glob("*.csv"))
    assert {"period_effects.csv", "growth_models.csv", "concordance.csv"} <= set(tables)
    for name in tables:
        pd.testing.assert_frame_equal(pd.read_csv(out / name), pd.read_csv(reference / name),
                                      rtol=1e-6, obj=name)
    fits = sorted(p.name for p in (reference / "fits").glob("*.nc"))
    assert len(fits) == 2 * len(SPECS)
    assert fits == sorted(p.name for p in (out / "fits").glob("*.nc"))
    for name in fits:
        with (xr.open_dataset(out / "fits" / name, group="posterior") as a,
              xr.open_dataset(reference / "fits" / name, group="posterior") as b):
            assert set(a.data_vars) == set(b.data_vars)
            for var in a.data_vars:
                if var in SAMPLED:
                    assert a[var].equals(b[var]), (name, var)
                else:
                    np.testing.assert_allclose(a[var], b[var], rtol=1e-6, atol=1e-9,
                                               err_msg=f"{name} {var}")


@pytest.mark.slow
def test_scale_10_reanalysis_on_two_worker_processes_gives_the_inline_tables(tmp_path):
    """``mb.reanalyze`` of the SYNTHETIC scale-10 register (1,850 patients), 2 chains x 200
    draws, no report and no fit cache, with the specs of :data:`SPECS`, inline and through a
    ``LocalCluster`` of two worker processes: the same CSV files, frames equal to 1e-6, the
    sampled draws of every saved fit identical. The workers resolve the same store of compiled
    graphs as this process (they inherit its environment)."""
    distributed = pytest.importorskip("distributed")
    data = simulate_register(scale=10)
    assert data["patient_id"].nunique() == 1850
    lines: list[str] = []
    run = partial(mb.reanalyze, data=data, models=_models(tmp_path / "models"), draws=200,
                  chains=2, report=False, cache=False, log=lines.append,
                  headline=lambda tables: None)
    inline = run(out=tmp_path / "inline")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            pids = client.run(os.getpid)
            stores = client.run(store_folder)
        address = cluster.scheduler_address
        lines.clear()
        on_cluster = run(out=tmp_path / "cluster", scheduler=address)
    assert len(set(pids.values()) - {os.getpid()}) == 2  # two processes, not this one
    assert set(stores.values()) == {store_folder()}
    assert f"{2 * len(SPECS)} growth fits on dask:{address}" in lines
    _assert_same_outputs(on_cluster, inline)
