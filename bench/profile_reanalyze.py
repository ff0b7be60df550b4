"""Benchmark: where the time of a warm ``mbtbayes reanalyze`` goes, stage by stage.

What it measures
----------------
One run of :func:`mbtbayes.pipeline.reanalyze` in this process, as the command runs it
(default sampling: 4 chains x 1000 draws), after the imports, with the package's functions
wrapped by timers (the package itself is unchanged). Each stage gets its wall time and its
CPU time (``time.process_time``: every thread of this process, nutpie's sampler threads
included), *exclusive* of the stages nested in it, so that the rows add up to the run:

- ``imports``: the package and the libraries a run loads (pymc, nutpie, arviz, statsmodels,
  bambi, matplotlib), timed before the run;
- ``compilation`` (nutpie's ``compile_pymc_model``, for every sampled model: growth graphs,
  the Bambi remission model, the GLMM), ``sampling`` (``nutpie.sample``, ``pymc.sample``),
  ``gate`` (the diagnostics: R-hat, ESS), ``patient level`` (the marginal engine's patient
  effects, per-patient log-likelihood and predictive draws), ``fit cache`` (reading and
  writing cached fits), each also split by the stage it ran in;
- ``growth fits`` (the rest of ``fit_specs``: designs, Bambi formula parsing), ``LOO``
  (``summaries.model_comparison``, K-fold refits included), ``PPC``, ``trajectories``,
  ``summaries`` (the rest of ``growth_tables``), ``binary models``, ``frequentist fits``
  (the ML mixed models), ``concordance``, ``saving fits`` (``fits/*.nc``), ``report``
  (figures, ``report.md``, ``report.html``), ``writing`` (the tables, ``run.json``, the
  atomic swap);
- ``other``: what no timer covered (register loading, logging).

The load average (2 shared cores) is printed before and after: wall time is noisy when other
work shares the machine; CPU time is the steadier figure.

Goals (issue 14, 2 cores): a warm ``reanalyze`` (today's outputs) <= 40 s; with the report
and figures <= 55 s; with ``--sensitivity`` <= 3 min. The run's total is printed beside the
goal. "Warm" means the second of two runs with the same ``--cache``: the environment, nutpie's
and numba's caches and the fit cache are filled; the first run's figures are printed too
when you run it (fits sampled, graphs compiled in this process).

How to run
----------
    uv run python bench/profile_reanalyze.py                 # with the report (the default run)
    uv run python bench/profile_reanalyze.py --no-report     # tables only
    uv run python bench/profile_reanalyze.py --data /tmp/s10.csv --no-cache
    uv run python bench/profile_reanalyze.py --cache /tmp/fitcache   # a second run: cache hits
    uv run python bench/profile_reanalyze.py --cache /tmp/fitcache --sensitivity quick

A first call in a fresh environment compiles cold; run it twice for the warm figures.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

START_WALL, START_CPU = time.perf_counter(), time.process_time()

GOAL_TABLES = 40.0
GOAL_REPORT = 55.0
GOAL_SENSITIVITY = 180.0
LEAVES = ("compilation", "sampling", "gate", "patient level", "fit cache")
ORDER = ("imports", "compilation", "sampling", "gate", "patient level", "fit cache",
         "growth fits", "LOO", "PPC", "trajectories", "summaries", "binary models",
         "frequentist fits", "concordance", "sensitivity", "saving fits", "report", "writing",
         "other")


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min; {os.cpu_count()} cpus)"


class Timers:
    """Exclusive wall and CPU time per label, with a stack for nesting."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.within: dict[tuple[str, str], float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._stack: list[list] = []  # [label, wall0, cpu0, child_wall, child_cpu]

    def wrap(self, label: str, func: Callable) -> Callable:
        def timed(*args, **kwargs):
            self._stack.append([label, time.perf_counter(), time.process_time(), 0.0, 0.0])
            try:
                return func(*args, **kwargs)
            finally:
                name, w0, c0, cw, cc = self._stack.pop()
                wall, cpu = time.perf_counter() - w0, time.process_time() - c0
                self.wall[name] += wall - cw
                self.cpu[name] += cpu - cc
                self.calls[name] += 1
                if self._stack:
                    self._stack[-1][3] += wall
                    self._stack[-1][4] += cpu
                    if name in LEAVES:
                        outer = next((s[0] for s in reversed(self._stack)
                                      if s[0] not in LEAVES), "other")
                        self.within[(name, outer)] += wall

        timed.__wrapped__ = func
        return timed

    def patch(self, module: str, attr: str, label: str) -> None:
        mod = importlib.import_module(module)
        if hasattr(mod, attr):
            setattr(mod, attr, self.wrap(label, getattr(mod, attr)))


