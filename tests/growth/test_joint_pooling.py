"""The joint model's pooling of the period terms across outcomes, and its sensitivity table.

Fast: the between-outcome SD's prior width reaches the model built on the sampling path (prior
draws against the HalfNormal's mean, scale x sqrt(2 / pi)), and ``joint_pooling`` passes each
setting's prior and seed to ``fit_joint`` and decides each row as a hand computation of the HDI
rules does. Slow: a simulated register with real between-outcome heterogeneity (known period
effects +0.4, 0 and -0.2 baseline SD in the change 0-24 months), fitted pooled at three prior
widths and unpooled: the truth inside the 95% HDIs, the between-outcome SD's truth inside its
HDI, and pooling pulling the outcomes' estimates together, less with a wider prior.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mbtbayes.core.errors import SpecError
from mbtbayes.growth.joint.data import Scaling, prepare
from mbtbayes.growth.joint.model import TAU_PRIOR_KEYS, default_priors
from mbtbayes.io.register import load_register

OUT = ("bsi", "cip", "gaf")


class _Recorder:
    """A stand-in for the Sampler: records the model ``sample_joint`` would sample."""

    class options:  # noqa: N801 (an attribute bag like SamplerOptions)
        sampler = "pymc"

    def sample_model(self, *, build, data, **kwargs):
        self.model = build(data)
        raise StopIteration  # nothing to sample


@pytest.mark.parametrize("factor", [0.5, 2.0])
def test_prior_width_reaches_the_model_on_the_sampling_path(factor):
    """4000 prior draws of each between-outcome SD: mean within 4 Monte Carlo SEs of the
    HalfNormal(factor x default scale) mean, scale sqrt(2 / pi) (SE: scale sqrt(1 - 2 / pi) /
    sqrt(4000)); the default scale (factor 1) would sit 20+ SEs away."""
    import pymc as pm

    from mbtbayes.growth.joint.fit import _priors, sample_joint

    data = load_register().data
    jd = prepare(data, outcomes=OUT)
    base = default_priors(len(OUT))
    priors = _priors({k: factor * base[k] for k in TAU_PRIOR_KEYS}, len(OUT))
    rec = _Recorder()
    with pytest.raises(StopIteration):
        sample_joint(jd, sampling=rec, variant="period", seed=1, priors=priors)
    n = 4000
    for key in TAU_PRIOR_KEYS:
        draws = pm.draw(rec.model[key.removesuffix("_sd")], draws=n, random_seed=3)
        scale = factor * float(base[key])
        se = scale * np.sqrt(1 - 2 / np.pi) / np.sqrt(n)
        assert abs(draws.mean() - scale * np.sqrt(2 / np.pi)) < 4 * se, (key, draws.mean())


# ---------------------------------------------------------------- the table, without sampling

def _fake_joint(slope_means: np.ndarray, *, pooled: bool = True, seed: int = 0,
                variant: str = "period"):
    """A JointFit with normal draws of delta_slope (SD 0.002 per month), delta_int 0."""
    import arviz as az

    from mbtbayes.core.sampling import Diagnostics
    from mbtbayes.growth.joint.fit import JointFit

    rng = np.random.default_rng(seed)
    shape = (2, 500)
    jd = prepare(load_register().data, outcomes=OUT)
    post = {"delta_int": np.zeros((*shape, len(OUT))),
            "delta_slope": rng.normal(slope_means, 0.002, (*shape, len(OUT)))}
    if pooled:
        post |= {"tau_int": np.abs(rng.normal(0, 0.1, shape)),
                 "tau_slope": np.abs(rng.normal(0, 0.01, shape))}
    diag = Diagnostics(1.0, 500, 500, 0, True, reason="")
    return JointFit(jd, variant, pooled, az.from_dict(posterior=post), diag, 3.0, 1.0,
                    default_priors(len(OUT)))


def test_joint_pooling_passes_each_setting_and_decides_like_the_hdi_rules(monkeypatch):
    """Each setting's tau prior scales are the default's times its factor, its seed is named,
    and its rows' decisions are those of the HDI rules worked by hand on the known draws:
    default slope +0.5/24 per month (0.5 SD at 24 months, far beyond 0 and every margin:
    nonzero, difference), the unpooled fit's 0 (+-0.048 SD: zero not excluded, and inside the
    margin of about 0.2 SD: negligible)."""
    import mbtbayes as mb
    from mbtbayes.core.seeds import seed_for
    from mbtbayes.growth.joint import fit as fit_module

    calls = []

    def fake_fit_joint(data, *, outcomes, seed, options, priors, pooled, progress, **kw):
        calls.append({"seed": seed, "priors": priors, "pooled": pooled, **kw})
        means = np.full(len(OUT), 0.5 / 24 if pooled else 0.0)
        return _fake_joint(means, pooled=pooled, seed=len(calls))

    monkeypatch.setattr(fit_module, "fit_joint", fake_fit_joint)
    data = load_register().data
    given = _fake_joint(np.full(len(OUT), 0.5 / 24))
    table = mb.joint_pooling(data, joint=given, seed=7)

    assert [c["pooled"] for c in calls] == [True, True, False]  # narrow, wide, unpooled
    base = default_priors(len(OUT))
    for call, factor in zip(calls[:2], (0.5, 2.0), strict=True):
        for key in TAU_PRIOR_KEYS:
            assert float(call["priors"][key]) == pytest.approx(factor * float(base[key]))
        assert call["scaling"] is given.data.scaling
    assert [c["seed"] for c in calls] == [seed_for(7, "joint_pooling", s)
                                          for s in ("narrow", "wide", "unpooled")]

    rows = table[table["quantity"] == "change_difference_std"].set_index(["setting", "outcome"])
    assert rows.loc[("default", "bsi"), "existence"] == "nonzero"
    assert rows.loc[("default", "bsi"), "rope_decision"] == "difference"
    assert not rows.loc["narrow", "conclusion_changed"].any()
    unpooled = rows.loc["unpooled"]
    assert (unpooled["existence"] == "zero not excluded").all()
    assert (unpooled["rope_decision"] == "negligible").all()
    assert unpooled["conclusion_changed"].all()
    assert (table.loc[table["setting"] == "default", "seconds"] == 4.0).all()  # given: reused
    taus = table[table["outcome"] == "pooled"]
    assert set(taus["setting"]) == {"narrow", "default", "wide"}

    # the run's specs decide the margins: bsi's margin doubled doubles its ROPE in SD units
    from dataclasses import replace

    spec = mb.load_specs()["bsi"]
    wider = replace(spec, rope_half_width=2 * spec.rope_half_width)
    calls.clear()
    own = mb.joint_pooling(data, joint=given, seed=7, specs={"bsi": wider})
    half = {t: x[(x["quantity"] == "change_difference_std") & (x["setting"] == "default")]
            .set_index("outcome")["rope_half_width"] for t, x in (("bundled", table),
                                                                  ("own", own))}
    assert half["own"]["bsi"] == pytest.approx(2 * half["bundled"]["bsi"])
    assert half["own"]["cip"] == pytest.approx(half["bundled"]["cip"])


def test_joint_pooling_refuses_bad_widths():
    import mbtbayes as mb

    data = load_register().data
    with pytest.raises(SpecError, match="default"):
        mb.joint_pooling(data, widths={"narrow": 0.5})
    with pytest.raises(SpecError, match="positive"):
        mb.joint_pooling(data, widths={"default": 1.0, "zero": 0.0})


# ---------------------------------------------------------------- recovery (slow)

K = len(OUT)
CHANGE_DIFF = np.array([0.4, 0.0, -0.2])
"""True Period II - I difference of the change 0-24 months per outcome (baseline SD)."""
TRUTH = {"intercept": np.zeros(K), "slope": np.array([0.04, 0.04, 0.05]),
         "delta_int": np.array([0.1, -0.1, 0.0]), "delta_slope": CHANGE_DIFF / 24,
         "int_sd": np.full(K, 0.8), "slope_sd": np.full(K, 0.03),
         "resid_sd": np.full(K, 0.5)}
SCALING = Scaling(OUT, np.array([2.0, 1.75, 46.0]), np.array([0.65, 0.5, 5.5]),
                  np.array([-1.0, -1.0, 1.0]))


def simulate(seed: int = 21) -> pd.DataFrame:
    """The bundled register's design (patients, periods, times, missing cells) with the three
    outcomes drawn from the joint model with outcome-specific period effects (model units)."""
    rng = np.random.default_rng(seed)
    data = load_register().data[["patient_id", "period", "months", *OUT]].copy()
    ids, index = np.unique(data["patient_id"], return_inverse=True)
    corr = np.full((2 * K, 2 * K), 0.3) + 0.7 * np.eye(2 * K)
    sd = np.r_[TRUTH["int_sd"], TRUTH["slope_sd"]]
    effects = rng.multivariate_normal(np.zeros(2 * K), sd[:, None] * corr * sd, len(ids),
                                      method="cholesky")
    t = data["months"].to_numpy()[:, None]
    p = (data["period"].astype(str) == "II").to_numpy(float)[:, None]
    z = (TRUTH["intercept"] + TRUTH["slope"] * t
         + p * (TRUTH["delta_int"] + TRUTH["delta_slope"] * t)
         + effects[index, :K] + effects[index, K:] * t
         + rng.normal(0.0, TRUTH["resid_sd"], (len(data), K)))
    values = SCALING.mean + z * SCALING.sd * SCALING.sign
    missing = data[list(OUT)].isna().to_numpy()
    data[list(OUT)] = np.where(missing, np.nan, values)
    return data


@pytest.mark.slow
def test_pooling_recovers_heterogeneous_effects_and_shrinks_less_with_a_wider_prior():
    """Truth: the change differences +0.4, 0, -0.2 SD; the between-outcome SD of the slope
    differences their SD (ddof 1: 0.306 / 24 per month), of the intercept differences 0.1.

    Checks: the default pooled and the unpooled fit's per-outcome change differences have
    the truth inside their 95% HDIs with |z| < 3 (6 intervals, each missed with probability
    0.05 by a calibrated posterior: two or more misses have probability 0.03, so one is
    allowed; the narrow prior is left out: it is meant to pull +0.4 towards the others); the
    default fit's between-outcome SDs inside their 95% HDIs; pooling pulls the outcomes
    together: the spread of their posterior means (SD of the three means) smaller pooled than
    unpooled, and narrow than wide, each by more than 4 Monte Carlo SEs of the difference
    (the spread's MCSE taken as the largest MCSE of the three means, sd / sqrt(bulk ESS)).
    """
    import mbtbayes as mb
    from mbtbayes.core.sampling import SamplerOptions

    data = simulate()
    options = SamplerOptions(draws=500, tune=700, chains=2)
    default = mb.fit_joint(data, outcomes=list(OUT), scaling=SCALING, options=options, seed=3,
                           progress=False)
    table = mb.joint_pooling(data, joint=default, options=options, seed=3)
    assert table["passed"].all(), table.groupby("setting")["reason"].first().to_dict()

    rows = table[table["quantity"] == "change_difference_std"]
    truth = dict(zip(OUT, CHANGE_DIFF, strict=True))
    rows = rows.assign(truth=rows["outcome"].map(truth))
    fitted = rows[rows["setting"].isin(["default", "unpooled"])]
    z = (fitted["mean"] - fitted["truth"]) / fitted["sd"]
    missed = fitted[(fitted["truth"] < fitted["hdi_low"]) | (fitted["truth"] > fitted["hdi_high"])]
    assert len(missed) <= 1, missed[["setting", "outcome", "mean", "hdi_low", "hdi_high"]]
    assert (z.abs() < 3).all(), z.to_list()

    tau = table[(table["setting"] == "default") & (table["outcome"] == "pooled")]
    tau = tau.set_index("quantity")
    for quantity, value in (("between_outcome_sd_slope", np.std(CHANGE_DIFF, ddof=1) / 24),
                            ("between_outcome_sd_int", np.std(TRUTH["delta_int"], ddof=1))):
        low, high = tau.loc[quantity, ["hdi_low", "hdi_high"]]
        assert low <= value <= high, (quantity, value, low, high)

    spread = rows.groupby("setting")["mean"].std(ddof=0)
    mcse = rows.groupby("setting")["mcse_mean"].max()
    for lower, upper in (("narrow", "wide"), ("default", "unpooled")):
        assert spread[upper] - spread[lower] > 4 * np.hypot(mcse[upper], mcse[lower]), (
            spread.to_dict())
    assert (rows.loc[rows["setting"] == "narrow", "spread_vs_unpooled"] < 1).all()

