"""The remission and GLMM draws go through the run's fit cache: a second run with the same
data and options reads them (no graph compiled, nothing sampled) and gives the same table;
other options or seeds sample again; a damaged entry is sampled again with a note.

The reference is the first run's own table (the cache must return exactly what sampling
returned) and the sampler's count of compiled graphs (nothing compiled on a hit).
"""

from __future__ import annotations

import pandas as pd
import pytest

from mbtbayes.binary.change import start_end_change
from mbtbayes.binary.remission import remission_table
from mbtbayes.core.sampling import Sampler, SamplerOptions
from mbtbayes.growth.cache import FitCache

OPTIONS = SamplerOptions(draws=200, tune=200, chains=2, progress=False)


def _sampler(folder, notes=None) -> Sampler:
    return Sampler(OPTIONS, store=FitCache(folder, log=None if notes is None else notes.append))


@pytest.mark.filterwarnings("ignore:PyTensor could not link to a BLAS")
def test_glmm_draws_are_read_back(synthetic, tmp_path):
    first = _sampler(tmp_path)
    table = start_end_change(synthetic, models=("glmm",), engine=first)
    assert first.n_graphs == 1 and first.store.misses == 1

    again = _sampler(tmp_path)
    pd.testing.assert_frame_equal(start_end_change(synthetic, models=("glmm",), engine=again),
                                  table)
    assert again.n_graphs == 0 and again.store.hits == 1  # neither compiled nor sampled

    other = Sampler(SamplerOptions(draws=300, tune=200, chains=2, progress=False),
                    store=FitCache(tmp_path))
    start_end_change(synthetic, models=("glmm",), engine=other)
    assert other.store.misses == 1 and other.n_graphs == 1
    assert other.n_compiled == 0  # the process compiled that structure for the first sampler


def test_remission_draws_are_read_back_and_a_damaged_entry_is_resampled(synthetic, tmp_path):
    first = _sampler(tmp_path)
    table = remission_table(synthetic, models=("logistic",), engine=first)
    assert first.store.misses == 1

    again = _sampler(tmp_path)
    pd.testing.assert_frame_equal(remission_table(synthetic, models=("logistic",),
                                                  engine=again), table)
    assert again.store.hits == 1

    (entry,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    with (entry / "idata.nc").open("r+b") as handle:
        handle.seek(200)
        handle.write(b"\0" * 64)
    notes: list[str] = []
    damaged = _sampler(tmp_path, notes)
    pd.testing.assert_frame_equal(remission_table(synthetic, models=("logistic",),
                                                  engine=damaged), table)
    assert damaged.store.misses == 1 and any("unreadable" in n for n in notes)

    changed = _sampler(tmp_path)
    remission_table(synthetic, models=("logistic",), engine=changed, seed=2)
    assert changed.store.misses == 1
