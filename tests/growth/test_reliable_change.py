"""Reliable and clinically significant change (Jacobson and Truax 1991): the classical
classification checked by hand, the posterior shares on patients with known trajectories,
the direction of improvement, and the spec's [reliable_change] table."""

from __future__ import annotations

from dataclasses import replace

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import mbtbayes as mb
from mbtbayes.core.errors import SpecError
from mbtbayes.core.sampling import Diagnostics
from mbtbayes.growth.design import make_design
from mbtbayes.growth.groups import patient_dim
from mbtbayes.growth.modelspec import ReliableChangeNorms
from mbtbayes.growth.reliable_change import (
    CATEGORIES,
    Criteria,
    classify,
    criteria,
    patient_change,
    reliable_change,
)
from mbtbayes.growth.result import GrowthFit
from mbtbayes.growth.specs import spec_from_dict

NORMS = ReliableChangeNorms(0.92, "chosen for the test", None, "no published norm used")


def spec_for(measure: str, norms: ReliableChangeNorms = NORMS):
    spec = mb.make_spec(outcome=measure, time="months", group="patient_id", period="period",
                        range=(0, 4))
    return replace(spec, reliable_change=norms)


def known_fit(spec, data: pd.DataFrame, beta: np.ndarray, effects) -> GrowthFit:
    """A period fit whose posterior is given: ``beta`` (S, p); ``effects(ids)`` returns the
    patient effects (S, G, 2) of the design's observed patients in that order."""
    design = make_design(spec, data, variant="period")
    ids = [design.groups[i] for i in design.observed]
    u = effects(ids)
    pdim = patient_dim(spec)
    posterior = xr.Dataset(
        {"beta": (("chain", "draw", "coef"), beta[None]),
         **{name: (("chain", "draw", pdim), u[None, :, :, k])
            for k, name in enumerate(design.effects)}},
        coords={"coef": list(design.columns), pdim: ids})
    return GrowthFit(spec, "period", design, az.InferenceData(posterior=posterior),
                     Diagnostics(1.0, 1e3, 1e3, 0, True), "test", 0.0)


# ---------------------------------------------------------------- the classical classification

# Baselines 1.5, 2.0, 2.5 in each period: pooled SD 0.5, mean 2.0. With r = 0.92:
# SEdiff = 0.5 x sqrt(2) x sqrt(0.08) = 0.5 x 0.4 = 0.2; threshold 1.96 x 0.2 = 0.392;
# criterion a (lower is better): 2.0 - 2 x 0.5 = 1.0. Each patient's end value and category:
#   A (I)  1.5 -> 0.9 at 24:           -0.6, reliable, 1.5 >= 1 and 0.9 < 1: recovered
#   B (I)  2.0 -> 1.5 at 25 (not 12 or 30: nearest 24 within +-3): -0.5, reliable: improved
#   C (I)  2.5 -> 2.2 at 18 (last):    -0.3: unchanged
#   D (II) 1.5 -> 2.0 at 24:           +0.5, reliable: deteriorated
#   E (II) 2.0 -> 1.7 at 12 (none within 24 +- 3: the last before; not 1.0 at 36): unchanged
#   F (II) 2.5 -> 0.8 at 24:           -1.7, reliable, crosses 1.0: recovered
#   G (II) first value at month 6 (no observed baseline): not classified, not in the SD
HAND = [("A", "I", 0, 1.5), ("A", "I", 24, 0.9),
        ("B", "I", 0, 2.0), ("B", "I", 12, 1.8), ("B", "I", 25, 1.5), ("B", "I", 30, 1.9),
        ("C", "I", 0, 2.5), ("C", "I", 18, 2.2),
        ("D", "II", 0, 1.5), ("D", "II", 24, 2.0),
        ("E", "II", 0, 2.0), ("E", "II", 12, 1.7), ("E", "II", 36, 1.0),
        ("F", "II", 0, 2.5), ("F", "II", 24, 0.8),
        ("G", "II", 6, 3.0), ("G", "II", 24, 1.0)]
EXPECTED = {"A": "recovered", "B": "improved", "C": "unchanged", "D": "deteriorated",
            "E": "unchanged", "F": "recovered"}


def hand_data(measure: str = "bsi") -> pd.DataFrame:
    return pd.DataFrame(HAND, columns=["patient_id", "period", "months", measure])


