"""Remission of self-harm and suicide attempts, the Bayesian way.

The paper reports remission among patients with the behaviour in the 12 months before start
(75% vs 63%, p = 0.212 for self-harm; 89% vs 87%, p = 0.801 for suicide attempts). A
non-significant p says little; a posterior says how probable a worse Period II is.
:func:`remission_table` gives the posterior probability of remission per period and pooled, the
difference II - I with its 95% HDI and P(II < I), from two models: the conjugate Beta-binomial
(exact, no sampling) and a Bayesian logistic regression in Bambi (sampled with nutpie;
optional covariates, e.g. baseline severity, with period probabilities standardised over the
at-risk patients).

Remission is counted among start-positive patients with a non-missing end indicator, as the
paper's small denominators imply; start-positive patients without end data are counted in
``n_no_end_data`` and never dropped silently.

Examples
--------
>>> import mbtbayes as mb
>>> table = mb.remission_table(mb.load_register().data, models=("beta_binomial",))
>>> table[["behaviour", "period", "n_at_risk", "n_remitted"]].head(3).values.tolist()
[['self_harm', 'I', 55, 41], ['self_harm', 'II', 43, 27], ['self_harm', 'pooled', 98, 68]]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mbtbayes.binary.common import (
    BEHAVIOURS,
    N_DRAWS,
    POOLED,
    check_models,
    diagnostic_columns,
    fit_bambi,
    ordered,
    predict,
    present_behaviours,
    summary,
)
from mbtbayes.binary.conjugate import BetaPosterior, check_beta_prior, prob_less
from mbtbayes.core.cache import DiskCache
from mbtbayes.core.defaults import CI_PROB, SEED
from mbtbayes.core.errors import DataError
from mbtbayes.core.posterior import interval_label
from mbtbayes.core.sampling import Sampler, SamplerOptions
from mbtbayes.core.seeds import seed_for
from mbtbayes.io import schema
from mbtbayes.io.patients import binary_column, patient_rows

if TYPE_CHECKING:
    import bambi as bmb
    from arviz import InferenceData

REMISSION_MODELS: tuple[str, ...] = ("beta_binomial", "logistic")


def at_risk(data: pd.DataFrame, behaviour: str) -> pd.DataFrame:
    """Start-positive patients of one behaviour, with their remission status.

    Parameters
    ----------
    data : pandas.DataFrame
        Register in long format.
    behaviour : {"self_harm", "suicide_attempt"}

    Returns
    -------
    pandas.DataFrame
        One row per start-positive patient: ``patient_id``, ``period``, ``has_end`` (end
        indicator observed) and ``remitted`` (1 when the end indicator is 0; missing without
        end data).

    Examples
    --------
    >>> import mbtbayes as mb
    >>> at_risk(mb.load_register().data, "suicide_attempt")["has_end"].sum()
    np.int64(34)
    """
    start, end = BEHAVIOURS[behaviour]
    rows = patient_rows(data, [start, end], what=f"remission of {behaviour}")
    positive = rows[binary_column(rows, start, what="remission") == 1]
    end_values = binary_column(positive, end, what="remission")
    return pd.DataFrame({schema.ID: positive[schema.ID], schema.PERIOD: positive[schema.PERIOD],
                         "has_end": end_values.notna(), "remitted": 1.0 - end_values})


def remission_counts(data: pd.DataFrame) -> pd.DataFrame:
    """Counts behind remission, per behaviour x period (I, II, pooled).

    Returns
    -------
    pandas.DataFrame
        ``behaviour``, ``period``, ``n_start_positive``, ``n_no_end_data`` (start-positive
        without an end indicator, left out of the remission denominator), ``n_at_risk``
        (start-positive with end data) and ``n_remitted``.

    Examples
    --------
    >>> import mbtbayes as mb
    >>> remission_counts(mb.load_register().data).iloc[0, 2:].astype(int).tolist()
    [77, 22, 55, 41]
    """
    rows = []
    for behaviour in present_behaviours(data, what="remission"):
        risk = at_risk(data, behaviour)
        for period in (*schema.PERIODS, POOLED):
            part = risk if period == POOLED else risk[risk[schema.PERIOD] == period]
            ended = part[part["has_end"]]
            rows.append({"behaviour": behaviour, "period": period,
                         "n_start_positive": len(part),
                         "n_no_end_data": int((~part["has_end"]).sum()),
                         "n_at_risk": len(ended), "n_remitted": int(ended["remitted"].sum())})
    return pd.DataFrame(rows)


def _conjugate_rows(counts: pd.DataFrame, *, prior: tuple[float, float], ci_prob: float,
                    n_draws: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for behaviour, part in counts.groupby("behaviour", sort=False):
        posts = {r.period: BetaPosterior.update(r.n_remitted, r.n_at_risk, prior=prior)
                 for r in part.itertuples()}
        diff = posts["II"].draws(n_draws, rng) - posts["I"].draws(n_draws, rng)
        _, diff_low, diff_high = summary(diff, ci_prob)
        diff_mean = posts["II"].mean - posts["I"].mean
        worse = prob_less(posts["II"], posts["I"])
        for r in part.itertuples():
            low, high = posts[r.period].hdi(ci_prob=ci_prob)
            rows.append({"behaviour": behaviour, "period": r.period, "p_mean": posts[r.period].mean,
                         "p_hdi_low": low, "p_hdi_high": high, "p_period_diff": diff_mean,
                         "p_diff_hdi_low": diff_low, "p_diff_hdi_high": diff_high,
                         "prob_ii_worse": worse})
    table = pd.DataFrame(rows)
    table.insert(2, "model", "beta_binomial")
    table["method"] = ("conjugate Beta-binomial per period (pooled: one Beta on the pooled "
                       "counts); exact mean, HDI and P(II < I), difference HDI from "
                       f"{n_draws} exact posterior draws")
    table["prior"] = f"Beta({prior[0]:g}, {prior[1]:g}) on each remission probability"
    return table


# ---------------------------------------------------------------- logistic remission


def _covariate_frame(data: pd.DataFrame, risk: pd.DataFrame, covariates: Sequence[str],
                     behaviour: str) -> pd.DataFrame:
    if not covariates:
        return risk
    rows = patient_rows(data, list(covariates), what="remission covariates")
    merged = risk.merge(rows.drop(columns=schema.PERIOD), on=schema.ID, how="left")
    missing = {c: int(merged[c].isna().sum()) for c in covariates if merged[c].isna().any()}
    if missing:
        raise DataError(f"remission of {behaviour}: covariate values missing for at-risk "
                        f"patients {missing}; fill them in or leave the covariate out.")
    for c in covariates:
        if not pd.api.types.is_numeric_dtype(merged[c]):
            raise DataError(f"remission covariate {c} must be numeric.")
        sd = merged[c].std()
        merged[c] = (merged[c] - merged[c].mean()) / (sd if sd > 0 else 1.0)
    return merged


def _logistic_rows(data: pd.DataFrame, *, covariates: Sequence[str], logit_prior: tuple,
                   covariate_prior_sd: float, ci_prob: float,
                   sampling: Sampler, seed: int) -> pd.DataFrame:
    import bambi as bmb

    behaviours = present_behaviours(data, what="remission")
    frames = [_covariate_frame(data, at_risk(data, b), covariates, b).assign(behaviour=b)
              for b in behaviours]
    risk = pd.concat(frames, ignore_index=True)
    risk = risk[risk["has_end"]]
    keys = ["behaviour", schema.PERIOD, *covariates]
    cells = risk.groupby(keys, observed=True)["remitted"].agg(y="sum", n="size").reset_index()
    for column, levels in (("behaviour", behaviours), (schema.PERIOD, schema.PERIODS)):
        cells[column] = pd.Categorical(cells[column], categories=levels)
    terms = ["behaviour:period", *(f"behaviour:{c}" for c in covariates)]
    priors = {"behaviour:period": bmb.Prior("Normal", mu=logit_prior[0], sigma=logit_prior[1])}
    priors |= {f"behaviour:{c}": bmb.Prior("Normal", mu=0.0, sigma=covariate_prior_sd)
               for c in covariates}
    model, idata, diag = fit_bambi("p(y, n) ~ 0 + " + " + ".join(terms), cells,
                                   family="binomial", priors=priors, sampling=sampling,
                                   seed=seed_for(seed, "remission", "logistic"))
    rows = [row for b in behaviours
            for row in _standardised_rows(model, idata, risk[risk["behaviour"] == b], b, ci_prob)]
    table = pd.DataFrame(rows)
    table.insert(2, "model", "logistic")
    adjusted = (f", standardised over the at-risk patients' {', '.join(covariates)}"
                if covariates else "")
    opts = sampling.options
    table["method"] = (f"Bambi logistic regression (binomial counts, {opts.sampler}, "
                       f"{opts.chains} x {diag.draws} draws){adjusted}; pooled = average "
                       "over the at-risk patients at their own period")
    table["prior"] = (f"Normal({logit_prior[0]:g}, {logit_prior[1]:g}) on logit p per behaviour x "
                      "period" + "".join(f"; Normal(0, {covariate_prior_sd:g}) per SD of {c}"
                                         for c in covariates))
    table["covariates"] = ", ".join(covariates)
    return table.assign(**diagnostic_columns(diag))


def _standardised_rows(model: bmb.Model, idata: InferenceData, risk: pd.DataFrame, behaviour: str,
                       ci_prob: float) -> list[dict]:
    """Period probabilities averaged over the behaviour's at-risk patients (g-formula)."""
    base = risk.drop(columns=["remitted", "has_end"]).copy()
    levels = model.data["behaviour"].cat.categories
    base["behaviour"] = pd.Categorical(base["behaviour"], categories=levels)
    draws = {p: _average_at(model, idata, base, [p] * len(base)) for p in schema.PERIODS}
    draws[POOLED] = _average_at(model, idata, base, base[schema.PERIOD])
    return _draw_rows(behaviour, draws, ci_prob)


