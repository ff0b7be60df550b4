"""Benchmark: how a core reanalysis grows with the number of patients.

What it measures
----------------
For each scale K (default 1 and 10; add 100 for the national-register goal), a SYNTHETIC
register written by ``mbtbayes simulate --scale K`` (185 x K patients), then one core
reanalysis of it (:func:`mbtbayes.pipeline.reanalyze` with ``report=False``, no fit cache, 4
chains x 1000 draws) in a fresh child process, which reports:

- wall and CPU time (``time.process_time``: every thread of the child) of the whole run, and
  of its stages from ``run.json`` (``growth_fits``: the 18 growth fits; ``tables``: summaries,
  LOO, binary and frequentist models; ``fits_saved``: writing);
- peak resident memory of the child (``ru_maxrss``); a watchdog stops a child whose memory
  passes ``--max-rss-gb`` (default 4.5 GB: the goal is missed by then, and the machine is
  shared);
- the fits that failed the gate at first (refitted) and at the end.

Printed ratios: growth-fit seconds per patient relative to scale 1 (linear growth in patients
means a ratio <= 1), and the run's wall time and peak memory at the largest scale beside the
goals (issue 14: scale 100 within 10 minutes and 4 GB). The load average (2 shared cores) is
printed beside each run: wall time is noisy when other work shares the machine; CPU time is
the steadier figure.

How to run
----------
    uv run python bench/scaling.py                    # scales 1 and 10
    uv run python bench/scaling.py --scales 1 10 100  # the national-register goal
    uv run python bench/scaling.py --draws 500        # shorter runs
    uv run python bench/scaling.py --specs bsi        # one measure's models (2 growth fits)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_WALL = 600.0
GOAL_RSS_GB = 4.0
PATIENTS = 185


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f}/{five:.1f}/{fifteen:.1f}"


def child(data: str, out: str, draws: int, models: str | None) -> None:
    """One core reanalysis in this (child) process; prints one JSON line."""
    import resource

    wall0, cpu0 = time.perf_counter(), time.process_time()
    from mbtbayes.pipeline import reanalyze

    lines: list[str] = []
    reanalyze(data=data, out=out, draws=draws, report=False, cache=False, log=lines.append,
              headline=lambda tables: None, models=models)
    run = json.loads((Path(out) / "run.json").read_text())
    diagnostics = __import__("pandas").read_csv(Path(out) / "diagnostics.csv")
    print(json.dumps({
        "wall": time.perf_counter() - wall0, "cpu": time.process_time() - cpu0,
        "rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "stages": run.get("seconds", {}),
        "refitted": int((diagnostics.get("attempts", 1) > 1).sum()),
        "failed": int((~diagnostics["passed"].astype(bool)).sum()),
        "fits": len(diagnostics)}))


def models_folder(specs: list[str] | None, folder: Path) -> str | None:
    """A models folder holding only ``specs`` (None: the package's models)."""
    if not specs:
        return None
    import shutil

    from mbtbayes.growth.specs import models_dir

    models = folder / "models"
    models.mkdir(exist_ok=True)
    for name in specs:
        shutil.copy(models_dir() / f"{name}.toml", models / f"{name}.toml")
    return str(models)


def run_scale(k: int, folder: Path, draws: int, models: str | None, *,
              max_rss_gb: float) -> dict:
    data = folder / f"scale{k}.csv"
    subprocess.run(["mbtbayes", "simulate", "--scale", str(k), "--out", str(data)], check=True,
                   stdout=subprocess.DEVNULL)
    before, start = load(), time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--child", str(data),
                             str(folder / f"out{k}"), str(draws), models or ""],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peak = tree = 0.0
    while proc.poll() is None:  # a watchdog: past the memory cap the goal is missed anyway
        peak = max(peak, rss_gb(proc.pid))
        tree = max(tree, tree_pss_gb(proc.pid))
        if max(peak, tree) > max_rss_gb:
            proc.kill()
            proc.wait()
            return {"k": k, "killed": True, "rss_gb": max(peak, tree),
                    "wall": time.perf_counter() - start, "load_before": before,
                    "load_after": load()}
        time.sleep(1)
    result = json.loads(proc.stdout.read().strip().splitlines()[-1])
    result |= {"k": k, "load_before": before, "load_after": load(), "tree_gb": tree}
    return result


