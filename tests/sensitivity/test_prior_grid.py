"""Prior grid: PSIS reweighting of the baseline draws agrees with a refit under the new prior
(the refit samples the new posterior directly: the reference is independent of the weights),
within the Monte Carlo error of both, for the marginal engine and (slow) for a Bambi-engine
spec, ``models/examples/bsi_robust.toml`` (Student-t residuals, residual SD by period), whose
refit under a grid prior goes through the fit cache and yields every main quantity. The
Monte Carlo errors themselves are checked against their spread over independent replicates,
and the implied priors of the note against the Normal arithmetic of the spec file's priors."""

import tomllib

import numpy as np
import pytest

import mbtbayes as mb
from mbtbayes.core.arviz_api import hdi, psis_weights
from mbtbayes.core.seeds import seed_for
from mbtbayes.growth.cache import FitCache
from mbtbayes.growth.engines import engines_for
from mbtbayes.growth.specs import models_dir
from mbtbayes.sensitivity.prior_grid import (
    K_LIMIT,
    GridPrior,
    grid_priors,
    implied_priors,
    log_prior_ratio,
    prior_grid_rows,
    refit_with_priors,
    translate,
    translation_note,
)
from mbtbayes.sensitivity.quantities import (
    baseline_sd,
    bootstrap_counts,
    main_quantities,
    relative_efficiency,
    weighted_hdi,
    weighted_mcse,
)


def test_grid_has_nine_priors_in_sd_units():
    priors = grid_priors()
    assert len(priors) == 9 and len({p.setting for p in priors}) == 9
    assert GridPrior("sceptical", "strong").sd_units() == (-0.2, 0.2)


def test_weighted_hdi_matches_hdi_of_repeated_draws():
    rng = np.random.default_rng(3)
    x = rng.normal(size=2000)
    w = rng.integers(1, 4, size=2000).astype(float)
    low, high = weighted_hdi(x, w)
    expanded = np.repeat(x, w.astype(int))
    ref = hdi(expanded)
    assert abs(low - ref[0]) < 0.02 and abs(high - ref[1]) < 0.02


def test_psis_weights_recover_a_known_normal_reweighting():
    # draws from N(0, 1) reweighted to N(0.5, 1): the weighted mean must be 0.5 (closed form)
    x = np.random.default_rng(0).normal(size=20_000)
    w, k = psis_weights(-0.5 * (x - 0.5) ** 2 + 0.5 * x**2)
    assert k < 0.7
    assert abs(np.sum(w * x) - 0.5) < 0.035  # SD over seeds 0.0086


@pytest.fixture(scope="module")
def bsi_fit():
    reg = mb.load_register()
    engines = engines_for(mb.SamplerOptions(draws=400, tune=400, chains=2))
    fit = mb.fit_growth(mb.load_specs()["bsi"], reg.data, engines=engines, seed=5)
    return fit, engines, reg.data


def test_weighted_mcse_matches_the_spread_over_replicates():
    """Draws from N(0, 1) reweighted to N(0.8, 0.7) (closed-form weights), 150 independent
    replicates: the reported Monte Carlo SE of the weighted mean and of each HDI end is the
    SD of that summary across replicates (within 25%: the SD of 150 replicates is known to
    about 6%, each bootstrap MCSE to about 7%)."""
    rng = np.random.default_rng(1)
    values, reported = [], []
    for r in range(150):
        x = rng.normal(size=2000)
        w, _ = psis_weights(-0.5 * (x - 0.8) ** 2 / 0.49 + 0.5 * x**2)
        low, high = weighted_hdi(x, w)
        values.append((np.sum(w * x), low, high))
        m = weighted_mcse(x, w, counts=bootstrap_counts(2000, seed=r))
        reported.append((m["mcse_mean"], m["mcse_hdi_low"], m["mcse_hdi_high"]))
    spread, mean_reported = np.std(values, axis=0, ddof=1), np.mean(reported, axis=0)
    assert mean_reported == pytest.approx(spread, rel=0.25)
    # the HDI ends move more than a quantile's error formula says (the other tail's weights)
    assert spread[1] > 2 * spread[0]


