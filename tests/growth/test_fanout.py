"""Growth fits fanned out through an executor give the same draws, and the same tables, as
the fits run one after another in this process.

Reference: the in-process :func:`mbtbayes.fit_specs` run (seed per fit by name). The fan-out
splits the fits into one chunk per worker, so the second worker compiles its graph from
another measure's data first: a fit's draws must not depend on that (nutpie's initial points
come from the PyMC model's own data, which the sampler now updates for every fit).
"""

from __future__ import annotations

import pytest

import mbtbayes as mb
from mbtbayes.core.sampling import SamplerOptions
from mbtbayes.growth.engines import engines_for
from mbtbayes.growth.fanout import fit_specs_on
from mbtbayes.pipeline import growth_tables

OPTIONS = SamplerOptions(draws=60, tune=60, chains=2)


@pytest.fixture(scope="module")
def inputs(synthetic):
    specs = mb.load_specs()
    firsts = synthetic.drop_duplicates("patient_id")
    keep = firsts.groupby("period")["patient_id"].head(25)  # 25 patients of each period
    data = synthetic[synthetic["patient_id"].isin(keep)].reset_index(drop=True)
    return {k: specs[k] for k in ("bsi", "wai_bonds")}, data


@pytest.fixture(scope="module")
def inline(inputs):
    specs, data = inputs
    fits = mb.fit_specs(specs, data, engines=engines_for(OPTIONS))
    return fits, growth_tables(fits, data)


SAMPLED = ("beta", "sd_intercept", "sd_slope", "sigma", "corr")
"""What the sampler draws: bitwise equal wherever the fit ran. Everything computed from the draws
afterwards (patient effects drawn per draw, log-likelihood, tables) goes through BLAS, whose
summation order depends on the thread count of the process or thread that computes it; it is
compared to 1e-6 relative (the patient effects are stored in float32: one float32 ulp is 6e-8)."""


def assert_same(fits, tables, reference) -> None:
    import numpy as np
    import pandas as pd

    ref_fits, ref_tables = reference
    for a, b in zip(fits, ref_fits, strict=True):
        assert (a.spec.name, a.variant) == (b.spec.name, b.variant)
        post, ref = a.idata.posterior, b.idata.posterior
        assert set(post.data_vars) == set(ref.data_vars)
        for name in post.data_vars:
            if name in SAMPLED:
                assert post[name].equals(ref[name]), (a.spec.name, a.variant, name)
            else:
                np.testing.assert_allclose(post[name], ref[name], rtol=1e-6, atol=1e-9,
                                           err_msg=f"{a.spec.name} {a.variant} {name}")
        assert a.diagnostics == b.diagnostics
    for name, table in ref_tables.items():
        pd.testing.assert_frame_equal(tables[name], table, rtol=1e-6, obj=name)


def test_a_fit_does_not_depend_on_the_fits_before_it(inputs, inline):
    specs, data = inputs
    alone = mb.fit_specs({"wai_bonds": specs["wai_bonds"]}, data, engines=engines_for(OPTIONS))
    assert alone[0].idata.posterior.equals(inline[0][2].idata.posterior)


@pytest.mark.slow
def test_dask_workers_give_the_same_tables(inputs, inline, tmp_path):
    distributed = pytest.importorskip("distributed")
    specs, data = inputs
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        fits = fit_specs_on(cluster.scheduler_address, specs, data,
                            engines=engines_for(OPTIONS), cache=tmp_path)
    assert_same(fits, growth_tables(fits, data), inline)
    again = mb.fit_specs(specs, data, engines=engines_for(OPTIONS), cache=tmp_path)
    assert_same(again, growth_tables(again, data), inline)  # stored in the cache as they came


@pytest.mark.slow
def test_local_processes_give_the_same_tables(inputs, inline):
    specs, data = inputs
    fits = fit_specs_on("processes:2", specs, data, engines=engines_for(OPTIONS))
    assert_same(fits, growth_tables(fits, data), inline)
