"""Benchmark: wall time of all 18 main growth fits (9 specs x 2 variants) and of their summaries.

What it measures
----------------
The package's :func:`mbtbayes.fit_specs` with one marginal engine (nutpie)
(4 chains x 1000 draws, 1000 tune by default) over every spec in ``models/`` on the bundled
synthetic register, exactly as ``mbtbayes reanalyze`` fits them, then
:func:`mbtbayes.pipeline.growth_tables` on the fits.

- Wall time from the start of this script (imports and compilation included; the Python and
  ``uv run`` start-up before the first line are not -- time the command for those).
- Compile vs sampling vs diagnostics: ``nutpie.compile_pymc_model``, ``nutpie.sample`` and
  ``mbtbayes.core.sampling.diagnose`` are wrapped with timers for the run (the package is
  unchanged);
  the number of graphs nutpie compiled (calls of ``nutpie.compile_pymc_model``).
- Per-fit seconds as the package's log lines report them (``GrowthFit.seconds``), with the
  timers' split of each fit.
- How many fits passed the diagnostics gate first time, after the one refit, or not at all.
- The summaries: total seconds of ``growth_tables``, per table and per inner function
  (``az.summary``, HDI, PSIS-LOO, contrasts through the design), timed by wrapping the functions of
  :mod:`mbtbayes.growth.summaries`; if the total exceeds ``--profile-threshold`` seconds, a second,
  cProfile'd pass shows where inside ArviZ/NumPy the time goes.

The load average (2 shared cores) is printed at the start, after the fits and at the end.

How to run
----------
    uv run python bench/all_fits.py                    # 4 chains x 1000 draws, 1000 tune
    uv run python bench/all_fits.py --draws 500 --chains 2
    uv run python bench/all_fits.py --cold-cache       # empty numba cache: cold compiles

The last printed line is the one-line summary with the totals.
"""

from __future__ import annotations

import argparse
import atexit
import os
import re
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable

START = time.perf_counter()

TARGET_SECONDS = 180.0
LOG_LINE = re.compile(r"\[(\d+)/(\d+)\] (\S+) (\S+): .*?, ([\d.]+) s, ")
TABLES = ("growth_table", "period_effects", "effect_sizes", "variance_explained",
          "model_comparison", "diagnostics_table")
INNER = ("summary", "summarize_draws", "patient_loo", "period_contrasts", "change_draws",
         "observed_baseline_sd")
PROFILED = {"summary": "arviz", "loo": "arviz", "psislw": "arviz", "_psislw": "arviz",
            "hdi": "arviz", "ess": "arviz", "rhat": "arviz", "_mvn_block": "mbtbayes",
            "marginal_loglik": "mbtbayes", "from_dict": "arviz", "cholesky": "numpy",
            "solve": "numpy", "_ess_bulk": "arviz", "_ess_tail": "arviz", "_rhat_rank": "arviz",
            "_mc_error": "arviz", "_hdi": "arviz", "_gpdfit": "arviz"}


class Buckets:
    """Wall time of wrapped functions, in buckets (one per fit, or one per table)."""

    def __init__(self) -> None:
        self.current: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)
        self.closed: list[tuple[dict, dict]] = []
        self.total: dict[str, float] = defaultdict(float)

    def wrap(self, label: str, func: Callable) -> Callable:
        def timed(*args, **kwargs):
            t = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                dt = time.perf_counter() - t
                self.current[label] += dt
                self.counts[label] += 1
                self.total[label] += dt

        return timed

    def close(self) -> tuple[dict, dict]:
        bucket = (dict(self.current), dict(self.counts))
        self.closed.append(bucket)
        self.current, self.counts = defaultdict(float), defaultdict(int)
        return bucket


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--draws", type=int, default=1000, help="draws per chain (1000)")
    parser.add_argument("--tune", type=int, default=None, help="tuning steps (default: draws)")
    parser.add_argument("--chains", type=int, default=4, help="chains (4)")
    parser.add_argument("--seed", type=int, default=None, help="seed (package default)")
    parser.add_argument("--cold-cache", action="store_true",
                        help="use an empty PyTensor/numba compile dir (cold nutpie compiles)")
    parser.add_argument("--profile-threshold", type=float, default=10.0,
                        help="cProfile the summaries when they take longer (s; default 10)")
    return parser.parse_args(argv)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min, {os.cpu_count()} cpus)"


def since_start() -> float:
    return time.perf_counter() - START


# ---------------------------------------------------------------- fits


