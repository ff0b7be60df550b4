"""Benchmark: effective samples per second of nutpie vs PyMC's default NUTS on one growth model.

What it measures
----------------
One growth model -- spec ``bsi``, variant ``period`` -- on the bundled synthetic register,
sampled twice through the package's marginal engine
(:class:`mbtbayes.growth.marginal.MarginalEngine`) with the same PyMC graph
(:func:`mbtbayes.bayes.build_model`), the same priors and the same data:

(a) ``SamplerOptions(sampler="nutpie")``: graph build + ``nutpie.compile_pymc_model`` (timed as
    compile) and ``nutpie.sample`` (timed as sampling), measured by wrapping those two
    functions for the duration of the run (the engine itself is unchanged);
(b) ``SamplerOptions(sampler="pymc")``: ``pm.sample`` with PyMC's default NUTS; sampling seconds are
    ``idata.sample_stats.attrs["sampling_time"]`` (wall time of ``pm.sample`` if absent), and
    setup/compile is the rest of ``pm.sample`` plus the graph build.

Both fits run with ``gate=False`` (no refit), so that both samplers get exactly the requested
chains x draws. For each sampler it prints compile/setup seconds, sampling seconds, whole-fit
seconds (``MarginalEngine.fit`` wall time, diagnostics included), min bulk ESS over the sampled
parameters (``mbtbayes.bayes.diagnose``), ESS/s on sampling time and on whole-fit time,
gradient evaluations (sum of ``n_steps``) and ESS per 1000 gradients (a load-independent
efficiency), and finally the ratio nutpie / PyMC of ESS per second. With ``--repeats N`` each
sampler fits N times (seeds seed .. seed+N-1, one engine, so nutpie compiles once) and the ratio
is that of the medians, since one seed's minimum ESS is noisy.

The machine has 2 shared cores; the load average (``os.getloadavg()``) is printed at the start,
between the samplers and at the end, since other processes change the timings.

How to run
----------
    uv run python bench/sampler_ess.py                     # 4 chains x 1000 draws, 1000 tune
    uv run python bench/sampler_ess.py --draws 500 --chains 2
    uv run python bench/sampler_ess.py --repeats 3         # three seeds, median ratio
    uv run python bench/sampler_ess.py --cold-cache        # nutpie with an empty numba cache

The last printed line is the one-line summary with the ESS/s ratio.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable

START = time.perf_counter()

SPEC = "bsi"
VARIANT = "period"


class Timings:
    """Accumulates the wall time of wrapped functions, by label."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, label: str, func: Callable) -> Callable:
        def timed(*args, **kwargs):
            t = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - t
                self.calls[label] += 1

        return timed


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--draws", type=int, default=1000, help="draws per chain (1000)")
    parser.add_argument("--tune", type=int, default=None, help="tuning steps (default: draws)")
    parser.add_argument("--chains", type=int, default=4, help="chains (4)")
    parser.add_argument("--seed", type=int, default=None, help="seed (package default)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="fits per sampler with seeds seed, seed+1, ... (medians; default 1)")
    parser.add_argument("--cold-cache", action="store_true",
                        help="use an empty PyTensor/numba compile dir (cold nutpie compile)")
    return parser.parse_args(argv)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min, {os.cpu_count()} cpus)"


def steps(idata) -> int:
    """Leapfrog steps (gradient evaluations) of the kept draws, all chains."""
    stats = idata.sample_stats
    return int(stats["n_steps"].values.sum()) if "n_steps" in stats else 0


def per_variable_ess(idata, names: list[str]) -> str:
    from mbtbayes.core.arviz_api import convergence

    parts = []
    for name in names:
        _, bulk, _, _ = convergence(idata, var_names=[name])
        parts.append(f"{name} {bulk:.0f}")
    return ", ".join(parts)


