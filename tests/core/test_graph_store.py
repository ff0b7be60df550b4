"""The store of compiled graphs: a new process loads the machine code another process compiled
and samples exactly as nutpie's own compile does; no data in the store; a broken entry is
compiled again; a foreign folder is left alone."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from mbtbayes.core import graph_store

Y = 1234.5678 + np.arange(25.0) / 7  # values whose bytes are easy to look for
OTHER = np.linspace(-3.0, 5.0, 40)

MODEL = textwrap.dedent("""
    import numpy as np, pymc as pm

    def small_model(y):
        with pm.Model() as model:
            data = pm.Data("y", y)
            mu = pm.Normal("mu", 0, 1000)
            sd = pm.HalfNormal("sd", 50)
            pm.Normal("obs", mu, sd, observed=data)
        return model

    def draws(compiled, seed):
        import nutpie
        idata = nutpie.sample(compiled, draws=200, tune=200, chains=2, seed=seed,
                              progress_bar=False)
        return np.stack([idata.posterior["mu"].values, idata.posterior["sd"].values])
""")
namespace: dict = {}
exec(MODEL, namespace)  # noqa: S102 (the same source runs in the child process)
small_model, draws = namespace["small_model"], namespace["draws"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the small model's graph, compiled in this process."""
    folder = tmp_path_factory.mktemp("graphs")
    before = dict(graph_store.counts)
    graph_store.compile_model(small_model(Y), None, folder=folder)
    assert graph_store.counts["stored"] == before["stored"] + 1
    return folder


@pytest.fixture(scope="module")
def reference() -> object:
    """nutpie's own compile of the model on the real data (no store)."""
    import nutpie

    return nutpie.compile_pymc_model(small_model(Y))


def test_a_new_process_loads_the_graph_and_draws_what_nutpie_draws(store: Path,
                                                                     reference: object) -> None:
    child = MODEL + textwrap.dedent(f"""
        import sys
        from mbtbayes.core import graph_store
        folder = sys.argv[1]
        compiled = graph_store.compile_model(small_model(np.array({Y.tolist()})), None,
                                             folder=__import__("pathlib").Path(folder))
        assert graph_store.counts == {{"loaded": 1, "compiled": 0, "stored": 0}}, graph_store.counts
        np.save(folder + "/same.npy", draws(compiled, 7))
        other = compiled.with_data(y=np.array({OTHER.tolist()}))
        np.save(folder + "/other.npy", draws(other, 8))
    """)
    subprocess.run([sys.executable, "-c", child, str(store)], check=True, timeout=300)
    assert np.array_equal(np.load(store / "same.npy"), draws(reference, 7))
    assert np.array_equal(np.load(store / "other.npy"), draws(reference.with_data(y=OTHER), 8))


def test_no_data_reach_the_store(store: Path, reference: object) -> None:
    entry = next(store.glob("*.graph")).read_bytes()
    assert Y.tobytes() not in entry
    # the check can see data: an entry made from nutpie's own compile (on the data) holds them
    assert Y.tobytes() in graph_store._payload(reference)


