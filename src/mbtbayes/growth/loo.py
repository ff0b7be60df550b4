"""Leave-one-patient-out model comparison on the marginal likelihood.

Pointwise PSIS-LOO on the conditional likelihood is unreliable for growth models with a random
intercept and slope per patient and 1-7 observations each (many Pareto k > 0.7). Here each
patient's random effects are integrated out analytically, which is exact for the Gaussian model:

    y_i ~ MVN(X_i b, Z_i G Z_i' + sigma^2 I),  Z_i = [1, t_i],

and PSIS-LOO leaves out one *patient* at a time on that marginal log-likelihood. With
``M = sigma^2 I + Z_i'Z_i G`` (2 x 2), the density needs no n_i x n_i algebra:
``log det V = (n_i - 2) log sigma^2 + log det M`` and
``r'V^-1 r = (r'r - u'G M^-1 u) / sigma^2`` with ``u = Z_i'r`` (push-through identity), so
per-patient sums of squares suffice. The estimand is
the expected log predictive density for a new patient of the same population
(``loo_method = "psis_marginal_patient"``).

Examples
--------
>>> import numpy as np
>>> ll = marginal_loglik(y=np.array([1.0, 1.5]), X=np.array([[1, 0.0], [1, 6.0]]),
...                      time=np.array([0.0, 6.0]), group=np.array([0, 0]),
...                      beta=np.array([[1.0, 0.05]]), sd_intercept=np.array([0.5]),
...                      sd_slope=np.array([0.02]), sigma=np.array([0.3]))
>>> ll.shape
(1, 1)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from mbtbayes.core.arviz_api import psis_loo as _psis
from mbtbayes.core.errors import DataError
from mbtbayes.core.sampling import Diagnostics
from mbtbayes.core.seeds import seed_for
from mbtbayes.growth.patients import chunks
from mbtbayes.growth.result import GrowthFit

LOG_2PI = float(np.log(2 * np.pi))


def marginal_loglik(
    *,
    y: np.ndarray,
    X: np.ndarray,
    time: np.ndarray,
    group: np.ndarray,
    beta: np.ndarray,
    sd_intercept: np.ndarray,
    sd_slope: np.ndarray,
    sigma: np.ndarray,
    corr: np.ndarray | None = None,
    n_groups: int | None = None,
) -> np.ndarray:
    """Per-patient marginal log-likelihood for every posterior draw.

    Parameters
    ----------
    y : (n,) array
        Observed outcome.
    X : (n, p) array
        Fixed-effects design matrix.
    time : (n,) array
        Time of each observation (the random-slope covariate).
    group : (n,) int array
        Patient index 0..G-1 of each observation.
    beta : (S, p) array
        Fixed effects per draw.
    sd_intercept, sd_slope, sigma : (S,) arrays
        Random-intercept SD, random-slope SD and residual SD per draw.
    corr : (S,) array, optional
        Intercept-slope correlation per draw (zero when omitted).
    n_groups : int, optional
        Number of patients (default: ``group.max() + 1``).

    Returns
    -------
    (S, G) array
        log p(y_i | b, G, sigma) for draw s and patient i; patients with no observation get 0.
    """
    n_groups = int(group.max()) + 1 if n_groups is None else n_groups
    corr = np.zeros(beta.shape[0]) if corr is None else corr
    stats = patient_sums(y, X, time, group, n_groups)
    out = np.empty((beta.shape[0], n_groups))
    for s in chunks(beta.shape[0], 4 * n_groups):  # memory bounded at register scale
        out[s] = _marginal_chunk(stats, beta[s], sd_intercept[s], sd_slope[s], sigma[s],
                                 corr[s])
    return out


def _marginal_chunk(stats: dict, beta: np.ndarray, sd_intercept: np.ndarray, sd_slope: np.ndarray,
                    sigma: np.ndarray, corr: np.ndarray) -> np.ndarray:
    """:func:`marginal_loglik` for some draws, from the patients' sufficient statistics."""
    # Per draw and patient: residual sums r'r and u = Z'r, with r = y - X b.
    xxb = np.tensordot(beta, stats["XX"], axes=([1], [2]))  # (S, G, p): X'X b per patient
    rr = (stats["yy"][None] - 2 * beta @ stats["Xy"].T
          + np.einsum("snj,sj->sn", xxb, beta))
    u = stats["Zy"][None] - np.tensordot(beta, stats["ZX"], axes=([1], [2]))
    # G = [[a, c], [c, b]] per draw; M = s^2 I + Z'Z G per draw and patient, written out
    # element by element (2 x 2): numpy's einsum over these small axes is slow
    a, b, c = (sd_intercept**2)[:, None], (sd_slope**2)[:, None], \
        (corr * sd_intercept * sd_slope)[:, None]
    zz = stats["ZZ"]
    z00, z01, z10, z11 = zz[None, :, 0, 0], zz[None, :, 0, 1], zz[None, :, 1, 0], zz[None, :, 1, 1]
    s2 = (sigma**2)[:, None]
    m00, m01 = s2 + z00 * a + z01 * c, z00 * c + z01 * b
    m10, m11 = z10 * a + z11 * c, s2 + z10 * c + z11 * b
    det = m00 * m11 - m01 * m10
    u0, u1 = u[..., 0], u[..., 1]
    w0, w1 = (m11 * u0 - m01 * u1) / det, (m00 * u1 - m10 * u0) / det  # M^-1 u
    quad = (rr - (u0 * (a * w0 + c * w1) + u1 * (c * w0 + b * w1))) / s2
    k = stats["k"][None]
    logdet = (k - 2) * np.log(s2) + np.log(det)
    return np.where(k > 0, -0.5 * (k * LOG_2PI + logdet + quad), 0.0)


