"""The fit cache: a hit returns the same draws without sampling; a change to what decides the
draws (data, priors, seed, sampler settings) misses; a summary-only change (ROPE) hits; a
truncated or altered entry is refitted with a logged note; a foreign folder is refused.

Reference values: the first fit's own draws (a hit must reproduce them bit for bit, and a
refit of a corrupt entry, same seed, must too), and the number of sampler calls counted by a
wrapper around the sampler.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import mbtbayes as mb
from mbtbayes.core.cache import MARKER, default_cache_dir
from mbtbayes.core.errors import OutputError
from mbtbayes.core.sampling import Sampler, SamplerOptions
from mbtbayes.growth.cache import FitCache
from mbtbayes.growth.engines import engines_for


@pytest.fixture(scope="module")
def engines():
    """One pair of engines for the module (one compiled graph); small draws."""
    return engines_for(SamplerOptions(draws=60, tune=60, chains=2))


@pytest.fixture(scope="module")
def data(synthetic):
    keep = synthetic["patient_id"].drop_duplicates().iloc[:40]
    return synthetic[synthetic["patient_id"].isin(keep)].reset_index(drop=True)


@pytest.fixture
def spec():
    """A linear-only spec (one fit per call)."""
    return mb.make_spec(outcome="bsi", time="months", group="patient_id", range=(0, 4),
                        name="bsi_lin")


@pytest.fixture
def calls(monkeypatch):
    """Counts every sampling call (first attempts and refits)."""
    count = {"n": 0}
    original = Sampler.gated

    def counted(self, *args, **kwargs):
        count["n"] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Sampler, "gated", counted)
    return count


def fit(spec, data, engines, cache, *, seed=1, log=None):
    return mb.fit_specs({spec.name: spec}, data, seed=seed, engines=engines, cache=cache,
                        log=log)[0]


def same_draws(a, b) -> bool:
    return all(a.idata[g].equals(b.idata[g]) for g in a.idata.groups()) and \
        a.params.equals(b.params) and a.diagnostics == b.diagnostics


def test_a_hit_returns_the_same_draws_without_sampling(spec, data, engines, calls, tmp_path):
    first = fit(spec, data, engines, tmp_path)
    assert (tmp_path / MARKER).is_file()
    FitCache(tmp_path)  # its own folder: accepted again
    sampled = calls["n"]
    assert sampled >= 1
    lines = []
    again = fit(spec, data, engines, tmp_path, log=lines.append)
    assert calls["n"] == sampled  # no sampling
    assert same_draws(first, again)
    assert "from the fit cache" in lines[-1]  # and no sampling time (test_fit_progress)
    np.testing.assert_array_equal(first.beta().to_numpy(), again.beta().to_numpy())


def test_what_decides_the_draws_misses_and_the_rope_hits(spec, data, engines, calls, tmp_path):
    first = fit(spec, data, engines, tmp_path)
    n = calls["n"]
    fit(spec, data, engines, tmp_path, seed=2)
    assert calls["n"] > n, "another seed must sample"
    n = calls["n"]
    changed = data.copy()
    changed.loc[0, "bsi"] = changed.loc[0, "bsi"] + 0.01
    fit(spec, changed, engines, tmp_path)
    assert calls["n"] > n, "other data must sample"
    n = calls["n"]
    priors = dict(spec.priors) | {"sigma": {"dist": "HalfNormal",
                                            "sigma": 2 * spec.priors["sigma"]["sigma"]}}
    fit(dataclasses.replace(spec, priors=priors), data, engines, tmp_path)
    assert calls["n"] > n, "another prior must sample"
    n = calls["n"]
    fit(spec, data, engines.with_options(SamplerOptions(draws=61, tune=60, chains=2)), tmp_path)
    assert calls["n"] > n, "other sampler settings must sample"
    n = calls["n"]
    rope = fit(dataclasses.replace(spec, rope_sd_units=0.2, label="other"), data, engines,
               tmp_path)
    assert calls["n"] == n, "a summary-only change must not sample"
    assert same_draws(first, rope) and rope.spec.rope_sd_units == 0.2


@pytest.mark.parametrize("damage", ["truncate", "flip", "drop_entry_json"])
def test_a_corrupt_entry_is_refitted_with_a_note(spec, data, engines, calls, tmp_path, damage):
    first = fit(spec, data, engines, tmp_path)
    (entry,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    idata = entry / "idata.nc"
    if damage == "truncate":
        idata.write_bytes(idata.read_bytes()[: idata.stat().st_size // 2])
    elif damage == "flip":
        raw = bytearray(idata.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        idata.write_bytes(bytes(raw))
    else:
        (entry / "entry.json").unlink()
    n, lines = calls["n"], []
    refit = fit(spec, data, engines, tmp_path, log=lines.append)
    assert calls["n"] > n
    assert any("unreadable" in line and "refitting" in line for line in lines)
    assert same_draws(first, refit)  # same seed: the same draws
    n = calls["n"]
    fit(spec, data, engines, tmp_path)  # the entry was replaced: a hit now
    assert calls["n"] == n


def test_a_folder_mbtbayes_did_not_write_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="did not write"):
        FitCache(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    empty = tmp_path / "new"
    FitCache(empty)
    assert not empty.exists()  # created with the first entry only


def test_the_default_folder_sits_beside_the_output(tmp_path):
    assert default_cache_dir(tmp_path / "results") == tmp_path.resolve() / ".mbtbayes-cache"


def test_kfold_refits_are_read_from_the_samplers_cache(spec, data, engines, calls, tmp_path):
    """K-fold refits keep no fit, so their draws go through the sampler's cache: a second
    K-fold with the same folds samples nothing and gives the same ELPD; without a cache
    every fold samples."""
    from mbtbayes.growth.loo import kfold_patients

    base = fit(spec, data, engines, None)
    stored = engines.with_options(engines.sampling.options)
    stored.sampling.cache = FitCache(tmp_path)
    before = calls["n"]
    first = kfold_patients(base, engines=stored, k=3, seed=4)
    assert calls["n"] - before == 3 and stored.sampling.cache.misses == 3

    again = engines.with_options(engines.sampling.options)
    again.sampling.cache = FitCache(tmp_path)
    second = kfold_patients(base, engines=again, k=3, seed=4)
    assert again.sampling.cache.hits == 3
    np.testing.assert_array_equal(first.pointwise, second.pointwise)
