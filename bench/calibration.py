"""Simulation-based calibration of the growth engines and the joint model on the bundled
SYNTHETIC register's design: rank uniformity, 90% HDI coverage, seconds.

For each part asked for (``--engine marginal`` and/or ``bambi``, ``--joint``) it runs
``--replicates`` replicates (default 200) and prints, per parameter, the chi-square p-value of
rank uniformity; the p-value of all ranks pooled; the coverage of each contrast's 90% HDI and
of all of them pooled, with a 95% binomial interval; the replicates that failed the gate; and
the wall and CPU seconds with the load average. Writes ``<part>_ranks.csv``,
``<part>_summary.csv`` and the rank histograms ``<part>_ranks.png`` to ``--out``.

Usage: uv run python bench/calibration.py [--engine marginal bambi] [--joint]
       [--replicates 200] [--draws 500] [--scheduler processes:2] [--out bench-calibration]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pandas as pd
from scipy import stats

import mbtbayes as mb
from mbtbayes.report.figures_calibration import rank_figure
from mbtbayes.report.style import figure_style, save
from mbtbayes.sensitivity.calibration import BINS, RANK_DRAWS, rank_chi2_p, sbc
from mbtbayes.sensitivity.calibration_bambi import sbc_bambi
from mbtbayes.sensitivity.calibration_joint import SBC_OUTCOMES, sbc_joint


def report(name: str, ranks: pd.DataFrame, summary: pd.DataFrame, seconds: tuple) -> str:
    """Print one part's numbers; return its one-line digest."""
    ranked = ranks.dropna(subset=["rank"])
    pooled = rank_chi2_p(ranked["rank"])
    cover = ranks["covered"].dropna().astype(bool)
    k, n = int(cover.sum()), len(cover)
    ci = stats.binomtest(k, n).proportion_ci(0.95)
    failed = int((~ranks.groupby("replicate")["passed"].first().astype(bool)).sum())
    cols = [c for c in ("parameter", "rank_chi2_p", "coverage_90", "coverage_low",
                        "coverage_high") if c in summary]
    print(f"\n== {name}: {ranks['replicate'].nunique()} replicates ==")
    print(summary[cols].to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    line = (f"{name}: pooled rank p {pooled:.3f} (min per parameter "
            f"{summary['rank_chi2_p'].min():.3f}); coverage {k}/{n} = {k / n:.3f} "
            f"[{ci.low:.3f}, {ci.high:.3f}]; gate failed {failed}; wall {seconds[0]:.0f} s, "
            f"CPU {seconds[1]:.0f} s, load {seconds[2]:.1f}")
    print(line, flush=True)
    return line


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", nargs="*", choices=("marginal", "bambi"),
                        default=["marginal", "bambi"])
    parser.add_argument("--joint", action="store_true")
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--draws", type=int, default=500, help="draws and tuning per chain")
    parser.add_argument("--seed", type=int, default=20250403)
    parser.add_argument("--scheduler")
    parser.add_argument("--out", type=Path, default=Path("bench-calibration"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    data, spec = mb.load_register().data, mb.load_specs()["bsi"]
    common = {"replicates": args.replicates, "seed": args.seed, "scheduler": args.scheduler,
              "options": mb.SamplerOptions(draws=args.draws, tune=args.draws, chains=2)}
    parts = {"marginal": lambda: sbc(spec, data, **common),
             "bambi": lambda: sbc_bambi(spec, data, **common),
             "joint": lambda: sbc_joint(data, outcomes=SBC_OUTCOMES, **common)}
    chosen = [*args.engine, *(["joint"] if args.joint else [])]
    lines = []
    for name in chosen:
        wall, cpu = time.perf_counter(), time.process_time()
        ranks, summary = parts[name]()
        seconds = (time.perf_counter() - wall, time.process_time() - cpu, os.getloadavg()[0])
        ranks.to_csv(args.out / f"{name}_ranks.csv", index=False)
        summary.to_csv(args.out / f"{name}_summary.csv", index=False)
        with figure_style():
            save(rank_figure(ranks, bins=BINS, top=RANK_DRAWS,
                             title=f"SBC ranks: {name} (synthetic register's design)"),
                 args.out / f"{name}_ranks.png")
        lines.append(report(name, ranks, summary, seconds))
    print("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
