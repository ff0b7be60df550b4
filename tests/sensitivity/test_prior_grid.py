"""Prior grid: PSIS reweighting of the baseline draws agrees with a refit under the new prior
(the refit samples the new posterior directly: the reference is independent of the weights),
for the marginal engine and (slow) for a Bambi-engine spec, ``models/examples/bsi_robust.toml``
(Student-t residuals, residual SD by period), whose refit under a grid prior goes through the
fit cache and yields every main quantity."""

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
    log_prior_ratio,
    prior_grid_rows,
    refit_with_priors,
    translate,
)
from mbtbayes.sensitivity.quantities import baseline_sd, main_quantities, weighted_hdi


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
    assert abs(np.sum(w * x) - 0.5) < 0.03


@pytest.fixture(scope="module")
def bsi_fit():
    reg = mb.load_register()
    engines = engines_for(mb.SamplerOptions(draws=400, tune=400, chains=2))
    fit = mb.fit_growth(mb.load_specs()["bsi"], reg.data, engine=engines, seed=5)
    return fit, engines, reg.data


def test_translation_is_in_baseline_sd_units(bsi_fit):
    fit, _, data = bsi_fit
    sd = baseline_sd(fit.spec, data)
    new = translate(fit, GridPrior("enthusiastic", "moderate"), sd)
    # BSI: higher is worse, so "Period II better" is a negative shift
    assert new["period"]["mu"] == pytest.approx(-0.2 * sd)
    assert new["period"]["sigma"] == pytest.approx(0.5 * sd)
    assert new["months:period"]["sigma"] == pytest.approx(0.5 * sd / 24)


def test_reweighted_agrees_with_refit(bsi_fit):
    fit, engines, data = bsi_fit
    prior = GridPrior("neutral", "strong")
    new = translate(fit, prior, baseline_sd(fit.spec, data))
    weights, k = psis_weights(log_prior_ratio(fit, new))
    assert k <= K_LIMIT
    refit = refit_with_priors(fit, data, new, engines=engines, seed=11)
    assert refit.diagnostics.passed
    shift = assert_reweighted_matches(main_quantities(fit, data), main_quantities(refit, data),
                                      weights)
    assert shift > 0.5  # the strong neutral prior moves the contrast (else nothing is shown)


def assert_reweighted_matches(before: dict, after: dict, weights: np.ndarray) -> float:
    """The weighted baseline draws (``before``) against the refit's (``after``): mean within
    0.2 SD and HDI ends within 0.35 SD of the refit's, for three main quantities. Returns the
    shift of the intercept contrast, baseline minus refit, in the refit's SDs."""
    for name in ("contrast_intercept", "contrast_at_24", "d_II"):
        x, ref = before[name].draws, after[name].draws
        sd = ref.std()
        assert abs(np.sum(weights * x) - ref.mean()) < 0.2 * sd, name
        low, high = weighted_hdi(x, weights)
        ref_low, ref_high = hdi(ref)
        assert abs(low - ref_low) < 0.35 * sd, name
        assert abs(high - ref_high) < 0.35 * sd, name
    contrast = after["contrast_intercept"].draws
    return float((before["contrast_intercept"].draws.mean() - contrast.mean()) / contrast.std())


@pytest.mark.slow
def test_prior_grid_refit_on_a_bambi_spec(tmp_path):
    spec = mb.load_specs(models_dir() / "examples")["bsi_robust"]
    data = mb.load_register().data
    engines = engines_for(mb.SamplerOptions(draws=500, tune=500, chains=4))
    fit = mb.fit_growth(spec, data, engine=engines, seed=5)
    assert fit.engine == "bambi" and fit.spec.family == "t"
    assert fit.diagnostics.passed, fit.diagnostics.reason
    prior = GridPrior("neutral", "strong")
    new = translate(fit, prior, baseline_sd(fit.spec, data))
    weights, k = psis_weights(log_prior_ratio(fit, new))
    baseline = {name: "undecided" for name in main_quantities(fit, data)}

    # the grid's refit path, forced (k_limit below any k), through a cache
    store = FitCache(tmp_path / "cache")
    rows = prior_grid_rows(fit, data, engines=engines, seed=7, baseline=baseline,
                           priors=[prior], k_limit=-1.0, cache=store)
    assert {r["method"] for r in rows} == {"refit"}
    assert {r["quantity"] for r in rows} == set(baseline)
    assert all(np.isfinite([r["mean"], r["hdi_low"], r["hdi_high"]]).all() for r in rows)
    assert store.misses == 1
    # the same refit again is read from the cache (the Bambi model rebuilt, not sampled)
    refit = refit_with_priors(fit, data, new, engines=engines, cache=store,
                              seed=seed_for(7, fit.spec.name, "prior", prior.setting))
    assert store.hits == 1 and refit.engine == "bambi" and refit.model is not None
    assert refit.diagnostics.passed, refit.diagnostics.reason
    after = main_quantities(refit, data)
    for r in rows:
        assert r["mean"] == pytest.approx(float(np.mean(after[r["quantity"]].draws)))

    assert k <= K_LIMIT  # else the reweighted path would not be used for this prior
    shift = assert_reweighted_matches(main_quantities(fit, data), after, weights)
    assert abs(shift) > 0.3  # the strong neutral prior moves the contrast
