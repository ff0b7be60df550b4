"""Patients who changed: reliable and clinically significant change (Jacobson and Truax 1991),
as posterior probabilities from a growth fit, beside the classical classification of observed
scores.

The criteria of a measure (:func:`criteria`), from its spec's ``[reliable_change]`` table and
the register's observed baseline (:mod:`mbtbayes.growth.baseline`: each patient's first value
within 3 months of month 0):

- reliable change: ``|change| > 1.96 x SEdiff``, ``SEdiff = SD_baseline x sqrt(2) x sqrt(1 -
  r_xx)`` (``SD_baseline`` the pooled baseline SD, ``r_xx`` the spec's reliability);
- the cut-off ``c``: the spec's, from published norms (criterion c, between the functional and
  dysfunctional population means weighted by their SDs); without one, criterion a: 2 baseline
  SDs beyond the register's baseline mean in the functional direction (lower where
  ``higher_is = "worse"`` in :mod:`mbtbayes.io.schema`, else higher).

Each patient falls in one of four categories (:data:`CATEGORIES`, mutually exclusive):
``recovered`` (a reliable improvement, and the score moved from the dysfunctional side of the
cut-off at the start to the functional side at the end), ``improved`` (a reliable improvement
without that crossing), ``unchanged``, ``deteriorated`` (a reliable change for the worse). A
reliable improvement of any kind is ``recovered`` + ``improved``.

Bayesian: per posterior draw, the patient's own trajectory (fixed effects at the patient's own
period and covariates, taken from the patient's first row, plus the patient's effects) at month
0 and at 24 months, or at the patient's last assessment when that came earlier
(``end_at``), is classified; a patient's probabilities are the shares of draws in each
category, and a period's share of a category is, per draw, the share of the period's patients
in it (mean and 95% HDI over the draws; II - I per draw). The trajectory is the model's
expected score, free of the residual noise: a probability says how likely the patient's
underlying change crossed the threshold that an observed pair of scores must cross. Patients
enter when they have an assessment after the baseline window (a patient seen only at intake
has no change to classify).

Classical: each patient's observed baseline value against the observed value nearest 24 months
within +-3 months (:data:`END_WINDOW`), else the last value before that window, else the first
after it; same threshold and cut-off; patients with an observed baseline and a later value.

Examples
--------
>>> round(jacobson_truax(sd=0.8, reliability=0.9), 4)
0.7012
>>> criterion_a(mean=2.0, sd=0.5, better="lower")
1.0
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mbtbayes.core.errors import SpecError
from mbtbayes.core.posterior import INTERVAL, summarize_draws
from mbtbayes.growth.baseline import BASELINE_WINDOW, spec_baseline
from mbtbayes.growth.groups import patient_dim
from mbtbayes.growth.result import GrowthFit
from mbtbayes.growth.summaries import better_if

CATEGORIES: tuple[str, ...] = ("recovered", "improved", "unchanged", "deteriorated")
"""The four mutually exclusive categories, in the order of their codes (0-3)."""
Z_RELIABLE = 1.96
"""Jacobson and Truax's reliable change index threshold (two-sided 5%)."""
END_WINDOW = 3.0
"""Classical end: an observed value within this many months of 24 counts as the 24-month one."""


@dataclass(frozen=True)
class Criteria:
    """The reliable change threshold and the cut-off of one measure.

    Attributes
    ----------
    measure : str
    better : str
        ``"lower"`` or ``"higher"``: which way improvement goes.
    baseline_mean, baseline_sd : float
        Mean of the register's observed baseline values and their pooled SD.
    reliability : float
    threshold : float
        ``1.96 x SEdiff``: a change beyond it is reliable.
    cutoff : float
    cutoff_basis : str
        ``"published norms"`` or ``"criterion a (2 baseline SDs)"``.
    reliability_source, cutoff_source : str
        From the spec.
    """

    measure: str
    better: str
    baseline_mean: float
    baseline_sd: float
    reliability: float
    threshold: float
    cutoff: float
    cutoff_basis: str
    reliability_source: str
    cutoff_source: str

    @property
    def se_diff(self) -> float:
        """``SD_baseline x sqrt(2) x sqrt(1 - r_xx)``."""
        return self.threshold / Z_RELIABLE

    @property
    def sign(self) -> float:
        """+1 where higher is better, -1 where lower is better (gain = sign x change)."""
        return 1.0 if self.better == "higher" else -1.0


def jacobson_truax(*, sd: float, reliability: float, z: float = Z_RELIABLE) -> float:
    """The reliable change threshold ``z x SD x sqrt(2) x sqrt(1 - r_xx)``."""
    return float(z * sd * np.sqrt(2.0) * np.sqrt(1.0 - reliability))