def zero_fit(spec, data: pd.DataFrame) -> GrowthFit:
    p = len(make_design(spec, data, variant="period").columns)
    return known_fit(spec, data, np.zeros((4, p)), lambda ids: np.zeros((4, len(ids), 2)))


def test_the_classical_classification_matches_the_hand_computation():
    data = hand_data()
    spec = spec_for("bsi")
    crit = criteria(spec, data)
    assert crit.baseline_sd == pytest.approx(0.5) and crit.baseline_mean == pytest.approx(2.0)
    assert crit.se_diff == pytest.approx(0.2) and crit.threshold == pytest.approx(0.392)
    assert crit.cutoff == pytest.approx(1.0) and crit.cutoff_basis.startswith("criterion a")
    patients = patient_change(zero_fit(spec, data), data).patients.set_index("patient")
    got = patients["observed_category"].to_dict()
    assert got == {**EXPECTED, "G": ""}
    assert patients.loc["B", "observed_end_month"] == 25
    assert patients.loc["E", "observed_end"] == 1.7
    table = reliable_change([zero_fit(spec, data)], data).set_index(["period", "category"])
    assert table.loc[("I", "recovered"), "count_observed"] == 1
    assert table.loc[("II", "deteriorated"), "count_observed"] == 1
    assert table.loc[("I", "improved"), "share_observed"] == pytest.approx(1 / 3)
    assert table.loc[("II", "unchanged"), "n_observed"] == 3
    assert table.loc[("II - I", "improved"), "share_observed"] == pytest.approx(-1 / 3)


def test_higher_is_better_turns_the_same_scores_around():
    """fwc_confident has the same 0-4 range but higher is better (io/schema): the same scores
    read the other way (criterion a: 2.0 + 2 x 0.5 = 3.0)."""
    data = hand_data("fwc_confident")
    spec = spec_for("fwc_confident")
    crit = criteria(spec, data)
    assert crit.better == "higher" and crit.cutoff == pytest.approx(3.0)
    got = patient_change(zero_fit(spec, data), data).patients.set_index("patient")
    assert got["observed_category"].to_dict() == {
        "A": "deteriorated", "B": "deteriorated", "C": "unchanged", "D": "improved",
        "E": "unchanged", "F": "deteriorated", "G": ""}


def test_recovery_needs_the_crossing_from_the_dysfunctional_side():
    """Threshold 0.392 and cut-off 1.0 (the hand example), lower is better."""
    crit = Criteria("bsi", "lower", 2.0, 0.5, 0.92, 0.392, 1.0, "criterion a", "", "")
    start = np.array([0.9, 1.5, 1.5, 1.2, 1.0])
    end = np.array([0.3, 1.1, 0.9, 0.95, 0.5])
    # already functional and better: improved; reliable but still above 1.0: improved;
    # reliable and across: recovered; across but -0.25 only: unchanged; from 1.0 (the
    # dysfunctional side's edge) to 0.5: recovered
    assert [CATEGORIES[k] for k in classify(start, end, crit)] == [
        "improved", "improved", "recovered", "unchanged", "recovered"]


# ---------------------------------------------------------------- posterior shares, known truth


