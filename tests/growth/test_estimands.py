"""The estimands of issue 10 on constructed fits whose answers are known by hand.

References, all outside the code under test: the first-order variance of a Bayesian-bootstrap
weighted variance (Dirichlet(1, ..., 1) weights have Var(p_i) = (n - 1) / (n^2 (n + 1)) and
Cov(p_i, p_j) = -1 / (n^2 (n + 1))) with the delta method for a ratio; the pseudo R-squared
and the period share computed by hand from chosen draws; the model-implied SD against a
simulation of the model; and the run seeds of K-fold refits from ``seed_for`` as documented.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import mbtbayes as mb
from mbtbayes.core.sampling import Diagnostics
from mbtbayes.core.seeds import seed_for
from mbtbayes.growth.baseline import baseline, bootstrap_sd
from mbtbayes.growth.design import make_design
from mbtbayes.growth.loo import kfold_patients
from mbtbayes.growth.result import GrowthFit
from mbtbayes.growth.summaries import (
    effect_sizes,
    model_comparison,
    model_total_sd,
    variance_explained,
)

Z975 = 1.959963984540054


def _diag(passed: bool = True, reason: str = "") -> Diagnostics:
    return Diagnostics(1.0, 1000, 1000, 0, passed, reason=reason)


def make_fit(spec, data, variant: str, beta: dict[str, np.ndarray], *, chains: int = 1,
             loglik: np.ndarray | None = None, **scalars: np.ndarray) -> GrowthFit:
    """A fit whose posterior draws are given (no sampling): ``beta`` by design column, and
    scalar parameters such as ``sd_intercept``; optionally a per-patient log-likelihood."""
    design = make_design(spec, data, variant=variant)

    def shaped(x: np.ndarray) -> np.ndarray:
        return np.asarray(x, float).reshape(chains, -1, *np.shape(x)[1:])

    values = shaped(np.stack([beta[c] for c in design.columns], -1))
    params = xr.Dataset({"beta": (("chain", "draw", "coef"), values),
                         **{k: (("chain", "draw"), shaped(v)) for k, v in scalars.items()}},
                        coords={"coef": list(design.columns)})
    idata = None if loglik is None else SimpleNamespace(log_likelihood=xr.Dataset(
        {spec.measure: (("chain", "draw", "patient"), loglik)}))
    return GrowthFit(spec, variant, design, idata, _diag(), "none", 0.0, params=params)


# ---------------------------------------------------------------- d with the SD's uncertainty


@pytest.fixture(scope="module")
def register() -> pd.DataFrame:
    """200 patients in periods A and B with a baseline value, 10 whose first value comes at
    month 6, and 5 without any value; a second visit at month 12 for everyone."""
    rng = np.random.default_rng(5)
    rows = []
    for i in range(215):
        first = 6.0 if 200 <= i < 210 else 0.0
        for t in (first, 12.0):
            y = np.nan if i >= 210 else rng.gamma(4.0, 0.5)  # skewed, as symptom scores
            rows.append((f"p{i}", "AB"[i % 2], t, y))
    return pd.DataFrame(rows, columns=["id", "g", "t", "y"])


@pytest.fixture(scope="module")
def spec():
    return mb.make_spec(outcome="y", time="t", group="id", period="g", range=(0, 10))


def _hand_sd_and_its_variance(register: pd.DataFrame) -> tuple[float, float, int]:
    """Pooled baseline SD and the first-order variance of its Bayesian-bootstrap draws."""
    base = register[(register["t"] == 0) & register["y"].notna()]
    n, k = len(base), base["g"].nunique()
    a = (base["y"] - base.groupby("g")["y"].transform("mean")) ** 2  # squared deviations
    s2 = a.sum() / (n - k)
    # s2_b = n sum_i p_i a_i / (n - k) to first order (the weights of a period sum to n_k on
    # average; sum of all weights is n, so the denominator sum(W_k - 1) = n - k is fixed);
    # Var(sum_i p_i a_i) = var_pop(a) / (n + 1) for Dirichlet(1, ..., 1) weights.
    var_s2 = n**2 * a.var(ddof=0) / ((n + 1) * (n - k) ** 2)
    return float(np.sqrt(s2)), float(var_s2 / (4 * s2)), n  # delta method: Var(s)


def test_bootstrap_sd_has_the_hand_computed_spread(register, spec):
    s, var_s, n = _hand_sd_and_its_variance(register)
    base = baseline(register, outcome="y", time="t", group="id", period="g")
    assert (base.n_used, base.n_late, base.n_missing) == (n, 10, 5)
    assert base.sd == pytest.approx(s, rel=1e-12)
    draws = bootstrap_sd(base, draws=40_000, seed=3)
    assert draws.mean() == pytest.approx(s, rel=0.01)
    assert draws.std() == pytest.approx(np.sqrt(var_s), rel=0.05)
    np.testing.assert_array_equal(draws, bootstrap_sd(base, draws=40_000, seed=3))


def test_d_interval_is_wider_than_the_numerator_only_interval_by_the_sds_share(register, spec):
    """change ~ N(-1, 0.05) over 0-24 months, independent of the SD: by the delta method
    Var(d) = tau^2 / s^2 + mu^2 Var(s_b) / s^4, against tau^2 / s^2 with the SD fixed."""
    s, var_s, n = _hand_sd_and_its_variance(register)
    rng = np.random.default_rng(8)
    mu, tau, draws = -1.0, 0.05, 40_000
    change = rng.normal(mu, tau, draws)
    fit = make_fit(spec, register, "linear",
                   {"Intercept": np.full(draws, 2.0), "t": change / 24})
    row = effect_sizes([fit], register, seed=11).iloc[0]
    assert row["period"] == "pooled" and row["sd_point"] == pytest.approx(s, rel=1e-12)
    assert (row["n_sd_patients"], row["n_sd_first_value_late"], row["n_sd_no_value"]) == (
        n, 10, 5)
    assert "10 whose first value came later, 5 without a value" in row["sd_note"]
    fixed_width = row["d_sd_fixed_hdi_high"] - row["d_sd_fixed_hdi_low"]
    width = row["d_hdi_high"] - row["d_hdi_low"]
    assert fixed_width == pytest.approx(2 * Z975 * tau / s, rel=0.02)
    sd_share = mu**2 * var_s / s**4
    assert width == pytest.approx(2 * Z975 * np.sqrt(tau**2 / s**2 + sd_share), rel=0.03)
    # the widening itself: squared widths differ by the SD's contribution
    assert (width**2 - fixed_width**2) / (2 * Z975) ** 2 == pytest.approx(sd_share, rel=0.08)
    assert row["d_mean"] == pytest.approx(mu / s, rel=0.02)
    # the run seed sets the bootstrap: same seed, same table; another seed, another interval
    assert effect_sizes([fit], register, seed=11).equals(effect_sizes([fit], register, seed=11))
    assert effect_sizes([fit], register, seed=12).iloc[0]["d_hdi_low"] != row["d_hdi_low"]


def test_removed_sd_bases_say_what_to_use(register, spec):
    fit = make_fit(spec, register, "linear", {"Intercept": np.ones(4), "t": np.zeros(4)})
    with pytest.raises(ValueError, match="model_total_sd"):
        effect_sizes([fit], register, sd_basis="model_residual_sd")


@pytest.mark.parametrize("t0", [0.0, 6.0])
def test_model_total_sd_is_the_sd_of_the_simulated_outcome_at_t0(register, t0):
    spec = mb.make_spec(outcome="y", time="t", group="id", period="g", range=(0, 10),
                        d_months=(t0, 24.0), correlated=True)
    draws = {"sd_intercept": np.array([0.8, 1.2]), "sd_slope": np.array([0.05, 0.1]),
             "corr": np.array([-0.5, 0.3]), "sigma": np.array([0.6, 0.4])}
    fit = make_fit(spec, register, "linear", {"Intercept": np.ones(2), "t": np.zeros(2)},
                   **draws)
    got = model_total_sd(fit)
    rng = np.random.default_rng(2)
    for s in range(2):
        s0, s1, r = draws["sd_intercept"][s], draws["sd_slope"][s], draws["corr"][s]
        cov = [[s0**2, r * s0 * s1], [r * s0 * s1, s1**2]]
        u = rng.multivariate_normal([0, 0], cov, size=400_000)
        y = u[:, 0] + u[:, 1] * t0 + rng.normal(0, draws["sigma"][s], len(u))
        assert got[s] == pytest.approx(y.std(), rel=0.005)


# ---------------------------------------------------------------- pseudo R-squared


def test_an_sd_piled_at_zero_is_flagged(register, spec):
    """Half-normal SD draws (mode at 0) are flagged, well-identified ones are not."""
    rng = np.random.default_rng(3)
    n = 4000
    zeros = np.zeros(n)
    sd = {"sd_intercept": rng.normal(1.0, 0.1, n), "sigma": np.ones(n)}
    linear = make_fit(spec, register, "linear", {"Intercept": zeros, "t": zeros},
                      sd_slope=np.abs(rng.normal(0, 0.02, n)), **sd)
    period = make_fit(spec, register, "period", {"Intercept": zeros, "t": zeros,
                                                 "g[B]": rng.normal(0.3, 0.1, n),
                                                 "t:g[B]": rng.normal(0, 0.01, n)},
                      sd_slope=np.abs(rng.normal(0, 0.02, n)), **sd)
    flags = variance_explained([linear, period], register).set_index("quantity")["sd_at_zero"]
    assert not flags["pseudo_r2_intercept"] and not flags["period_share_intercept_variance"]
    assert flags["pseudo_r2_slope"] and flags["period_share_slope_variance"]


def test_variance_explained_is_the_hand_computed_pseudo_r_squared(register, spec):
    zeros = np.zeros(4)
    linear = make_fit(spec, register, "linear", {"Intercept": zeros, "t": zeros},
                      sd_intercept=np.array([2.0, 1.0, 4.0, 2.0]),
                      sd_slope=np.array([0.1, 0.1, 0.1, 0.1]), sigma=np.ones(4))
    b = np.array([1.0, 0.0, 2.0, -1.0])  # period difference at month 0
    g = np.array([0.02, 0.0, -0.04, 0.01])  # period difference in slope
    period = make_fit(spec, register, "period",
                      {"Intercept": zeros, "t": zeros, "g[B]": b, "t:g[B]": g},
                      sd_intercept=np.array([1.0, 1.0, 2.0, 2.0]),
                      sd_slope=np.array([0.1, 0.05, 0.1, 0.05]), sigma=np.ones(4))
    table = variance_explained([linear, period], register).set_index("quantity")
    r2 = table.loc["pseudo_r2_intercept"]
    # medians: linear [2, 1, 4, 2] -> 2, period [1, 1, 2, 2] -> 1.5; 1 - 1.5^2 / 2^2
    assert r2["estimate"] == pytest.approx(1 - 2.25 / 4)
    assert np.isnan(r2["hdi_low"]) and r2["interval"] == "none"  # no joint posterior
    assert "posterior median" in r2["estimate_basis"] and "separate fits" in r2["draws"]
    slope = table.loc["pseudo_r2_slope"]  # medians 0.1 and 0.075
    assert slope["estimate"] == pytest.approx(1 - 0.075**2 / 0.1**2)
    q = 107 / 215  # patients in Period B (odd numbers among 0..214)
    between = b**2 * q * (1 - q)
    share = between / (between + np.array([1.0, 1.0, 4.0, 4.0]))
    row = table.loc["period_share_intercept_variance"]
    assert row["mean"] == pytest.approx(share.mean())
    assert row["estimate"] == pytest.approx(np.median(share))
    slope_between = g**2 * q * (1 - q)
    slope_share = slope_between / (slope_between + np.array([0.01, 0.0025, 0.01, 0.0025]))
    assert table.loc["period_share_slope_variance", "mean"] == pytest.approx(slope_share.mean())
    assert (table.loc[table.index.str.startswith("period_share"), "draws"]
            == "the period model's joint posterior").all()
    assert (table["measure"] == spec.name).all() and table["passed"].all()


# ---------------------------------------------------------------- K-fold checks itself


class _FakeEngine:
    """Held-out log-likelihoods of -1 per draw; records each refit's seed; the refit of
    ``fail`` fails the gate."""

    def __init__(self, fail: int | None = None) -> None:
        self.seeds: list[int] = []
        self.held: list[set[str]] = []
        self.fail = fail

    def heldout_loglik(self, fit, held, *, seed):
        self.seeds.append(seed)
        self.held.append({fit.design.groups[i] for i in held})
        failed = len(self.seeds) - 1 == self.fail
        return np.full((20, len(held)), -1.0), _diag(not failed, "r_hat 1.2" * failed)


@pytest.fixture(scope="module")
def loo_fits(register, spec):
    rng = np.random.default_rng(0)
    zeros = np.zeros(400)
    n = 210  # patients with data
    fits = []
    for variant, extra in (("linear", {}), ("period", {"g[B]": zeros, "t:g[B]": zeros})):
        ll = rng.normal(-2.0, 0.05, (2, 200, n))
        fits.append(make_fit(spec, register, variant, {"Intercept": zeros, "t": zeros} | extra,
                             chains=2, loglik=ll))
    return fits


def test_kfold_refits_take_the_run_seed_and_are_logged(loo_fits):
    fit, lines = loo_fits[1], []
    engine = _FakeEngine(fail=1)
    res = kfold_patients(fit, engines=engine, k=3, seed=123, log=lines.append)
    assert engine.seeds == [seed_for(123, fit.spec.name, "period", "kfold", i) for i in range(3)]
    assert len(set(engine.seeds)) == 3
    other = _FakeEngine()
    kfold_patients(fit, engines=other, k=3, seed=124)
    assert not set(other.seeds) & set(engine.seeds)
    assert len(lines) == 3 and "fold 2/3: FAILED the gate (r_hat 1.2)" in lines[1]
    assert "fold 1/3: passed" in lines[0]
    assert res.refits_passed is False
    assert res.elpd == pytest.approx(-210.0) and len(res.units) == 210


def test_kfold_folds_are_shared_by_the_models_of_a_measure(loo_fits):
    """The linear and period models (and an alternative spec of the same measure) leave out
    the same patients in each fold; the folds partition the patients; another run seed or
    measure gives other folds."""
    held = {}
    for fit in loo_fits:
        engine = _FakeEngine()
        kfold_patients(fit, engines=engine, k=4, seed=7)
        held[fit.variant] = engine.held
    assert held["linear"] == held["period"]
    patients = {loo_fits[0].design.groups[i] for i in loo_fits[0].design.observed}
    assert set().union(*held["period"]) == patients
    assert sum(len(f) for f in held["period"]) == len(patients)
    alternative = replace(loo_fits[1], spec=replace(loo_fits[1].spec, name="alt"))
    engine = _FakeEngine()
    kfold_patients(alternative, engines=engine, k=4, seed=7)
    assert engine.held == held["period"]
    other = _FakeEngine()
    kfold_patients(loo_fits[1], engines=other, k=4, seed=8)
    assert other.held != held["period"]


def test_loo_reliable_only_when_psis_k_is_fine_or_every_refit_passed(loo_fits):
    psis = model_comparison(loo_fits).iloc[0]
    assert psis["max_pareto_k"] <= 0.7 and psis["loo_reliable"]
    assert psis["loo_method"] == "psis_marginal_patient"
    forced = partial(model_comparison, loo_fits, k_limit=-1.0)  # every PSIS k "too high"
    assert not forced()["loo_reliable"].iloc[0]  # no K-fold to fall back on
    good = forced(kfold=partial(kfold_patients, engines=_FakeEngine(), k=3, seed=1)).iloc[0]
    assert good["loo_reliable"] and good["loo_method"] == "kfold_marginal_patient_3"
    bad = forced(kfold=partial(kfold_patients, engines=_FakeEngine(fail=4), k=3, seed=1))
    assert not bad["loo_reliable"].iloc[0]


def test_one_d_in_every_table_that_shows_d(register, spec):
    """effect_sizes.csv, the sensitivity rows and the joint table's single-outcome columns
    show the same d, its interval holding the SD's uncertainty (wider than with the SD
    fixed)."""
    from mbtbayes.core.posterior import summarize_draws
    from mbtbayes.growth.joint.summaries import single_draws
    from mbtbayes.sensitivity.quantities import main_quantities

    rng = np.random.default_rng(9)
    n = 4000
    zeros = np.zeros(n)
    fit = make_fit(spec, register, "period",
                   {"Intercept": np.full(n, 2.0), "t": rng.normal(-0.04, 0.0005, n),
                    "g[B]": zeros, "t:g[B]": rng.normal(0.01, 0.0005, n)})
    sizes = effect_sizes([fit], register, seed=11).set_index("period")
    sens = main_quantities(fit, register, seed=11)
    joint = single_draws([fit], "y", register, sign=1.0, sd=1.0, seed=11)
    for level, key in (("A", "d_I"), ("B", "d_II")):
        row = sizes.loc[level]
        for draws in (sens[f"d_{level}"].draws, joint[key]):
            post = summarize_draws(draws)
            assert (post["mean"], post["hdi_low"], post["hdi_high"]) == pytest.approx(
                (row["d_mean"], row["d_hdi_low"], row["d_hdi_high"]), rel=1e-12)
        assert row["d_hdi_high"] - row["d_hdi_low"] > 1.2 * (
            row["d_sd_fixed_hdi_high"] - row["d_sd_fixed_hdi_low"])


def test_d_rope_is_the_margin_in_baseline_sds(register):
    """An absolute margin of 0.5 units: d's ROPE is 0.5 / the pooled baseline SD (computed by
    hand), the slope contrast's 0.5 / 24 per month, the level contrasts' 0.5."""
    from mbtbayes.sensitivity.quantities import main_quantities

    spec = mb.make_spec(outcome="y", time="t", group="id", period="g", range=(0, 10),
                        rope_half_width=0.5, rope_source="test")
    zeros = np.zeros(40)
    fit = make_fit(spec, register, "period", {"Intercept": zeros, "t": zeros, "g[B]": zeros,
                                              "t:g[B]": zeros})
    s, _, _ = _hand_sd_and_its_variance(register)
    q = main_quantities(fit, register, seed=1)
    assert q["d_A"].rope == pytest.approx(0.5 / s) and q["d_B"].rope == pytest.approx(0.5 / s)
    assert q["contrast_slope"].rope == pytest.approx(0.5 / 24)
    assert q["contrast_intercept"].rope == pytest.approx(0.5)
