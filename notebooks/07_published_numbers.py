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
# # 07 The reanalysis from the published numbers alone
#
# No register needed: every number the paper publishes, with its provenance (paper, the 2015
# paper, derived, assumed); every pair of cell counts consistent with the reported remission
# percentages and p-values; the conjugate Bayesian posterior for each; and the paper's
# internal inconsistencies. This is what anyone can check without the data.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt

import mbtbayes as mb

tables = mb.published_tables()
sorted(tables)

# %% [markdown]
# ## Every published number, with where it comes from

# %%
numbers = tables["published_numbers"]
numbers["provenance"].value_counts()

# %%
numbers.head(12)

# %% [markdown]
# ## Cell counts consistent with "75% vs 63%, p = 0.212" (and the suicide-attempt pair)
#
# Each row is a pair of counts whose percentages round to the published ones and whose
# recomputed p rounds to the published p under one test variant, with the posterior
# probability that remission was lower in Period II.

# %%
posteriors = tables["published_posteriors"]
posteriors.head(10)

# %%
summary = tables["published_summary"]
for conclusion in summary.loc[summary["subset"] == "all", "conclusion"]:
    print(conclusion)
summary

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 5))
for ax, (behaviour, part) in zip(axes, posteriors.groupby("behaviour", sort=False),
                                 strict=True):
    part = part.reset_index(drop=True)
    ax.errorbar(part["p_period_diff"], part.index,
                xerr=[part["p_period_diff"] - part["p_diff_hdi_low"],
                      part["p_diff_hdi_high"] - part["p_period_diff"]],
                fmt="o", color="0.2", markersize=3, linewidth=1)
    ax.set_yticks(part.index, part["pair"] + " (" + part["test"] + ")", fontsize=6)
    ax.invert_yaxis()
    ax.axvline(0, color="0.4", linewidth=0.7)
    worse = part["prob_ii_worse"]
    ax.set_title(f"{behaviour}: P(II worse) {worse.min():.2f}-{worse.max():.2f}", fontsize=9)
    ax.set_xlabel("remission, Period II - I (95% HDI)")
fig.tight_layout()

# %% [markdown]
# ## What does not add up

# %%
tables["inconsistencies"]
