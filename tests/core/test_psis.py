"""PSIS-LOO with the relative efficiency of the real draws, against R's loo package.

Reference: ``tests/data/loo_reference.csv``, written by ``tests/data/loo_reference.R`` with
loo 2.5.1 (``relative_eff`` on the likelihood draws by chain, then ``loo(log_lik, r_eff)``),
from the draws in ``tests/data/loo_draws.csv``. The draws are autocorrelated (r_eff 0.08-0.26),
so the smoothed tail lengths differ by observation, and two outliers have Pareto k > 0.7.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mbtbayes.core.arviz_api import psis_loo, relative_eff

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def reference() -> tuple[np.ndarray, pd.DataFrame]:
    draws = pd.read_csv(DATA / "loo_draws.csv").sort_values(["chain", "draw"])
    ref = pd.read_csv(DATA / "loo_reference.csv")
    chains, n = draws["chain"].nunique(), draws["draw"].nunique()
    mu = draws["mu"].to_numpy().reshape(chains, n, 1)
    sigma = np.exp(draws["log_sigma"].to_numpy()).reshape(chains, n, 1)
    loglik = stats.norm.logpdf(ref["y"].to_numpy()[None, None], mu, sigma)
    return loglik, ref


@pytest.mark.parametrize("units_at_once", [1024, 2])
def test_relative_efficiency_matches_loo_relative_eff(reference, units_at_once, monkeypatch):
    """Also computed two units at a time (a register's units go in blocks)."""
    from mbtbayes.core import arviz_api

    monkeypatch.setattr(arviz_api, "UNITS_AT_ONCE", units_at_once)
    loglik, ref = reference
    np.testing.assert_allclose(relative_eff(loglik), ref["r_eff"], rtol=1e-10)


@pytest.mark.parametrize("units_at_once", [1024, 3])
def test_psis_loo_matches_loo_with_the_real_r_eff(reference, units_at_once, monkeypatch):
    """Also three units at a time (a register's units go in blocks)."""
    from mbtbayes.core import arviz_api

    monkeypatch.setattr(arviz_api, "UNITS_AT_ONCE", units_at_once)
    loglik, ref = reference
    elpd, se, p_loo, pointwise, k = psis_loo(loglik)
    np.testing.assert_allclose(pointwise, ref["elpd_loo"], rtol=1e-10)
    np.testing.assert_allclose(k, ref["pareto_k"], atol=1e-10)
    assert elpd == pytest.approx(ref["total_elpd_loo"][0], rel=1e-10)
    assert se == pytest.approx(ref["total_se"][0], rel=1e-10)
    assert p_loo == pytest.approx(ref["total_p_loo"][0], rel=1e-10)
    assert (k > 0.7).sum() == 2


def test_r_eff_changes_the_tail_so_a_dummy_r_eff_would_not_match(reference):
    """The check has teeth: with r_eff = 1 (what a dummy posterior gives) k differs."""
    import arviz as az

    loglik, ref = reference
    flat = loglik.reshape(-1, loglik.shape[-1]).T
    _, k_one = az.psislw(-flat, reff=1.0)
    assert np.max(np.abs(k_one - ref["pareto_k"])) > 1e-3


def test_independent_draws_have_r_eff_near_one_and_a_sticky_chain_far_below():
    rng = np.random.default_rng(3)
    # the largest of 5 deviations: 2.5% of seeds exceeded 0.15
    assert np.all(np.abs(relative_eff(rng.normal(size=(4, 1000, 5))) - 1) < 0.2)
    sticky = np.repeat(rng.normal(size=(4, 100, 2)), 10, axis=1)  # each draw repeated 10x
    assert np.all(relative_eff(sticky) < 0.2)