def test_translation_states_the_prior_on_the_difference_in_change(bsi_fit):
    fit, _, data = bsi_fit
    sd = baseline_sd(fit.spec, data)
    new = translate(fit, GridPrior("enthusiastic", "moderate"), sd)
    # BSI: higher is worse, so "Period II better" is a more negative change in Period II;
    # the month-0 difference (intake case mix) keeps the spec's prior
    assert set(new) == {"months:period"}
    assert new["months:period"]["mu"] == pytest.approx(-0.2 * sd / 24)
    assert new["months:period"]["sigma"] == pytest.approx(0.5 * sd / 24)


@pytest.mark.parametrize("setting", [("sceptical", "weak"), ("enthusiastic", "strong")])
def test_implied_priors_are_the_normal_arithmetic_of_the_spec_file(bsi_fit, setting):
    """From models/bsi.toml (read here, not through the package): period ~ N(mu_s, s_s); the
    grid puts N(c SD, w SD) on 24 x months:period; so the difference in change is N(c SD,
    w SD), the month-0 difference N(mu_s, s_s) and the 24-month difference their sum."""
    fit, _, data = bsi_fit
    with open(models_dir() / "bsi.toml", "rb") as handle:
        shift = tomllib.load(handle)["priors"]["period"]
    sd = baseline_sd(fit.spec, data)
    prior = GridPrior(*setting)
    c, w = prior.sd_units()
    c = -c  # BSI: higher is worse, so Period II better is negative
    got = implied_priors(fit, translate(fit, prior, sd))
    expected = {"intercept": (shift["mu"], shift["sigma"]), "change": (c * sd, w * sd),
                "at_24": (shift["mu"] + c * sd, np.hypot(shift["sigma"], w * sd))}
    for name, (mean, spread) in expected.items():
        assert got[name] == pytest.approx((mean, spread), rel=1e-9, abs=1e-12), name
    note = translation_note(fit, prior, sd)
    assert f"change Normal({c:+.3g}, {w:.3g})" in note
    assert "prior on the difference in change" in note


def test_reweighted_agrees_with_refit(bsi_fit, mcse):
    fit, engines, data = bsi_fit
    prior = GridPrior("neutral", "strong")
    new = translate(fit, prior, baseline_sd(fit.spec, data))
    weights, k = psis_weights(log_prior_ratio(fit, new))
    assert k <= K_LIMIT
    refit = refit_with_priors(fit, data, new, engines=engines, seed=11)
    assert refit.diagnostics.passed
    assert_reweighted_matches(main_quantities(fit, data), main_quantities(refit, data),
                              weights, chains=2)
    assert_conjugate_update(main_quantities(fit, data)["contrast_slope"].draws,
                            main_quantities(refit, data)["contrast_slope"].draws,
                            old_sd=_spec_prior("bsi", "months:period")["sigma"],
                            new_sd=new["months:period"]["sigma"], mcse=mcse, chains=2)


def _spec_prior(measure: str, term: str) -> dict:
    """A term's prior as the spec file states it (read here, not through the package)."""
    with open(models_dir() / f"{measure}.toml", "rb") as handle:
        return tomllib.load(handle)["priors"][term]


def assert_conjugate_update(before: np.ndarray, after: np.ndarray, *, old_sd: float,
                            new_sd: float, mcse, chains: int) -> None:
    """A refit that replaces a coefficient's N(0, old_sd) prior by N(0, new_sd) multiplies
    its (near-Normal) marginal posterior N(m, s) by the ratio of the two prior densities:
    Normal with precision 1/s^2 - 1/old_sd^2 + 1/new_sd^2 and mean m s_new^2 / s^2 (the
    strong neutral prior narrows the posterior by a quarter and pulls it towards 0). The
    refit's SD and mean against these predictions from the baseline draws, within 4 combined
    Monte Carlo SEs (the prediction's own error from the baseline's through its derivative).
    """
    m, s = before.mean(), before.std()
    precision = 1 / s**2 - 1 / old_sd**2 + 1 / new_sd**2
    sd_new, shrink = 1 / np.sqrt(precision), 1 / (s**2 * precision)
    slope = shrink ** 1.5  # d sd_new / d s
    tolerance = 4 * np.hypot(mcse.sd(after, chains=chains),
                             slope * mcse.sd(before, chains=chains))
    assert abs(after.std() - sd_new) < tolerance, (after.std(), sd_new, tolerance)
    tolerance = 4 * np.hypot(mcse.mean(after, chains=chains),
                             shrink * mcse.mean(before, chains=chains))
    assert abs(after.mean() - shrink * m) < tolerance, (after.mean(), shrink * m, tolerance)