def _average_at(model: bmb.Model, idata: InferenceData, base: pd.DataFrame,
                periods: Sequence[str]) -> np.ndarray:
    """Posterior draws of the mean predicted probability with ``period`` set as given."""
    grid = base.assign(period=pd.Categorical(list(periods), categories=schema.PERIODS))
    return predict(model, idata, grid).mean(axis=1)


def _draw_rows(behaviour: str, draws: dict[str, np.ndarray], ci_prob: float) -> list[dict]:
    """Remission rows from posterior draws per period (I, II, pooled)."""
    diff = draws["II"] - draws["I"]
    diff_mean, diff_low, diff_high = summary(diff, ci_prob)
    rows = []
    for period, values in draws.items():
        mean, low, high = summary(values, ci_prob)
        rows.append({"behaviour": behaviour, "period": period, "p_mean": mean, "p_hdi_low": low,
                     "p_hdi_high": high, "p_period_diff": diff_mean, "p_diff_hdi_low": diff_low,
                     "p_diff_hdi_high": diff_high, "prob_ii_worse": float(np.mean(diff < 0))})
    return rows


# ---------------------------------------------------------------- remission table


def remission_table(
    data: pd.DataFrame,
    *,
    prior: tuple[float, float] = (1.0, 1.0),
    models: Sequence[str] = REMISSION_MODELS,
    covariates: Sequence[str] = (),
    logit_prior: tuple[float, float] = (0.0, 1.5),
    covariate_prior_sd: float = 1.0,
    ci_prob: float = CI_PROB,
    n_draws: int = N_DRAWS,
    seed: int = SEED,
    options: SamplerOptions | None = None,
    cache: DiskCache | str | Path | None = None,
) -> pd.DataFrame:
    """Posterior remission per behaviour x period (I, II, pooled) x model.

    Remission = no behaviour in the last year of treatment, among patients with the behaviour
    in the 12 months before start and with an end indicator.

    Parameters
    ----------
    data : pandas.DataFrame
        Register in long format (one row per patient is taken). Needs ``patient_id``,
        ``period`` and, per behaviour, its start and end columns (a behaviour whose columns are
        absent is left out; at least one must be present).
    prior : (float, float), default (1, 1)
        Beta prior of each remission probability in the Beta-binomial model (uniform).
    models : sequence of {"beta_binomial", "logistic"}
        ``"beta_binomial"``: conjugate, exact, no sampling. ``"logistic"``: Bambi logistic
        regression ``p(y, n) ~ 0 + behaviour:period [+ behaviour:covariate ...]`` on binomial
        counts, both behaviours in one model (one compiled graph), sampled with nutpie.
    covariates : sequence of str, default ()
        Numeric patient-level covariates of the logistic model (e.g. ``("bpd_criteria",)``,
        since Period II admitted more severe patients); standardised, one slope per behaviour.
        Period probabilities are then standardised over the at-risk patients (each patient's
        covariates, period set to I and to II). Missing covariate values raise DataError.
    logit_prior : (float, float), default (0, 1.5)
        Normal prior (mean, SD) of the log-odds of remission per behaviour x period in the
        logistic model (about uniform on the probability scale).
    covariate_prior_sd : float, default 1
        SD of the Normal(0, SD) prior of each covariate slope (log-odds per covariate SD).
    ci_prob : float, default 0.95
    n_draws : int
        Draws from the exact Beta posteriors for the HDI of the difference.
    seed : int
        Run seed: each model's seed (sampling and Monte Carlo draws) derives from it by name.
    options : SamplerOptions, optional
        How the logistic model is sampled (default: nutpie, 4 chains x 1000 draws).
    cache : DiskCache or path, optional
        The fit cache (e.g. the run's): the logistic model's draws are read from it when it
        holds them, and stored in it otherwise. None (default): sampled.

    Returns
    -------
    pandas.DataFrame
        One row per behaviour x period x model: ``behaviour``, ``period``, ``model``,
        ``n_start_positive``, ``n_no_end_data``, ``n_at_risk``, ``n_remitted``,
        ``observed_pct``, ``p_mean``, ``p_hdi_low``, ``p_hdi_high``, ``p_period_diff``
        (posterior mean of p_II - p_I, the same on the behaviour's three rows),
        ``p_diff_hdi_low``, ``p_diff_hdi_high``, ``prob_ii_worse`` (P(p_II < p_I)),
        ``worse_if``, ``interval``, ``method``, ``prior``, ``covariates`` and, for sampled
        models, ``max_r_hat``, ``min_ess_bulk``, ``min_ess_tail``, ``divergences``,
        ``passed`` (missing for exact rows).

    Raises
    ------
    DataError
        Required columns absent, non-binary indicators, a column varying within a patient.
    SpecError
        Unknown model, invalid prior or sampler option.

    Examples
    --------
    >>> import mbtbayes as mb
    >>> t = remission_table(mb.load_register().data, models=("beta_binomial",))
    >>> round(float(t.loc[0, "p_mean"]), 3), t.loc[0, "interval"]
    (0.737, '95% HDI')
    """
    check_models(models, REMISSION_MODELS)
    check_beta_prior(prior)
    sampling = Sampler(options or SamplerOptions(), DiskCache.open(cache))
    counts = remission_counts(data)
    parts = []
    if "beta_binomial" in models:
        parts.append(_conjugate_rows(counts, prior=prior, ci_prob=ci_prob, n_draws=n_draws,
                                     seed=seed_for(seed, "remission", "beta_binomial")))
    if "logistic" in models:
        parts.append(_logistic_rows(data, covariates=tuple(covariates), logit_prior=logit_prior,
                                    covariate_prior_sd=covariate_prior_sd, ci_prob=ci_prob,
                                    sampling=sampling, seed=seed))
    table = counts.merge(pd.concat(parts, ignore_index=True), on=["behaviour", "period"])
    table["observed_pct"] = 100.0 * table["n_remitted"] / table["n_at_risk"].where(
        table["n_at_risk"] > 0)
    table["worse_if"] = "lower remission in Period II: prob_ii_worse = P(p_II < p_I)"
    table["interval"] = interval_label(ci_prob)
    return ordered(table, ["behaviour", "period", "model", "n_start_positive", "n_no_end_data",
                            "n_at_risk", "n_remitted", "observed_pct", "p_mean", "p_hdi_low",
                            "p_hdi_high", "p_period_diff", "p_diff_hdi_low", "p_diff_hdi_high",
                            "prob_ii_worse", "worse_if", "interval", "method", "prior",
                            "covariates"], models)