def run_fits(args) -> tuple[list, list[str], Buckets, float, object, list]:
    import nutpie

    import mbtbayes as mb
    from mbtbayes.core import sampling
    from mbtbayes.core.defaults import SEED
    from mbtbayes.growth import marginal
    from mbtbayes.growth.engines import engines_for

    data = mb.load_register().data
    specs = mb.load_specs()
    tune = args.draws if args.tune is None else args.tune
    options = mb.SamplerOptions(draws=args.draws, tune=tune, chains=args.chains)
    seed = SEED if args.seed is None else args.seed
    engines = engines_for(options)
    print(f"{len(specs)} specs ({', '.join(specs)}); {options.chains} chains x {options.draws} "
          f"draws ({options.tune} tune), seed {seed}")
    buckets = Buckets()
    lines: list[str] = []
    attempts: list = []  # diagnose() results of the current fit, first attempt first
    first_attempts: list = []

    def log(line: str) -> None:
        lines.append(line)
        buckets.close()
        first_attempts.append(attempts[0] if attempts else None)
        attempts.clear()
        print(f"  {since_start():6.1f} s  {line}", flush=True)

    def recording(func: Callable) -> Callable:
        def diagnose(*a, **k):
            result = func(*a, **k)
            attempts.append(result)
            return result

        return diagnose

    originals = (nutpie.compile_pymc_model, nutpie.sample, sampling.diagnose,
                 marginal.build_model)
    nutpie.compile_pymc_model = buckets.wrap("compile", nutpie.compile_pymc_model)
    nutpie.sample = buckets.wrap("sample", nutpie.sample)
    sampling.diagnose = buckets.wrap("diagnose", recording(sampling.diagnose))
    marginal.build_model = buckets.wrap("build", marginal.build_model)
    t = time.perf_counter()
    try:
        fits = mb.fit_specs(specs, data, seed=seed, engine="marginal", engines=engines,
                            log=log)
    finally:
        (nutpie.compile_pymc_model, nutpie.sample, sampling.diagnose,
         marginal.build_model) = originals
    fit_seconds = time.perf_counter() - t
    return fits, lines, buckets, fit_seconds, data, first_attempts


def fit_report(fits, lines, buckets: Buckets) -> dict:
    print("\nper fit (log-line seconds; timers' split; calls of nutpie.sample = attempts)")
    print(f"  {'fit':<28}{'structure':<14}{'log s':>7}{'compile':>9}{'sample':>8}"
          f"{'diagn.':>8}{'other':>7}{'calls':>6}  gate")
    structures = set()
    for fit, line, (secs, counts) in zip(fits, lines, buckets.closed, strict=True):
        m = LOG_LINE.search(line)
        logged = float(m.group(5)) if m else fit.seconds
        key = (fit.design.X.shape[1], len(fit.design.groups), fit.spec.correlated)
        structures.add(key)
        compile_s = secs.get("compile", 0.0) + secs.get("build", 0.0)
        sample_s, diag_s = secs.get("sample", 0.0), secs.get("diagnose", 0.0)
        d = fit.diagnostics
        gate = ("passed" if d.attempts == 1 else "passed after refit") if d.passed else "FAILED"
        print(f"  {fit.spec.name + '/' + fit.variant:<28}{str(key[:2]):<14}{logged:7.1f}"
              f"{compile_s:9.1f}{sample_s:8.1f}{diag_s:8.1f}"
              f"{logged - compile_s - sample_s - diag_s:7.1f}{counts.get('sample', 0):6d}  {gate}"
              f"  (ESS {d.min_ess_bulk:.0f}/{d.min_ess_tail:.0f}, R-hat {d.max_r_hat:.3f}, "
              f"div {d.divergences})")
    first = sum(f.diagnostics.passed and f.diagnostics.attempts == 1 for f in fits)
    refit = sum(f.diagnostics.passed and f.diagnostics.attempts == 2 for f in fits)
    failed = sum(not f.diagnostics.passed for f in fits)
    total = buckets.total
    compiles = sum(counts.get("compile", 0) for _, counts in buckets.closed)
    return {"structures": structures, "compiles": compiles, "first": first, "refit": refit,
            "failed": failed,
            "compile": total.get("compile", 0.0) + total.get("build", 0.0),
            "sample": total.get("sample", 0.0), "diagnose": total.get("diagnose", 0.0),
            "logged": sum(f.seconds for f in fits), "n": len(fits)}


def first_attempt_report(fits, first_attempts) -> None:
    refitted = [(f, d) for f, d in zip(fits, first_attempts, strict=True)
                if d is not None and not d.passed]
    if not refitted:
        return
    print(f"\nfirst attempts that failed the gate ({len(refitted)}): what failed")
    for fit, d in refitted:
        print(f"  {fit.spec.name + '/' + fit.variant:<28}{d.reason}  (first attempt: "
              f"max R-hat {d.max_r_hat:.4f}, min ESS {d.min_ess_bulk:.0f}/{d.min_ess_tail:.0f})")


# ---------------------------------------------------------------- summaries


def run_summaries(fits, data) -> tuple[float, Buckets, dict]:
    from mbtbayes.growth import summaries
    from mbtbayes.pipeline import growth_tables

    buckets = Buckets()
    originals = {name: getattr(summaries, name) for name in (*TABLES, *INNER)}
    for name, func in originals.items():
        setattr(summaries, name, buckets.wrap(name, func))
    t = time.perf_counter()
    try:
        tables = growth_tables(fits, data)
    finally:
        for name, func in originals.items():
            setattr(summaries, name, func)
    return time.perf_counter() - t, buckets, tables


