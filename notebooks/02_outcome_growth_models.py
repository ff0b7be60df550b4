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
# # 02 Outcome growth models (the paper's Table 5)
#
# Four outcomes (BSI-18, CIP, WSAS, GAF), each fitted as the paper did: a linear growth model
# and a model with the period predictor on intercept and slope. Patient intercepts and slopes
# are random; the package integrates them out analytically and samples the rest with nutpie.
# Data: the **SYNTHETIC** register. Draws are modest (2 chains x 500) so that the notebook
# runs in well under a minute; use the defaults (4 x 1000) for results you report.

# %%
# %matplotlib inline
import mbtbayes as mb

reg = mb.load_register()
print(reg.label)
specs = {k: s for k, s in mb.load_specs().items() if s.kind == "outcome"}
options = mb.SamplerOptions(draws=500, tune=500, chains=2)
fits = mb.fit_specs(specs, reg.data, seed=1, options=options, log=print)

# %% [markdown]
# Every fit passes through one diagnostics gate (R-hat <= 1.01, bulk and tail ESS >= 400, no
# divergences); a fit that fails is refitted once with more draws, and flagged
# `passed = False` in every table if it still fails.

# %%
tables = mb.growth_tables(fits, reg.data)
tables["diagnostics"][["fit", "max_r_hat", "min_ess_bulk", "min_ess_tail", "divergences",
                       "passed"]]

# %% [markdown]
# ## Table 5, with the Bayesian columns beside the maximum-likelihood ones
#
# ML: the paper's analysis (mixed models by maximum likelihood, checked against lme4) with 95%
# Wald intervals. Bayes: posterior mean with 95% HDI. d: Cohen's d of the 0-24 month change
# divided by the observed pooled baseline SD.

# %%
mb.paper_table(fits, reg.data, kind="outcome")

# %% [markdown]
# ## Trajectories per period

# %%
mb.plot_trajectories([f for f in fits if f.variant == "period"], reg.data)

# %% [markdown]
# ## Did the periods differ?
#
# The Period II - I contrasts, with the probability of direction and the probability inside
# the region of practical equivalence (ROPE). The forest plot puts every measure on the scale
# of its baseline SD.

# %%
tables["period_effects"][["measure", "contrast", "mean", "hdi_low", "hdi_high",
                          "p_direction", "p_rope"]].round(3)

# %%
mb.plot_period_contrasts(tables["period_effects"], effect_sizes=tables["effect_sizes"])

# %%
mb.plot_effect_sizes(tables["effect_sizes"])
