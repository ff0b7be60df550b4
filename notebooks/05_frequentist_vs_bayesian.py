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
# # 05 Frequentist vs Bayesian
#
# The same models, two ways: maximum likelihood as the paper (SPSS MIXED; here statsmodels,
# checked against lme4) and Bayesian (posterior, HDI, ROPE). The concordance table puts the
# two decisions side by side for every research question. Data: the **SYNTHETIC** register;
# two measures and modest draws to keep it short.

# %%
# %matplotlib inline
import mbtbayes as mb

reg = mb.load_register()
print(reg.label)
specs = {k: s for k, s in mb.load_specs().items() if k in ("bsi", "gaf")}
fits = mb.fit_specs(specs, reg.data, seed=1,
                    options=mb.SamplerOptions(draws=500, tune=500, chains=2))

# %% [markdown]
# ## One model, both ways
#
# The ML fit of the BSI period model and the posterior of the same model: with weakly
# informative priors the estimates nearly coincide; what differs is what one may say about
# them.

# %%
ml = mb.fit_mixed(reg.data, outcome="bsi", period="period")
bayes = next(f for f in fits if f.spec.name == "bsi" and f.variant == "period")
side = ml.fixed.set_index("term")[["estimate", "ci_low", "ci_high", "p_value"]]
side["posterior_mean"] = bayes.beta().mean()
side

# %% [markdown]
# ## The concordance table
#
# Frequentist decision at alpha = 0.05 ("difference" / "no evidence"); Bayesian decision by
# the 95% HDI against the ROPE ("difference" / "negligible" / "undecided"). Where they
# disagree, the summary says why.

# %%
table = mb.concordance(fits, reg.data)
table[["question", "subject", "p_value", "frequentist_decision", "bayes_estimate", "hdi_low",
       "hdi_high", "bayes_decision", "agree"]].round(4)

# %%
print(f"agree on {int(table['agree'].sum())} of {len(table)} questions")

# %% [markdown]
# ## Model choice: AIC and LOO
#
# AIC charges two points per parameter; the LOO rule asks for a predictive gain beyond two
# standard errors of the ELPD difference. Both are on the log-likelihood scale in the figure.

# %%
comparison = mb.growth_tables(fits, reg.data)["model_comparison"]
comparison[["measure", "elpd_diff", "elpd_diff_se", "max_pareto_k", "loo_method"]].round(3)

# %%
mb.plot_model_comparison(comparison)
