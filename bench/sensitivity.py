"""Benchmark: the time ``--sensitivity`` adds to a warm run (goal: at most 2 minutes on 2 cores).

What it measures
----------------
By default the analyses of ``--sensitivity`` (``QUICK``: no refits of other models);
``--full`` adds the refits of ``--sensitivity full``. Every spec in ``models/`` is fitted
(period variant) on the bundled SYNTHETIC register with one pair of engines (nutpie; 4
chains x 1000 draws by default), as ``mbtbayes reanalyze`` fits them. That is the warm run:
the fits and their compiled graphs exist. Then :func:`mbtbayes.sensitivity` runs on those
fits with the same engines (prior grid by PSIS reweighting, refits only where Pareto k > 0.7;
reverse-Bayes; drop-out tipping point; power-scaling; remission), and the wall time of that
call is what the suite adds. The number of refits (rows with ``method == "refit"``) is
printed, since they dominate when they occur.

The load average is printed before and after (2 cores shared with other work: noisy).

How to run
----------
    uv run python bench/sensitivity.py                     # 4 chains x 1000 draws
    uv run python bench/sensitivity.py --draws 300 --chains 2 --measures bsi cip
    uv run python bench/sensitivity.py --full               # with the refits (slow)
    uv run python bench/sensitivity.py --full --measures bsi --cache /tmp/c --twice  # cold, warm

The last line is the summary: suite seconds, ratio to the 120 s goal, refits.
"""

from __future__ import annotations

import argparse
import os
import time

GOAL_SECONDS = 120.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--measures", nargs="*", help="spec names (default: all)")
    parser.add_argument("--analyses", nargs="*",
                        help="sensitivity analyses (default: mbtbayes.sensitivity.suite.QUICK, "
                             "what --sensitivity runs); e.g. --analyses 'prior grid'")
    parser.add_argument("--cache", help="fit cache folder for the refits (default: none)")
    parser.add_argument("--twice", action="store_true",
                        help="run the suite a second time (with --cache: the refits are read "
                             "back, the warm figure)")
    parser.add_argument("--full", action="store_true",
                        help="every analysis, refits included (what --sensitivity full runs)")
    args = parser.parse_args()

    import mbtbayes as mb
    from mbtbayes.growth.engines import engines_for

    print(f"load average at start: {os.getloadavg()}")
    reg = mb.load_register()
    specs = mb.load_specs()
    if args.measures:
        specs = {k: specs[k] for k in args.measures}
    engines = engines_for(mb.SamplerOptions(draws=args.draws, tune=args.draws,
                                            chains=args.chains))
    start = time.perf_counter()
    fits = [mb.fit_growth(s, reg.data, engines=engines) for s in specs.values()]
    fitted = time.perf_counter() - start
    print(f"{len(fits)} period fits (warm-up, not counted): {fitted:.1f} s; "
          f"passed {sum(f.diagnostics.passed for f in fits)}/{len(fits)}")
    from mbtbayes.sensitivity.suite import ANALYSES, QUICK

    analyses = ANALYSES if args.full else tuple(args.analyses or QUICK)
    for run in ("first", "second")[:1 + args.twice]:
        start = time.perf_counter()
        result = mb.sensitivity(specs, reg.data, fits=fits, engines=engines, analyses=analyses,
                                cache=args.cache)
        suite = time.perf_counter() - start
        table = result.table
        refits = table[table["method"] == "refit"].groupby(["measure", "setting"]).ngroups
        if run == "first":
            print(table.groupby("analysis").size().to_string())
            print(f"analyses: {', '.join(analyses)}")
        print(f"load average at end: {os.getloadavg()}")
        print(f"{run} run: sensitivity suite on {len(fits)} warm fits ({args.chains} x "
              f"{args.draws} draws{', cache ' + args.cache if args.cache else ''}): "
              f"{suite:.1f} s = {suite / GOAL_SECONDS:.2f} x the {GOAL_SECONDS:.0f} s goal; "
              f"{refits} refits; {len(table)} rows", flush=True)

if __name__ == "__main__":
    main()
