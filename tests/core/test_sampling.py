"""One sampling path: option validation, the gate's verdict and reason, and the retry policy.

The gate is exercised on draws whose diagnostics are known from their construction (independent
normal draws mix perfectly; chains with different means do not), not by recomputing the
thresholds.
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest

from mbtbayes.core.errors import SpecError
from mbtbayes.core.sampling import RETRY, Sampler, SamplerOptions, diagnose, whole


def _idata(seed: int, *, shift: float = 0.0, draws: int = 1000, divergent: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(4, draws)) + shift * np.arange(4)[:, None]
    diverging = np.zeros((4, draws), bool)
    diverging[0, :divergent] = True
    return az.from_dict(posterior={"x": x}, sample_stats={"diverging": diverging})


@pytest.mark.parametrize("kwargs, message", [
    ({"sampler": "stan"}, "sampler must be one of"),
    ({"draws": 0}, "draws must be a whole number >= 1"),
    ({"chains": 1.5}, "chains must be a whole number >= 1"),
    ({"tune": True}, "tune must be a whole number >= 1"),
    ({"target_accept": 1.0}, "target_accept"),
])
def test_bad_options_are_refused(kwargs, message):
    with pytest.raises(SpecError, match=message):
        SamplerOptions(**kwargs)


def test_well_mixed_draws_pass_and_separated_chains_fail():
    good = diagnose(_idata(1), var_names=["x"])
    assert good.passed and good.reason == "" and good.draws == 1000
    bad = diagnose(_idata(1, shift=1.0), var_names=["x"])
    assert not bad.passed and "R-hat" in bad.reason
    few = diagnose(_idata(1, draws=50), var_names=["x"])
    assert not few.passed and "ESS" in few.reason
    div = diagnose(_idata(1, divergent=3), var_names=["x"])
    assert not div.passed and div.reason == "3 divergences"


def test_a_failing_fit_is_refitted_once_by_the_retry_policy():
    calls = []

    def sample(seed, draws, tune, target_accept):
        calls.append((seed, draws, tune, target_accept))
        return _idata(seed, shift=1.0 if len(calls) == 1 else 0.0)

    options = SamplerOptions(draws=200, tune=300)
    idata, diag = Sampler(options).gated(sample, seed=10, var_names=["x"])
    assert calls == [(10, 200, 300, 0.8),
                     (11, 200 * RETRY["draws"], 300 * RETRY["tune"], RETRY["target_accept"])]
    assert diag.passed and diag.attempts == 2


def test_a_fit_that_fails_twice_is_kept_and_flagged():
    sampler = Sampler(SamplerOptions())
    idata, diag = sampler.gated(lambda *a: _idata(a[0], shift=1.0), seed=1, var_names=["x"])
    assert not diag.passed and diag.attempts == 2 and "R-hat" in diag.reason
    _, once = sampler.gated(lambda *a: _idata(a[0], shift=1.0), seed=1, var_names=["x"],
                            gate=False)
    assert once.attempts == 1 and not once.passed


def test_every_sampler_of_the_process_shares_the_compiled_graphs():
    """One registry per process: a structure compiled through one sampler is reused by any
    other (another options, a new Sampler), which counts it as used, not compiled."""
    from mbtbayes.core import graphs

    key = ("test-structure", 1)
    first = Sampler(SamplerOptions())
    try:
        graphs.compiled_graph(key, lambda: "model", compile_fn=lambda model, keep: "graph")
        for other in (first.with_options(SamplerOptions(draws=10)), Sampler(SamplerOptions())):
            assert other.compiled(key, build=lambda: pytest.fail("recompiled")) == "graph"
            assert (other.n_compiled, other.n_graphs) == (0, 1)
    finally:
        graphs.forget(key)
    assert not graphs.is_compiled(key)


@pytest.mark.parametrize("chains, draws", [(4, 999), (3, 1000), (0, 0)])
def test_a_partial_posterior_is_an_interruption(chains, draws):
    """nutpie and PyMC answer Ctrl-C by returning the draws so far; that is not a fit."""
    partial = az.from_dict(posterior={"x": np.zeros((chains, draws))})
    with pytest.raises(KeyboardInterrupt, match="sampling interrupted"):
        whole(partial, chains=4, draws=1000)
    full = _idata(1)
    assert whole(full, chains=4, draws=1000) is full