def summaries_report(seconds: float, buckets: Buckets, tables: dict) -> None:
    print(f"\nsummaries: growth_tables(fits, data) {seconds:.1f} s "
          f"({', '.join(f'{k} {len(v)} rows' for k, v in tables.items())})")
    for name in (*TABLES, *INNER):
        if name in buckets.counts:
            part = "table" if name in TABLES else "inner function (inside the tables)"
            print(f"  {name:<22}{buckets.total[name]:7.2f} s  {buckets.counts[name]:5d} calls"
                  f"  {100 * buckets.total[name] / seconds:5.1f}%   {part}")
    other = seconds - sum(buckets.total[n] for n in TABLES if n in buckets.counts)
    print(f"  {'(outside the tables)':<22}{other:7.2f} s")


def profile_summaries(fits, data) -> None:
    import cProfile
    import pstats

    from mbtbayes.pipeline import growth_tables

    profiler = cProfile.Profile()
    t = time.perf_counter()
    profiler.runcall(growth_tables, fits, data)
    wall = time.perf_counter() - t
    stats = pstats.Stats(profiler)
    print(f"\ncProfile of a second growth_tables pass ({wall:.1f} s under the profiler): "
          "cumulative seconds of the functions that matter")
    rows = []
    for (path, line, name), (_, ncalls, _, cumtime, _) in stats.stats.items():
        package = PROFILED.get(name)
        if package and package in path:
            short = path.split("site-packages/")[-1].split("src/")[-1]
            rows.append((cumtime, ncalls, f"{name} ({short}:{line})"))
    for cumtime, ncalls, label in sorted(rows, reverse=True)[:16]:
        print(f"  {cumtime:8.2f} s  {ncalls:7d} calls  {label}")


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.cold_cache:  # must be set before pytensor is imported
        cold = tempfile.mkdtemp(prefix="pt-cold-")
        atexit.register(shutil.rmtree, cold, ignore_errors=True)
        os.environ["PYTENSOR_FLAGS"] = f"base_compiledir={cold}"
    print(f"load average at start: {load()}")
    import warnings

    warnings.filterwarnings("ignore")
    t = time.perf_counter()
    import nutpie
    import pymc

    import mbtbayes  # noqa: F401
    import mbtbayes.growth.summaries  # noqa: F401

    import_s = time.perf_counter() - t
    print(f"imports (pymc {pymc.__version__}, nutpie {nutpie.__version__}, mbtbayes): "
          f"{import_s:.1f} s; numba cache {'cold (temp dir)' if args.cold_cache else 'as found'}")

    fits, lines, buckets, fit_s, data, first_attempts = run_fits(args)
    fits_wall = since_start()
    print(f"\nload average after the fits: {load()}")
    r = fit_report(fits, lines, buckets)
    first_attempt_report(fits, first_attempts)
    other = fit_s - r["compile"] - r["sample"] - r["diagnose"]
    print(f"\nfits: {r['n']} in {fit_s:.1f} s (fit_specs), {fits_wall:.1f} s since the script "
          f"started (imports {import_s:.1f} s, data/specs/engine set-up "
          f"{fits_wall - fit_s - import_s:.1f} s)")
    print(f"  graphs compiled by nutpie: {r['compiles']} (design widths seen: "
          f"{sorted(k[0] for k in r['structures'])})")
    print(f"  compile (build_model + nutpie.compile_pymc_model)  {r['compile']:6.1f} s")
    print(f"  sampling (nutpie.sample, refits included)          {r['sample']:6.1f} s")
    print(f"  diagnostics gate (diagnose: az.rhat/az.ess)         {r['diagnose']:6.1f} s")
    print(f"  other (designs, with_data, coords, ...)             {other:6.1f} s")
    print(f"  sum of log-line seconds: {r['logged']:.1f} s (these include the compile of the "
          "first fit of each compiled graph)")
    print(f"  gate: {r['first']} passed first time, {r['refit']} passed after the refit, "
          f"{r['failed']} failed")

    sum_s, sum_buckets, tables = run_summaries(fits, data)
    summaries_report(sum_s, sum_buckets, tables)
    if sum_s > args.profile_threshold:
        profile_summaries(fits, data)
    total = since_start()
    print(f"\nload average at end: {load()}")
    verdict = "under" if fits_wall <= TARGET_SECONDS else "OVER"
    print(f"SUMMARY: {r['n']} fits in {fits_wall:.1f} s wall incl. imports+compile "
          f"({verdict} the {TARGET_SECONDS:.0f} s target; compile {r['compile']:.1f} s for "
          f"{r['compiles']} compiled graph(s), sampling {r['sample']:.1f} s, diagnostics "
          f"{r['diagnose']:.1f} s); gate {r['first']} first time + {r['refit']} after refit, "
          f"{r['failed']} failed; summaries {sum_s:.1f} s; total {total:.1f} s; "
          f"load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
