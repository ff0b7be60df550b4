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
# # 04 Remission and adherence
#
# Self-harm and suicide attempts in the 12 months before treatment and in the last year of
# treatment; drop-out, short treatments and treatment duration by period. The conjugate
# Beta-binomial models are exact; the logistic and GLMM models are sampled (modest draws here).
# Data: the **SYNTHETIC** register.

# %%
# %matplotlib inline
import mbtbayes as mb

reg = mb.load_register()
print(reg.label)
options = mb.SamplerOptions(draws=500, tune=500, chains=2)

# %% [markdown]
# ## Remission among patients who self-harmed (or attempted suicide) at the start
#
# Remission is counted among start-positive patients with end-of-treatment data, as the
# paper's denominators show. `prob_ii_worse` is the posterior probability that remission was
# lower in Period II.

# %%
remission = mb.remission_table(reg.data, seed=1, options=options)
remission[["behaviour", "period", "model", "n_remitted", "n_at_risk", "p_mean", "p_hdi_low",
           "p_hdi_high", "prob_ii_worse", "passed"]].round(3)

# %%
mb.plot_remission(remission)

# %% [markdown]
# ## Start-end change (the Bayesian counterpart of McNemar's test)

# %%
change = mb.start_end_change(reg.data, seed=1, models=("dirichlet",))
change[["behaviour", "period", "n_pairs", "p_start_mean", "p_end_mean", "change_mean",
        "change_hdi_low", "change_hdi_high", "prob_decrease"]].round(3)

# %% [markdown]
# ## Adherence: drop-out, short treatments, duration and attendance

# %%
adherence = mb.adherence_table(reg.data, seed=1)
adherence[["outcome", "period", "model", "quantity", "n", "mean", "hdi_low", "hdi_high",
           "prob_ii_worse", "worse_if"]].round(3)
