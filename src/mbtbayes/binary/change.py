"""Paired start-end change of self-harm and suicide attempts: McNemar's counterpart.

:func:`start_end_change` gives the posterior change in the proportion with the behaviour from
start to end within each period and whether it differs between periods (which McNemar cannot
test), from a Dirichlet-multinomial model of the paired 2x2 table (exact) and a Bernoulli GLMM
with a random patient intercept (PyMC, nutpie; fitted on its exact marginal likelihood, with
the patient-level Bambi version as a cross-check option).

Examples
--------
>>> import mbtbayes as mb
>>> t = mb.start_end_change(mb.load_register().data, models=("dirichlet",))
>>> bool((t["prob_decrease"] > 0.99).all())
True
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import special, stats

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
from mbtbayes.core.cache import DiskCache
from mbtbayes.core.defaults import CI_PROB, SEED
from mbtbayes.core.errors import SpecError
from mbtbayes.core.posterior import interval_label
from mbtbayes.core.sampling import Sampler, SamplerOptions
from mbtbayes.core.seeds import seed_for
from mbtbayes.io import schema
from mbtbayes.io.patients import binary_column, patient_rows

if TYPE_CHECKING:
    import pymc as pm

CHANGE_MODELS: tuple[str, ...] = ("dirichlet", "glmm", "glmm_bambi")


def paired_counts(data: pd.DataFrame) -> pd.DataFrame:
    """Paired start x end tables per behaviour x period (I, II, pooled).

    Returns
    -------
    pandas.DataFrame
        ``behaviour``, ``period``, ``n_pairs`` (patients with both indicators),
        ``n_no_end_data`` (start indicator but no end indicator: not in the pairs),
        ``n_yes_yes``, ``n_yes_no`` (McNemar's b: behaviour at start, not at end),
        ``n_no_yes`` (c: new at end), ``n_no_no``.

    Examples
    --------
    >>> import mbtbayes as mb
    >>> paired_counts(mb.load_register().data).iloc[0, 2:].tolist()
    [61, 35, 14, 41, 0, 6]
    """
    rows = []
    for behaviour in present_behaviours(data, what="start-end change"):
        start, end = BEHAVIOURS[behaviour]
        frame = patient_rows(data, [start, end], what=f"start-end change of {behaviour}")
        s, e = binary_column(frame, start, what="change"), binary_column(frame, end, what="change")
        for period in (*schema.PERIODS, POOLED):
            keep = np.ones(len(frame), bool) if period == POOLED else frame[schema.PERIOD] == period
            ss, ee = s[keep], e[keep]
            both = ss.notna() & ee.notna()
            rows.append({"behaviour": behaviour, "period": period, "n_pairs": int(both.sum()),
                         "n_no_end_data": int((ss.notna() & ee.isna()).sum()),
                         "n_yes_yes": int(((ss == 1) & (ee == 1)).sum()),
                         "n_yes_no": int(((ss == 1) & (ee == 0)).sum()),
                         "n_no_yes": int(((ss == 0) & (ee == 1)).sum()),
                         "n_no_no": int(((ss == 0) & (ee == 0)).sum())})
    return pd.DataFrame(rows)


CELLS = ("n_yes_yes", "n_yes_no", "n_no_yes", "n_no_no")


def _dirichlet_rows(counts: pd.DataFrame, *, concentration: float, ci_prob: float,
                    n_draws: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for behaviour, part in counts.groupby("behaviour", sort=False):
        theta = {r.period: rng.dirichlet(concentration + np.array([getattr(r, c) for c in CELLS],
                                                                  float), size=n_draws)
                 for r in part.itertuples()}
        change = {p: t[:, 2] - t[:, 1] for p, t in theta.items()}
        diff = change["II"] - change["I"]
        d_mean, d_low, d_high = summary(diff, ci_prob)
        for r in part.itertuples():
            t = theta[r.period]
            c_mean, c_low, c_high = summary(change[r.period], ci_prob)
            rows.append({"behaviour": behaviour, "period": r.period,
                         "p_start_mean": float(np.mean(t[:, 0] + t[:, 1])),
                         "p_end_mean": float(np.mean(t[:, 0] + t[:, 2])),
                         "change_mean": c_mean, "change_hdi_low": c_low, "change_hdi_high": c_high,
                         "prob_decrease": float(stats.beta.sf(0.5, concentration + r.n_yes_no,
                                                              concentration + r.n_no_yes)),
                         "change_diff_mean": d_mean, "change_diff_hdi_low": d_low,
                         "change_diff_hdi_high": d_high,
                         "prob_ii_worse": float(np.mean(diff > 0))})
    table = pd.DataFrame(rows)
    table.insert(2, "model", "dirichlet")
    table["method"] = ("Dirichlet-multinomial of the paired start x end table; change = "
                       "p_end - p_start; prob_decrease exact (discordant-pair Beta: "
                       f"P(b/(b+c) > 1/2)); the rest from {n_draws} exact posterior draws")
    table["prior"] = (f"Dirichlet({concentration:g}, {concentration:g}, {concentration:g}, "
                      f"{concentration:g}) on the four paired cells")
    return table


def _gauss_hermite(nodes: int = 100) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.hermite.hermgauss(nodes)
    return np.sqrt(2.0) * x, w / np.sqrt(np.pi)


def marginal_probability(eta: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """Population-averaged probability ``E[logistic(eta + u)]``, ``u ~ N(0, sd)``.

    Computed by 100-point Gauss-Hermite quadrature (error below 1e-5 for SDs up to 5),
    elementwise over broadcast ``eta`` and ``sd``.

    Examples
    --------
    >>> round(float(marginal_probability(np.array(0.0), np.array(2.0))), 6)
    0.5
    """
    z, w = _gauss_hermite()
    eta, sd = np.broadcast_arrays(np.asarray(eta, float), np.asarray(sd, float))
    return np.sum(w * special.expit(eta[..., None] + sd[..., None] * z), axis=-1)


GLMM_NODES = 60
"""Gauss-Hermite nodes of the marginal-likelihood GLMM."""


def glmm_pattern_model(counts: np.ndarray, behaviours: Sequence[str], *,
                       logit_prior: tuple[float, float], re_prior_sd: float) -> pm.Model:
    """The Bernoulli random-intercept GLMM of paired start/end indicators, as a PyMC model.

    ``logit P(y = 1) = eta[behaviour, period, time] + u[patient, behaviour]``,
    ``u ~ Normal(0, sigma[behaviour])``: the model of Bambi's ``y ~ 0 +
    behaviour:period:time + (0 + behaviour | patient_id)``. With exactly two binary
    observations per patient and behaviour, the data reduce to the counts of the four
    start/end patterns per behaviour and period, and the patient intercept can be integrated
    out of the likelihood (Gauss-Hermite quadrature, :data:`GLMM_NODES` nodes):
    ``P(pattern) = E_u[P(start | u) P(end | u)]``, a multinomial over the patterns. Same
    posterior of ``eta`` and ``sigma``, ten parameters instead of one per patient, no funnel.

    Parameters
    ----------
    counts : numpy.ndarray
        Shape (behaviours, 2 periods, 4 patterns): yes-yes, yes-no, no-yes, no-no.
    behaviours : sequence of str
    logit_prior : (float, float)
        Normal prior (mean, SD) of each ``eta``.
    re_prior_sd : float
        HalfNormal scale of each ``sigma``.

    Returns
    -------
    pymc.Model
        Free parameters ``eta`` (behaviour, period, time) and ``sigma`` (behaviour); the
        log-likelihood ``sum(counts * log P(pattern))`` is the potential ``loglik`` (a
        multinomial without its constant; this form compiles faster in numba than
        ``pm.Multinomial``).
    """
    import pymc as pm

    z, w = _gauss_hermite(GLMM_NODES)
    coords = {"behaviour": list(behaviours), "period": list(schema.PERIODS),
              "time": ["start", "end"], "pattern": list(CELLS)}
    with pm.Model(coords=coords) as model:
        observed = pm.Data("counts", counts, dims=("behaviour", "period", "pattern"))
        # the quadrature rule as data, not constants: the compiled graph then holds no array
        # that could be data, so it is kept on disk for the next process (core.graph_store)
        z, w = pm.Data("gh_nodes", z), pm.Data("gh_weights", w)
        eta = pm.Normal("eta", logit_prior[0], logit_prior[1], dims=("behaviour", "period", "time"))
        sigma = pm.HalfNormal("sigma", re_prior_sd, dims="behaviour")
        p = pm.math.invlogit(eta[..., None] + sigma[:, None, None, None] * z)  # (B, P, T, K)
        start, end = p[:, :, 0, :], p[:, :, 1, :]
        loglik = 0.0
        for i, pattern in enumerate((start * end, start * (1 - end), (1 - start) * end,
                                     (1 - start) * (1 - end))):
            loglik += observed[..., i] * pm.math.log(pm.math.dot(pattern, w))
        # the multinomial likelihood of the pattern counts, without its constant coefficient
        pm.Potential("loglik", pm.math.sum(loglik))
    return model


GLMM_PARAMETERS = ["eta", "sigma"]


def _glmm_rows(counts: pd.DataFrame, *, logit_prior: tuple, re_prior_sd: float,
               ci_prob: float, sampling: Sampler, seed: int) -> pd.DataFrame:
    behaviours = list(dict.fromkeys(counts["behaviour"]))
    table = counts.set_index(["behaviour", "period"])
    array = np.array([[[table.at[(b, p), c] for c in CELLS] for p in schema.PERIODS]
                      for b in behaviours], dtype=float)
    idata, diag = sampling.sample_model(
        key=("glmm_pattern", tuple(behaviours), tuple(logit_prior), re_prior_sd),
        build=lambda data: glmm_pattern_model(data["counts"], behaviours,
                                              logit_prior=logit_prior, re_prior_sd=re_prior_sd),
        data={"counts": array}, seed=seed_for(seed, "start_end_change", "glmm"),
        var_names=GLMM_PARAMETERS, keep=GLMM_PARAMETERS, cached=True)
    eta = idata.posterior["eta"].values  # (chain, draw, B, P, T)
    eta = eta.reshape(-1, *eta.shape[2:])
    sd = idata.posterior["sigma"].values.reshape(-1, len(behaviours))
    rows = []
    for i, behaviour in enumerate(behaviours):
        marg = marginal_probability(eta[:, i].reshape(eta.shape[0], -1), sd[:, i, None])
        rows += _glmm_behaviour_rows(behaviour, marg, table.loc[behaviour, "n_pairs"], ci_prob)
    out = pd.DataFrame(rows)
    out.insert(2, "model", "glmm")
    out["method"] = ("Bernoulli GLMM logit p = eta[behaviour, period, time] + u[patient], u ~ "
                     "N(0, sigma[behaviour]), on complete pairs, fitted on its exact marginal "
                     "likelihood (patient intercept integrated out by Gauss-Hermite quadrature; "
                     f"PyMC, {sampling.options.sampler}, {sampling.options.chains} x {diag.draws} "
                     "draws); "
                     "population-averaged probabilities; pooled = weighted by n_pairs")
    out["prior"] = (f"Normal({logit_prior[0]:g}, {logit_prior[1]:g}) on logit p per behaviour x "
                    f"period x time; patient intercept SD ~ HalfNormal({re_prior_sd:g})")
    return out.assign(**diagnostic_columns(diag))


def _glmm_bambi_rows(data: pd.DataFrame, counts: pd.DataFrame, *, logit_prior: tuple,
                     re_prior_sd: float, ci_prob: float, sampling: Sampler,
                     seed: int) -> pd.DataFrame:
    import bambi as bmb

    long = _paired_long(data)
    behaviours = list(long["behaviour"].cat.categories)
    priors = {"behaviour:period:time": bmb.Prior("Normal", mu=logit_prior[0], sigma=logit_prior[1]),
              "behaviour|patient_id": bmb.Prior("Normal", mu=0.0,
                                                sigma=bmb.Prior("HalfNormal", sigma=re_prior_sd))}
    model, idata, diag = fit_bambi(
        "y ~ 0 + behaviour:period:time + (0 + behaviour | patient_id)", long,
        family="bernoulli", priors=priors, sampling=sampling,
        seed=seed_for(seed, "start_end_change", "glmm_bambi"))
    sd = idata.posterior["behaviour|patient_id_sigma"]
    rows = []
    for behaviour in behaviours:
        sd_b = sd.sel({sd.dims[-1]: behaviour}).values.ravel()
        grid = pd.DataFrame([(behaviour, p, t) for p in schema.PERIODS for t in ("start", "end")],
                            columns=["behaviour", schema.PERIOD, "time"])
        for column, levels in (("behaviour", behaviours), (schema.PERIOD, schema.PERIODS),
                               ("time", ("start", "end"))):
            grid[column] = pd.Categorical(grid[column], categories=levels)
        cond = predict(model, idata, grid, group_specific=False)
        marg = marginal_probability(special.logit(cond), sd_b[:, None])
        n = counts[counts["behaviour"] == behaviour].set_index("period")["n_pairs"]
        rows += _glmm_behaviour_rows(behaviour, marg, n, ci_prob)
    table = pd.DataFrame(rows)
    table.insert(2, "model", "glmm_bambi")
    table["method"] = ("Bambi Bernoulli GLMM y ~ 0 + behaviour:period:time + (0 + behaviour | "
                       f"patient_id) on complete pairs, patient effects sampled ("
                       f"{sampling.options.sampler}, {sampling.options.chains} x {diag.draws} "
                       "draws); "
                       "population-averaged probabilities (random intercept integrated out); "
                       "pooled = weighted by n_pairs")
    table["prior"] = (f"Normal({logit_prior[0]:g}, {logit_prior[1]:g}) on logit p per behaviour x "
                      f"period x time; patient intercept SD ~ HalfNormal({re_prior_sd:g})")
    return table.assign(**diagnostic_columns(diag))


def _glmm_behaviour_rows(behaviour: str, marg: np.ndarray, n: pd.Series,
                         ci_prob: float) -> list[dict]:
    start = {"I": marg[:, 0], "II": marg[:, 2]}
    end = {"I": marg[:, 1], "II": marg[:, 3]}
    w = n["I"] / max(n["I"] + n["II"], 1)
    start[POOLED] = w * start["I"] + (1 - w) * start["II"]
    end[POOLED] = w * end["I"] + (1 - w) * end["II"]
    change = {p: end[p] - start[p] for p in start}
    diff = change["II"] - change["I"]
    d_mean, d_low, d_high = summary(diff, ci_prob)
    rows = []
    for period in (*schema.PERIODS, POOLED):
        c_mean, c_low, c_high = summary(change[period], ci_prob)
        rows.append({"behaviour": behaviour, "period": period,
                     "p_start_mean": float(start[period].mean()),
                     "p_end_mean": float(end[period].mean()), "change_mean": c_mean,
                     "change_hdi_low": c_low, "change_hdi_high": c_high,
                     "prob_decrease": float(np.mean(change[period] < 0)),
                     "change_diff_mean": d_mean, "change_diff_hdi_low": d_low,
                     "change_diff_hdi_high": d_high, "prob_ii_worse": float(np.mean(diff > 0))})
    return rows


def _paired_long(data: pd.DataFrame) -> pd.DataFrame:
    """Two rows (start, end) per patient with both indicators, per behaviour."""
    frames = []
    for behaviour in present_behaviours(data, what="start-end change"):
        start, end = BEHAVIOURS[behaviour]
        rows = patient_rows(data, [start, end], what=f"start-end change of {behaviour}")
        rows = rows.dropna(subset=[start, end])
        for time, column in (("start", start), ("end", end)):
            frames.append(pd.DataFrame({
                schema.ID: rows[schema.ID], schema.PERIOD: rows[schema.PERIOD],
                "behaviour": behaviour, "time": time, "y": rows[column].astype(int)}))
    long = pd.concat(frames, ignore_index=True)
    behaviours = list(dict.fromkeys(long["behaviour"]))
    for column, levels in (("behaviour", behaviours), (schema.PERIOD, schema.PERIODS),
                           ("time", ("start", "end"))):
        long[column] = pd.Categorical(long[column], categories=levels)
    return long


def start_end_change(
    data: pd.DataFrame,
    *,
    concentration: float = 0.5,
    models: Sequence[str] = ("dirichlet", "glmm"),
    logit_prior: tuple[float, float] = (0.0, 1.5),
    re_prior_sd: float = 1.5,
    ci_prob: float = CI_PROB,
    n_draws: int = N_DRAWS,
    seed: int = SEED,
    options: SamplerOptions | None = None,
    cache: DiskCache | str | Path | None = None,
) -> pd.DataFrame:
    """Paired start-end change of each behaviour, within period and between periods.

    McNemar's test asks only whether b (yes -> no) equals c (no -> yes) within one group; here
    the posterior of the change ``p_end - p_start`` is given per period and pooled, with
    P(decrease), and the difference of the changes between periods (II - I) with P(Period II
    worse), i.e. P(change_II > change_I): a smaller decrease (or an increase) in Period II.

    Parameters
    ----------
    data : pandas.DataFrame
        Register in long format; patients with both a start and an end indicator are paired
        (the others are counted in ``n_no_end_data``).
    concentration : float, default 0.5
        Dirichlet(c, c, c, c) prior on the four paired cells; 0.5 makes each margin
        (``p_start``, ``p_end``) uniform, Beta(1, 1), a priori.
    models : sequence of {"dirichlet", "glmm", "glmm_bambi"}, default ("dirichlet", "glmm")
        ``"dirichlet"``: exact Dirichlet-multinomial of the paired table (no sampling).
        ``"glmm"``: the Bernoulli GLMM ``y ~ 0 + behaviour:period:time + (0 + behaviour |
        patient_id)`` fitted on its marginal likelihood (:func:`glmm_pattern_model`; PyMC,
        nutpie, ten parameters, a few seconds). ``"glmm_bambi"``: the same model in Bambi with
        every patient's intercept sampled (a cross-check; slower, and its intercept SD mixes
        poorly with two binary observations per patient). Both GLMMs report population-averaged
        probabilities (the random intercept integrated out by quadrature).
    logit_prior : (float, float), default (0, 1.5)
        Normal prior of each cell log-odds in the GLMM.
    re_prior_sd : float, default 1.5
        HalfNormal scale of each behaviour's patient-intercept SD in the GLMM.
    ci_prob, n_draws, seed, options, cache
        As in :func:`mbtbayes.remission_table` (``options`` and ``cache`` for the GLMMs).

    Returns
    -------
    pandas.DataFrame
        One row per behaviour x period (I, II, pooled) x model: ``behaviour``, ``period``,
        ``model``, ``n_pairs``, ``n_no_end_data``, ``n_yes_yes``, ``n_yes_no``, ``n_no_yes``,
        ``n_no_no``, ``p_start_mean``, ``p_end_mean``, ``change_mean``, ``change_hdi_low``,
        ``change_hdi_high``, ``prob_decrease``, ``change_diff_mean``, ``change_diff_hdi_low``,
        ``change_diff_hdi_high``, ``prob_ii_worse``, ``worse_if``, ``interval``, ``method``,
        ``prior`` and the diagnostics columns (missing for the exact model).

    Examples
    --------
    >>> import mbtbayes as mb
    >>> t = start_end_change(mb.load_register().data, models=("dirichlet",))
    >>> bool((t["prob_decrease"] > 0.99).all())
    True
    """
    check_models(models, CHANGE_MODELS)
    if not concentration > 0:
        raise SpecError(f"concentration must be positive, got {concentration}.")
    sampling = Sampler(options or SamplerOptions(), DiskCache.open(cache))
    counts = paired_counts(data)
    parts = []
    if "dirichlet" in models:
        parts.append(_dirichlet_rows(counts, concentration=concentration, ci_prob=ci_prob,
                                     n_draws=n_draws,
                                     seed=seed_for(seed, "start_end_change", "dirichlet")))
    if "glmm" in models:
        parts.append(_glmm_rows(counts, logit_prior=logit_prior, re_prior_sd=re_prior_sd,
                                ci_prob=ci_prob, sampling=sampling, seed=seed))
    if "glmm_bambi" in models:
        parts.append(_glmm_bambi_rows(data, counts, logit_prior=logit_prior,
                                      re_prior_sd=re_prior_sd, ci_prob=ci_prob,
                                      sampling=sampling, seed=seed))
    table = counts.merge(pd.concat(parts, ignore_index=True), on=["behaviour", "period"])
    table["worse_if"] = ("smaller decrease in Period II: prob_ii_worse = "
                         "P(change_II > change_I), change = p_end - p_start")
    table["interval"] = interval_label(ci_prob)
    return ordered(table, ["behaviour", "period", "model", "n_pairs", "n_no_end_data", *CELLS,
                            "p_start_mean", "p_end_mean", "change_mean", "change_hdi_low",
                            "change_hdi_high", "prob_decrease", "change_diff_mean",
                            "change_diff_hdi_low", "change_diff_hdi_high", "prob_ii_worse",
                            "worse_if", "interval", "method", "prior"], models)

