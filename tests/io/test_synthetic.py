"""The synthetic register hits the published targets (reference values: the paper's text)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mbtbayes.core.defaults import SEED
from mbtbayes.io.register import bundled_path, load_register, prepare_register
from mbtbayes.io.schema import MEASURES
from mbtbayes.io.synthetic import GROWTH, simulate_register, write_register

# Published in the paper (percent): start, last year of MBT, remission overall / I / II.
PAPER = {
    "self_harm_start": 85, "self_harm_last_year": {"I": 23, "II": 34},
    "self_harm_remission": {"all": 70, "I": 75, "II": 63},
    "attempt_start": 30, "attempt_last_year": 9,
    "attempt_remission": {"all": 88, "I": 89, "II": 87},
}


@pytest.fixture(scope="module")
def patients(synthetic) -> pd.DataFrame:
    return synthetic.drop_duplicates("patient_id").set_index("patient_id")


def pct(mask: pd.Series) -> float:
    return 100 * mask.mean()


def test_patients_per_period_and_assessments(synthetic):
    per_period = synthetic.groupby("period", observed=True)["patient_id"].nunique()
    assert per_period.to_dict() == {"I": 96, "II": 89}
    n = synthetic.groupby("patient_id").size()
    assert n.min() >= 1 and n.max() <= 7 and n.mean() > 3


def test_valid_under_the_schema_and_on_each_scale(synthetic):
    reg = prepare_register(synthetic)
    for name, m in MEASURES.items():
        values = reg.data[name].dropna()
        assert values.between(m.low, m.high).all(), name
        steps = values / m.step
        assert np.allclose(steps, np.round(steps), atol=0.01), f"{name} off its resolution"
    for name in ("wsas", "gaf"):
        assert (reg.data[name].dropna() % 1 == 0).all()


def test_binary_percentages_within_two_points(patients):
    end = patients[patients["self_harm_end"].notna()]
    start_harm = end[end["self_harm_start"] == 1]
    start_att = end[end["suicide_attempt_start"] == 1]
    assert abs(pct(patients["self_harm_start"] == 1) - PAPER["self_harm_start"]) <= 2
    assert abs(pct(patients["suicide_attempt_start"] == 1) - PAPER["attempt_start"]) <= 2
    assert abs(pct(end["suicide_attempt_end"] == 1) - PAPER["attempt_last_year"]) <= 2
    for period in ("I", "II"):
        last = end[end["period"] == period]
        assert abs(pct(last["self_harm_end"] == 1) - PAPER["self_harm_last_year"][period]) <= 2
    for group, key in ((start_harm, "self_harm"), (start_att, "attempt")):
        column = "self_harm_end" if key == "self_harm" else "suicide_attempt_end"
        target = PAPER[f"{key}_remission"]
        assert abs(pct(group[column] == 0) - target["all"]) <= 2
        for period in ("I", "II"):
            sub = group[group["period"] == period]
            assert abs(pct(sub[column] == 0) - target[period]) <= 2


def test_derived_remission_counts(patients):
    """41/55 vs 27/43 and 17/19 vs 13/15: the counts consistent with the paper's p-values."""
    end = patients[patients["self_harm_end"].notna()]
    harm = end[end["self_harm_start"] == 1].groupby("period")["self_harm_end"]
    att = end[end["suicide_attempt_start"] == 1].groupby("period")["suicide_attempt_end"]
    assert harm.apply(lambda s: ((s == 0).sum(), s.size)).to_dict() == {
        "I": (41, 55), "II": (27, 43)}
    assert att.apply(lambda s: ((s == 0).sum(), s.size)).to_dict() == {
        "I": (17, 19), "II": (13, 15)}


def test_new_onset_attempters_exist(patients):
    end = patients[patients["suicide_attempt_end"].notna()]
    assert ((end["suicide_attempt_start"] == 0) & (end["suicide_attempt_end"] == 1)).sum() > 0


def test_period_two_has_more_dropout_and_shorter_treatment(patients):
    by = patients.groupby("period")
    assert by["dropout"].mean()["II"] > by["dropout"].mean()["I"]
    assert by["duration_months"].mean()["II"] < by["duration_months"].mean()["I"]
    assert patients["duration_months"].max() <= 36


@pytest.mark.parametrize("measure", ["bsi", "cip", "wsas", "gaf"])
def test_generating_values_imply_large_24_month_effect(measure):
    g = GROWTH[measure]
    d = abs(g.slope) * 24 / g.baseline_sd  # the paper's d: change / observed baseline SD
    assert 1.0 < d < 1.6


@pytest.mark.parametrize("measure", ["bsi", "cip", "wsas", "gaf"])
def test_observed_baseline_sd_matches_generating_value(synthetic, measure):
    baseline = synthetic.loc[synthetic["assessment"] == 1, measure].dropna()
    assert baseline.std() == pytest.approx(GROWTH[measure].baseline_sd, rel=0.15)


def test_wai_version_switches_by_calendar_date(synthetic):
    by_period = synthetic.groupby("period", observed=True)["wai_version"]
    share_sr = by_period.apply(lambda s: (s == "SR").mean())
    assert 0 < share_sr["I"] < share_sr["II"]
    switched = synthetic["wai_version"].eq("SR").astype(int).groupby(synthetic["patient_id"])
    assert (switched.diff().dropna() >= 0).all()  # never back from SR to S


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    a = write_register(tmp_path / "a.csv", seed=5).read_bytes()
    b = write_register(tmp_path / "b.csv", seed=5).read_bytes()
    c = write_register(tmp_path / "c.csv", seed=6).read_bytes()
    assert a == b and a != c


def test_bundled_register_is_the_default_seed(tmp_path):
    fresh = write_register(tmp_path / "r.csv", seed=SEED).read_bytes()
    assert bundled_path().read_bytes() == fresh
    reg = load_register()
    assert reg.synthetic and "SYNTHETIC" in reg.label


def test_labelled_synthetic_everywhere(synthetic):
    assert (synthetic["dataset"] == "synthetic").all()
    assert synthetic["patient_id"].str.startswith("SYN").all()


def test_scale_multiplies_patients():
    big = simulate_register(seed=2, scale=3)
    assert big.groupby("period", observed=True)["patient_id"].nunique().to_dict() == {
        "I": 288, "II": 267}
    with pytest.raises(ValueError, match="scale"):
        simulate_register(scale=0)
