"""Benchmark: compile once per machine, not once per process.

What it measures
----------------
Two fresh Python processes in turn (``subprocess``), each importing the package and its
samplers, then timing its first ``mb.fit_growth(specs["bsi"], data)`` (marginal engine,
4 chains x 1000 draws) on the bundled synthetic register. Each prints the seconds of its
first fit, the seconds spent in compiling or loading the graph, whether the graph was
compiled or loaded from the store of compiled graphs (:mod:`mbtbayes.core.graph_store`), and
the machine's load average. The goal (issue 24): the second process's first fit in at most 5 s.

By default the processes use a new, empty store in a temporary folder, so the first one
compiles (numba's and PyTensor's own caches may still be warm) and the second loads;
``--store user`` uses the user's store instead (``~/.cache/mbtbayes/graphs``).

How to run
----------
    uv run python bench/compile_machine.py
    uv run python bench/compile_machine.py --store user --processes 3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

CHILD = """
import json, os, time, warnings
warnings.simplefilter("ignore")
start = time.perf_counter()
import bambi, nutpie, pymc
import mbtbayes as mb
from mbtbayes.core import graph_store, graphs
imported = time.perf_counter() - start
compile_seconds = 0.0
plain = graphs._nutpie_compile

def timed(model, keep):
    global compile_seconds
    began = time.perf_counter()
    try:
        return plain(model, keep)
    finally:
        compile_seconds += time.perf_counter() - began

graphs.compiled_graph.__kwdefaults__["compile_fn"] = timed
register, specs = mb.load_register(), mb.load_specs()
began = time.perf_counter()
fit = mb.fit_growth(specs["bsi"], register.data)
print(json.dumps({"imports": imported, "first_fit": time.perf_counter() - began,
                  "compile": compile_seconds, "counts": graph_store.counts,
                  "passed": fit.diagnostics.passed, "load": os.getloadavg()[0]}))
"""


def run(store: str) -> dict:
    env = dict(os.environ)
    if store != "user":
        env["MBTBAYES_GRAPH_CACHE"] = store
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", choices=("new", "user"), default="new")
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load before {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        store = "user" if args.store == "user" else os.path.join(tmp, "graphs")
        for i in range(1, args.processes + 1):
            r = run(store)
            how = "loaded" if r["counts"]["loaded"] else "compiled"
            print(f"process {i}: imports {r['imports']:5.1f} s   first fit {r['first_fit']:5.2f} s"
                  f"   graph {how} in {r['compile']:5.2f} s   gate passed {r['passed']}"
                  f"   (load {r['load']:.2f})", flush=True)


if __name__ == "__main__":
    main()
