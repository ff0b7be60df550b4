"""Sensitivity refits go through the fit cache, and the random-effect / assessments comparison
falls back to K-fold where PSIS is unreliable.

References: a cached refit must return the very draws sampled the first time (byte equality,
not a tolerance); a refit under another prior or of another model is a different entry. The
K-fold check uses simulation truth: the outcome is generated with the number of assessments
on the intercept, so the model with that term must predict held-out patients better (a large
positive ELPD difference) by PSIS-LOO and by K-fold alike.
"""

import dataclasses

import numpy as np
import pandas as pd
import pytest

import mbtbayes as mb
from mbtbayes.growth.cache import FitCache
from mbtbayes.growth.engines import engines_for
from mbtbayes.sensitivity.prior_grid import GridPrior, refit_with_priors, translate
from mbtbayes.sensitivity.quantities import baseline_sd
from mbtbayes.sensitivity.refits import ASSESSMENTS, refit_rows

BASE = dict.fromkeys(["contrast_intercept", "contrast_slope", "contrast_at_24", "d_I", "d_II",
                      "change_difference", "d_difference"], "undecided")


def _data(seed: int = 4) -> pd.DataFrame:
    """40 patients, 1-4 assessments; the level rises by 1.0 per assessment a patient has."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(40):
        n = int(rng.integers(1, 5))
        level = 5 + 1.0 * (n - 2.5) + rng.normal(0, 0.3)
        for t in (0.0, 6.0, 12.0, 24.0)[:n]:
            rows.append((f"P{i:02d}", "I" if i < 20 else "II", t,
                         level - 0.02 * t + rng.normal(0, 0.3)))
    return pd.DataFrame(rows, columns=["patient_id", "period", "months", "y"])


@pytest.fixture(scope="module")
def simulated():
    data = _data()
    spec = mb.make_spec(outcome="y", time="months", group="patient_id", period="period",
                        range=(0, 10))
    engines = engines_for(mb.SamplerOptions(draws=150, tune=150, chains=2))
    fit = mb.fit_growth(spec, data, engines=engines, seed=1)
    return fit, engines, data


def test_prior_refit_is_read_back_from_the_cache(simulated, tmp_path):
    fit, engines, data = simulated
    cache = FitCache(tmp_path / "cache")
    sd = baseline_sd(fit.spec, data)
    new = translate(fit, GridPrior("sceptical", "strong"), sd)
    first = refit_with_priors(fit, data, new, engines=engines, seed=3, cache=cache)
    assert (cache.hits, cache.misses) == (0, 1)
    again = refit_with_priors(fit, data, new, engines=engines, seed=3, cache=cache)
    assert (cache.hits, cache.misses) == (1, 1)
    np.testing.assert_array_equal(again.draws("beta"), first.draws("beta"))
    np.testing.assert_array_equal(again.draws("sigma"), first.draws("sigma"))
    # another prior of the grid is another key: sampled, stored beside the first
    other = translate(fit, GridPrior("enthusiastic", "strong"), sd)
    refit_with_priors(fit, data, other, engines=engines, seed=3, cache=cache)
    assert (cache.hits, cache.misses) == (1, 2)
    assert len([p for p in cache.folder.iterdir() if p.is_dir()]) == 2


def test_suite_refits_are_sampled_once(simulated, tmp_path):
    fit, engines, data = simulated
    cache = FitCache(tmp_path / "cache")
    lines = []
    run = dict(fits=[fit], engines=engines, seed=2, analyses=(ASSESSMENTS,), cache=cache,
               kfold=False, log=lines.append)
    first = mb.sensitivity(fit.spec, data, **run)
    assert (cache.hits, cache.misses) == (0, 1)
    second = mb.sensitivity(fit.spec, data, **run)
    assert (cache.hits, cache.misses) == (1, 1)
    pd.testing.assert_frame_equal(first.table, second.table)
    assert any("from the fit cache" in line for line in lines)
    # another run seed is another refit (another key)
    mb.sensitivity(fit.spec, data, **(run | {"seed": 3}))
    assert (cache.hits, cache.misses) == (1, 2)


def test_kfold_replaces_an_unreliable_psis_comparison(simulated):
    fit, engines, data = simulated
    # k_limit below any Pareto k forces the fallback; the PSIS comparison stays, flagged
    rows = refit_rows(fit, data, engines=engines, seed=1, baseline=BASE,
                      analyses=(ASSESSMENTS,), kfold=3, k_limit=-1.0)
    text = rows[0]["diagnostic"]
    assert "PSIS-LOO ELPD vs baseline" in text and "unreliable" in text
    assert "3-fold leave-patients-out ELPD vs baseline" in text
    psis = float(text.split("PSIS-LOO ELPD vs baseline ")[1].split()[0])
    kfold = float(text.split("leave-patients-out ELPD vs baseline ")[1].split()[0])
    assert psis > 5 and kfold > 5, text  # simulation truth: the count predicts the level


def test_kfold_failure_is_named_in_the_row(simulated):
    fit, engines, data = simulated

    class Failing:
        """The run's engines, with every K-fold refit's gate verdict turned to a failure."""

        def heldout_loglik(self, f, held, *, seed):
            ll, diag = engines.heldout_loglik(f, held, seed=seed)
            return ll, dataclasses.replace(diag, passed=False, reason="forced")

    from mbtbayes.sensitivity.refits import Comparison

    compare = Comparison(fit, engines=Failing(), seed=1, folds=2, k_limit=-1.0)
    rows = refit_rows(fit, data, engines=engines, seed=1, baseline=BASE,
                      analyses=(ASSESSMENTS,), compare=compare)
    assert "a K-fold refit of the baseline and of this model FAILED the gate" in \
        rows[0]["diagnostic"]


def test_without_kfold_a_high_k_is_only_flagged(simulated):
    fit, engines, data = simulated
    rows = refit_rows(fit, data, engines=engines, seed=1, baseline=BASE,
                      analyses=(ASSESSMENTS,), kfold=None, k_limit=-1.0)
    assert "unreliable" in rows[0]["diagnostic"] and "fold" not in rows[0]["diagnostic"]
