"""Benchmark: compiled graphs per process, not per call.

What it measures
----------------
In one process, on the bundled synthetic register: ``mb.fit_growth`` of the bsi period model
twice, then ``mb.fit_specs`` of bsi and cip (four fits) twice, each call with its own
engines and sampler, as a notebook makes them. For each call it prints the wall time, the
graphs the process had compiled before and after (:func:`mbtbayes.core.graphs.count`) and
the graphs the call compiled. The goal (issue 21): the second call of a structure compiles
nothing, so it costs sampling alone.

How to run
----------
    uv run python bench/compile_once.py            # 4 chains x 1000 draws
    uv run python bench/compile_once.py --draws 500

The machine's load average is printed with each line: other processes change the timings.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import mbtbayes as mb
from mbtbayes.core import graphs


def timed(label: str, call) -> None:
    before = graphs.count()
    start = time.perf_counter()
    call()
    seconds = time.perf_counter() - start
    load = os.getloadavg()[0]
    print(f"{label:32s} {seconds:7.1f} s   graphs compiled by the call: "
          f"{graphs.count() - before}   (load {load:.1f})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--draws", type=int, default=1000)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    reg = mb.load_register()
    specs = mb.load_specs()
    options = mb.SamplerOptions(draws=args.draws, tune=args.draws)
    two = {k: specs[k] for k in ("bsi", "cip")}
    for attempt in ("first", "second"):
        timed(f"fit_growth(bsi), {attempt} call",
              lambda: mb.fit_growth(specs["bsi"], reg.data, options=options))
    for attempt in ("first", "second"):
        timed(f"fit_specs(bsi, cip), {attempt} call",
              lambda: mb.fit_specs(two, reg.data, options=options))


if __name__ == "__main__":
    main()
