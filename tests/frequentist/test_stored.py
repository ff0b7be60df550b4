"""ML fits in the fit cache: a fit written as a JSON record and read back equals the fit
(every table, the AIC, the predictions), and ``frequentist_fits`` with a cache fits each
model once: a second call reads every fit, a failed fit included, and gives the same fits.

The reference is the fit fit_mixed returned in the same test (the cache must give back
exactly what was fitted).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

import mbtbayes as mb
from mbtbayes.compare.frequentist import FailedFit, frequentist_fits
from mbtbayes.core.cache import DiskCache
from mbtbayes.frequentist.mixed import fit_mixed
from mbtbayes.frequentist.stored import from_record, to_record


def _assert_same(a, b) -> None:
    for name in ("fixed", "variance", "fixed_cov"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    pd.testing.assert_series_equal(a.covariate_means, b.covariate_means)
    assert (a.loglik, a.aic, a.bic, a.n_obs, a.period_levels, a.singular) == (
        b.loglik, b.aic, b.bic, b.n_obs, b.period_levels, b.singular)
    pd.testing.assert_frame_equal(a.predict_fixed([0, 24]), b.predict_fixed([0, 24]))


@pytest.mark.parametrize(("outcome", "options"), [
    ("bsi", {"period": "period"}),
    ("bsi", {"period": None}),
    ("bsi", {"period": "period", "correlated": True}),
    ("wai_goals_tasks", {"period": "period", "covariates": ("wai_version",)}),
])
def test_a_record_reads_back_as_the_same_fit(synthetic, outcome, options):
    fit = fit_mixed(synthetic.dropna(subset=list(options.get("covariates", ()))),
                    outcome=outcome, time="months", group="patient_id", **options)
    _assert_same(from_record(json.loads(json.dumps(to_record(fit)))), fit)


def test_frequentist_fits_are_read_from_the_cache(synthetic, tmp_path, monkeypatch):
    specs = {k: v for k, v in mb.load_specs().items() if k in ("bsi", "gaf")}
    first = frequentist_fits(specs, synthetic, cache=DiskCache(tmp_path), log=lambda m: None)
    cache = DiskCache(tmp_path)
    again = frequentist_fits(specs, synthetic, cache=cache, log=lambda m: None)
    assert cache.hits == len(first) == 4 and cache.misses == 0
    for key, fit in first.items():
        _assert_same(again[key], fit)

    def fail(*args, **kwargs):
        raise mb.ConvergenceError("did not converge (simulated)")

    monkeypatch.setattr("mbtbayes.compare.frequentist.fit_mixed", fail)
    other = synthetic.assign(bsi=synthetic["bsi"] + 1.0)
    failed = frequentist_fits(specs, other, cache=DiskCache(tmp_path), log=lambda m: None)
    assert isinstance(failed[("bsi", "period")], FailedFit)
    notes: list[str] = []
    cache = DiskCache(tmp_path)
    read = frequentist_fits(specs, other, cache=cache, log=notes.append)
    assert read[("bsi", "period")].reason == failed[("bsi", "period")].reason
    assert cache.hits == 4 and any("FAILED (fit cache)" in n for n in notes)
