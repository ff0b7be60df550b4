"""Benchmark: the time the figures and the report add to a run of ``mbtbayes reanalyze``.

What it measures
----------------
Two whole runs of :func:`mbtbayes.reanalyze` on the bundled synthetic register with the
default sampling (4 chains x 1000 draws), one with ``report=False`` and one with
``report=True``, in that order, after a small warm-up run (one spec, quick) that fills
numba's on-disk cache so that neither measured run pays the cold compilation:

- wall time of each run, and their difference (noisy on a shared machine: the fits vary);
- the report stage inside the ``report=True`` run as ``run.json`` records it (figures,
  ``paper_tables.md``, ``report.md``, ``report.html``), and its share of that run;
- then ``write_report`` alone, repeated ``--repeat`` times on that run's tables and fits (the
  median is the steadiest figure for the report's own cost), with its CPU time
  (``time.process_time``: less sensitive than wall time to other work on the machine).

Goal: the report adds well under a quarter of a run. The load average is printed, because
the machine's 2 cores are shared.

How to run
----------
    uv run python bench/report_time.py
    uv run python bench/report_time.py --draws 500 --chains 2 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

GOAL_SHARE = 0.25


def _run(out: Path, *, report: bool, draws: int, chains: int, models=None, quick=False,
         keep: dict | None = None) -> float:
    import mbtbayes as mb
    from mbtbayes import pipeline

    if keep is not None:  # capture the run's tables and fits for the repeats
        original = pipeline.write_run

        def spy(out_, register, tables, *, extra=None):
            keep.update(register=register, tables=tables)
            return original(out_, register, tables, extra=extra)

        pipeline.write_run = spy
        fit_specs = pipeline.fit_specs

        def fits_spy(*args, **kwargs):
            keep["fits"] = fit_specs(*args, **kwargs)
            return keep["fits"]

        pipeline.fit_specs = fits_spy
    start = time.perf_counter()
    try:
        mb.reanalyze(out=out, report=report, draws=draws, chains=chains, models=models,
                     quick=quick, log=lambda _: None, headline=lambda _: None)
    finally:
        if keep is not None:
            pipeline.write_run, pipeline.fit_specs = original, fit_specs
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from mbtbayes.growth.specs import load_specs, models_dir
    from mbtbayes.report import write_report

    print(f"load average at start: {os.getloadavg()[0]:.1f} (2 shared cores)")
    root = Path(tempfile.mkdtemp(prefix="mbtbayes-bench-report-"))
    try:
        warm = root / "models"
        warm.mkdir()
        shutil.copy(models_dir() / "bsi.toml", warm / "bsi.toml")
        _run(root / "warm", report=False, draws=args.draws, chains=args.chains, models=warm,
             quick=True)
        without = _run(root / "without", report=False, draws=args.draws, chains=args.chains)
        keep: dict = {}
        with_report = _run(root / "with", report=True, draws=args.draws, chains=args.chains,
                           keep=keep)
        stage = json.loads((root / "with" / "run.json").read_text())["seconds"]["report"]
        repeats, cpu = [], []
        for i in range(args.repeat):
            folder = root / f"repeat{i}"
            folder.mkdir()
            start, start_cpu = time.perf_counter(), time.process_time()
            write_report(folder, tables=keep["tables"], fits=keep["fits"], specs=load_specs(),
                         register=keep["register"])
            repeats.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        median = statistics.median(repeats)
        print(f"run without report: {without:.1f} s; with report: {with_report:.1f} s; "
              f"difference {with_report - without:+.1f} s (includes the fits' own variation)")
        print(f"report stage inside the run (run.json): {stage:.1f} s = "
              f"{stage / with_report:.1%} of the run")
        print(f"write_report alone, {args.repeat} repeats: "
              + ", ".join(f"{r:.1f}" for r in repeats) + f" s; median {median:.1f} s "
              f"(CPU time of this process: median {statistics.median(cpu):.1f} s)")
        print(f"load average at end: {os.getloadavg()[0]:.1f}")
        share = median / with_report
        print(f"SUMMARY report adds {median:.1f} s (median of write_report) to a "
              f"{with_report:.0f} s run: {share:.1%} (goal < {GOAL_SHARE:.0%}: "
              f"{'met' if share < GOAL_SHARE else 'NOT met'})")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