def criterion_a(*, mean: float, sd: float, better: str) -> float:
    """Jacobson and Truax's criterion a: 2 SDs beyond the dysfunctional (here the register's
    baseline) mean in the functional direction."""
    return float(mean + (2.0 if better == "higher" else -2.0) * sd)


def criteria(spec: object, data: pd.DataFrame) -> Criteria:
    """The criteria of a spec's measure on a register (see the module docstring).

    Raises
    ------
    SpecError
        If the spec has no ``[reliable_change]`` table or the schema does not know which way
        the measure improves.
    """
    norms = spec.reliable_change
    if norms is None:
        raise SpecError(f"{spec.name}: no [reliable_change] table (reliability and cut-off)")
    better = better_if(spec.measure)
    if not better:
        raise SpecError(f"{spec.name}: the schema does not say which way '{spec.measure}' "
                        "improves (higher_is), which reliable change needs")
    base = spec_baseline(spec, data)
    mean = float(base.values["value"].mean())
    published = norms.cutoff is not None
    return Criteria(
        measure=spec.measure, better=better, baseline_mean=mean, baseline_sd=base.sd,
        reliability=norms.reliability,
        threshold=jacobson_truax(sd=base.sd, reliability=norms.reliability),
        cutoff=norms.cutoff if published else criterion_a(mean=mean, sd=base.sd, better=better),
        cutoff_basis="published norms" if published else "criterion a (2 baseline SDs)",
        reliability_source=norms.reliability_source, cutoff_source=norms.cutoff_source)


def classify(start: np.ndarray, end: np.ndarray, crit: Criteria) -> np.ndarray:
    """The category code (index into :data:`CATEGORIES`) of each start-end pair, any shape.

    Examples
    --------
    >>> c = Criteria("bsi", "lower", 2.0, 0.5, 0.9, 0.5, 1.0, "criterion a", "", "")
    >>> [CATEGORIES[k] for k in classify(np.array([2.0, 2.0, 2.0, 1.0]),
    ...                                  np.array([0.8, 1.2, 1.8, 1.6]), c)]
    ['recovered', 'improved', 'unchanged', 'deteriorated']
    """
    start, end = np.asarray(start, float), np.asarray(end, float)
    gain = crit.sign * (end - start)
    up, down = gain > crit.threshold, gain < -crit.threshold
    crossed = (crit.sign * (start - crit.cutoff) <= 0) & (crit.sign * (end - crit.cutoff) > 0)
    return np.where(down, 3, np.where(up & crossed, 0, np.where(up, 1, 2)))


# ---------------------------------------------------------------- the patients' trajectories


def _follow_up(fit: GrowthFit) -> pd.DataFrame:
    """Per observed patient: index into the design's patients, period, last time, whether it
    enters (an assessment after the baseline window), the end month and what it is."""
    spec, design = fit.spec, fit.design
    t0, t1 = spec.d_months
    frame = pd.DataFrame({"g": design.group, "t": design.time})
    last = frame.groupby("g")["t"].max()
    first_row = pd.Series(np.arange(len(frame))).groupby(design.group).first()
    period = (design.frame[spec.period].astype(str).to_numpy()
              if spec.period is not None and spec.period in design.frame
              else np.full(len(frame), "all", dtype=object))
    out = pd.DataFrame({"g": last.index, "row": first_row.loc[last.index].to_numpy(),
                        "patient": [design.groups[g] for g in last.index],
                        "period": period[first_row.loc[last.index].to_numpy()],
                        "last_month": last.to_numpy()})
    out["enters"] = out["last_month"] > t0 + BASELINE_WINDOW
    out["end_month"] = np.minimum(out["last_month"], t1)
    out["end_at"] = np.where(out["last_month"] >= t1, f"{t1:g} months", "last assessment")
    return out