def patient_sums(y: np.ndarray, X: np.ndarray, time: np.ndarray, group: np.ndarray,
                 n_groups: int) -> dict[str, np.ndarray]:
    """Per-patient sufficient statistics of the Gaussian growth model (``Z = [1, time]``).

    Returns
    -------
    dict
        ``k`` (observations), ``yy``, ``Xy``, ``XX``, ``Zy``, ``ZX``, ``ZZ`` per patient.
    """
    Z = np.column_stack([np.ones_like(time), time])

    def total(values: np.ndarray) -> np.ndarray:
        out = np.zeros((n_groups, *values.shape[1:]))
        np.add.at(out, group, values)
        return out

    return {"k": np.bincount(group, minlength=n_groups).astype(float),
            "yy": total(y**2), "Xy": total(X * y[:, None]),
            "XX": total(X[:, :, None] * X[:, None, :]), "Zy": total(Z * y[:, None]),
            "ZX": total(Z[:, :, None] * X[:, None, :]), "ZZ": total(Z[:, :, None] * Z[:, None, :])}


def conditional_loglik(
    *,
    y: np.ndarray,
    mu: np.ndarray,
    sigma: np.ndarray,
) -> np.ndarray:
    """Pointwise Gaussian log-likelihood given the linear predictor of each draw.

    Parameters
    ----------
    y : (n,) array
    mu : (S, n) array
        Linear predictor (fixed plus random effects) per draw.
    sigma : (S,) array

    Returns
    -------
    (S, n) array
    """
    z = (y[None] - mu) / sigma[:, None]
    return -0.5 * (LOG_2PI + z**2) - np.log(sigma)[:, None]


@dataclass(frozen=True)
class LooResult:
    """PSIS-LOO of one fit.

    Attributes
    ----------
    elpd : float
        Expected log predictive density (sum over left-out units).
    se : float
        Its standard error.
    p_loo : float
        Effective number of parameters.
    pointwise : numpy.ndarray
        Per-unit elpd.
    pareto_k : numpy.ndarray
        Per-unit Pareto k diagnostic.
    method : str
        What was left out and on which likelihood.
    """

    elpd: float
    se: float
    p_loo: float
    pointwise: np.ndarray
    pareto_k: np.ndarray
    method: str
    units: tuple[str, ...] = ()
    """Id of each left-out unit (patient), aligned with ``pointwise``."""
    refits_passed: bool | None = None
    """K-fold only: whether every refit passed the diagnostics gate."""

    @property
    def max_k(self) -> float:
        """Largest Pareto k (> 0.7 means the estimate is unreliable)."""
        return float(np.max(self.pareto_k))


def elpd_difference(a: LooResult, b: LooResult) -> tuple[float, float]:
    """ELPD of ``a`` minus that of ``b``, with the paired standard error.

    The pointwise values are paired by unit id when both results carry ids.

    Parameters
    ----------
    a, b : LooResult
        Computed on the same units.

    Returns
    -------
    tuple of float
        ``(elpd_a - elpd_b, sqrt(n * var(pointwise differences)))``.

    Raises
    ------
    DataError
        If the two results were computed on different units.
    """
    if a.units and b.units:
        if set(a.units) != set(b.units):
            raise DataError(f"cannot compare ELPDs over different patients ({len(a.units)} vs "
                            f"{len(b.units)}; {len(set(a.units) ^ set(b.units))} differ)")
        order = {u: i for i, u in enumerate(b.units)}
        b_points = b.pointwise[[order[u] for u in a.units]]
    elif a.pointwise.shape != b.pointwise.shape:
        raise DataError("cannot compare ELPDs over different numbers of units")
    else:
        b_points = b.pointwise
    diff = a.pointwise - b_points
    return float(diff.sum()), float(np.sqrt(diff.size * diff.var(ddof=1)))


def psis_loo(loglik: np.ndarray, *, method: str, units: tuple[str, ...] = ()) -> LooResult:
    """PSIS-LOO over the last axis of a (chains, draws, units) log-likelihood array.

    Parameters
    ----------
    loglik : array
        Log-likelihood per chain, draw and left-out unit (a patient, or an observation).
    method : str
        Names what is left out, for the tables.
    units : tuple of str, optional
        Id of each unit of the last axis.

    Returns
    -------
    LooResult
    """
    elpd, se, p_loo, pointwise, k = _psis(loglik)
    return LooResult(elpd, se, p_loo, pointwise, k, method, tuple(units))


