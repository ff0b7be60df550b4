"""Seeds by name: adding or removing a spec changes no other fit's draws."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import mbtbayes as mb
from mbtbayes.core.seeds import seed_for
from mbtbayes.growth.engines import Engines


def test_seed_depends_on_run_seed_and_identity_only():
    assert seed_for(7, "bsi", "period") == seed_for(7, "bsi", "period")
    distinct = {seed_for(7, "bsi", "period"), seed_for(7, "bsi", "linear"),
                seed_for(8, "bsi", "period"), seed_for(7, "cip", "period")}
    assert len(distinct) == 4


def test_identity_parts_are_not_concatenated_ambiguously():
    assert seed_for(1, "ab", "c") != seed_for(1, "a", "bc")


@pytest.fixture(scope="module")
def register():
    return mb.load_register().data


class RecordingEngine:
    """Stands in for an engine: records the seed each fit is given."""

    def __init__(self):
        self.seeds = {}

    def fit_design(self, spec, design, *, variant, seed):
        self.seeds[(spec.name, variant)] = seed
        return SimpleNamespace(spec=spec, variant=variant)


def recording_engines() -> tuple[Engines, RecordingEngine]:
    """Engines whose marginal and Bambi engines both record instead of sampling."""
    recorder = RecordingEngine()
    return Engines(_engines={"marginal": recorder, "bambi": recorder}), recorder


def test_adding_a_spec_changes_no_other_fits_seed(register):
    specs = mb.load_specs()
    (engines_alone, alone), (engines_both, both) = recording_engines(), recording_engines()
    mb.fit_specs({"cip": specs["cip"]}, register, seed=5, engines=engines_alone,
                 progress=False)  # the recorder's fits have no diagnostics to show
    mb.fit_specs({"bsi": specs["bsi"], "cip": specs["cip"]}, register, seed=5,
                 engines=engines_both, progress=False)
    assert alone.seeds == {k: v for k, v in both.seeds.items() if k[0] == "cip"}
    assert alone.seeds[("cip", "period")] == seed_for(5, "cip", "period")


def test_the_same_seed_gives_the_same_draws(register):
    """With the seed fixed by name, the draws are fixed too (nutpie is deterministic)."""
    from mbtbayes.growth.design import make_design
    from mbtbayes.growth.marginal import engine_for

    spec = mb.load_specs()["cip"]
    engine = engine_for(mb.SamplerOptions(draws=100, tune=100, chains=2))
    design = make_design(spec, register, variant="period")
    first, again, other = (engine.fit_design(spec, design, variant="period", seed=s, gate=False)
                           for s in (11, 11, 12))
    np.testing.assert_array_equal(first.draws("beta"), again.draws("beta"))
    assert not np.array_equal(first.draws("beta"), other.draws("beta"))
