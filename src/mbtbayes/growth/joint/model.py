"""The joint growth model of several outcomes as a PyMC graph, patient effects integrated out.

In model units (:mod:`mbtbayes.growth.joint.data`: baseline-standardised, higher = better), for
patient i at ``t`` months, with ``P_i = 1`` in the second period::

    z_io(t) = b0[o] + b1[o] t + P_i (delta_int[o] + delta_slope[o] t) + u_io + v_io t + e_io(t)

* period terms partially pooled across outcomes: ``delta_int[o] ~ N(mu_int, tau_int)``,
  ``delta_slope[o] ~ N(mu_slope, tau_slope)``; ``mu`` is the pooled period effect and ``tau``
  the between-outcome SD (HalfNormal prior); see :data:`PARAMETERISATIONS`;
* patient effects ``(u_i1..u_iO, v_i1..v_iO) ~ MVN(0, G)``, G (2O x 2O): HalfNormal SDs and an
  LKJ(2) correlation (canonical partial correlations, as in Stan);
* residuals at one visit ``e_i(t) ~ MVN(0, R)``, R (O x O) likewise; independent across visits.

The patient effects are integrated out: patient i's observed values, stacked over visits and
outcomes, are ``MVN(X_i beta, Z_i G Z_i' + R_i)``; the density and its gradient come from one
numba kernel call (:mod:`mbtbayes.growth.joint.ops`). Missing values contribute nothing. Every
prior value is a ``pm.Data`` container, and so is the data: one compiled graph serves any data
with the same outcomes.

Examples
--------
>>> sorted(default_priors(2))[:4]
['b0_mu', 'b0_sd', 'b1_mu', 'b1_sd']
>>> bool(np.allclose(contrasts(3).T @ contrasts(3), np.eye(2)))  # orthonormal
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pymc as pm
    from pytensor.tensor.variable import TensorVariable

LKJ_ETA = 2.0
"""LKJ shape of both correlation matrices (mildly favours small correlations)."""

PARAMETERISATIONS = ("split", "noncentred")
"""How ``delta[o] ~ N(mu, tau)`` is sampled (the same model either way).