def simulated(seed: int = 5, n: int = 80) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Patients with known noise-free trajectories ``a + b t``; some stop early."""
    rng = np.random.default_rng(seed)
    truth = pd.DataFrame({"patient_id": [f"p{i:03d}" for i in range(n)],
                          "period": np.where(np.arange(n) % 2, "II", "I"),
                          "a": rng.uniform(1.4, 3.0, n), "b": rng.uniform(-0.07, 0.03, n),
                          "last": rng.choice([12.0, 18.0, 24.0, 30.0], n)})
    rows = [(r.patient_id, r.period, t, r.a + r.b * t) for r in truth.itertuples()
            for t in (0.0, 6.0, 12.0, 18.0, 24.0, 30.0) if t <= r.last]
    return pd.DataFrame(rows, columns=["patient_id", "period", "months", "bsi"]), truth


def reference_categories(truth: pd.DataFrame, reliability: float) -> pd.DataFrame:
    """Jacobson-Truax by hand on the true start and end (lower is better)."""
    sd = np.sqrt(sum(((g["a"] - g["a"].mean()) ** 2).sum() for _, g in truth.groupby("period"))
                 / (len(truth) - 2))
    threshold = 1.96 * sd * np.sqrt(2 * (1 - reliability))
    cutoff = truth["a"].mean() - 2 * sd
    end = truth["a"] + truth["b"] * np.minimum(truth["last"], 24.0)
    change = end - truth["a"]
    category = np.select(
        [change > threshold, (change < -threshold) & (truth["a"] >= cutoff) & (end < cutoff),
         change < -threshold], ["deteriorated", "recovered", "improved"], "unchanged")
    margin = np.minimum(np.abs(np.abs(change) - threshold),
                        np.minimum(np.abs(truth["a"] - cutoff), np.abs(end - cutoff)))
    return truth.assign(category=category, margin=margin)


def test_posterior_shares_recover_known_trajectories():
    data, truth = simulated()
    spec = spec_for("bsi")
    design = make_design(spec, data, variant="period")
    S, noise = 400, (0.01, 0.0004)
    mu = np.array([2.0, -0.02, 0.3, 0.01])  # Intercept, months, period[II], months:period[II]
    assert list(design.columns) == ["Intercept", "months", "period[II]", "months:period[II]"]
    rng = np.random.default_rng(1)

    def effects(ids: list) -> np.ndarray:
        t = truth.set_index("patient_id").loc[ids]
        two = (t["period"] == "II").to_numpy()
        own = np.column_stack([t["a"] - mu[0] - two * mu[2], t["b"] - mu[1] - two * mu[3]])
        return own[None] + rng.normal(0, noise, (S, len(ids), 2))

    fit = known_fit(spec, data, np.tile(mu, (S, 1)), effects)
    ref = reference_categories(truth, NORMS.reliability).set_index("patient_id")
    got = patient_change(fit, data).patients.set_index("patient")
    # 8 Monte Carlo SEs of a mean of 400 draws of noise SD 0.01 (0.0005 each)
    np.testing.assert_allclose(got["start_mean"], ref.loc[got.index, "a"], atol=0.004)
    assert (got["end_at"] == np.where(ref.loc[got.index, "last"] >= 24, "24 months",
                                      "last assessment")).all()
    clear = ref.index[ref["margin"] > 0.1]  # far from every boundary (noise SD at 24: 0.014)
    modal = got.loc[clear, [f"p_{c}" for c in ("recovered", "improved", "unchanged",
                                                "deteriorated")]].idxmax(axis=1)
    assert (modal.str[2:] == ref.loc[clear, "category"]).all()
    table = reliable_change([fit], data).set_index(["period", "category"])
    for period, group in ref.groupby("period"):
        near = (group["margin"] <= 0.1).sum() / len(group)  # patients who may go either way
        for category in ("recovered", "improved", "unchanged", "deteriorated"):
            share = (group["category"] == category).mean()
            assert abs(table.loc[(period, category), "share_mean"] - share) <= near + 1e-12
    assert set(ref["category"]) == {"recovered", "improved", "unchanged", "deteriorated"}


def test_the_difference_row_is_the_difference_of_the_periods_shares():
    data, truth = simulated(seed=8, n=40)
    spec = spec_for("bsi")
    p = len(make_design(spec, data, variant="period").columns)
    rng = np.random.default_rng(2)
    fit = known_fit(spec, data, np.tile([2.0, -0.02, 0.0, 0.0], (300, 1))[:, :p],
                    lambda ids: rng.normal(0, [0.5, 0.02], (300, len(ids), 2)))
    table = reliable_change([fit], data).set_index(["period", "category"])
    for category in ("recovered", "improved", "unchanged", "deteriorated"):
        diff = table.loc[("II", category), "share_mean"] - table.loc[("I", category),
                                                                     "share_mean"]
        assert table.loc[("II - I", category), "share_mean"] == pytest.approx(diff)
    per_period = table.drop(index="II - I", level="period")["share_mean"].groupby("period").sum()
    np.testing.assert_allclose(per_period, 1.0)


# ---------------------------------------------------------------- the spec's table


def test_spec_table_is_read_and_checked():
    base = {"measure": "bsi", "formulas": {"linear": "bsi ~ months + (1 | patient_id)"}}
    spec = spec_from_dict({**base, "reliable_change": {
        "reliability": 0.9, "reliability_source": "a", "cutoff": 1.2, "cutoff_source": "b"}},
        name="x")
    assert spec.reliable_change == ReliableChangeNorms(0.9, "a", 1.2, "b")
    assert criteria(spec, hand_data()).cutoff_basis == "published norms"
    assert criteria(spec, hand_data()).cutoff == 1.2
    bad = [({"reliability": 1.0, "reliability_source": "a", "cutoff_source": "b"}, "between"),
           ({"reliability": 0.9, "cutoff_source": "b"}, "reliability_source"),
           ({"reliability": 0.9, "reliability_source": "a"}, "cutoff_source"),
           ({"reliability": 0.9, "reliability_source": "a", "cutoff": 5.0,
             "cutoff_source": "b"}, "outside"),
           ({"reliability": 0.9, "reliability_source": "a", "cutoff_source": "b",
             "cut_off": 1}, "cut_off")]
    for table, message in bad:
        with pytest.raises(SpecError, match=message):
            spec_from_dict({**base, "reliable_change": table}, name="x")


def test_bundled_outcome_specs_carry_sourced_norms():
    specs = mb.load_specs()
    for name in ("bsi", "cip", "wsas", "gaf"):
        norms = specs[name].reliable_change
        assert norms is not None and 0 < norms.reliability < 1
        assert norms.cutoff is None and "no published norm used" in norms.cutoff_source
    assert specs["cip"].reliable_change.reliability_source.startswith("assumed")
    assert specs["wai_bonds"].reliable_change is None


def test_specs_without_a_table_are_left_out_and_refused_alone():
    data = hand_data()
    spec = mb.make_spec(outcome="bsi", time="months", group="patient_id", period="period",
                        range=(0, 4))
    fit = zero_fit(spec, data)
    assert reliable_change([fit], data).empty
    with pytest.raises(SpecError, match="reliable_change"):
        patient_change(fit, data)


def test_the_figure_draws_each_period_share_and_the_observed_one():
    from mbtbayes.report.figures_change import ORDER, change_figure

    data = hand_data()
    table = reliable_change([zero_fit(spec_for("bsi"), data)], data)
    fig = change_figure(table)
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == list(ORDER)
    crosses = [line for line in ax.lines if line.get_marker() == "x" and len(line.get_xdata())]
    observed = table[table["period"] != "II - I"]["share_observed"]
    assert sorted(float(line.get_xdata()[0]) for line in crosses) == sorted(observed)
    assert change_figure(table[table["period"] == "II - I"]) is None


def test_observed_ends_follow_the_rule_patient_by_patient():
    """The vectorised choice of each patient's observed start and end against the rule applied
    to one patient at a time: the first value (if within the baseline window); among later
    values the one nearest 24 months within the end window (first of equals), else the last
    before 24, else the first after. Random months with ties, some patients without a
    baseline or a later value."""
    from types import SimpleNamespace

    from mbtbayes.growth.baseline import BASELINE_WINDOW
    from mbtbayes.growth.reliable_change import END_WINDOW, _observed

    rng = np.random.default_rng(5)
    group = rng.integers(0, 60, 400)
    time = rng.choice([0.0, 0.5, 1, 3, 6, 12, 18, 21, 22, 24, 26, 27, 28, 30, 36], 400)
    y = rng.normal(size=400)
    fit = SimpleNamespace(spec=SimpleNamespace(d_months=(0.0, 24.0)),
                          design=SimpleNamespace(group=group, time=time, y=y))
    want = []
    for g in sorted(set(group)):
        rows = sorted(np.flatnonzero(group == g), key=lambda r: time[r])  # stable: ties in order
        later = [r for r in rows if time[r] > BASELINE_WINDOW]
        if time[rows[0]] > BASELINE_WINDOW or not later:
            continue
        near = min(later, key=lambda r: abs(time[r] - 24))
        before = [r for r in later if time[r] < 24]
        end = (near if abs(time[near] - 24) <= END_WINDOW else before[-1] if before
               else later[0])
        want.append((g, y[rows[0]], y[end], time[end]))
    got = _observed(fit)
    assert len(want) > 30 and len(got) < 60
    assert list(got.itertuples(index=False, name=None)) == want
