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
# The same models, two ways: maximum likelihood as the paper (SPSS MIXED; here as lme4 fits it,
# checked against lme4) and Bayesian (posterior, HDI, ROPE). The concordance table puts the
# two decisions side by side for every research question. Data: the **SYNTHETIC** register;
# two measures and modest draws to keep it short.

# %%
# %matplotlib inline
import mbtbayes as mb
from mbtbayes.compare import concordance_summary

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
# Each question is compared layer by layer, like with like: **existence** (p < .05 against
# the 95% HDI excluding 0 with P(direction) > .975; the primary questions, the difference in
# change 0-24 months and the intake difference, counted apart from the within-period
# slopes), **equivalence at one error rate** (the TOST's 90% CI inside the margin against the
# 90% HDI inside it, counted only where either could fit inside the margin) and, for the
# model choice rows, **predictive choice** (AIC against leave-one-patient-out LOO, both in
# ELPD units, no difference under 4 units) and **tested choice** (the likelihood-ratio test
# against the Bayes factor of the period terms). Where the layers disagree, the
# `explanation` column and the summary say why.

# %%
table = mb.concordance(fits, reg.data)
table[["question", "subject", "role", "p_value", "frequentist_existence", "bayes_existence",
       "agree_existence", "frequentist_equivalence", "bayes_equivalence",
       "equivalence_decidable", "agree_equivalence"]].round(4)

# %%
print(concordance_summary(table))

# %% [markdown]
# ## Model choice: AIC and LOO, the LRT and the Bayes factor
#
# AIC charges two points per parameter, so half an AIC difference is an ELPD difference; both
# sides prefer a model only from 4 ELPD units (and LOO also beyond two standard errors). The
# likelihood-ratio test sets against the Bayes factor of the period terms, shown at three
# widths of their prior, on which it depends.

# %%
choice = table[table["role"] == "model choice"]
choice[["subject", "aic_elpd_diff", "elpd_diff", "elpd_diff_se", "loo_penalty_only",
        "agree_predictive_choice", "lrt_p_value", "bf10_half_prior_sd", "bf10",
        "bf10_double_prior_sd", "agree_tested_choice"]].round(3)

# %%
comparison = mb.growth_tables(fits, reg.data)["model_comparison"]
comparison[["measure", "elpd_diff", "elpd_diff_se", "max_pareto_k", "loo_method"]].round(3)

# %%
mb.plot_model_comparison(comparison)