def trajectory_draws(fit: GrowthFit, patients: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each patient's own expected score at month 0 and at its end month, per draw:
    ``(S, n)`` twice. ``patients`` has ``row`` (a row of the patient in the design: period and
    covariates), ``patient`` and ``end_month``."""
    spec, design = fit.spec, fit.design
    n = len(patients)
    rows = design.frame.iloc[np.tile(patients["row"].to_numpy(), 2)].reset_index(drop=True)
    rows[spec.time] = np.concatenate([np.full(n, spec.d_months[0]),
                                      patients["end_month"].to_numpy(float)])
    X = design.grid_matrix(rows)
    mu = fit.draws("beta") @ X.T
    pdim = patient_dim(spec)
    ids = list(patients["patient"])
    for name in design.effects:
        expr = name.split("|")[0]
        z = np.ones(2 * n) if expr == "1" else rows[expr].to_numpy(float)
        u = fit.idata.posterior[name].transpose("chain", "draw", pdim).sel({pdim: ids}).values
        mu = mu + z * np.tile(u.reshape(-1, n), 2)
    return mu[:, :n], mu[:, n:]


def _observed(fit: GrowthFit) -> pd.DataFrame:
    """Per patient with an observed baseline and a later value: the two observed values and the
    end value's month (see the module docstring): the later value nearest the end month within
    :data:`END_WINDOW`; else the last before it; else the first after. Rows are taken by
    patient and month (ties in design order), vectorised over patients."""
    t0, t1 = fit.spec.d_months
    design = fit.design
    order = np.lexsort((design.time, design.group))  # stable: ties keep the design's order
    g, t, y = design.group[order], design.time[order], design.y[order]
    columns = ["g", "observed_start", "observed_end", "observed_end_month"]
    patients, first = np.unique(g, return_index=True)
    later = t > t0 + BASELINE_WINDOW
    rows = pd.DataFrame({"g": g[later], "t": t[later], "y": y[later],
                         "distance": np.abs(t[later] - t1)})
    if rows.empty:
        return pd.DataFrame(columns=columns)
    by = rows.groupby("g", sort=True)
    nearest = rows.loc[by["distance"].idxmin()].set_index("g")
    before = rows[rows["t"] < t1].groupby("g").tail(1).set_index("g")
    end = by.head(1).set_index("g")  # the first after, unless one of these is found
    end.loc[before.index] = before
    within = nearest[nearest["distance"] <= END_WINDOW]
    end.loc[within.index] = within
    start = pd.DataFrame({"g": patients, "t": t[first], "y": y[first]}).set_index("g")
    start = start[start["t"] <= t0 + BASELINE_WINDOW].merge(
        end, how="inner", left_index=True, right_index=True, suffixes=("", "_end"))
    return pd.DataFrame({"g": start.index.to_numpy(), "observed_start": start["y"].to_numpy(),
                         "observed_end": start["y_end"].to_numpy(),
                         "observed_end_month": start["t_end"].to_numpy()}, columns=columns)


@dataclass(frozen=True)
class PatientChange:
    """The classification of one fit's patients.

    Attributes
    ----------
    criteria : Criteria
    patients : pandas.DataFrame
        One row per patient: patient, period, end_month, end_at (``"24 months"`` or ``"last
        assessment"``), enters (an assessment after the baseline window), start_mean,
        end_mean, p_recovered, p_improved, p_reliable_improvement (recovered or improved),
        p_unchanged, p_deteriorated (NaN where it does not enter), observed_start,
        observed_end, observed_end_month, observed_category (empty without an observed
        baseline and a later value).
    codes : numpy.ndarray
        ``(S, n)`` category codes per draw of the patients who enter, in their row order.
    """

    criteria: Criteria
    patients: pd.DataFrame
    codes: np.ndarray


def patient_change(fit: GrowthFit, data: pd.DataFrame) -> PatientChange:
    """Classify every patient of a fit, by posterior draw and by observed scores.

    Parameters
    ----------
    fit : GrowthFit
        Either engine; the spec needs a ``[reliable_change]`` table.
    data : pandas.DataFrame
        The register the fit was made on (its observed baseline sets the criteria).

    Returns
    -------
    PatientChange
    """
    crit = criteria(fit.spec, data)
    patients = _follow_up(fit)
    entering = patients[patients["enters"]].reset_index(drop=True)
    start, end = trajectory_draws(fit, entering)
    codes = classify(start, end, crit)
    probs = pd.DataFrame({f"p_{c}": (codes == k).mean(axis=0) for k, c in enumerate(CATEGORIES)})
    probs["p_reliable_improvement"] = probs["p_recovered"] + probs["p_improved"]
    probs["start_mean"], probs["end_mean"] = start.mean(axis=0), end.mean(axis=0)
    probs["g"] = entering["g"]
    out = patients.merge(probs, on="g", how="left").merge(_observed(fit), on="g", how="left")
    has = out["observed_end"].notna()
    out["observed_category"] = ""
    out.loc[has, "observed_category"] = [
        CATEGORIES[k] for k in classify(out.loc[has, "observed_start"],
                                        out.loc[has, "observed_end"], crit)]
    columns = ["patient", "period", "end_month", "end_at", "enters", "start_mean", "end_mean",
               *(f"p_{c}" for c in CATEGORIES), "p_reliable_improvement", "observed_start",
               "observed_end", "observed_end_month", "observed_category"]
    return PatientChange(crit, out[columns], codes)


# ---------------------------------------------------------------- per period


def change_rows(fit: GrowthFit, change: PatientChange) -> list[dict]:
    """The rows of ``reliable_change.csv`` of one fit: period x category, then II - I."""
    patients, crit = change.patients, change.criteria
    entering = patients[patients["enters"]].reset_index(drop=True)
    levels = sorted(pd.unique(patients["period"]))
    shares, observed = {}, {}
    for level in levels:
        mask = (entering["period"] == level).to_numpy()
        shares[level] = np.stack([(change.codes[:, mask] == k).mean(axis=1)
                                  for k in range(len(CATEGORIES))], -1)
        seen = patients[(patients["period"] == level) & (patients["observed_category"] != "")]
        observed[level] = (len(seen), seen["observed_category"].value_counts())
    rows = []
    for level in levels:
        n_obs, counts = observed[level]
        in_level = entering[entering["period"] == level]
        for k, category in enumerate(CATEGORIES):
            count = int(counts.get(category, 0))
            rows.append(_row(fit, crit, level, category, shares[level][:, k], len(in_level),
                             n_obs, count, count / n_obs if n_obs else np.nan, in_level))
    if len(levels) == 2:
        a, b = levels
        for k, category in enumerate(CATEGORIES):
            first, second = rows[k], rows[len(CATEGORIES) + k]
            rows.append(_row(fit, crit, f"{b} - {a}", category,
                             shares[b][:, k] - shares[a][:, k], None, None, None,
                             second["share_observed"] - first["share_observed"], None))
    return rows


def _row(fit: GrowthFit, crit: Criteria, period: str, category: str, draws: np.ndarray,
         n: int | None, n_obs: int | None, count: int | None, share_obs: float,
         patients: pd.DataFrame | None) -> dict:
    s = summarize_draws(draws)
    at_end = None if patients is None else int((patients["end_at"] != "last assessment").sum())
    return {"measure": fit.spec.name, "label": fit.spec.label, "model": fit.variant,
            "engine": fit.engine, "period": period, "category": category,
            "n_patients": n, "n_end_24": at_end,
            "n_end_last": None if patients is None else n - at_end,
            "share_mean": s["mean"], "share_hdi_low": s["hdi_low"], "share_hdi_high": s["hdi_high"],
            "interval": INTERVAL, "n_observed": n_obs, "count_observed": count,
            "share_observed": share_obs, "better_if": crit.better,
            "baseline_mean": crit.baseline_mean, "baseline_sd": crit.baseline_sd,
            "reliability": crit.reliability, "se_diff": crit.se_diff,
            "rci_threshold": crit.threshold, "cutoff": crit.cutoff,
            "cutoff_basis": crit.cutoff_basis, "reliability_source": crit.reliability_source,
            "cutoff_source": crit.cutoff_source, "passed": fit.diagnostics.passed}


def reliable_change(fits: Iterable[GrowthFit], data: pd.DataFrame) -> pd.DataFrame:
    """Patients who changed, per measure and period: reliable and clinically significant change
    (Jacobson and Truax 1991) from each patient's posterior trajectory beside the classical
    classification of observed scores (see the module docstring).

    Parameters
    ----------
    fits : iterable of GrowthFit
        E.g. ``mb.fit_specs(mb.load_specs(), data)``: each spec's period fit is used (its linear
        fit when it has none); specs without a ``[reliable_change]`` table are left out.
    data : pandas.DataFrame
        The register the fits were made on.

    Returns
    -------
    pandas.DataFrame
        One row per measure x period x category (recovered, improved, unchanged,
        deteriorated), then the II - I rows: measure, label, model, engine, period, category,
        n_patients (who enter the Bayesian shares), n_end_24 / n_end_last (whose end is 24
        months / the last assessment), share_mean, share_hdi_low, share_hdi_high (per draw,
        the share of the period's patients in the category; II - I: the difference), interval,
        n_observed, count_observed, share_observed (classical), better_if, baseline_mean,
        baseline_sd, reliability, se_diff, rci_threshold, cutoff, cutoff_basis,
        reliability_source, cutoff_source, passed.

    Examples
    --------
    >>> import mbtbayes as mb
    >>> data = mb.load_register().data
    >>> table = mb.reliable_change(mb.fit_specs(mb.load_specs(), data), data)  # doctest: +SKIP
    """
    chosen: dict[str, GrowthFit] = {}
    for fit in fits:
        if fit.spec.reliable_change is None:
            continue
        if fit.spec.name not in chosen or fit.variant == "period":
            chosen[fit.spec.name] = fit
    rows = [row for fit in chosen.values()
            for row in change_rows(fit, patient_change(fit, data))]
    table = pd.DataFrame(rows)
    counts = ["n_patients", "n_end_24", "n_end_last", "n_observed", "count_observed"]
    return table.astype(dict.fromkeys(counts, "Int64")) if rows else table
