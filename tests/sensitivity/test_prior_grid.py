"""Prior grid: PSIS reweighting of the baseline draws agrees with a refit under the new prior
(the refit samples the new posterior directly: the reference is independent of the weights)."""

import numpy as np
import pytest

import mbtbayes as mb
from mbtbayes.core.arviz_api import hdi, psis_weights
from mbtbayes.growth.engines import engines_for
from mbtbayes.sensitivity.prior_grid import (
    K_LIMIT,
    GridPrior,
    grid_priors,
    log_prior_ratio,
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
    before = main_quantities(fit, data)
    after = main_quantities(refit, data)
    for name in ("contrast_intercept", "contrast_at_24", "d_II"):
        x, ref = before[name].draws, after[name].draws
        sd = ref.std()
        assert abs(np.sum(weights * x) - ref.mean()) < 0.2 * sd, name
        low, high = weighted_hdi(x, weights)
        ref_low, ref_high = hdi(ref)
        assert abs(low - ref_low) < 0.35 * sd, name
        assert abs(high - ref_high) < 0.35 * sd, name
    # the strong neutral prior must actually move the contrast (else the test shows nothing)
    shift = before["contrast_intercept"].draws.mean() - after["contrast_intercept"].draws.mean()
    assert shift > 0.5 * after["contrast_intercept"].draws.std()