def run_sampler(sampler: str, spec, design, engine_kwargs: dict, repeats: int) -> list[dict]:
    """Fit ``repeats`` times (seeds seed, seed+1, ...) with one engine; one dict per fit.

    The first nutpie fit compiles the graph; later ones reuse it (``with_data``), as the
    package does across measures. Each PyMC fit builds its model again (PyTensor's C cache
    makes later builds cheap).
    """
    import nutpie
    import pymc

    from mbtbayes.core.sampling import SamplerOptions
    from mbtbayes.growth import marginal as bayes

    timings = Timings()
    originals = (nutpie.compile_pymc_model, nutpie.sample, pymc.sample, bayes.build_model)
    nutpie.compile_pymc_model = timings.wrap("compile", nutpie.compile_pymc_model)
    nutpie.sample = timings.wrap("sample", nutpie.sample)
    pymc.sample = timings.wrap("pm.sample", pymc.sample)
    bayes.build_model = timings.wrap("build", bayes.build_model)
    seed = engine_kwargs.pop("seed")
    marginal = bayes.engine_for(SamplerOptions(sampler=sampler, **engine_kwargs))
    results = []
    try:
        for i in range(repeats):
            before = dict(timings.seconds)
            t = time.perf_counter()
            fit = marginal.fit_design(spec, design, variant=VARIANT, seed=seed + i,
                                      gate=False)
            whole = time.perf_counter() - t
            spent = {k: v - before.get(k, 0.0) for k, v in timings.seconds.items()}
            results.append(_split_times(sampler, fit, whole, spent))
    finally:
        (nutpie.compile_pymc_model, nutpie.sample, pymc.sample, bayes.build_model) = originals
    return results


def _split_times(sampler: str, fit, whole: float, spent: dict) -> dict:
    if sampler == "nutpie":
        setup = spent.get("build", 0.0) + spent.get("compile", 0.0)
        sampling, source = spent.get("sample", 0.0), "wall time of nutpie.sample"
    else:
        attrs = fit.idata.sample_stats.attrs
        if "sampling_time" in attrs:
            sampling, source = float(attrs["sampling_time"]), 'sample_stats.attrs["sampling_time"]'
        else:
            sampling, source = spent["pm.sample"], "wall time of pm.sample (no sampling_time attr)"
        setup = spent.get("build", 0.0) + spent.get("pm.sample", 0.0) - sampling
    ess = fit.diagnostics.min_ess_bulk
    return {"fit": fit, "whole": whole, "setup": setup, "sampling": sampling,
            "sampling_source": source, "ess": ess, "ess_s": ess / sampling,
            "ess_s_whole": ess / whole, "grads": steps(fit.idata)}


