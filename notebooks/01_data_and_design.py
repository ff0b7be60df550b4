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
# # 01 Data and design
#
# The study compares an outpatient MBT unit across two treatment periods (Period I: n = 96,
# Period II: n = 89), with 1-7 assessments per patient over up to three years. The register is
# not public: this notebook runs on the **SYNTHETIC** register bundled with the package,
# simulated to match every number the paper publishes. Point `mb.load_register` at your own
# extract (with a column mapping, see the README) to run it on real data.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt

import mbtbayes as mb
from mbtbayes.compare.intake import intake_summary
from mbtbayes.growth.rope import rope_for
from mbtbayes.report.figures_intake import intake_figure

reg = mb.load_register()
print(reg.label)
data = reg.data
data.head()

# %% [markdown]
# ## Patients and assessments per period
#
# Every number below comes from the data; nothing is dropped. Missing measure values stay in
# the register and each model uses the observed values of its measure.

# %%
per_patient = data.groupby(["period", "patient_id"], observed=True).size()
summary = per_patient.groupby(level="period", observed=True).agg(
    patients="size", assessments="sum", per_patient_mean="mean", per_patient_max="max")
summary

# %%
missing = data[list(reg.measures)].isna().sum().rename("missing values").to_frame()
missing["share"] = (missing["missing values"] / len(data)).round(3)
missing

# %% [markdown]
# ## Who came in each period
#
# The paper: "Period II included patients with more severe BPD and self-harming behaviors",
# tested with chi-square and MANOVA at a Bonferroni threshold. `mb.intake_table` makes that
# comparison for every intake characteristic of the register (the SIPP-118 domains and EQ-VAS
# at baseline included), the paper's test beside its Bayesian counterpart: the standardised
# difference with its 95% HDI and P(Period II more severe). Missing values are counted.

# %%
intake = mb.intake_table(data)
print(intake_summary(intake))
intake[["label", "summary_I", "summary_II", "missing_I", "missing_II", "test", "p_value",
        "smd_mean", "smd_hdi_low", "smd_hdi_high", "p_ii_more_severe", "decision"]]

# %%
intake_figure(intake)

# %% [markdown]
# ## When were patients assessed?
#
# Assessments were planned about every six months; the months since start vary around that
# plan, which is why the growth models use months, not the assessment number, as time.

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
for period, marker in (("I", "o"), ("II", "s")):
    rows = data[data["period"] == period]
    left.scatter(rows["assessment"] + (0.12 if period == "II" else -0.12), rows["months"],
                 s=8, marker=marker, alpha=0.5, label=f"Period {period}")
    per_patient.loc[period].value_counts().sort_index().plot(
        ax=right, marker=marker, label=f"Period {period}")
left.set(xlabel="assessment", ylabel="months since start", title="Timing of assessments")
right.set(xlabel="assessments per patient", ylabel="patients", title="Follow-up per patient")
left.legend()
fig.tight_layout()

# %% [markdown]
# ## The design: one spec per measure
#
# Each measure has a declarative spec (`models/*.toml`): the outcome's range, the two Bambi
# formulas of the paper (row 1: linear growth; row 2: with the period on intercept and slope),
# priors keyed by term name, the margin of practical equivalence (ROPE half-width, fixed in the
# spec with its source and the reference SD it is read against), and the months of Cohen's d.

# %%
specs = mb.load_specs()
spec = specs["bsi"]
print(spec.label, spec.range)
for variant, formula in spec.formulas.items():
    print(f"{variant:>7}: {formula}")
print("margin:", spec.rope_half_width, spec.rope_label, "-", spec.rope_source)
print("reference SD:", spec.rope_reference_sd, "-", spec.rope_reference_sd_source)
print(rope_for(spec, reg.data))
spec.priors

# %% [markdown]
# `mb.make_spec` builds the same kind of spec for any long-format data set, with weakly
# informative priors scaled to the outcome's range:

# %%
own = mb.make_spec(outcome="bsi", time="months", group="patient_id", period="period",
                   range=(0, 4), rope_sd_units=0.1)
own.formulas