def rss_gb(pid: int) -> float:
    """Resident memory of a process now, in GB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


def tree_pss_gb(pid: int) -> float:
    """Proportional set size of a process and its descendants now (the run's forked children:
    the fits' writer, the figure workers), in GB: pages shared after a fork counted once."""
    def children(p: int) -> list[int]:
        try:
            return [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except OSError:
            return []

    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        todo += children(p)
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) / 2**20
        except OSError:
            pass
    return total


def per_patient(r: dict, base: dict, key: str) -> float:
    """Seconds per patient of ``key`` (a run total or a ``run.json`` stage) at ``r``'s scale,
    relative to ``base``'s."""
    def value(x):
        return x[key] if key in x else x["stages"].get(key, float("nan"))
    return (value(r) / r["k"]) / (value(base) / base["k"])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--max-rss-gb", type=float, default=4.5,
                        help="stop a run whose memory passes this (default 4.5 GB)")
    parser.add_argument("--specs", nargs="+", help="only these model specs (default: all)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]), args.child[3] or None)
        return
    folder = Path(tempfile.mkdtemp(prefix="mbtbayes-scaling-"))
    models = models_folder(args.specs, folder)
    print(f"{os.cpu_count()} cpus; load 1/5/15 min {load()}; {args.draws} draws x 4 chains; "
          f"specs: {', '.join(args.specs) if args.specs else 'all'}")
    results = []
    for k in args.scales:
        print(f"scale {k}: {PATIENTS * k} patients ...", flush=True)
        r = run_scale(k, folder, args.draws, models, max_rss_gb=args.max_rss_gb)
        if r.get("killed"):
            print(f"  stopped after {r['wall']:.0f} s at {r['rss_gb']:.2f} GB resident "
                  f"(over --max-rss-gb {args.max_rss_gb}); load {r['load_before']} -> "
                  f"{r['load_after']}", flush=True)
            break
        results.append(r)
        s = r["stages"]
        print(f"  run {r['wall']:.0f} s wall, {r['cpu']:.0f} s CPU, peak {r['rss_gb']:.2f} GB "
              f"(with its forked children, PSS sampled each second: {r['tree_gb']:.2f} GB); "
              f"growth fits {s.get('growth_fits', float('nan')):.0f} s, tables "
              f"{s.get('tables', float('nan')):.0f} s, writing "
              f"{s.get('fits_saved', float('nan')):.0f} s; {r['refitted']} of {r['fits']} "
              f"fits refitted, {r['failed']} failed the gate; load {r['load_before']} -> "
              f"{r['load_after']}", flush=True)
    if not results:
        print(f"no scale completed; goal scale 100 <= {GOAL_WALL:.0f} s and {GOAL_RSS_GB:.0f} "
              "GB: NOT met (memory)")
        return
    base = results[0]
    print("\ntime per patient relative to the first scale (<= 1: at most linear growth)")
    for r in results:
        print(f"  scale {r['k']:>3}: growth fits {per_patient(r, base, 'growth_fits'):.2f}, "
              f"whole run wall {per_patient(r, base, 'wall'):.2f}, "
              f"CPU {per_patient(r, base, 'cpu'):.2f}")
    top = results[-1]
    if r.get("killed") or top["k"] < 100:
        verdict = ("NOT met (memory)" if r.get("killed")
                   else f"not measured (largest scale {top['k']})")
    elif args.specs:
        verdict = f"not the goal's run ({len(args.specs)} of the 9 specs)"
    else:
        memory = max(top["rss_gb"], top["tree_gb"])
        verdict = "met" if top["wall"] <= GOAL_WALL and memory <= GOAL_RSS_GB else "NOT met"
    print(f"largest completed scale {top['k']}: {top['wall']:.0f} s wall, {top['rss_gb']:.2f} GB;"
          f" goal scale 100 <= {GOAL_WALL:.0f} s and {GOAL_RSS_GB:.0f} GB: {verdict}")
    print(f"outputs under {folder}")


if __name__ == "__main__":
    sys.exit(main())
