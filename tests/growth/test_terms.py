"""Formula terms read before any data, and the comma-free spline against formulae's bs()."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mbtbayes.core.errors import SpecError
from mbtbayes.growth.terms import CubicSpline, parse_formula


def test_terms_of_a_formula():
    f = parse_formula("y ~ (t + I(t**2)) * g + age + (1 | id) + (t | id)")
    assert f.common == ("Intercept", "t", "I(t ** 2)", "g", "t:g", "I(t ** 2):g", "age")
    assert [(g.expr, g.factor) for g in f.group] == [("1", "id"), ("t", "id")]
    assert f.variables == {"y", "t", "g", "age", "id"} and not f.uncorrelated
    with pytest.raises(SpecError, match="cannot parse"):
        parse_formula("y ~ t + (t | ")
    with pytest.raises(SpecError, match="must be a string 'outcome ~ terms'"):
        parse_formula("y")


@pytest.mark.parametrize("df", [3, 4, 6])
def test_spline_equals_formulae_bs_and_keeps_its_knots(df):
    import formulae

    x = np.random.default_rng(2).uniform(0, 37, 200)
    spline = CubicSpline(df)
    ours = spline(x)
    frame = pd.DataFrame({"x": x, "y": 0.0})
    theirs = formulae.design_matrices(f"y ~ 0 + bs(x, df={df})", frame).common
    np.testing.assert_allclose(ours, np.asarray(theirs), atol=1e-12)
    new = np.array([0.0, 9.0, 30.0])
    np.testing.assert_allclose(spline(new), np.asarray(theirs.evaluate_new_data(
        pd.DataFrame({"x": new}))), atol=1e-12)