def report(name: str, runs: list[dict], names: list[str]) -> dict:
    """Print the first fit in detail, then one line per repeat; return the medians."""
    import numpy as np

    res = runs[0]
    fit = res["fit"]
    d = fit.diagnostics
    print(f"\n== {name}: first fit")
    print(f"  compile/setup s      {res['setup']:8.2f}")
    print(f"  sampling s           {res['sampling']:8.2f}   ({res['sampling_source']})")
    print(f"  whole fit s          {res['whole']:8.2f}   (engine.fit wall, diagnostics included)")
    print(f"  min bulk ESS         {d.min_ess_bulk:8.0f}   (min tail ESS {d.min_ess_tail:.0f}, "
          f"max R-hat {d.max_r_hat:.4f}, divergences {d.divergences}, gate "
          f"{'passed' if d.passed else 'FAILED'})")
    print(f"  min bulk ESS by var  {per_variable_ess(fit.idata, names)}")
    print(f"  ESS/s (sampling)     {res['ess_s']:8.1f}")
    print(f"  ESS/s (whole fit)    {res['ess_s_whole']:8.1f}   (first fit: compile included)")
    if res["grads"]:
        print(f"  gradient evals       {res['grads']:8d}   (kept draws only; min bulk ESS per 1000 "
              f"gradients {1000 * d.min_ess_bulk / res['grads']:.1f})")
    if len(runs) > 1:
        print("  repeats (seed offset: setup s, sampling s, whole s, min bulk ESS, ESS/s):")
        for i, r in enumerate(runs):
            print(f"    +{i}: {r['setup']:6.1f} {r['sampling']:7.2f} {r['whole']:7.2f} "
                  f"{r['ess']:7.0f} {r['ess_s']:8.1f}")
    keys = ("setup", "sampling", "whole", "ess", "ess_s", "ess_s_whole", "grads")
    medians = {k: float(np.median([r[k] for r in runs])) for k in keys}
    medians["first"] = res
    if len(runs) > 1:
        print(f"  median over {len(runs)}: sampling {medians['sampling']:.2f} s, min bulk ESS "
              f"{medians['ess']:.0f}, ESS/s {medians['ess_s']:.1f}")
    return medians


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.cold_cache:  # must be set before pytensor is imported
        cold = tempfile.mkdtemp(prefix="pt-cold-")
        atexit.register(shutil.rmtree, cold, ignore_errors=True)
        os.environ["PYTENSOR_FLAGS"] = f"base_compiledir={cold}"
    print(f"load average at start: {load()}")
    t = time.perf_counter()
    import warnings

    warnings.filterwarnings("ignore")
    import nutpie
    import pymc

    from mbtbayes.core.defaults import SEED
    from mbtbayes.growth.design import make_design, prior_values
    from mbtbayes.growth.marginal import PARAMETERS
    from mbtbayes.growth.specs import load_specs
    from mbtbayes.io.register import load_register

    import_s = time.perf_counter() - t
    data = load_register().data
    spec = load_specs()[SPEC]
    design = make_design(spec, data, variant=VARIANT)
    prior_values(spec, design)  # fail early on a bad spec
    seed = SEED if args.seed is None else args.seed
    tune = args.draws if args.tune is None else args.tune
    engine_kwargs = {"draws": args.draws, "tune": tune, "chains": args.chains, "seed": seed}
    print(f"model: {SPEC}/{VARIANT}, n={design.y.size} rows, {len(design.groups)} patients, "
          f"{design.X.shape[1]} fixed columns, correlated={spec.correlated}; "
          f"{args.chains} chains x {args.draws} draws ({tune} tune), seed {seed}")
    print(f"versions: nutpie {nutpie.__version__}, pymc {pymc.__version__}; imports "
          f"{import_s:.1f} s; numba cache {'cold (temp dir)' if args.cold_cache else 'as found'}")

    nut_runs = run_sampler("nutpie", spec, design, dict(engine_kwargs), args.repeats)
    names = [p for p in PARAMETERS if p in nut_runs[0]["fit"].idata.posterior]
    nut = report("nutpie (sampler='nutpie')", nut_runs, names)
    print(f"\nload average between samplers: {load()}")
    pmc_runs = run_sampler("pymc", spec, design, dict(engine_kwargs), args.repeats)
    pmc = report("PyMC default NUTS (sampler='pymc')", pmc_runs, names)

    ratio = nut["ess_s"] / pmc["ess_s"]
    first_whole = nut["first"]["ess_s_whole"] / pmc["first"]["ess_s_whole"]
    what = f"median of {args.repeats} seeds" if args.repeats > 1 else "one seed"
    print(f"\n== ratio nutpie / PyMC ({what})")
    print(f"  ESS/s on sampling time   {ratio:6.1f}x   (target >= 10x)")
    if args.repeats > 1:
        paired = [n["ess_s"] / p["ess_s"] for n, p in zip(nut_runs, pmc_runs, strict=True)]
        print(f"  per seed (+0, +1, ...)   {', '.join(f'{x:.1f}x' for x in paired)}")
    print(f"  ESS/s on whole-fit time  {first_whole:6.1f}x   (first fit of each: nutpie compile "
          f"{nut['first']['setup']:.1f} s vs PyMC setup {pmc['first']['setup']:.1f} s)")
    print(f"  sampling speed           {pmc['sampling'] / nut['sampling']:6.1f}x faster")
    print(f"  min bulk ESS             {nut['ess'] / pmc['ess']:6.2f} of PyMC's")
    if nut["grads"] and pmc["grads"]:
        per_grad = (nut["sampling"] / nut["grads"]) / (pmc["sampling"] / pmc["grads"])
        print(f"  time per gradient        {per_grad:6.2f} of PyMC's (approx.: sampling s / "
              "kept-draw steps)")
    print(f"load average at end: {load()}")
    print(f"total benchmark wall time: {time.perf_counter() - START:.1f} s")
    print(f"SUMMARY: nutpie/PyMC ESS/s = {ratio:.1f}x on sampling time ({what}; "
          f"{nut['ess_s']:.0f} vs {pmc['ess_s']:.0f} ESS/s; min bulk ESS {nut['ess']:.0f} vs "
          f"{pmc['ess']:.0f}; sampling {nut['sampling']:.1f} s vs {pmc['sampling']:.1f} s), "
          f"{first_whole:.1f}x on whole-fit time of a first fit (compile "
          f"{nut['first']['setup']:.1f} s vs {pmc['first']['setup']:.1f} s); "
          f"load {os.getloadavg()[0]:.2f}")

if __name__ == "__main__":
    main()
