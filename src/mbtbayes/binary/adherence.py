"""Treatment adherence by period, the Bayesian way: drop-out, short treatment, duration, attendance.

The paper reports a shorter mean treatment duration, more treatments under 6 months and more
drop-outs in Period II, and no difference in regularity of attendance (its Table 4). This module
gives, per period (and pooled), the posterior of each quantity with its 95% HDI, the difference
II - I with its HDI, and P(Period II worse), with "worse" stated on every row:

- ``dropout`` (column ``dropout``): probability of dropping out; worse = higher;
- ``short_treatment`` (``duration_months < short_months``, default 6): worse = higher;
- ``regular_attendance`` (column ``regular_attendance``): worse = lower;
- ``duration_months``: the restricted mean duration, the mean of ``min(duration, 36 months)``
  (36: the planned maximum; nothing extrapolates past the planned end), and the median of
  ``min(duration, 36 months)``, in months; worse = shorter.

Binary outcomes use the conjugate Beta-binomial (exact). Duration is estimated from the data by
default: a Bayesian bootstrap (Dirichlet weights over patients) of ``min(duration, 36)``, whose
posterior mean is the sample mean; treatments completed at 36 months count as 36. The
parametric models follow as alternatives (column ``role``): a Weibull and a lognormal survival
model, each with its two-parameter posterior computed on a fine grid (exact up to the grid, no
MCMC, so nothing to diagnose), in which a treatment that reached 36 months is right-censored
there (administrative censoring: it completed as planned). If the data mark ongoing treatments
(a 0/1 column, ``ongoing`` by default) their durations are right-censored in every model (the
bootstrap then works on the Kaplan-Meier curve). Column ``assumes`` says what each row assumes.
The duration models live in :mod:`mbtbayes.binary.duration`.

Examples
--------
>>> import mbtbayes as mb
>>> t = adherence_table(mb.load_register().data)
>>> t.loc[t["period"] == "I", ["outcome", "n", "n_events"]].values.tolist()[:2]
[['dropout', 96, 5.0], ['short_treatment', 96, 4.0]]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mbtbayes.binary.common import DIAGNOSTIC_COLUMNS, EXACT, N_DRAWS, POOLED
from mbtbayes.binary.conjugate import BetaPosterior, check_beta_prior, prob_less
from mbtbayes.binary.duration import (
    DEFAULT_MODEL,
    DURATION_MODELS,
    PLANNED_MAX_MONTHS,
    QUANTITIES,
    LognormalPrior,
    WeibullPrior,
    duration_draws,
    kaplan_meier_summary,
)
from mbtbayes.core.arviz_api import hdi
from mbtbayes.core.defaults import CI_PROB, SEED
from mbtbayes.core.errors import DataError, SpecError
from mbtbayes.core.posterior import interval_label
from mbtbayes.io import schema
from mbtbayes.io.patients import binary_column, patient_rows

DURATION = "duration_months"
PERIOD_ROWS: tuple[str, ...] = (*schema.PERIODS, POOLED)
WORSE = {"dropout": "higher", "short_treatment": "higher", "regular_attendance": "lower",
         DURATION: "shorter"}
"""Direction in which a Period II value is worse, per outcome."""


# ---------------------------------------------------------------- per-outcome rows


def _in_period(frame: pd.DataFrame, period: str) -> pd.Series:
    """Rows of one period, or every row for the pooled one."""
    if period == POOLED:
        return pd.Series(True, index=frame.index)
    return frame[schema.PERIOD] == period


def _binary_rows(outcome: str, frame: pd.DataFrame, known: pd.Series, event: pd.Series, *,
                 prior: tuple[float, float], ci_prob: float, n_draws: int,
                 rng: np.random.Generator) -> list[dict]:
    worse = WORSE[outcome]
    posts, counts = {}, {}
    for period in PERIOD_ROWS:
        in_period = _in_period(frame, period)
        keep = known & in_period
        counts[period] = (int(keep.sum()), int(event[keep].sum()), int((~known & in_period).sum()))
        posts[period] = BetaPosterior.update(counts[period][1], counts[period][0], prior=prior)
    diff = posts["II"].draws(n_draws, rng) - posts["I"].draws(n_draws, rng)
    low, high = hdi(diff, ci_prob=ci_prob)
    p_worse = (prob_less(posts["I"], posts["II"]) if worse == "higher"
               else prob_less(posts["II"], posts["I"]))
    rows = []
    for period, post in posts.items():
        n, k, missing = counts[period]
        p_low, p_high = post.hdi(ci_prob=ci_prob)
        rows.append({"outcome": outcome, "period": period, "model": "beta_binomial",
                     "role": "default",
                     "quantity": "probability", "n": n, "n_events": float(k),
                     "n_missing": missing, "n_censored": 0,
                     "observed": k / n if n else np.nan, "mean": post.mean, "hdi_low": p_low,
                     "hdi_high": p_high, "diff_mean": posts["II"].mean - posts["I"].mean,
                     "diff_hdi_low": low, "diff_hdi_high": high, "prob_ii_worse": p_worse,
                     "worse_if": f"{worse} in Period II",
                     "assumes": "patients exchangeable within a period; those without a known "
                                "status left out (missing at random)",
                     "method": "conjugate Beta-binomial; exact mean, HDI and P(II worse), "
                               f"difference HDI from {n_draws} exact posterior draws",
                     "prior": f"Beta({prior[0]:g}, {prior[1]:g})"})
    return rows


def _duration_rows(frame: pd.DataFrame, censored: pd.Series, *, model: str, priors: dict,
                   max_months: float, ci_prob: float, n_draws: int,
                   rng: np.random.Generator) -> list[dict]:
    """Restricted mean and median of min(duration, ``max_months``) per period, and II - I."""
    y = pd.to_numeric(frame[DURATION], errors="coerce")
    if (y <= 0).any():
        raise DataError(f"{DURATION} must be positive for a duration model; "
                        f"{int((y <= 0).sum())} patient(s) have 0 or less.")
    draws, info = {}, {}
    for period in PERIOD_ROWS:
        in_period = _in_period(frame, period)
        keep = in_period & y.notna()
        values, cens = y[keep].to_numpy(float), censored[keep].to_numpy(bool)
        draws[period] = duration_draws(values, cens, model=model, n=n_draws, rng=rng,
                                       max_months=max_months, **priors)
        observed = kaplan_meier_summary(values, cens, np.full((1, values.size), 1 / values.size),
                                        max_months=max_months) if values.size else {}
        at_end = int((values >= max_months).sum())
        n_cens = int((cens & (values < max_months)).sum()) + (0 if model == DEFAULT_MODEL
                                                              else at_end)
        info[period] = (int(keep.sum()), int((in_period & y.isna()).sum()), n_cens,
                        {k: float(v[0]) for k, v in observed.items()}, at_end)
    rows = []
    for quantity, label in QUANTITIES.items():
        diff = draws["II"][quantity] - draws["I"][quantity]
        d_low, d_high = hdi(diff, ci_prob=ci_prob)
        for period, values in draws.items():
            n, missing, n_cens, observed, at_end = info[period]
            low, high = hdi(values[quantity], ci_prob=ci_prob)
            rows.append({"outcome": DURATION, "period": period, "model": model,
                         "role": "default" if model == DEFAULT_MODEL else "alternative",
                         "quantity": label.format(tau=max_months), "n": n, "n_events": np.nan,
                         "n_missing": missing, "n_censored": n_cens,
                         "observed": observed.get(quantity, np.nan),
                         "mean": float(values[quantity].mean()), "hdi_low": low,
                         "hdi_high": high, "diff_mean": float(diff.mean()), "diff_hdi_low": d_low,
                         "diff_hdi_high": d_high, "prob_ii_worse": float(np.mean(diff < 0)),
                         "worse_if": "shorter in Period II",
                         **_duration_text(model, priors, n_draws, max_months, at_end)})
    return rows


def _duration_text(model: str, priors: dict, n_draws: int, max_months: float,
                   at_end: int) -> dict:
    tau = f"{max_months:g}"
    ended = f"{at_end} treatment(s) reached {tau} months"
    if model == DEFAULT_MODEL:
        return {"assumes": "none about the shape of the duration distribution; patients "
                           "exchangeable within a period; ongoing treatments (if any) would "
                           "have stopped as those at risk at the same time did",
                "method": "Bayesian bootstrap (Dirichlet(1,...,1) weights over patients) of the "
                          f"Kaplan-Meier curve restricted to {tau} months: without ongoing "
                          f"treatments the weighted mean and median of min(duration, {tau}); "
                          f"{ended} and count at {tau}; {n_draws} draws",
                "prior": "Dirichlet(1, ..., 1) on patients"}
    censoring = (f"{ended}: right-censored at {tau} (completed as planned, administrative); "
                 "ongoing treatments right-censored")
    restricted = f"restricted mean = area under the survival curve from 0 to {tau} months"
    draws = f"{n_draws} draws from the exact posterior"
    if model == "weibull":
        return {"assumes": "Weibull durations (monotone hazard of stopping) before the planned "
                           f"end; {censoring}",
                "method": f"Weibull survival model; {restricted}, median = min(scale * "
                          f"log(2)^(1/shape), {tau}); grid posterior (no MCMC), " + draws,
                "prior": priors["weibull_prior"].describe()}
    return {"assumes": f"lognormal durations before the planned end; {censoring}",
            "method": f"lognormal survival model; {restricted}, median = min(exp(mu), {tau}); "
                      "conjugate NIG when nothing is censored, else grid posterior (no MCMC), "
                      + draws,
            "prior": priors["lognormal_prior"].describe()}


# ---------------------------------------------------------------- the table


def adherence_table(
    data: pd.DataFrame,
    *,
    prior: tuple[float, float] = (1.0, 1.0),
    short_months: float = 6.0,
    duration_models: Sequence[str] = DURATION_MODELS,
    max_months: float = PLANNED_MAX_MONTHS,
    weibull_prior: WeibullPrior | None = None,
    lognormal_prior: LognormalPrior | None = None,
    ongoing: str = "ongoing",
    ci_prob: float = CI_PROB,
    n_draws: int = N_DRAWS,
    seed: int = SEED,
) -> pd.DataFrame:
    """Drop-out, short treatment, duration and attendance by period, with P(Period II worse).

    Parameters
    ----------
    data : pandas.DataFrame
        Register in long format (one row per patient is taken). Uses ``dropout``,
        ``duration_months`` and ``regular_attendance`` where present (at least one is needed).
    prior : (float, float), default (1, 1)
        Beta prior of each probability (drop-out, short treatment, regular attendance).
    short_months : float, default 6
        A treatment shorter than this many months is "short" (the paper's cut-off).
    duration_models : sequence of {"bayesian_bootstrap", "weibull", "lognormal"}
        Models of the duration, default all three. ``"bayesian_bootstrap"`` (model-free) is the
        default estimate (``role`` "default"); the parametric survival models are alternatives
        (``role`` "alternative") that right-censor treatments which reached ``max_months``.
        See :mod:`mbtbayes.binary.duration`.
    max_months : float, default 36
        The planned maximum duration. Duration is summarised by the restricted mean, the mean
        of ``min(duration, max_months)`` (the area under the survival curve from 0 to
        ``max_months``: no extrapolation past the planned end, as an unrestricted model mean
        would do), and by the median of ``min(duration, max_months)``.
    weibull_prior : WeibullPrior, optional
        Default :class:`WeibullPrior()`.
    lognormal_prior : LognormalPrior, optional
        Default :class:`LognormalPrior()`.
    ongoing : str, default "ongoing"
        Name of a 0/1 column marking treatments still running at data extraction. If the column
        exists, ongoing durations are right-censored in the duration models, and ongoing
        patients whose drop-out or short-treatment status is not yet known are left out of those
        rows and counted in ``n_missing``. Without the column every treatment counts as ended.
    ci_prob : float, default 0.95
    n_draws : int
        Exact posterior (or bootstrap) draws for differences and duration summaries.
    seed : int

    Returns
    -------
    pandas.DataFrame
        One row per outcome x period (I, II, pooled) x model (x quantity for duration:
        ``restricted mean of min(duration, 36 months)`` and ``median of min(duration, 36
        months)``): ``outcome``, ``period``, ``model``, ``role`` (``default`` or
        ``alternative``), ``quantity``, ``n`` (patients used), ``n_events``, ``n_missing`` (no
        value, or status unknown because ongoing), ``n_censored`` (in that model: ongoing, and
        for the parametric models the treatments that reached ``max_months``), ``observed``
        (sample proportion, or the Kaplan-Meier restricted mean and median, which without
        ongoing treatments are the sample mean and median of ``min(duration, max_months)``),
        ``mean`` (posterior
        mean of the row's quantity), ``hdi_low``, ``hdi_high``, ``diff_mean`` (II - I),
        ``diff_hdi_low``, ``diff_hdi_high``, ``prob_ii_worse``, ``worse_if``, ``interval``,
        ``assumes``, ``method``, ``prior`` and the diagnostics columns (missing: no model here
        is sampled by MCMC).

    Raises
    ------
    DataError
        None of the adherence columns present, non-binary indicators, non-positive durations.
    SpecError
        Unknown duration model, invalid prior or ``max_months``.

    Examples
    --------
    >>> import mbtbayes as mb
    >>> t = adherence_table(mb.load_register().data)
    >>> sorted(t["worse_if"].unique())[:2]
    ['higher in Period II', 'lower in Period II']
    """
    check_beta_prior(prior)
    if not (np.isfinite(max_months) and max_months > 0):
        raise SpecError(f"max_months must be a positive number of months, got {max_months!r}")
    unknown = [m for m in duration_models if m not in DURATION_MODELS]
    if unknown or isinstance(duration_models, str):
        raise SpecError(f"Unknown duration model(s) {unknown or duration_models!r}; choose from "
                        f"{list(DURATION_MODELS)}.")
    columns = [c for c in ("dropout", DURATION, "regular_attendance") if c in data.columns]
    if not columns:
        raise DataError("adherence needs at least one of the columns dropout, duration_months, "
                        "regular_attendance; the data have none of them.")
    extra = [ongoing] if ongoing in data.columns else []
    frame = patient_rows(data, columns + extra, what="adherence")
    censored = (binary_column(frame, ongoing, what="adherence") == 1 if extra
                else pd.Series(False, index=frame.index))
    rng = np.random.default_rng(seed)
    opts = {"ci_prob": ci_prob, "n_draws": n_draws, "rng": rng}
    rows: list[dict] = []
    if "dropout" in columns:
        event = binary_column(frame, "dropout", what="adherence")
        rows += _binary_rows("dropout", frame, event.notna() & ~censored, event, prior=prior,
                             **opts)
    if DURATION in columns:
        rows += _short_rows(frame, censored, short_months, prior=prior, **opts)
        priors = {"weibull_prior": weibull_prior or WeibullPrior(),
                  "lognormal_prior": lognormal_prior or LognormalPrior()}
        for model in duration_models:
            rows += _duration_rows(frame, censored, model=model, priors=priors,
                                   max_months=max_months, **opts)
    if "regular_attendance" in columns:
        event = binary_column(frame, "regular_attendance", what="adherence")
        rows += _binary_rows("regular_attendance", frame, event.notna(), event, prior=prior,
                             **opts)
    table = pd.DataFrame(rows)
    table["interval"] = interval_label(ci_prob)
    for column in DIAGNOSTIC_COLUMNS:
        table[column] = pd.NA
    table["reason"], table["passed"] = EXACT, True
    last = ("assumes", "method", "prior")
    first = [c for c in table.columns if c not in (*DIAGNOSTIC_COLUMNS, *last)]
    return table[[*first, *last, *DIAGNOSTIC_COLUMNS]]


def _short_rows(frame: pd.DataFrame, censored: pd.Series, short_months: float,
                **kwargs: float) -> list:
    y = pd.to_numeric(frame[DURATION], errors="coerce")
    event = (y < short_months).astype(float)
    # an ongoing treatment shorter than the cut-off may still become long: status unknown
    known = y.notna() & ~(censored & (y < short_months))
    rows = _binary_rows("short_treatment", frame, known, event, **kwargs)
    for row in rows:
        row["quantity"] = f"probability of duration < {short_months:g} months"
    return rows
