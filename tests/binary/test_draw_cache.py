"""The remission and GLMM draws go through the run's fit cache: a second run with the same
data and options reads them (no graph compiled, nothing sampled) and gives the same table;
other options or seeds sample again; a damaged entry is sampled again with a note.

The reference is the first run's own table (the cache must return exactly what sampling
returned) and the count of graph look-ups and sampling runs (neither on a hit).
"""

from __future__ import annotations

import pandas as pd
import pytest

from mbtbayes.binary.change import start_end_change
from mbtbayes.binary.remission import remission_table
from mbtbayes.core import graphs
from mbtbayes.core.cache import DiskCache
from mbtbayes.core.sampling import Sampler, SamplerOptions

OPTIONS = SamplerOptions(draws=200, tune=200, chains=2, progress=False)


def _cache(folder, notes=None) -> DiskCache:
    return DiskCache(folder, log=None if notes is None else notes.append)


@pytest.fixture
def work(monkeypatch) -> dict[str, int]:
    """How often a sampler looked up (or compiled) a graph and sampled: a hit does neither."""
    counts = {"graphs": 0, "sampled": 0}
    graph, attempts = Sampler._graph, Sampler._attempts

    def counted_graph(self, *args, **kwargs):
        counts["graphs"] += 1
        return graph(self, *args, **kwargs)

    def counted_attempts(self, *args, **kwargs):
        counts["sampled"] += 1
        return attempts(self, *args, **kwargs)

    monkeypatch.setattr(Sampler, "_graph", counted_graph)
    monkeypatch.setattr(Sampler, "_attempts", counted_attempts)
    return counts


@pytest.mark.filterwarnings("ignore:PyTensor could not link to a BLAS")
def test_glmm_draws_are_read_back(synthetic, tmp_path, work):
    first = _cache(tmp_path)
    table = start_end_change(synthetic, models=("glmm",), options=OPTIONS, cache=first)
    assert work == {"graphs": 1, "sampled": 1} and first.misses == 1

    again = _cache(tmp_path)
    pd.testing.assert_frame_equal(start_end_change(synthetic, models=("glmm",),
                                                   options=OPTIONS, cache=again), table)
    assert work == {"graphs": 1, "sampled": 1} and again.hits == 1  # neither compiled nor sampled

    other = _cache(tmp_path)
    compiled = graphs.count()
    start_end_change(synthetic, models=("glmm",), cache=other,
                     options=SamplerOptions(draws=300, tune=200, chains=2, progress=False))
    assert other.misses == 1 and work == {"graphs": 2, "sampled": 2}
    assert graphs.count() == compiled  # the process compiled that structure for the first run


def test_remission_draws_are_read_back_and_a_damaged_entry_is_resampled(synthetic, tmp_path):
    first = _cache(tmp_path)
    table = remission_table(synthetic, models=("logistic",), options=OPTIONS, cache=first)
    assert first.misses == 1

    again = _cache(tmp_path)
    pd.testing.assert_frame_equal(remission_table(synthetic, models=("logistic",),
                                                  options=OPTIONS, cache=again), table)
    assert again.hits == 1

    (entry,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    with (entry / "idata.nc").open("r+b") as handle:
        handle.seek(200)
        handle.write(b"\0" * 64)
    notes: list[str] = []
    damaged = _cache(tmp_path, notes)
    pd.testing.assert_frame_equal(remission_table(synthetic, models=("logistic",),
                                                  options=OPTIONS, cache=damaged), table)
    assert damaged.misses == 1 and any("unreadable" in n for n in notes)

    changed = _cache(tmp_path)
    remission_table(synthetic, models=("logistic",), options=OPTIONS, cache=changed, seed=2)
    assert changed.misses == 1