def test_a_broken_entry_is_compiled_again_and_replaced(store: Path, tmp_path: Path) -> None:
    entry = next(store.glob("*.graph"))
    broken = tmp_path / entry.name
    content = bytearray(entry.read_bytes())
    content[len(content) // 2] ^= 0xFF
    broken.write_bytes(bytes(content))
    (tmp_path / graph_store.MARKER).write_bytes((store / graph_store.MARKER).read_bytes())
    before = dict(graph_store.counts)
    graph_store.compile_model(small_model(Y), None, folder=tmp_path)
    assert graph_store.counts["compiled"] == before["compiled"] + 1
    assert graph_store.counts["stored"] == before["stored"] + 1
    graph_store.compile_model(small_model(Y), None, folder=tmp_path)  # the new entry loads
    assert graph_store.counts["loaded"] == before["loaded"] + 1


def test_a_foreign_folder_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    compiled = graph_store.compile_model(small_model(Y), None, folder=tmp_path)
    assert compiled.n_dim == 2
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_a_graph_with_a_large_constant_is_not_stored() -> None:
    import pymc as pm
    import pytensor.tensor as pt

    with pm.Model() as model:
        mu = pm.Normal("mu", 0, 1)
        pm.Potential("fixed_data", -pt.sum((pt.as_tensor(Y) - mu) ** 2))
    assert graph_store.fingerprint(model, None) is None


def test_the_key_tells_apart_what_the_graph_prints_alike() -> None:
    import pymc as pm

    def wide(n: int) -> pm.Model:
        with pm.Model(coords={"coef": list(range(n))}) as model:
            pm.Normal("beta", 0, 1, dims="coef")
        return model

    assert graph_store.fingerprint(wide(5), None) == graph_store.fingerprint(wide(5), None)
    assert graph_store.fingerprint(wide(5), None) != graph_store.fingerprint(wide(6), None)
    assert graph_store.fingerprint(small_model(Y), None) != graph_store.fingerprint(
        small_model(Y), ["mu"])


def test_constants_become_data_and_the_log_density_stays() -> None:
    import pymc as pm
    import pytensor.tensor as pt

    with pm.Model() as model:
        mu = pm.Normal("mu", 0, 1)
        sd = pm.HalfNormal("sd", 2)
        pm.Potential("fixed_data", -pt.sum((pt.as_tensor(OTHER) - mu) ** 2))
        pm.Normal("obs", mu, sd, observed=Y / 1000)
    rewritten = graph_store.constants_as_data(model)
    assert graph_store.fingerprint(model, None) is None
    assert graph_store.fingerprint(rewritten, None) is not None
    assert len(rewritten.data_vars) == 2
    old, new = model.compile_logp(), rewritten.compile_logp()
    for point in ({"mu": 0.3, "sd_log__": -0.2}, {"mu": -1.7, "sd_log__": 0.9}):
        # reference: the original model's own log density (SciPy check of that one below)
        assert new(point) == pytest.approx(old(point), rel=1e-12)
    from scipy import stats
    point = {"mu": 0.3, "sd_log__": -0.2}
    sd = np.exp(-0.2)
    by_hand = (stats.norm.logpdf(0.3) + stats.halfnorm.logpdf(sd, scale=2) + np.log(sd)
               - np.sum((OTHER - 0.3) ** 2) + stats.norm.logpdf(Y / 1000, 0.3, sd).sum())
    assert new(point) == pytest.approx(by_hand, rel=1e-10)


@pytest.mark.slow
def test_a_bambi_model_is_stored_without_its_data_and_samples_as_bambi_does(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bambi's own ``fit`` (nutpie) against the package's path through the store: same
    variables and dimensions, posterior means within Monte Carlo error; the entry holds no
    data."""
    import bambi as bmb
    import pandas as pd

    from mbtbayes.core.sampling import Sampler, SamplerOptions

    monkeypatch.setenv(graph_store.ENV, str(tmp_path))
    rng = np.random.default_rng(3)
    cells = pd.DataFrame({"group": np.repeat(["a", "b", "c"], 10), "x": rng.normal(size=30)})
    cells["n"] = rng.integers(20, 40, size=30)
    cells["y"] = rng.binomial(cells["n"], 1 / (1 + np.exp(-(0.4 * cells["x"] - 0.3))))
    cells["n"] = cells["n"] + 7919  # values whose bytes are easy to look for
    cells["y"] = cells["y"] + 7919

    def model() -> bmb.Model:
        return bmb.Model("p(y, n) ~ 0 + group + x", cells, family="binomial")

    before = dict(graph_store.counts)
    ours, diag = Sampler(SamplerOptions(draws=1000, tune=1000, chains=2)).sample_bambi(
        model(), seed=5, var_names=["group", "x"])
    assert graph_store.counts["stored"] == before["stored"] + 1
    entry = next(tmp_path.glob("*.graph")).read_bytes()
    assert cells["n"].to_numpy(float).tobytes() not in entry
    assert cells["n"].to_numpy().tobytes() not in entry
    bambi_own = model().fit(inference_method="nutpie", draws=1000, tune=1000, chains=2,
                            random_seed=5, progressbar=False)
    assert set(ours.posterior.data_vars) == set(bambi_own.posterior.data_vars)
    assert ours.posterior["group"].dims == bambi_own.posterior["group"].dims
    assert list(ours.posterior["group_dim"].values) == list(
        bambi_own.posterior["group_dim"].values)
    assert set(ours.groups()) >= {"posterior", "observed_data"}
    import arviz as az
    for name in ("group", "x"):
        a, b = ours.posterior[name], bambi_own.posterior[name]
        se = np.hypot(az.mcse(ours, var_names=[name])[name],
                      az.mcse(bambi_own, var_names=[name])[name])
        assert np.all(np.abs(a.mean(("chain", "draw")) - b.mean(("chain", "draw"))) < 4 * se), name