def assert_reweighted_matches(before: dict, after: dict, weights: np.ndarray, *,
                              chains: int) -> None:
    """The weighted baseline draws (``before``) against the refit's (``after``): mean and
    HDI ends within 4 combined Monte Carlo SEs (the reweighted one with the weights, the
    refit's with uniform weights; both bootstrap, checked above), for three quantities."""
    for name in ("contrast_intercept", "contrast_at_24", "d_II"):
        x, ref = before[name].draws, after[name].draws
        rew = weighted_mcse(x, weights, counts=bootstrap_counts(len(x), seed=1),
                            r_eff=relative_efficiency(x, chains=chains))
        own = weighted_mcse(ref, np.ones(len(ref)), counts=bootstrap_counts(len(ref), seed=2),
                            r_eff=relative_efficiency(ref, chains=chains))
        low, high = weighted_hdi(x, weights)
        ref_low, ref_high = hdi(ref)
        for got, want, key in ((np.sum(weights * x), ref.mean(), "mcse_mean"),
                               (low, ref_low, "mcse_hdi_low"), (high, ref_high,
                                                                 "mcse_hdi_high")):
            tolerance = 4 * np.hypot(rew[key], own[key])
            assert abs(got - want) < tolerance, (name, key, got, want, tolerance)


@pytest.mark.slow
def test_prior_grid_refit_on_a_bambi_spec(tmp_path):
    spec = mb.load_specs(models_dir() / "examples")["bsi_robust"]
    data = mb.load_register().data
    engines = engines_for(mb.SamplerOptions(draws=500, tune=500, chains=4))
    fit = mb.fit_growth(spec, data, engines=engines, seed=5)
    assert fit.engine == "bambi" and fit.spec.family == "t"
    assert fit.diagnostics.passed, fit.diagnostics.reason
    prior = GridPrior("neutral", "strong")
    new = translate(fit, prior, baseline_sd(fit.spec, data))
    weights, k = psis_weights(log_prior_ratio(fit, new))
    baseline = {name: "undecided" for name in main_quantities(fit, data)}

    # the grid's refit path, forced (k_limit below any k: a Pareto k has no lower bound, and
    # this prior's bounded weights give k near -1.8, so k_limit = -1 did not force it), through
    # a cache
    cache = FitCache(tmp_path / "cache")
    rows = prior_grid_rows(fit, data, engines=engines, seed=7, baseline=baseline,
                           priors=[prior], k_limit=-np.inf, cache=cache)
    assert {r["method"] for r in rows} == {"refit"}
    assert {r["quantity"] for r in rows} == set(baseline)
    assert all(np.isfinite([r["mean"], r["hdi_low"], r["hdi_high"]]).all() for r in rows)
    assert cache.misses == 1
    # the same refit again is read from the cache (the Bambi model rebuilt, not sampled)
    refit = refit_with_priors(fit, data, new, engines=engines, cache=cache,
                              seed=seed_for(7, fit.spec.name, "prior", prior.setting))
    assert cache.hits == 1 and refit.engine == "bambi" and refit.model is not None
    assert refit.diagnostics.passed, refit.diagnostics.reason
    after = main_quantities(refit, data, seed=7)  # d's SD draws follow the run seed
    for r in rows:
        assert r["mean"] == pytest.approx(float(np.mean(after[r["quantity"]].draws)))

    assert k <= K_LIMIT  # else the reweighted path would not be used for this prior
    assert_reweighted_matches(main_quantities(fit, data, seed=7), after, weights, chains=4)


def test_reweighted_rows_carry_ess_and_mcse(bsi_fit):
    """Without engines nothing is refitted: every row is reweighted, with the weights' ESS and
    the Monte Carlo SEs; a strong prior loses more effective draws than a weak one."""
    fit, _, data = bsi_fit
    baseline = {name: "undecided" for name in main_quantities(fit, data)}
    priors = [GridPrior("sceptical", "weak"), GridPrior("sceptical", "strong")]
    rows = prior_grid_rows(fit, data, engines=None, seed=7, baseline=baseline, priors=priors)
    assert {r["method"] for r in rows} == {"reweighted"}
    for r in rows:
        assert 0 < r["ess"] <= 800 and r["mcse_mean"] > 0 and r["mcse_hdi_low"] > 0
    ess = {r["setting"]: r["ess"] for r in rows if r["quantity"] == "contrast_slope"}
    assert ess["sceptical, strong"] < ess["sceptical, weak"]
