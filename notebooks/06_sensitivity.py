# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 06 Sensitivity of the conclusions
#
# Would a sceptic reach another conclusion? First by hand: we refit the BSI period model with
# period priors from the package's weakly informative default down to a sceptical one centred
# on no difference, and follow the Period II - I difference at 24 months with its 95% HDI and
# its HDI + ROPE decision. Then the package's suite, `mb.sensitivity`: a prior grid, reverse-
# Bayes, a drop-out tipping point, power-scaling and remission with missing end data, in one
# table. Data: the **SYNTHETIC** register; modest draws.

# %%
# %matplotlib inline
import dataclasses

import matplotlib.pyplot as plt
import pandas as pd

import mbtbayes as mb

reg = mb.load_register()
print(reg.label)
base = mb.load_specs()["bsi"]
print("default period priors:", base.priors["period"], base.priors["months:period"])
options = mb.SamplerOptions(draws=500, tune=500, chains=2)

# %% [markdown]
# The prior SDs of the period shift and of the period x time term are scaled together by a
# factor; 1 is the default, 0.05 a sceptical prior that expects no period difference.

# %%
def with_period_prior(spec, factor):
    """The period model of ``spec`` with the SDs of its period priors times ``factor``."""
    priors = dict(spec.priors)
    for term in ("period", "months:period"):
        priors[term] = {**priors[term], "sigma": priors[term]["sigma"] * factor}
    return dataclasses.replace(spec, name=f"{spec.name}_x{factor:g}", priors=priors,
                               formulas={"period": spec.formulas["period"]})


factors = (1.0, 0.25, 0.1, 0.05)
specs = {f"x{f:g}": with_period_prior(base, f) for f in factors}
fits = mb.fit_specs(specs, reg.data, seed=1, options=options)  # one compiled graph for all
effects = mb.growth_tables(fits, reg.data)["period_effects"]
at24 = effects[effects["contrast"] == "at_24"].reset_index(drop=True)
curve = pd.DataFrame({
    "prior_sd_factor": factors, "mean": at24["mean"], "hdi_low": at24["hdi_low"],
    "hdi_high": at24["hdi_high"], "p_direction": at24["p_direction"],
    "decision": at24["decision"],  # the shared HDI + ROPE rule, ROPE from the data
    "passed": at24["passed"]})
curve.round(3)

# %% [markdown]
# ## The sensitivity curve

# %%
fig, ax = plt.subplots(figsize=(6, 3))
rope = at24["rope_high"].iloc[0]
ax.axhspan(-rope, rope, color="0.85", label="ROPE")
ax.errorbar(curve["prior_sd_factor"], curve["mean"],
            yerr=[curve["mean"] - curve["hdi_low"], curve["hdi_high"] - curve["mean"]],
            fmt="o-", color="0.1", label="II - I at 24 months (95% HDI)")
ax.set_xscale("log")
ax.set(xlabel="prior SD of the period terms (x default)", ylabel="BSI difference")
ax.axhline(0, color="0.3", linewidth=0.7)
ax.legend(fontsize=8)
fig.tight_layout()

# %%
changed = curve["decision"].nunique() > 1
print("The decision " + ("changes" if changed else "does not change")
      + " across these priors: " + ", ".join(curve["decision"]))

# %% [markdown]
# ## The package's sensitivity suite
#
# `mb.sensitivity` reuses the draws of a fit where it can (PSIS reweighting, with its Pareto k
# in the `diagnostic` column; a refit where k > 0.7) and says per row whether the conclusion
# changes. `mbtbayes reanalyze --sensitivity` runs the same on every measure.

# %%
suite = mb.sensitivity(base, reg.data, options=options, seed=1)
print(suite.summary)
suite.table.groupby("analysis").size()

# %%
grid = suite.table[(suite.table["analysis"] == "prior grid")
                   & (suite.table["quantity"] == "contrast_at_24")]
grid[["setting", "mean", "hdi_low", "hdi_high", "decision", "conclusion_changed", "method",
      "diagnostic"]].round(3)
