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
# # 03 Process models: alliance and countertransference (the paper's Table 3)
#
# Five process measures: the patients' working alliance (WAI Goals+Tasks, WAI Bonds) and the
# therapists' feelings (FWC-BV Confident, Inadequate, Idealized). The WAI short form was
# replaced by the revised one during the study, so the WAI models control for the version, as
# the paper's final models do. Data: the **SYNTHETIC** register; modest draws.

# %%
# %matplotlib inline
import pandas as pd

import mbtbayes as mb
from mbtbayes.growth.trajectories import period_contrasts

reg = mb.load_register()
print(reg.label)
specs = {k: s for k, s in mb.load_specs().items() if s.kind == "process"}
for spec in specs.values():
    print(f"{spec.name:>16}: {spec.formulas['period']}")
options = mb.SamplerOptions(draws=500, tune=500, chains=2)
fits = mb.fit_specs(specs, reg.data, seed=1, options=options)

# %%
tables = mb.growth_tables(fits, reg.data)
tables["diagnostics"][["fit", "max_r_hat", "min_ess_bulk", "divergences", "passed"]]

# %% [markdown]
# ## Table 3 with the Bayesian columns beside

# %%
mb.paper_table(fits, reg.data, kind="process")

# %% [markdown]
# ## Stable in both periods?
#
# The paper found alliance and countertransference satisfactory and stable in both periods.
# The trajectories and the slope contrasts say how stable, and whether the data can rule out a
# relevant period difference (HDI inside the ROPE) or only fail to find one.

# %%
mb.plot_trajectories([f for f in fits if f.variant == "period"], reg.data)

# %% [markdown]
# The lines are the rows of the trajectories table (`tables["trajectories"]`). The WAI lines
# are standardised over each period's observed version mix (Period I mostly WAI-S, Period II
# almost only WAI-SR), so that they can be read against each period's observed means; each
# panel states the mix. The period contrasts put both periods over the *same* mix (all rows),
# so the change of instrument is not read as a period difference: the version-adjusted
# contrast, the paper's "controlling for version". With each period's own mix the contrast
# would include the instrument change:

# %%
wai = [f for f in fits if f.variant == "period" and f.spec.name.startswith("wai")]
pd.DataFrame([{"measure": f.spec.name, "covariates": how,
               **{f"{k} (mean)": v.mean() for k, v in period_contrasts(f, standardise=how).items()}}
              for f in wai for how in ("pooled_mix", "observed_mix", "reference")])

# %%
effects = tables["period_effects"]
effects[effects["contrast"] == "slope"][["measure", "mean", "hdi_low", "hdi_high",
                                         "rope_high", "p_rope"]]

# %% [markdown]
# ## Does the period improve the fit?
#
# Leave-one-patient-out LOO on the marginal likelihood (ELPD, higher is better): a difference
# within about two standard errors is no clear preference.

# %%
mb.plot_model_comparison(tables["model_comparison"])