``noncentred``: ``delta = mu + tau z``, ``z ~ N(0, I)``. ``split`` (default): ``z`` is split into
its mean ``zbar ~ N(0, 1/O)`` and orthonormal contrasts ``w ~ N(0, I_{O-1})``, ``z = zbar + H
w``; the sampled location is the mean of the outcome effects, ``mean = mu + tau zbar`` (flat,
with the ``N(0, s)`` prior of ``mu = mean - tau zbar`` as a potential; unit Jacobian), so
``delta = mean + tau H w``. The data pin ``mean`` directly, which removes the posterior
correlation of ``mu`` with every ``z``: on the bundled register the non-centred form had 4-13
divergences and failed the gate, the split form passed it with none (prototype runs, seeds 1
and 2, target_accept 0.8 and 0.9)."""

TAU_PRIOR_KEYS = ("tau_int_sd", "tau_slope_sd")
"""Prior keys of the HalfNormal scales of the between-outcome SDs (scale both to widen or
narrow the pooling prior through ``fit_joint(priors=...)``)."""


def default_priors(n_out: int) -> dict[str, np.ndarray]:
    """Weakly informative priors in model units (1 = one baseline SD), time in months.

    Returns
    -------
    dict
        Normal location/scale of the intercepts and slopes (``b0_mu``, ``b0_sd``, ``b1_mu``,
        ``b1_sd``: N(0, 1) and N(0, 0.1 per month)); Normal scales of the pooled period effects
        (``mu_int_sd`` 0.5, ``mu_slope_sd`` 0.025) and HalfNormal scales of the between-outcome
        SDs (``tau_int_sd`` 0.25, ``tau_slope_sd`` 0.0125); Normal priors of unpooled period
        terms (``dint_*``, ``dslope_*``; ``pooled=False``); HalfNormal scales of the patient
        intercept and slope SDs (``u_sd``: 1 and 0.05, length 2O) and of the residual SDs
        (``e_sd``: 1).
    """
    ones, zeros = np.ones(n_out), np.zeros(n_out)
    return {"b0_mu": zeros, "b0_sd": 1.0 * ones, "b1_mu": zeros, "b1_sd": 0.1 * ones,
            "mu_int_sd": np.array(0.5), "tau_int_sd": np.array(0.25),
            "mu_slope_sd": np.array(0.025), "tau_slope_sd": np.array(0.0125),
            "dint_mu": zeros, "dint_sd": 0.5 * ones, "dslope_mu": zeros,
            "dslope_sd": 0.025 * ones, "u_sd": np.concatenate([ones, 0.05 * ones]),
            "e_sd": 1.0 * ones}


def residuals(d: dict, b0: np.ndarray | TensorVariable, b1: np.ndarray | TensorVariable,
              delta_int: np.ndarray | TensorVariable,
              delta_slope: np.ndarray | TensorVariable) -> np.ndarray | TensorVariable:
    """Masked residuals ``mask * (y - mean)``, (N, V, O); tensors or arrays."""
    t = d["time"][..., None]
    p = d["period"][:, None, None]
    mean = b0 + b1 * t + p * (delta_int + delta_slope * t)
    return d["mask"] * (d["y"] - mean)


def build_model(values: dict[str, np.ndarray], *, outcomes: tuple[str, ...], pooled: bool = True,
                parameterisation: str = "split") -> pm.Model:
    """The joint growth model (a ``pymc.Model``) with patient effects integrated out.

    Parameters
    ----------
    values : dict
        Every data container: the arrays of :meth:`JointData.arrays` and the priors of
        :func:`default_priors`.
    outcomes : tuple of str
    pooled : bool
        Partially pool the period terms across outcomes; otherwise independent Normal priors
        (``dint_*``, ``dslope_*``; one outcome is always unpooled).
    parameterisation : str
        One of :data:`PARAMETERISATIONS`.

    Returns
    -------
    pymc.Model
        Free: ``intercept``, ``slope``, the period terms, ``patient_stds``, ``patient_cpc``,
        ``resid_stds``, ``resid_cpc`` (``resid_sd`` for one outcome). Deterministic:
        ``delta_int``, ``delta_slope``, ``mu_*``, ``patient_corr``, ``resid_corr``.
    """
    import pymc as pm

    from mbtbayes.growth.joint.ops import marginal_loglik_sum_op  # PyTensor Ops: on first use

    n_out = len(outcomes)
    with pm.Model(coords={"outcome": list(outcomes)}) as model:
        d = {k: pm.Data(k, v) for k, v in values.items()}
        b0 = pm.Normal("intercept", d["b0_mu"], d["b0_sd"], dims="outcome")
        b1 = pm.Normal("slope", d["b1_mu"], d["b1_sd"], dims="outcome")
        delta_int, delta_slope = period_terms(d, n_out, pooled and n_out > 1, parameterisation)
        chol_g = chol_cov("patient", 2 * n_out, d["u_sd"], 0.5 * values["u_sd"])
        chol_r = chol_cov("resid", n_out, d["e_sd"], 0.5 * values["e_sd"])
        r = residuals(d, b0, b1, delta_int, delta_slope)
        pm.Potential("marginal_loglik",
                     marginal_loglik_sum_op(r, d["code"], d["time"], chol_g, chol_r))
    return model


def period_terms(d: dict, n_out: int, pooled: bool,
                 parameterisation: str = "split") -> tuple[TensorVariable, TensorVariable]:
    """Period II - I differences of intercept and slope per outcome: ``(delta_int,
    delta_slope)``."""
    import pymc as pm

    if not pooled:
        return (pm.Normal("delta_int", d["dint_mu"], d["dint_sd"], dims="outcome"),
                pm.Normal("delta_slope", d["dslope_mu"], d["dslope_sd"], dims="outcome"))
    terms = []
    for name in ("int", "slope"):
        tau = pm.HalfNormal(f"tau_{name}", d[f"tau_{name}_sd"])
        if parameterisation == "noncentred":
            mu = pm.Normal(f"mu_{name}", 0.0, d[f"mu_{name}_sd"])
            z = pm.Normal(f"z_{name}", 0.0, 1.0, dims="outcome")
            terms.append(pm.Deterministic(f"delta_{name}", mu + tau * z, dims="outcome"))
            continue
        zbar = pm.Normal(f"zbar_{name}", 0.0, 1.0 / np.sqrt(n_out))
        w = pm.Normal(f"w_{name}", 0.0, 1.0, shape=n_out - 1)
        mean = pm.Flat(f"mean_{name}")
        mu = pm.Deterministic(f"mu_{name}", mean - tau * zbar)
        pm.Potential(f"mu_{name}_prior", pm.logp(pm.Normal.dist(0.0, d[f"mu_{name}_sd"]), mu))
        terms.append(pm.Deterministic(f"delta_{name}", mean + tau * (contrasts(n_out) @ w),
                                      dims="outcome"))
    return tuple(terms)


def contrasts(n: int) -> np.ndarray:
    """An (n, n - 1) orthonormal basis of the vectors that sum to zero (Helmert)."""
    from scipy.linalg import helmert

    return helmert(n).T


def chol_cov(name: str, n: int, sd_scale: np.ndarray | TensorVariable,
             start_sd: np.ndarray) -> TensorVariable:
    """Lower Cholesky factor of a covariance with HalfNormal SDs and LKJ(eta) correlations.

    SDs and correlations are sampled separately (``{name}_stds``, ``{name}_cpc``), the
    correlation factor from canonical partial correlations (:func:`lkj_cholesky_cpc`); stored
    ``{name}_corr``. For n = 1 it is the SD (``{name}_sd``) as a 1 x 1 factor. ``start_sd`` is
    the initial value of the SDs, so that no initial point is drawn from a prior (which fails
    under nutpie: its data arrays are read-only).
    """
    import pymc as pm

    if n == 1:
        return pm.HalfNormal(f"{name}_sd", sd_scale, shape=1, initval=start_sd).reshape((1, 1))
    stds = pm.HalfNormal(f"{name}_stds", sd_scale, shape=n, initval=start_sd)
    raw = pm.Flat(f"{name}_cpc", shape=n * (n - 1) // 2)
    chol_corr, logp = lkj_cholesky_cpc(raw, n, LKJ_ETA)
    pm.Potential(f"{name}_lkj", logp)
    pm.Deterministic(f"{name}_corr", chol_corr @ chol_corr.T)
    return stds[:, None] * chol_corr


def lkj_cholesky_cpc(raw: TensorVariable, n: int,
                     eta: float) -> tuple[TensorVariable, TensorVariable]:
    """Cholesky factor of a correlation matrix from ``n (n - 1) / 2`` unconstrained values.

    The canonical partial correlations ``z = tanh(raw)`` fill the strict lower triangle row by
    row (Stan's ``cholesky_corr_constrain``). Since ``1 - sum_{k<j} L_ik^2 = prod_{k<j}
    (1 - z_ik^2)``, ``L_ij = z_ij exp(c_ij)`` and ``L_ii = exp(c_ii)`` with the exclusive
    row-wise cumulative sum ``c_ij = sum_{k<j} log(1 - z_ik^2) / 2``. The log density of
    ``raw`` is the LKJ(eta) density of the factor, ``sum_i (n - i + 2 eta - 3) log L_ii``,
    plus the log Jacobian ``sum log(1 - z^2) + sum_{j<i} c_ij``. ``raw = 0`` gives the
    identity.

    Returns
    -------
    tuple
        ``(L (n, n) tensor, log density scalar tensor)``.
    """
    import pytensor.tensor as pt

    z = pt.tanh(raw)
    rows, cols = np.tril_indices(n, -1)
    Z = pt.zeros((n, n))[rows, cols].set(z)
    s = 0.5 * pt.log1p(-(Z**2))
    c = pt.cumsum(s, axis=1) - s
    weight = n - np.arange(n) + 2 * eta - 3.0
    logp = (pt.log1p(-(z**2)).sum() + c[rows, cols].sum()
            + (weight[1:] * pt.diagonal(c)[1:]).sum())
    return (Z + pt.eye(n)) * pt.exp(c), logp
