"""Simulation-based calibration of the joint growth model on this study's design.

What is calibrated: the joint model of several outcomes (:mod:`mbtbayes.growth.joint.model`,
patient effects integrated out, sampled through :func:`mbtbayes.growth.joint.fit.sample_joint`
with the default priors of :func:`~mbtbayes.growth.joint.model.default_priors`). Each
replicate draws every parameter from those priors, in model units (1 = one baseline SD):
per outcome an intercept and a slope; the period terms partially pooled across outcomes,
``delta[o] = mu + tau z[o]`` with ``mu ~ N(0, mu_sd)``, ``tau ~ HalfNormal(tau_sd)``, ``z ~
N(0, 1)`` (the implied prior of the model's split parameterisation); patient intercepts and
slopes of all outcomes ``~ MVN(0, G)`` and residuals at a visit ``~ MVN(0, R)``, each with
HalfNormal SDs and an LKJ(2) correlation (:func:`lkj_corr`). It simulates every observed cell
of the register's design (its patients, visit times, periods and missing values, by the
joint data's mask), fits the joint model to it, and records the rank of the true pooled period
effects (``mu_int``, ``mu_slope``), between-outcome SDs (``tau_int``, ``tau_slope``), the
per-outcome period terms, intercepts, slopes and patient and residual SDs among
:data:`~mbtbayes.sensitivity.calibration.RANK_DRAWS` thinned draws, and whether the 90% HDI
of each period contrast (per outcome: intercept, slope, 24 months; and the pooled effects)
covers its true value. The correlations are simulated but not ranked.

Examples
--------
>>> import numpy as np
>>> corr = lkj_corr(4, 2.0, np.random.default_rng(1))
>>> bool(np.allclose(corr, corr.T)) and bool(np.all(np.linalg.eigvalsh(corr) > 0))
True
>>> import mbtbayes as mb
>>> ranks, summary = sbc_joint(mb.load_register().data, replicates=10)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from mbtbayes.core.defaults import SEED
from mbtbayes.core.errors import SpecError
from mbtbayes.core.execute import chunked, executor_for
from mbtbayes.core.sampling import Sampler, SamplerOptions
from mbtbayes.core.seeds import seed_for
from mbtbayes.growth.joint.data import JointData, prepare
from mbtbayes.growth.joint.fit import JointFit, sample_joint
from mbtbayes.growth.joint.model import LKJ_ETA, default_priors
from mbtbayes.sensitivity.calibration import covered, rank_among, sbc_summary

SBC_OUTCOMES: tuple[str, ...] = ("bsi", "wsas", "gaf")
"""The default outcome set of the joint calibration (a smaller set than the run's four)."""


@dataclass(frozen=True)
class JointJob:
    """A chunk of replicates for one worker (plain data, picklable)."""

    data: JointData
    replicates: tuple[int, ...]
    seed: int
    options: SamplerOptions
    later: float


def lkj_corr(n: int, eta: float, rng: np.random.Generator) -> np.ndarray:
    """A correlation matrix from LKJ(eta) by the C-vine method (Lewandowski, Kurowicka and
    Joe 2009, section 2.4): partial correlations ``Beta(b, b)`` on (-1, 1), ``b`` falling by
    a half per level of the vine from ``eta + (n - 1) / 2``."""
    partial, corr = np.zeros((n, n)), np.eye(n)
    b = eta + (n - 1) / 2
    for k in range(n - 1):
        b -= 0.5
        for i in range(k + 1, n):
            partial[k, i] = 2 * rng.beta(b, b) - 1
            p = partial[k, i]
            for m in range(k - 1, -1, -1):
                p = p * np.sqrt((1 - partial[m, i] ** 2) * (1 - partial[m, k] ** 2)) + \
                    partial[m, i] * partial[m, k]
            corr[k, i] = corr[i, k] = p
    return corr


def joint_prior_draw(priors: dict[str, np.ndarray], n_out: int,
                     rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One draw of every parameter of the pooled joint model from its priors."""
    truth = {"intercept": rng.normal(priors["b0_mu"], priors["b0_sd"]),
             "slope": rng.normal(priors["b1_mu"], priors["b1_sd"])}
    for name in ("int", "slope"):
        mu = rng.normal(0.0, float(priors[f"mu_{name}_sd"]))
        tau = abs(rng.normal(0.0, float(priors[f"tau_{name}_sd"])))
        truth |= {f"mu_{name}": mu, f"tau_{name}": tau,
                  f"delta_{name}": mu + tau * rng.normal(0.0, 1.0, n_out)}
    truth["patient_stds"] = np.abs(rng.normal(0.0, priors["u_sd"]))
    truth["patient_corr"] = lkj_corr(2 * n_out, LKJ_ETA, rng)
    truth["resid_stds"] = np.abs(rng.normal(0.0, priors["e_sd"]))
    truth["resid_corr"] = lkj_corr(n_out, LKJ_ETA, rng)
    return truth


def simulate_joint(jd: JointData, truth: dict[str, np.ndarray],
                   rng: np.random.Generator) -> np.ndarray:
    """Outcomes in model units on the joint data's design, ``(N, V, O)``, 0 where not
    observed: ``b0 + b1 t + P (delta_int + delta_slope t) + u + v t + e`` with ``(u, v) ~
    MVN(0, G)`` per patient and ``e ~ MVN(0, R)`` per visit."""
    n, v, o = jd.y.shape
    t = jd.time[..., None]
    G = _covariance(truth["patient_stds"], truth["patient_corr"])
    R = _covariance(truth["resid_stds"], truth["resid_corr"])
    effects = rng.multivariate_normal(np.zeros(2 * o), G, size=n)[:, None, :]
    mean = (truth["intercept"] + truth["slope"] * t
            + jd.period[:, None, None] * (truth["delta_int"] + truth["delta_slope"] * t)
            + effects[..., :o] + effects[..., o:] * t)
    return jd.mask * (mean + rng.multivariate_normal(np.zeros(o), R, size=(n, v)))


def _covariance(sds: np.ndarray, corr: np.ndarray) -> np.ndarray:
    return sds[:, None] * corr * sds[None, :]


def joint_rows(fit: JointFit, truth: dict, replicate: int, later: float) -> list[dict]:
    """One row per ranked parameter (and per contrast at ``later`` months, coverage only)."""
    passed, rows = fit.diagnostics.passed, []

    def row(name: str, draws: np.ndarray, value: float, contrast: str | None,
            ranked: bool = True) -> None:
        rows.append({"replicate": replicate, "parameter": name,
                     "rank": rank_among(draws, value) if ranked else None,
                     "contrast": contrast,
                     "covered": covered(draws, value) if contrast else None, "passed": passed})

    for name in ("mu_int", "mu_slope", "tau_int", "tau_slope"):
        row(name, fit.draws(name), float(truth[name]),
            {"mu_int": "pooled intercept", "mu_slope": "pooled slope"}.get(name))
    contrast = {"delta_int": "intercept", "delta_slope": "slope"}
    for name in ("delta_int", "delta_slope", "intercept", "slope", "resid_stds",
                 "patient_stds"):
        draws = fit.draws(name)
        labels = fit.outcomes if draws.shape[1] == len(fit.outcomes) else \
            [f"{k}_{o}" for k in ("int", "slope") for o in fit.outcomes]
        for i, label in enumerate(labels):
            row(f"{name}[{label}]", draws[:, i], float(truth[name][i]), contrast.get(name))
    at = fit.draws("delta_int") + later * fit.draws("delta_slope")
    for i, outcome in enumerate(fit.outcomes):
        row(f"at_{later:g}[{outcome}]", at[:, i],
            float(truth["delta_int"][i] + later * truth["delta_slope"][i]), f"at_{later:g}",
            ranked=False)
    return rows


def run_joint_chunk(job: JointJob) -> list[dict]:
    """Run a chunk of replicates with one sampler (one compiled graph per process)."""
    sampling, outcomes = Sampler(job.options), job.data.outcomes
    priors = default_priors(len(outcomes))
    rows = []
    for r in job.replicates:
        rng = np.random.default_rng(seed_for(job.seed, "sbc-joint", *outcomes, r))
        truth = joint_prior_draw(priors, len(outcomes), rng)
        simulated = replace(job.data, y=simulate_joint(job.data, truth, rng))
        fit = sample_joint(simulated, sampling=sampling, variant="period", priors=priors,
                           seed=seed_for(job.seed, "sbc-joint-fit", *outcomes, r), gate=False)
        rows += joint_rows(fit, truth, r, job.later)
    return rows


def sbc_joint(
    data: pd.DataFrame,
    *,
    outcomes: tuple[str, ...] = SBC_OUTCOMES,
    replicates: int = 200,
    seed: int = SEED,
    options: SamplerOptions | None = None,
    scheduler: str | None = None,
    later: float = 24.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulation-based calibration of the pooled joint model on the data's design.

    Parameters
    ----------
    data : pandas.DataFrame
        The register (long format): its patients, visit times, periods and missing values
        set the design.
    outcomes : tuple of str
        At least two outcomes (the period terms are pooled across them).
    replicates : int
    seed : int
        Run seed; each replicate's seed derives from it by number.
    options : SamplerOptions, optional
        Default: nutpie, 2 chains x 500 draws (500 tuning). Fits are not refitted by the
        gate's retry; a replicate that fails the gate is counted (``failed_gate``).
    scheduler : str, optional
        Executor; one chunk of replicates (and one compile) per worker.
    later : float
        Month of the third contrast (default 24).

    Returns
    -------
    tuple of DataFrame
        ``ranks`` and ``summary`` as :func:`mbtbayes.sensitivity.calibration.sbc` gives them,
        with an ``engine`` column (``joint``).

    Raises
    ------
    SpecError
        With fewer than two outcomes.
    """
    if isinstance(outcomes, str) or len(outcomes) < 2:
        raise SpecError(f"the joint calibration needs two or more outcomes, got {outcomes!r}")
    options = options or SamplerOptions(draws=500, tune=500, chains=2)
    jd = prepare(data, outcomes=tuple(outcomes))
    with executor_for(scheduler) as executor:
        jobs = [JointJob(jd, part, seed, options, later)
                for part in chunked(list(range(replicates)), executor.workers)]
        rows = [row for chunk in executor.map(run_joint_chunk, jobs) for row in chunk]
    ranks = pd.DataFrame(rows).assign(engine="joint")
    return ranks, sbc_summary(ranks).assign(engine="joint")
