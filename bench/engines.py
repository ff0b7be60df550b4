"""Benchmark: the Bambi engine's time per growth fit beside the marginal engine's.

What it measures
----------------
The bsi and gaf period models on the bundled synthetic register, fitted by each engine with the
same sampler options (nutpie, 4 chains x 1000 draws, 1000 tune by default), in this order:
marginal bsi, marginal gaf (the same compiled graph), Bambi bsi, Bambi gaf (each compiles its
own graph). Per fit: wall seconds as ``GrowthFit.seconds`` reports them (compilation of a new
graph, sampling, the gate, and the patient-level groups: patient effects or quadrature
log-likelihood, posterior predictive draws), the attempts, and the largest disagreement of the
two engines' posterior means (fixed effects, SDs, sigma) in posterior SDs. The load average
(2 shared cores) is printed, since other work on the machine inflates every time.

How to run
----------
    uv run python bench/engines.py
    uv run python bench/engines.py --draws 3000

The last line is the one-line summary: seconds per fit by engine and their ratio.
"""

from __future__ import annotations

import argparse
import os

TERMS = ("Intercept", "months", "period[II]", "months:period[II]", "sd_intercept", "sd_slope",
         "sigma")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    args = parser.parse_args()

    import mbtbayes as mb
    from mbtbayes.growth.engines import engines_for
    from mbtbayes.growth.summaries import growth_table

    print(f"load average at start: {os.getloadavg()}")
    reg, specs = mb.load_register(), mb.load_specs()
    engines = engines_for(mb.SamplerOptions(draws=args.draws, tune=1000, chains=args.chains))
    fits = {}
    for engine in ("marginal", "bambi"):
        for name in ("bsi", "gaf"):
            fit = mb.fit_growth(specs[name], reg.data, engine=engine, engines=engines)
            fits[(engine, name)] = fit
            print(f"{engine:8s} {name}: {fit.seconds:6.1f} s, attempts {fit.diagnostics.attempts},"
                  f" passed {fit.diagnostics.passed}")
    worst = (0.0, "", "")
    for name in ("bsi", "gaf"):
        table = growth_table([fits[("marginal", name)], fits[("bambi", name)]])
        table = table.set_index(["engine", "term"])
        for term in TERMS:
            m, b = table.loc[("marginal", term)], table.loc[("bambi", term)]
            worst = max(worst, (abs(m["mean"] - b["mean"]) / m["sd"], name, term))
    seconds = {e: [fits[(e, n)].seconds for n in ("bsi", "gaf")] for e in ("marginal", "bambi")}
    print(f"load average at end: {os.getloadavg()}")
    print(f"worst disagreement {worst[0]:.3f} posterior SD ({worst[1]} {worst[2]})")
    print(f"seconds per fit: marginal {seconds['marginal']}, bambi {seconds['bambi']}; "
          f"Bambi / marginal for gaf (the marginal engine reuses bsi's compiled graph, Bambi "
          f"compiles every model): "
          f"{seconds['bambi'][1] / seconds['marginal'][1]:.1f}x")


if __name__ == "__main__":
    main()
