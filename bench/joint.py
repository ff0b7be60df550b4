"""The joint model on the bundled SYNTHETIC register: timings, gate, the joint-vs-single table.

Fits the four single-outcome period models (as a run does), then the joint model with and without
the period terms, and prints compile and sampling time (wall and this process's CPU, all threads)
with the load average, the gate, each outcome's 24-month contrast joint vs single, the pooled
period effect, the slope correlations and the LOO comparison. Writes the tables and the figure to
``--out``. Process CPU counts nutpie's threads; on a shared machine read CPU, not wall.

Usage: uv run python bench/joint.py [--out bench-joint] [--seed 20250403] [--draws 1000]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import pandas as pd

import mbtbayes as mb
from mbtbayes.core.sampling import SamplerOptions
from mbtbayes.growth.joint.data import OUTCOMES
from mbtbayes.growth.joint.summaries import comparison_table, joint_table


def timed(label: str, fn):
    """Run ``fn``; print its wall and CPU time and the load average."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    print(f"{label}: wall {time.perf_counter() - wall:.1f} s, CPU "
          f"{time.process_time() - cpu:.1f} s, load avg {os.getloadavg()[0]:.1f}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("bench-joint"))
    parser.add_argument("--seed", type=int, default=20250403)
    parser.add_argument("--draws", type=int, default=1000)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    args.out.mkdir(exist_ok=True)
    data = mb.load_register().data
    options = SamplerOptions(draws=args.draws, tune=args.draws)
    specs = {k: v for k, v in mb.load_specs().items() if k in OUTCOMES}
    single = timed("single-outcome fits (8)", lambda: mb.fit_specs(specs, data, seed=args.seed))
    fits = {}
    for variant in ("period", "no_period"):
        fits[variant] = timed(f"joint {variant} (compile + sample)", lambda v=variant: mb.fit_joint(
            data, variant=v, seed=args.seed, options=options))
        f = fits[variant]
        print(f"  compile wall {f.compile_seconds:.1f} s, sampling wall {f.seconds:.1f} s; "
              f"{f.diagnostics}", flush=True)
    table = timed("joint table", lambda: joint_table(fits["period"], data, single=single,
                                                           seed=args.seed))
    loo = timed("LOO comparison", lambda: comparison_table(fits["period"], fits["no_period"]))
    table.to_csv(args.out / "joint_model.csv", index=False)
    loo.to_csv(args.out / "joint_model_comparison.csv", index=False)
    from mbtbayes.report.figures_more import joint_figure

    joint_figure(table).savefig(args.out / "joint_model.png", dpi=150)
    pd.set_option("display.width", 200)
    cols = ["outcome", "quantity", "joint_mean", "joint_hdi_low", "joint_hdi_high",
            "single_mean", "single_hdi_low", "single_hdi_high", "passed"]
    print(table[cols].to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print(loo.drop(columns=["method"]).to_string(index=False, float_format=lambda x: f"{x:.4g}"))


if __name__ == "__main__":
    main()
