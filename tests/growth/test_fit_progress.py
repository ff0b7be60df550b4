"""What ``mb.fit_specs`` says while it fits: the command line's progress display by default
(the fit being sampled, a line per fit with its count), nothing with ``progress=False``; and
a fit read back from the fit cache is said to be so, without the first run's sampling time.

Reference values: the fits' own counts and the sampler's calls (a cache hit samples nothing).
"""

from __future__ import annotations

import re

import pytest

import mbtbayes as mb
from mbtbayes.core.sampling import SamplerOptions
from mbtbayes.growth.engines import engines_for
from mbtbayes.growth.fanout import fit_specs_on

SECONDS = re.compile(r"\b\d+\.\d s\b")
"""A sampling time in a fit's line (``41.2 s``)."""


@pytest.fixture(scope="module")
def engines():
    return engines_for(SamplerOptions(draws=60, tune=60, chains=2))


@pytest.fixture(scope="module")
def data(synthetic):
    keep = synthetic["patient_id"].drop_duplicates().iloc[:40]
    return synthetic[synthetic["patient_id"].isin(keep)].reset_index(drop=True)


@pytest.fixture
def specs():
    """Two linear-only specs: two fits per call."""
    return {name: mb.make_spec(outcome=col, time="months", group="patient_id", range=rng,
                               name=name)
            for name, col, rng in (("bsi_lin", "bsi", (0, 4)), ("gaf_lin", "gaf", (1, 100)))}


def test_fit_specs_shows_progress_by_default_and_not_with_progress_false(
        specs, data, engines, capsys):
    mb.fit_specs(specs, data, seed=1, engines=engines)
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("fitting 2 growth models with nutpie (2 chains x 60 draws")
    assert err[1] == "[1/2] growth models: bsi_lin linear ..."  # the fit under way
    assert err[2].startswith("[1/2] bsi_lin linear: n=") and SECONDS.search(err[2])
    assert err[3] == "[2/2] growth models: gaf_lin linear ..."
    assert err[4].startswith("[2/2] gaf_lin linear: n=") and len(err) == 5

    mb.fit_specs(specs, data, seed=1, engines=engines, progress=False)
    assert capsys.readouterr() == ("", "")


def test_a_given_log_gets_the_lines_and_a_callable_the_counts(specs, data, engines, capsys):
    lines, counts = [], []
    mb.fit_specs(specs, data, seed=1, engines=engines, log=lines.append,
                 progress=lambda done, total: counts.append((done, total)))
    assert counts == [(0, 2), (1, 2), (2, 2)]
    assert [line[:15] for line in lines] == ["[1/2] bsi_lin l", "[2/2] gaf_lin l"]
    assert capsys.readouterr().err == ""  # the caller's progress: no display of its own


def test_a_cached_fit_is_said_to_be_cached_without_the_first_runs_seconds(
        specs, data, engines, tmp_path, monkeypatch, capsys):
    first = []
    mb.fit_specs(specs, data, seed=2, engines=engines, cache=tmp_path, log=first.append,
                 progress=False)
    assert all(SECONDS.search(line) and "cache" not in line for line in first)

    def no_sampling(*args, **kwargs):
        raise AssertionError("a cached fit was sampled")

    monkeypatch.setattr(type(engines), "fit_design", no_sampling)
    said = []
    mb.fit_specs(specs, data, seed=2, engines=engines, cache=tmp_path, log=said.append)
    assert [line[:6] for line in said] == ["[1/2] ", "[2/2] "]  # a given log: the fits' lines
    for line in said:
        assert "from the fit cache" in line and not SECONDS.search(line), line
    err = capsys.readouterr().err  # the display: its first line, and no fit under way
    assert err.startswith("fitting 2 growth models") and "linear ..." not in err

    fanned = []  # the fan-out (reanalyze --scheduler) says the same of the same fits
    fit_specs_on(None, specs, data, seed=2, engines=engines, cache=tmp_path, log=fanned.append)
    assert [line.split(": ")[0] for line in fanned] == ["[1/2] bsi_lin linear",
                                                        "[2/2] gaf_lin linear"]
    for line in fanned:
        assert "from the fit cache" in line and not SECONDS.search(line), line