LOO_METHODS = {"marginal": "psis_marginal_patient", "bambi": "psis_marginal_patient_quadrature"}
"""``loo_method`` by engine: leave one patient out by PSIS on the marginal log-likelihood
(patient effects integrated out exactly, or by adaptive Gauss-Hermite quadrature)."""


def patient_loglik(fit: GrowthFit) -> np.ndarray:
    """A fit's per-patient marginal log-likelihood, ``(chains, draws, patients with data)``."""
    return fit.idata.log_likelihood[fit.spec.measure].values


def observed_patients(fit: GrowthFit) -> tuple[str, ...]:
    """Ids of the patients with at least one observation in the fit, in design order."""
    return tuple(fit.design.groups[i] for i in fit.design.observed)


def patient_loo(fit: GrowthFit) -> LooResult:
    """Leave-one-patient-out PSIS-LOO on a fit's marginal log-likelihood."""
    return psis_loo(patient_loglik(fit), method=LOO_METHODS[fit.engine],
                    units=observed_patients(fit))


def patient_folds(patients: Sequence[str], *, k: int, seed: int, measure: str) -> list[np.ndarray]:
    """The K-fold assignment of patients: one per measure and run seed, whichever model.

    Each patient's place comes from a hash of the run seed, the measure and the patient's id
    (:func:`mbtbayes.core.seeds.seed_for`), so every model of a measure compared by K-fold (the
    linear and period models, and the sensitivity suite's alternatives) leaves out the same
    patients in each fold; a patient absent from one model does not move the others.

    Parameters
    ----------
    patients : sequence of str
        Ids of the patients with data.
    k : int
        Number of folds.
    seed : int
        The run seed.
    measure : str
        The measure (not the spec's name: alternatives of one measure share the folds).

    Returns
    -------
    list of numpy.ndarray
        ``k`` arrays of patient ids, of sizes differing by at most one.

    Examples
    --------
    >>> folds = patient_folds(["a", "b", "c", "d", "e"], k=2, seed=1, measure="bsi")
    >>> sorted(len(f) for f in folds)
    [2, 3]
    """
    ids = np.asarray([str(p) for p in patients])
    keys = np.array([seed_for(seed, measure, "kfold-folds", p) for p in ids], dtype=np.int64)
    return np.array_split(ids[np.lexsort((ids, keys))], k)


class HeldOut(Protocol):
    """What K-fold asks of the run's engines (:class:`~mbtbayes.growth.engines.Engines`): a
    refit without some patients."""

    def heldout_loglik(self, fit: GrowthFit, held: np.ndarray, *,
                       seed: int) -> tuple[np.ndarray, Diagnostics]:
        """The held-out patients' log-likelihood per draw and the refit's diagnostics."""


def kfold_patients(fit: GrowthFit, *, engines: HeldOut, k: int = 10, seed: int,
                   log: Callable[[str], None] | None = None) -> LooResult:
    """Grouped K-fold cross-validation by patient on the marginal likelihood.

    Patients are split into ``k`` folds (:func:`patient_folds`: the same folds for every model
    of the measure); each fold is left out in turn, the model is refitted on the others by the
    fit's engine (one compiled graph per spec and variant, behind the diagnostics gate, each
    refit seeded by the run seed and its fold), and the left-out patients' marginal log
    predictive density is averaged over the refit's draws. The fallback when PSIS-LOO's Pareto
    k is too high.

    Parameters
    ----------
    fit : mbtbayes.growth.result.GrowthFit
    engines : Engines
        The run's engines (anything with ``heldout_loglik(fit, held, seed=...)``).
    k : int
    seed : int
        The run seed.
    log : callable, optional
        Receives one line per refit.

    Returns
    -------
    LooResult
        ``method = "kfold_<what>_patient_<k>"``; ``p_loo`` is NaN and ``pareto_k`` zero;
        ``refits_passed`` says whether every refit passed the gate.
    """
    from scipy.special import logsumexp

    design, name = fit.design, (fit.spec.name, fit.variant)
    observed = design.observed
    index = {str(design.groups[i]): i for i in observed}
    folds = [np.array([index[p] for p in fold], dtype=int)
             for fold in patient_folds(list(index), k=k, seed=seed, measure=fit.spec.measure)]
    elpd, passed = np.zeros(len(design.groups)), []
    for i, fold in enumerate(folds):
        ll, diag = engines.heldout_loglik(fit, fold, seed=seed_for(seed, *name, "kfold", i))
        passed.append(diag.passed)
        if log is not None:
            log(f"K-fold {'/'.join(name)} fold {i + 1}/{k}: "
                + ("passed" if diag.passed else f"FAILED the gate ({diag.reason})"))
        elpd[fold] = logsumexp(ll, axis=0) - np.log(ll.shape[0])
    pointwise = elpd[observed]
    se = float(np.sqrt(pointwise.size * pointwise.var(ddof=1)))
    what = LOO_METHODS[fit.engine].removeprefix("psis_").replace("_patient", "")
    return LooResult(float(pointwise.sum()), se, float("nan"), pointwise,
                     np.zeros_like(pointwise), f"kfold_{what}_patient_{k}",
                     tuple(design.groups[i] for i in observed), all(passed))
