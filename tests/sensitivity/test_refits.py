"""Refit analyses: the alternatives are the baseline spec with exactly one change; the
assessment count is each patient's number of observed values (pandas by hand); a Student-t
refit on heavy-tailed simulated data finds a small nu (simulation truth nu = 3, slow)."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import mbtbayes as mb
from mbtbayes.growth.engine_choice import resolve_engine
from mbtbayes.sensitivity.refits import COUNT, alternatives


class _Fit:
    def __init__(self, spec):
        self.spec = spec


def test_alternatives_change_one_thing_each():
    reg = mb.load_register()
    spec = mb.load_specs()["wai_goals_tasks"]
    alts = {a.setting: a for a in alternatives(_Fit(spec), reg.data)}
    assert alts["Student-t residuals"].spec.family == "t"
    assert spec.correlated  # the bundled default: the alternative is uncorrelated
    assert not alts["uncorrelated intercept and slope"].spec.correlated
    assert "(1 | patient_id)" in alts["intercept only"].spec.formulas["period"]
    assert alts["period-specific residual SD"].spec.auxiliary["period"] == ("sigma ~ period",)
    assert "wai_version" not in alts["without the version term"].spec.formulas["period"]
    assert resolve_engine(alts["intercept only"].spec) == "bambi"
    assert resolve_engine(alts["uncorrelated intercept and slope"].spec) == "marginal"
    flipped = {a.setting: a for a in alternatives(_Fit(replace(spec, correlated=False)),
                                                  reg.data)}
    assert flipped["correlated intercept and slope"].spec.correlated
    counted = alts["number of assessments on intercept and slope"]
    assert f"months:{COUNT}" in counted.spec.formulas["period"]
    data = reg.data
    by_hand = data[data["wai_goals_tasks"].notna()].groupby("patient_id").size()
    got = counted.data.drop_duplicates("patient_id").set_index("patient_id")[COUNT]
    expected = by_hand.reindex(got.index).fillna(0) - by_hand.mean()
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy())


def test_no_version_alternative_without_a_version_term():
    spec = mb.load_specs()["bsi"]
    settings = {a.setting for a in alternatives(_Fit(spec), mb.load_register().data)}
    assert "without the version term" not in settings


@pytest.mark.slow
def test_student_t_refit_finds_heavy_tails():
    from mbtbayes.growth.engines import engines_for
    from mbtbayes.sensitivity.refits import refit_rows

    rng = np.random.default_rng(8)
    rows = []
    for i in range(80):
        u = rng.normal(0, 0.5)
        for t in (0.0, 6.0, 12.0, 24.0):
            rows.append((f"P{i:02d}", "I" if i < 40 else "II", t,
                         5 + u - 0.02 * t + 0.3 * rng.standard_t(3)))
    data = pd.DataFrame(rows, columns=["patient_id", "period", "months", "y"])
    spec = mb.make_spec(outcome="y", time="months", group="patient_id", period="period",
                        range=(0, 10))
    engines = engines_for(mb.SamplerOptions(draws=400, tune=400, chains=2))
    fit = mb.fit_growth(spec, data, engines=engines, seed=1)
    # a baseline dict written before the difference in change joined the main quantities:
    # the quantities it lacks are decided on the baseline fit's own draws
    base = dict.fromkeys(["contrast_intercept", "contrast_slope", "contrast_at_24", "d_I",
                          "d_II"], "undecided")
    out = pd.DataFrame(refit_rows(fit, data, engines=engines, seed=1, baseline=base,
                                  analyses=("robust likelihood",)))
    assert {"change_difference", "d_difference"} <= set(out["quantity"])
    nu_mean = float(out["note"].iloc[0].split()[1])
    assert nu_mean < 8, out["note"].iloc[0]
    assert "ELPD vs baseline +" in out["diagnostic"].iloc[0]  # t fits heavy tails better
