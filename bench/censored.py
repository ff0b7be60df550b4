"""Benchmark: the censored BSI model (models/examples/bsi_censored.toml) beside the Gaussian
default (models/bsi.toml) on the bundled register (``--measure``: another bundled spec beside
its censored twin).

What it measures
----------------
Both period models (and their linear ones, for LOO-PIT), fitted with the default sampler
settings through a fit cache (``--cache DIR``; a second run reads them back), then:

- the leave-one-patient-out ELPD of the recorded scores (``likelihood_comparison.csv``'s
  estimand: the same data and the same convention for both likelihoods);
- the posterior predictive checks of the floor, the ceiling and the scores outside the scale,
  in-sample and for new patients;
- the new-patient LOO-PIT summary;
- the Period II - I contrasts and d per period of both (the censored model's are those of the
  latent outcome).

How to run
----------
    uv run python bench/censored.py --cache /tmp/censored-cache
    uv run python bench/censored.py --measure fwc_inadequate --cache /tmp/censored-cache

The last line is the one-line summary: the ELPD difference and its SE, and the censored
model's fitting time.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default=None, help="fit cache folder (default: none)")
    parser.add_argument("--measure", default="bsi",
                        help="a bundled spec; other than bsi, its censored twin is made here")
    args = parser.parse_args()

    import pandas as pd

    import mbtbayes as mb
    from mbtbayes.growth import summaries
    from mbtbayes.growth.likelihood_comparison import recorded_comparison, recorded_loo
    from mbtbayes.growth.loo import elpd_difference
    from mbtbayes.growth.loo_pit import loo_pit_table
    from mbtbayes.growth.ppc import ppc_table
    from mbtbayes.growth.specs import models_dir

    pd.set_option("display.width", 200)
    print(f"load average at start: {os.getloadavg()}")
    reg = mb.load_register()
    name, censored = args.measure, f"{args.measure}_censored"
    gaussian = mb.load_specs()[name]
    twin = (mb.load_specs(models_dir() / "examples")[censored] if name == "bsi" else
            dataclasses.replace(gaussian, name=censored, censored=True))
    specs = {name: gaussian, censored: twin}
    start = time.perf_counter()
    fits = mb.fit_specs(specs, reg.data, cache=args.cache, log=print)
    seconds = time.perf_counter() - start
    period = [f for f in fits if f.variant == "period"]
    print("\nrecorded-score leave-one-patient-out ELPD (period models):")
    print(recorded_comparison(period).round(3).to_string(index=False))
    checks = ppc_table(period)
    rows = checks[checks["statistic"].isin(["floor_share", "ceiling_share", "outside_scale"])]
    print("\nposterior predictive checks at the scale's bounds:")
    print(rows[["measure", "predictive", "statistic", "period", "observed", "predicted_mean",
                "predicted_low", "predicted_high", "ppp", "misfit"]].round(4)
          .to_string(index=False))
    print("\nnew-patient LOO-PIT:")
    print(loo_pit_table(fits).drop(columns=["estimand", "engine"]).round(3)
          .to_string(index=False))
    effects = summaries.period_effects(period, reg.data)
    print("\nPeriod II - I contrasts (censored: of the latent outcome):")
    print(effects[["measure", "contrast", "mean", "sd", "hdi_low", "hdi_high"]].round(4)
          .to_string(index=False))
    d = summaries.effect_sizes(fits, reg.data)
    print("\nd of the 0-24 month change:")
    print(d[["measure", "period", "d_mean", "d_hdi_low", "d_hdi_high"]].round(3)
          .to_string(index=False))
    loos = {f.spec.name: recorded_loo(f) for f in period}
    diff, se = elpd_difference(loos[censored], loos[name])
    censored_seconds = sum(f.seconds for f in fits if f.spec.name == censored)
    print(f"load average at end: {os.getloadavg()}")
    print(f"ELPD(censored) - ELPD(gaussian) on recorded scores: {diff:.1f} (SE {se:.1f}); "
          f"censored fits {censored_seconds:.0f} s (all fits, or reading them from the cache, "
          f"{seconds:.0f} s)")


if __name__ == "__main__":
    main()