PATCHES = [
    ("nutpie", "compile_pymc_model", "compilation"),
    ("nutpie", "sample", "sampling"),
    ("pymc", "sample", "sampling"),
    ("mbtbayes.core.sampling", "diagnose", "gate"),
    ("mbtbayes.growth.marginal", "_add_patient_level", "patient level"),
    ("mbtbayes.growth.bambi_engine", "_add_patient_level", "patient level"),
    ("mbtbayes.growth.cache", "FitCache.get", "fit cache"),
    ("mbtbayes.growth.cache", "FitCache.put", "fit cache"),
    ("mbtbayes.growth.cache", "FitCache.get_draws", "fit cache"),
    ("mbtbayes.growth.cache", "FitCache.put_draws", "fit cache"),
    ("mbtbayes.growth.cache", "FitCache.get_record", "fit cache"),
    ("mbtbayes.growth.cache", "FitCache.put_record", "fit cache"),
    ("mbtbayes.pipeline", "fit_specs", "growth fits"),
    ("mbtbayes.growth.summaries", "model_comparison", "LOO"),
    ("mbtbayes.growth.ppc", "ppc_table", "PPC"),
    ("mbtbayes.growth.trajectories", "trajectory_table", "trajectories"),
    ("mbtbayes.pipeline", "growth_tables", "summaries"),
    ("mbtbayes.pipeline", "binary_tables", "binary models"),
    ("mbtbayes.compare", "frequentist_fits", "frequentist fits"),
    ("mbtbayes.pipeline", "frequentist_tables", "concordance"),
    ("mbtbayes.pipeline", "sensitivity_tables", "sensitivity"),
    ("mbtbayes.pipeline", "_save_fits", "saving fits"),
    ("mbtbayes.pipeline", "write_report", "report"),  # the name the pipeline calls
    ("mbtbayes.pipeline", "write_run", "writing"),
]


def install(timers: Timers) -> None:
    for module, attr, label in PATCHES:
        owner, _, method = attr.partition(".")
        if method:  # a method of a class
            try:
                cls = getattr(importlib.import_module(module), owner)
            except (ImportError, AttributeError):
                continue
            setattr(cls, method, timers.wrap(label, getattr(cls, method)))
        else:
            timers.patch(module, attr, label)


def imports() -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for name in ("mbtbayes", "mbtbayes.pipeline", "pymc", "nutpie", "arviz", "statsmodels.api",
                 "bambi", "matplotlib", "mbtbayes.report", "mbtbayes.compare",
                 "mbtbayes.growth.marginal", "mbtbayes.binary.change"):
        importlib.import_module(name)
    return time.perf_counter() - wall, time.process_time() - cpu


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="register (default: the bundled synthetic one)")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--no-report", action="store_true", help="tables only (report=False)")
    parser.add_argument("--out", help="output folder (default: a temporary one)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--cache", help="fit cache folder (default: none, every fit sampled)")
    group.add_argument("--no-cache", action="store_true", help="(the default here)")
    parser.add_argument("--scheduler", help="executor for the K-fold refits")
    parser.add_argument("--sensitivity", choices=("quick", "full"),
                        help="with the sensitivity suite (goal: the whole run <= 3 min)")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    print(f"start: {load()}", flush=True)
    import_wall, import_cpu = imports()
    timers = Timers()
    timers.wall["imports"], timers.cpu["imports"] = import_wall, import_cpu
    install(timers)
    from mbtbayes import pipeline

    out = Path(args.out or tempfile.mkdtemp(prefix="mbtbayes-profile-")) / "run"
    options = {"draws": args.draws, "chains": args.chains, "report": not args.no_report}
    if args.cache or args.no_cache:
        options["cache"] = args.cache if args.cache else False
    elif "cache" in pipeline.reanalyze.__kwdefaults__:
        options["cache"] = False  # measure the work, not the cache, unless asked
    if args.scheduler:
        options["scheduler"] = args.scheduler
    if args.sensitivity:
        options["sensitivity"] = args.sensitivity
    wall0, cpu0 = time.perf_counter(), time.process_time()
    pipeline.reanalyze(data=args.data, out=out, log=lambda m: None, headline=lambda t: None,
                       **options)
    run_wall, run_cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    covered_w = sum(v for k, v in timers.wall.items() if k != "imports")
    covered_c = sum(v for k, v in timers.cpu.items() if k != "imports")
    timers.wall["other"] += run_wall - covered_w
    timers.cpu["other"] += run_cpu - covered_c
    report(timers, run_wall + import_wall, run_cpu + import_cpu, args)
    print(f"output: {out}")


def report(timers: Timers, wall: float, cpu: float, args) -> None:
    print(f"\nstages of one warm run ({'tables only' if args.no_report else 'with the report'}"
          f"; {args.chains} chains x {args.draws} draws; {args.data or 'bundled register'})")
    print(f"  {'stage':<18}{'wall s':>8}{'cpu s':>8}{'calls':>7}  where (wall s)")
    for name in ORDER:
        if name not in timers.wall:
            continue
        where = ", ".join(f"{outer} {secs:.1f}" for (leaf, outer), secs
                          in sorted(timers.within.items(), key=lambda kv: -kv[1])
                          if leaf == name and secs >= 0.05)
        calls = timers.calls.get(name, "")
        print(f"  {name:<18}{timers.wall[name]:8.1f}{timers.cpu[name]:8.1f}{calls!s:>7}  {where}")
    print(f"  {'total':<18}{wall:8.1f}{cpu:8.1f}")
    print(f"  (run started {time.perf_counter() - START_WALL - wall:.1f} s after the "
          "interpreter; `uv run` start-up not included)")
    goal = GOAL_TABLES if args.no_report else GOAL_REPORT
    what = "(tables only)" if args.no_report else "(report and figures)"
    if args.sensitivity:
        goal, what = GOAL_SENSITIVITY, f"with --sensitivity {args.sensitivity}"
    verdict = "met" if wall <= goal else "NOT met"
    print(f"end: {load()}")
    print(f"warm reanalyze {what}: {wall:.1f} s wall, {cpu:.1f} s CPU; goal <= {goal:.0f} s "
          f"wall: {verdict}")


if __name__ == "__main__":
    sys.exit(main())
