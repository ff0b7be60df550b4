"""Prior grid on a Bambi-engine spec (``models/examples/bsi_robust.toml``: Student-t
residuals, residual SD by period). A refit under a grid prior is sampled by Bambi and yields
every main quantity; where the Pareto k is <= 0.7 the PSIS-reweighted baseline draws agree
with that refit within Monte Carlo tolerance (the refit samples the new posterior directly,
so the reference does not depend on the weights), as for the marginal engine in
``test_prior_grid.py``."""

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
    log_prior_ratio,
    prior_grid_rows,
    refit_with_priors,
    translate,
)
from mbtbayes.sensitivity.quantities import baseline_sd, main_quantities, weighted_hdi


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
    before = main_quantities(fit, data)
    for name in ("contrast_intercept", "contrast_at_24", "d_II"):
        x, ref = before[name].draws, after[name].draws
        sd = ref.std()
        assert abs(np.sum(weights * x) - ref.mean()) < 0.2 * sd, name
        low, high = weighted_hdi(x, weights)
        ref_low, ref_high = hdi(ref)
        assert abs(low - ref_low) < 0.35 * sd, name
        assert abs(high - ref_high) < 0.35 * sd, name
    # the strong neutral prior must move the contrast (else the agreement shows nothing)
    shift = before["contrast_intercept"].draws.mean() - after["contrast_intercept"].draws.mean()
    assert abs(shift) > 0.3 * after["contrast_intercept"].draws.std()
