"""Seeds by name: adding or removing a spec changes no other fit's draws."""

from __future__ import annotations

import numpy as np
import pytest

import mbtbayes as mb
from mbtbayes.core.seeds import seed_for


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


def test_adding_a_spec_leaves_other_fits_unchanged(register):
    specs = mb.load_specs()
    options = mb.SamplerOptions(draws=100, tune=100, chains=2)
    alone = mb.fit_specs({"cip": specs["cip"]}, register, seed=5, options=options)
    both = mb.fit_specs({"bsi": specs["bsi"], "cip": specs["cip"]}, register, seed=5,
                        options=options)
    cip_alone = {f.variant: f.draws("beta") for f in alone}
    cip_both = {f.variant: f.draws("beta") for f in both if f.spec.name == "cip"}
    for variant in ("linear", "period"):
        np.testing.assert_array_equal(cip_alone[variant], cip_both[variant])
    other_seed = mb.fit_specs({"cip": specs["cip"]}, register, seed=6, options=options)
    assert not np.array_equal(cip_alone["period"], other_seed[1].draws("beta"))
