"""Benchmark: what the predictive checks add to a default run.

What it measures
----------------
The 18 growth fits of the bundled specs are read from a fit cache (``--cache DIR``: run
``uv run mbtbayes reanalyze --cache DIR`` once to fill it), then each step the predictive
checks add is timed in this process, ``--repeats`` times (the median is printed): the prior
predictive table, the LOO-PIT table, the PPC table with and without the new-patient checks,
and their figures (a prior predictive figure per spec, the LOO-PIT figure, the ``plot_ppc``
overlay). The load average (2 shared cores) is printed, since other work inflates every time.

How to run
----------
    uv run python bench/predictive_checks.py --cache DIR

The last line is the one-line summary: seconds added to the tables and to the figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import time


def timed(step, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", required=True, help="a filled fit cache folder")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import mbtbayes as mb
    from mbtbayes.growth import loo_pit as pit
    from mbtbayes.growth.ppc import fit_ppc
    from mbtbayes.growth.prior_predictive import prior_predictive_table
    from mbtbayes.report import figures_checks as checks
    from mbtbayes.report.style import figure_style

    reg = mb.load_register()
    fits = mb.fit_specs(mb.load_specs(), reg.data, cache=args.cache)
    print(f"load average at start: {os.getloadavg()}")

    def loo_pit_fresh():
        pit._MEMO.clear()  # noqa: SLF001 (time the computation, not the memo)
        pit.loo_pit_table(fits)

    def in_sample_ppc():
        for fit in fits:
            fit_ppc(dataclasses.replace(fit, params=None))

    def both_ppc():
        for fit in fits:
            fit_ppc(fit)

    tables = {"prior_predictive_table": lambda: prior_predictive_table(fits, reg.data),
              "loo_pit_table": loo_pit_fresh,
              "ppc in-sample only (before)": in_sample_ppc,
              "ppc in-sample + new patients": both_ppc}
    seconds = {name: timed(step, args.repeats) for name, step in tables.items()}
    chosen = {f.spec.name: f for f in fits if f.variant == "period"}

    def prior_figures():
        for fit in chosen.values():
            checks.prior_predictive_figure(fit, reg.data)

    with figure_style():
        figures = {"prior predictive figures (9)": prior_figures,
                   "LOO-PIT figure": lambda: checks.loo_pit_figure(fits),
                   "plot_ppc overlay": lambda: checks.ppc_overlay_figure(fits)}
        seconds |= {name: timed(step, args.repeats) for name, step in figures.items()}
    for name, value in seconds.items():
        print(f"{name:32s} {value:6.2f} s")
    added_tables = (seconds["prior_predictive_table"] + seconds["loo_pit_table"]
                    + seconds["ppc in-sample + new patients"]
                    - seconds["ppc in-sample only (before)"])
    added_figures = sum(seconds[k] for k in figures)
    print(f"load average at end: {os.getloadavg()}")
    print(f"added to the tables {added_tables:.1f} s, to the figures {added_figures:.1f} s "
          f"(median of {args.repeats})")


if __name__ == "__main__":
    main()
