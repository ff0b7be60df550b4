"""The shared decision rules, on intervals whose answer is known by construction."""

from __future__ import annotations

import pytest

from mbtbayes.core.decisions import (
    DIFFERENCE,
    NEGLIGIBLE,
    NONZERO,
    NOT_SHOWN_NEGLIGIBLE,
    TOO_IMPRECISE,
    UNDECIDED,
    ZERO_NOT_EXCLUDED,
    equivalence_test_decision,
    existence_decision,
    rope_decision,
    significance_decision,
)
from mbtbayes.core.errors import DataError, SpecError


@pytest.mark.parametrize(("low", "high", "want"), [
    (0.2, 0.5, DIFFERENCE),        # wholly above the ROPE [-0.1, 0.1]
    (-0.5, -0.2, DIFFERENCE),      # wholly below
    (0.15, 2.0, DIFFERENCE),       # outside, however wide
    (-0.05, 0.05, NEGLIGIBLE),     # wholly inside
    (-0.1, 0.1, NEGLIGIBLE),       # the ROPE's ends count as inside
    (0.05, 0.2, UNDECIDED),        # straddles an edge, width 0.15 <= 0.2
    (-0.1, 0.1000001, TOO_IMPRECISE),  # just past an edge and just wider than the ROPE
    (-0.05, 0.3, TOO_IMPRECISE),   # width 0.35 > 2 x 0.1: could never fall inside
    (-0.3, 0.3, TOO_IMPRECISE),
    (0.1, 0.35, TOO_IMPRECISE),    # touches the edge, width 0.25
])
def test_rope_decision(low, high, want):
    assert rope_decision(low, high, half_width=0.1) == want


def test_too_imprecise_is_exactly_an_interval_wider_than_the_rope():
    assert rope_decision(-0.05, 0.15, half_width=0.1) == UNDECIDED      # width 0.2
    assert rope_decision(-0.05, 0.1501, half_width=0.1) == TOO_IMPRECISE


@pytest.mark.parametrize(("low", "high", "pd", "want"), [
    (0.01, 0.4, 0.99, NONZERO), (-0.4, -0.01, 0.995, NONZERO),
    (-0.01, 0.4, 0.97, ZERO_NOT_EXCLUDED),   # the HDI reaches 0
    (0.0, 0.4, 0.98, ZERO_NOT_EXCLUDED),     # touching 0 does not exclude it
    (0.01, 0.4, 0.975, ZERO_NOT_EXCLUDED),   # P(direction) must exceed 0.975
])
def test_existence_decision(low, high, pd, want):
    assert existence_decision(low, high, p_direction=pd) == want


def test_significance_decision():
    assert significance_decision(0.0499) == NONZERO
    assert significance_decision(0.05) == ZERO_NOT_EXCLUDED
    assert significance_decision(0.02, alpha=0.01) == ZERO_NOT_EXCLUDED


def test_equivalence_test_decision():
    assert equivalence_test_decision(0.049) == NEGLIGIBLE
    assert equivalence_test_decision(0.05) == NOT_SHOWN_NEGLIGIBLE


def test_bad_inputs():
    with pytest.raises(SpecError, match="half-width must be a positive"):
        rope_decision(0.0, 1.0, half_width=0.0)
    with pytest.raises(DataError, match="finite"):
        rope_decision(float("nan"), 1.0, half_width=0.1)
    with pytest.raises(DataError, match="lower end above"):
        existence_decision(1.0, 0.0, p_direction=0.99)
    with pytest.raises(DataError, match="p_direction"):
        existence_decision(0.1, 0.2, p_direction=1.5)
    with pytest.raises(DataError, match="p-value"):
        significance_decision(float("nan"))
