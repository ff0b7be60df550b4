"""Calibration of the Bambi engine (Student-t) and of the joint model: the simulators against
the models' own moments (computed by hand) and priors (read from the spec file), the LKJ
draws against their known marginal (SciPy's Beta), the uniformity check shown able to fail
on an exact conjugate posterior, the command's wiring, and (slow) SBC on the study design."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mbtbayes as mb
from mbtbayes import pipeline
from mbtbayes.cli import main
from mbtbayes.core.errors import SpecError
from mbtbayes.growth.design import make_design
from mbtbayes.growth.joint.data import prepare
from mbtbayes.sensitivity.calibration import covered, rank_among, rank_chi2_p, sbc_summary
from mbtbayes.sensitivity.calibration_bambi import (
    sbc_bambi,
    simulate_t_outcome,
    t_prior_draw,
    t_spec,
)
from mbtbayes.sensitivity.calibration_joint import lkj_corr, sbc_joint, simulate_joint

MODELS = Path(__file__).parents[2] / "models"


@pytest.fixture(scope="module")
def t_design():
    spec = t_spec(mb.load_specs()["bsi"])
    return spec, make_design(spec, mb.load_register().data, variant="period")


def test_t_simulator_has_the_models_mean_and_covariance(t_design):
    """Over many simulations one patient's scores have mean X b and covariance
    sd0^2 + sd1^2 t t' + sigma^2 nu / (nu - 2) I (a Student-t's variance)."""
    _, design = t_design
    truth = {"beta": np.array([2.0, -0.03, 0.1, 0.01]), "sd_intercept": 0.5,
             "sd_slope": 0.02, "sigma": 0.3, "nu": 8.0}
    rng = np.random.default_rng(2)
    rows = np.flatnonzero(design.group == design.group[0])
    sims = np.array([simulate_t_outcome(design, truth, rng)[rows] for _ in range(20_000)])
    t = design.time[rows]
    cov = 0.5**2 + 0.02**2 * np.outer(t, t) + 0.3**2 * 8 / 6 * np.eye(t.size)
    np.testing.assert_allclose(sims.mean(0), design.X[rows] @ truth["beta"], atol=0.02)
    np.testing.assert_allclose(np.cov(sims.T), cov, atol=0.03)


def test_t_prior_draws_follow_the_spec_file(t_design):
    """Draws of the truth have the moments of the priors written in models/bsi.toml, and nu
    those of the default Gamma(2, 0.1) (mean 20, SD 14.1); 4000 draws: means within 4 SE."""
    spec, design = t_design
    toml = tomllib.loads((MODELS / "bsi.toml").read_text())["priors"]
    rng = np.random.default_rng(3)
    draws = [t_prior_draw(spec, design, rng) for _ in range(4000)]
    n = len(draws)
    beta = np.array([d["beta"] for d in draws])
    for i, term in enumerate(("Intercept", "months", "period", "months:period")):
        mu, sd = toml[term].get("mu", 0.0), toml[term]["sigma"]
        assert abs(beta[:, i].mean() - mu) < 4 * sd / np.sqrt(n), term
        assert beta[:, i].std() == pytest.approx(sd, rel=0.05), term
    for name, key in (("sd_intercept", "1|patient_id"), ("sd_slope", "months|patient_id")):
        scale = toml[key]["sigma"]["sigma"]
        values = np.array([d[name] for d in draws])
        assert abs(values.mean() - scale * np.sqrt(2 / np.pi)) < 4 * scale * 0.61 / np.sqrt(n)
    nu = np.array([d["nu"] for d in draws])
    assert abs(nu.mean() - 20.0) < 4 * np.sqrt(200.0 / n)
    sigma = np.array([d["sigma"] for d in draws])
    assert abs(sigma.mean() - toml["sigma"]["sigma"] * np.sqrt(2 / np.pi)) < 0.01


def test_a_spec_with_a_modelled_residual_sd_is_refused_before_any_fit():
    spec = mb.load_specs(MODELS / "examples")["bsi_robust"]
    with pytest.raises(SpecError, match="constant residual scale"):
        sbc_bambi(spec, mb.load_register().data, replicates=1)


def test_a_censored_spec_is_refused_before_any_fit():
    """Its likelihood (scores at the scale's ends censored) is not the simulator's."""
    spec = mb.load_specs(MODELS / "examples")["bsi_censored"]
    assert spec.censored
    with pytest.raises(SpecError, match="censored"):
        sbc_bambi(spec, mb.load_register().data, replicates=1)


def test_lkj_draws_have_the_known_marginal():
    """Under LKJ(eta) in n dimensions every correlation is 2 Beta(a, a) - 1 with a = eta - 1 +
    n / 2 (Lewandowski et al. 2009): KS test of three entries, the last needing the whole
    vine, against SciPy's Beta (4000 draws)."""
    rng = np.random.default_rng(4)
    n, eta = 6, 2.0
    draws = np.array([lkj_corr(n, eta, rng) for _ in range(4000)])
    a = eta - 1 + n / 2
    for i, j in ((0, 1), (2, 4), (4, 5)):
        p = stats.kstest((draws[:, i, j] + 1) / 2, stats.beta(a, a).cdf).pvalue
        assert p > 1e-3, (i, j, p)
    assert (np.linalg.eigvalsh(draws) > 0).all()


def test_joint_simulator_has_the_models_mean_and_covariance():
    """One patient's stacked scores (visits x outcomes) have mean b0 + b1 t + P (d0 + d1 t)
    and covariance Z G Z' + blockdiag(R), written out by hand per pair of cells."""
    jd = prepare(mb.load_register().data, outcomes=("bsi", "wsas", "gaf"))
    full = jd.mask.sum(axis=(1, 2))
    one = jd.subset(np.arange(len(jd.patients)) == int(np.argmax(full)))
    o = 3
    rng = np.random.default_rng(5)
    truth = {"intercept": np.array([0.1, -0.2, 0.3]), "slope": np.array([0.02, 0.01, 0.03]),
             "delta_int": np.array([0.2, 0.1, 0.0]), "delta_slope": np.array([0.01, 0.0, 0.02]),
             "patient_stds": np.array([0.8, 0.6, 0.7, 0.03, 0.02, 0.04]),
             "patient_corr": lkj_corr(6, 2.0, rng), "resid_stds": np.array([0.5, 0.4, 0.6]),
             "resid_corr": lkj_corr(3, 2.0, rng)}
    sims = np.array([simulate_joint(one, truth, rng)[0] for _ in range(20_000)])
    G = truth["patient_stds"][:, None] * truth["patient_corr"] * truth["patient_stds"]
    R = truth["resid_stds"][:, None] * truth["resid_corr"] * truth["resid_stds"]
    cells = np.argwhere(one.mask[0] > 0)
    t, p = one.time[0], one.period[0]
    for (v, a), (w, b) in [(c1, c2) for c1 in cells[::3] for c2 in cells[::4]]:
        hand = (G[a, b] + G[a, o + b] * t[w] + G[o + a, b] * t[v]
                + G[o + a, o + b] * t[v] * t[w] + (v == w) * R[a, b])
        got = np.cov(sims[:, v, a], sims[:, w, b])[0, 1]
        assert got == pytest.approx(hand, abs=0.05 * max(1.0, hand)), (v, a, w, b)
    for v, a in cells:
        mean = (truth["intercept"][a] + truth["slope"][a] * t[v]
                + p * (truth["delta_int"][a] + truth["delta_slope"][a] * t[v]))
        assert sims[:, v, a].mean() == pytest.approx(mean, abs=0.05)
    assert (sims[:, one.mask[0] == 0] == 0).all()


def _conjugate_sbc(replicates: int, *, noise_factor: float, seed: int) -> pd.DataFrame:
    """SBC of theta in y_i ~ N(theta, 1), i = 1..5, theta ~ N(0, 1), with the exact conjugate
    posterior drawn directly; the data are simulated with SD ``noise_factor``."""
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(replicates):
        theta = rng.normal()
        y = rng.normal(theta, noise_factor, 5)
        precision = 1 + y.size
        draws = rng.normal(y.sum() / precision, 1 / np.sqrt(precision), 1000)
        rows.append({"replicate": r, "parameter": "theta", "rank": rank_among(draws, theta),
                     "contrast": "theta", "covered": covered(draws, theta), "passed": True})
    return pd.DataFrame(rows)


def test_uniformity_and_coverage_checks_reject_a_wrong_simulator():
    """The right simulator passes (ranks uniform, coverage inside its 99.9% binomial
    interval); the data simulated with twice the model's SD gives U-shaped ranks and a 90%
    interval covering far less often: both checks reject it (300 replicates)."""
    right = sbc_summary(_conjugate_sbc(300, noise_factor=1.0, seed=6)).iloc[0]
    wrong = sbc_summary(_conjugate_sbc(300, noise_factor=2.0, seed=6)).iloc[0]
    assert right["rank_chi2_p"] > 1e-3
    assert _covers(0.9, right["coverage_90"], 300, 0.999)
    assert wrong["rank_chi2_p"] < 1e-6
    assert not _covers(0.9, wrong["coverage_90"], 300, 0.999)


def _covers(truth: float, rate: float, n: int, level: float) -> bool:
    ci = stats.binomtest(round(rate * n), n).proportion_ci(level)
    return ci.low <= truth <= ci.high


def _fake(name):
    def run(*args, replicates, seed, scheduler, **kwargs):
        ranks = pd.DataFrame({"replicate": range(replicates), "parameter": "b",
                              "rank": np.arange(replicates) * 7 % 100, "contrast": None,
                              "covered": None, "passed": True, "engine": name})
        return ranks, sbc_summary(ranks)
    return run


def test_calibrate_runs_the_chosen_engine_and_the_joint_model(tmp_path, monkeypatch):
    """``--engine bambi --joint`` reaches sbc_bambi and sbc_joint (faked: their own tests are
    above) and writes their tables and rank figures; the marginal SBC is not run."""
    monkeypatch.setattr(pipeline, "sbc_bambi", _fake("bambi"))
    monkeypatch.setattr(pipeline, "sbc_joint", _fake("joint"))
    monkeypatch.setattr(pipeline, "sbc", None)
    out = tmp_path / "cal"
    assert main(["calibrate", "--engine", "bambi", "--joint", "--replicates", "4",
                 "--power-replicates", "0", "--out", str(out)]) == 0
    for name in ("sbc_bambi_ranks", "sbc_bambi_summary", "sbc_joint_ranks", "sbc_joint_summary"):
        assert (out / f"{name}.csv").is_file(), name
    assert (out / "figures" / "sbc_joint_ranks.png").is_file()
    assert not (out / "sbc_ranks.csv").exists()
    assert pd.read_csv(out / "sbc_joint_ranks.csv")["engine"].eq("joint").all()
    with pytest.raises(SpecError, match="engine must be one of"):
        mb.calibrate(out=tmp_path / "x", engine="auto", progress=False)


@pytest.mark.slow
def test_bambi_sbc_on_the_study_design_is_calibrated():
    """8 replicates of the Student-t bsi model fitted by the Bambi engine (2 x 400 draws):
    the ranks of the 8 parameters pooled are uniform (chi-square p > 0.001), no parameter's
    alone below 1e-4, and the 24 intervals of the three contrasts cover their truth at a rate
    whose 99.9% binomial interval holds 0.9 (bench/calibration.py runs 200)."""
    ranks, summary = sbc_bambi(mb.load_specs()["bsi"], mb.load_register().data,
                               replicates=8, options=mb.SamplerOptions(draws=400, tune=400,
                                                                        chains=2))
    _check_calibrated(ranks, summary, n_params=8)


@pytest.mark.slow
def test_joint_sbc_on_the_study_design_is_calibrated():
    """8 replicates of the joint model of bsi, wsas and gaf (2 x 400 draws): pooled ranks of
    its 25 parameters uniform (p > 0.001), none alone below 1e-4, and the intervals of the
    period contrasts and pooled effects cover at a rate inside the 99.9% binomial interval."""
    ranks, summary = sbc_joint(mb.load_register().data, replicates=8,
                               options=mb.SamplerOptions(draws=400, tune=400, chains=2))
    _check_calibrated(ranks, summary, n_params=25)


def _check_calibrated(ranks: pd.DataFrame, summary: pd.DataFrame, *, n_params: int) -> None:
    ranked = ranks.dropna(subset=["rank"])
    assert ranked["parameter"].nunique() == n_params
    assert rank_chi2_p(ranked["rank"]) > 1e-3
    assert (summary["rank_chi2_p"].dropna() > 1e-4).all(), summary
    cover = ranks["covered"].dropna().astype(bool)
    assert _covers(0.9, cover.mean(), len(cover), 0.999), (cover.mean(), len(cover))
