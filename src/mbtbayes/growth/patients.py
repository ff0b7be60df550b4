"""Patient effects given the population-level parameters: their conditional distribution,
draws from it, the per-patient marginal log-likelihood by adaptive Gauss-Hermite quadrature,
and posterior predictive draws.

For a patient with rows ``Z`` (patient-effect columns), residuals ``r = y - X b`` and
observation weights ``w = 1 / sigma^2``, the patient effects ``u ~ N(0, G)`` have the
conditional normal ``u | y ~ N(C Z'W r, C)`` with ``C = (Z'WZ + G^-1)^-1``: exact for the
Gaussian family (the marginal engine draws its patient effects from it), and the centre and
scale of the quadrature for the Student-t family (found by iteratively reweighted least
squares). The integral ``p(y_i | b, G, sigma) = int p(y_i | u) N(u; 0, G) du`` is computed by
adaptive Gauss-Hermite quadrature around that normal; for the Gaussian family one node is
exact (the Laplace approximation of a Gaussian integrand).

Examples
--------
>>> import numpy as np
>>> d = Draws(beta=np.array([[1.0]]), sds=np.array([[0.5]]), sigma=np.array([0.3]))
>>> ll = quadrature_loglik(d, y=np.array([1.2, 0.9]), X=np.ones((2, 1)), Z=np.ones((2, 1)),
...                        group=np.array([0, 0]), n_groups=1, family="gaussian")
>>> ll.shape
(1, 1)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.special import gammaln

LOG_2PI = float(np.log(2 * np.pi))
NODES = {"gaussian": 1, "t": 9}
"""Quadrature nodes per patient effect: one is exact for the Gaussian family."""
IRLS_STEPS = 8
"""Reweighting steps that find the centre of a Student-t patient's integrand."""
CHUNK = 1000
"""Draws handled at once, at most (bounds memory)."""
ELEMENTS = 4_000_000
"""Elements of a (draws x rows) temporary array, at most (32 MB of float64): draws are handled
in chunks of ``ELEMENTS // rows`` when that is fewer than :data:`CHUNK`, so that a register of
tens of thousands of patients does not need gigabytes per step."""


Pointwise = Callable[[np.ndarray, np.ndarray, "np.ndarray | None"],
                     Callable[[np.ndarray], np.ndarray]]
"""A maker of pointwise log-likelihoods: ``make(y, scale, nu)`` returns ``f(eta)``, the
log-likelihood of each row given its linear predictor (the censored or the recorded-score
likelihood in place of the family's density)."""


def chunks(n_draws: int, width: int) -> list[slice]:
    """Slices of the draws handled at once when each draw needs ``width`` values per array.

    Examples
    --------
    >>> chunks(2500, 660)[:3]
    [slice(0, 1000, None), slice(1000, 2000, None), slice(2000, 2500, None)]
    >>> len(chunks(4000, 66_000))
    67
    """
    size = max(1, min(CHUNK, ELEMENTS // max(1, width)))
    return [slice(start, min(start + size, n_draws)) for start in range(0, n_draws, size)]


@dataclass(frozen=True)
class Draws:
    """Population-level posterior draws of one fit, chains and draws stacked: ``(S, ...)``.

    Attributes
    ----------
    beta : (S, p)
        Fixed effects of the mean.
    sds : (S, d)
        SD of each patient effect.
    sigma : (S,) or None
        Residual SD (scale of the t family); None when it is modelled.
    beta_sigma : (S, q) or None
        Coefficients of the log residual SD (``sigma ~ ...``).
    nu : (S,) or None
        Student-t degrees of freedom.
    corr : (S,) or None
        Correlation of the two patient effects.
    """

    beta: np.ndarray
    sds: np.ndarray
    sigma: np.ndarray | None = None
    beta_sigma: np.ndarray | None = None
    nu: np.ndarray | None = None
    corr: np.ndarray | None = None

    @property
    def family(self) -> str:
        return "gaussian" if self.nu is None else "t"

    def take(self, rows: slice | np.ndarray) -> Draws:
        """Some of the draws."""
        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[rows]
        return Draws(self.beta[rows], self.sds[rows], pick(self.sigma), pick(self.beta_sigma),
                     pick(self.nu), pick(self.corr))

    def scale(self, X_sigma: np.ndarray | None, n: int) -> np.ndarray:
        """Residual SD (t: scale) of each observation, ``(S, n)``."""
        if self.beta_sigma is not None:
            return np.exp(self.beta_sigma @ X_sigma.T)
        return np.repeat(self.sigma[:, None], n, axis=1)

    def covariance(self) -> np.ndarray:
        """Covariance of the patient effects, ``(S, d, d)``."""
        cov = self.sds[:, :, None] * self.sds[:, None, :]
        corr = np.eye(self.sds.shape[1])[None] * np.ones((len(self.sds), 1, 1))
        if self.corr is not None:
            corr[:, 0, 1] = corr[:, 1, 0] = self.corr
        return cov * corr


def indicator(group: np.ndarray, n_groups: int) -> sparse.csr_matrix:
    """Sparse (n, G) matrix: row j has a one in its patient's column."""
    n = len(group)
    return sparse.csr_matrix((np.ones(n), (np.arange(n), group)), shape=(n, n_groups))


def _per_patient(values: np.ndarray, ind: sparse.csr_matrix) -> np.ndarray:
    """Sum ``(S, n)`` values per patient: ``(S, G)``."""
    return np.asarray((ind.T @ values.T).T)


def logpdf(y: np.ndarray, eta: np.ndarray, scale: np.ndarray, nu: np.ndarray | None) -> np.ndarray:
    """Pointwise log-density, Gaussian (``nu`` None) or Student-t, ``(S, n)``."""
    z = (y[None] - eta) / scale
    if nu is None:
        return -0.5 * (LOG_2PI + z**2) - np.log(scale)
    v = nu[:, None]
    return (gammaln((v + 1) / 2) - gammaln(v / 2) - 0.5 * np.log(v * np.pi) - np.log(scale)
            - (v + 1) / 2 * np.log1p(z**2 / v))


def conditional(draws: Draws, *, y: np.ndarray, X: np.ndarray, Z: np.ndarray, group: np.ndarray,
                n_groups: int, X_sigma: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The normal centre and covariance of each patient's effects, per draw.

    Exact (the conditional posterior) for the Gaussian family; for the Student-t family the
    mode and the IRLS curvature there.

    Returns
    -------
    tuple
        ``m`` of shape ``(S, G, d)`` and ``C`` of shape ``(S, G, d, d)``.
    """
    if draws.nu is None and draws.beta_sigma is None:
        return _conditional_from_sums(draws, y=y, X=X, Z=Z, group=group, n_groups=n_groups)
    ind = indicator(group, n_groups)
    S, d = draws.sds.shape
    resid = y[None] - draws.beta @ X.T
    scale = draws.scale(X_sigma, len(y))
    weight = 1 / scale**2
    g_inv = np.linalg.inv(draws.covariance())
    m = np.zeros((S, n_groups, d))
    steps = 1 if draws.nu is None else IRLS_STEPS
    for _ in range(steps):
        wz = weight[:, :, None] * Z[None]
        A = np.stack([np.stack([_per_patient(wz[..., i] * Z[:, j], ind) for j in range(d)], -1)
                      for i in range(d)], -2)
        b = np.stack([_per_patient(wz[..., i] * resid, ind) for i in range(d)], -1)
        C = _inverse(A + g_inv[:, None])
        m = np.einsum("sgij,sgj->sgi", C, b)
        if draws.nu is not None:
            r = resid - np.einsum("nd,snd->sn", Z, m[:, group])
            v = draws.nu[:, None]
            weight = (v + 1) / (v * scale**2 + r**2)
    return m, C


def _conditional_from_sums(draws: Draws, *, y: np.ndarray, X: np.ndarray, Z: np.ndarray,
                           group: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`conditional` when every row of a draw has the same residual SD (Gaussian,
    ``sigma`` not modelled): from each patient's sums ``Z'Z``, ``Z'X``, ``Z'y``, computed
    once, instead of passes over every row for every draw.

    ``C = (Z'Z / sigma^2 + G^-1)^-1`` and ``m = C Z'(y - X b) / sigma^2``.
    """
    ind = indicator(group, n_groups).T  # (G, n)
    ZZ = np.stack([np.asarray(ind @ (Z * Z[:, [j]])) for j in range(Z.shape[1])], -1)
    ZX = np.stack([np.asarray(ind @ (X * Z[:, [j]])) for j in range(Z.shape[1])], 1)
    Zy = np.asarray(ind @ (Z * y[:, None]))
    w = 1 / draws.sigma**2
    C = _inverse(w[:, None, None, None] * ZZ[None]
                 + np.linalg.inv(draws.covariance())[:, None])
    b = w[:, None, None] * (Zy[None] - np.einsum("gjk,sk->sgj", ZX, draws.beta))
    return np.einsum("sgij,sgj->sgi", C, b), C


def _cholesky(C: np.ndarray) -> np.ndarray:
    """Lower Cholesky factors of a stack of covariance matrices (closed form for 2 x 2)."""
    if C.shape[-1] != 2:
        return np.linalg.cholesky(C)
    l00 = np.sqrt(C[..., 0, 0])
    l10 = C[..., 1, 0] / l00
    zero = np.zeros_like(l00)
    return np.stack([np.stack([l00, zero], -1),
                     np.stack([l10, np.sqrt(C[..., 1, 1] - l10**2)], -1)], -2)


def _inverse(A: np.ndarray) -> np.ndarray:
    """Inverses of a stack of small symmetric matrices (closed form for 1 x 1 and 2 x 2)."""
    if A.shape[-1] == 1:
        return 1 / A
    if A.shape[-1] == 2:
        det = A[..., 0, 0] * A[..., 1, 1] - A[..., 0, 1] * A[..., 1, 0]
        adj = np.stack([np.stack([A[..., 1, 1], -A[..., 0, 1]], -1),
                        np.stack([-A[..., 1, 0], A[..., 0, 0]], -1)], -2)
        return adj / det[..., None, None]
    return np.linalg.inv(A)


def draw_effects(draws: Draws, rng: np.random.Generator, *, dtype: type[np.floating] = np.float64,
                 **data: np.ndarray | int | None) -> np.ndarray:
    """Patient effects drawn from their conditional normal, one per draw: ``(S, G, d)``
    (stored as ``dtype``; the marginal engine keeps float32 to halve a register's memory).

    Exact for the Gaussian family (the marginal engine's patient effects).
    """
    out = np.empty((len(draws.beta), data["n_groups"], draws.sds.shape[1]), dtype=dtype)
    if draws.sds.shape[1] == 2 and draws.nu is None and draws.beta_sigma is None:
        _draw_from_sums(draws, rng, out, **data)
        return out
    for rows in chunks(len(draws.beta), len(data["y"]) * draws.sds.shape[1]):
        part = draws.take(rows)
        m, C = conditional(part, **data)
        L = _cholesky(C)
        out[rows] = m + np.einsum("sgij,sgj->sgi", L, rng.standard_normal(m.shape))
    return out


def _draw_from_sums(draws: Draws, rng: np.random.Generator, out: np.ndarray, *, y: np.ndarray,
                    X: np.ndarray, Z: np.ndarray, group: np.ndarray, n_groups: int,
                    **_: object) -> None:
    """:func:`draw_effects` for a Gaussian model with an intercept and a slope per patient:
    the conditional normal of :func:`_conditional_from_sums` and its Cholesky factor written
    out entry by entry over ``(draws, patients)`` arrays (the same numbers, drawn from the
    same stream, without einsum over 2 x 2 axes)."""
    ind = indicator(group, n_groups).T  # (G, n)
    a00, a01, a11 = (np.asarray(ind @ v) for v in (Z[:, 0] ** 2, Z[:, 0] * Z[:, 1], Z[:, 1] ** 2))
    zx0, zx1 = (np.asarray(ind @ (X * Z[:, [j]])) for j in (0, 1))  # (G, p)
    zy0, zy1 = (np.asarray(ind @ (Z[:, j] * y)) for j in (0, 1))
    for rows in chunks(len(draws.beta), n_groups * 2):
        part = draws.take(rows)
        g_inv = np.linalg.inv(part.covariance())
        w = (1 / part.sigma**2)[:, None]
        p00 = w * a00 + g_inv[:, 0, 0, None]
        p01 = w * a01 + g_inv[:, 0, 1, None]
        p11 = w * a11 + g_inv[:, 1, 1, None]
        det = p00 * p11 - p01 * p01
        c00, c01, c11 = p11 / det, -p01 / det, p00 / det
        b0 = w * (zy0 - part.beta @ zx0.T)
        b1 = w * (zy1 - part.beta @ zx1.T)
        noise = rng.standard_normal((len(part.beta), n_groups, 2))
        l00 = np.sqrt(c00)
        l10 = c01 / l00
        out[rows, :, 0] = c00 * b0 + c01 * b1 + l00 * noise[..., 0]
        out[rows, :, 1] = (c01 * b0 + c11 * b1 + l10 * noise[..., 0]
                           + np.sqrt(c11 - l10**2) * noise[..., 1])


def quadrature_loglik(draws: Draws, *, y: np.ndarray, X: np.ndarray, Z: np.ndarray,
                      group: np.ndarray, n_groups: int, X_sigma: np.ndarray | None = None,
                      family: str = "gaussian", nodes: int | None = None,
                      pointwise: Pointwise | None = None) -> np.ndarray:
    """Per-patient log-likelihood with the patient effects integrated out, ``(S, G)``.

    Adaptive Gauss-Hermite quadrature with ``nodes`` points per effect (default
    :data:`NODES`; 9 with another ``pointwise``), centred and scaled by :func:`conditional`.
    Patients without rows get 0. ``pointwise`` replaces the family's density of each row: a
    function ``(y, scale, nu) -> (eta -> (S, n) log-likelihood)``, e.g. the censored
    likelihood (:func:`mbtbayes.growth.censoring.censored_pointwise`).
    """
    nodes = nodes or (NODES[family] if pointwise is None else NODES["t"])
    order = np.argsort(group, kind="stable")  # rows by patient: per-patient sums by reduceat
    data = {"y": y[order], "X": X[order], "Z": Z[order], "group": group[order],
            "n_groups": n_groups, "X_sigma": None if X_sigma is None else X_sigma[order]}
    out = [_quadrature(draws.take(rows), nodes, pointwise=pointwise or _pointwise, **data)
           for rows in chunks(len(draws.beta), len(y) * Z.shape[1])]
    return np.concatenate(out)


def _quadrature(draws: Draws, nodes: int, *, y: np.ndarray, X: np.ndarray, Z: np.ndarray,
                group: np.ndarray, n_groups: int, X_sigma: np.ndarray | None,
                pointwise: Pointwise | None = None) -> np.ndarray:
    """:func:`quadrature_loglik` for rows sorted by patient."""
    m, C = conditional(draws, y=y, X=X, Z=Z, group=group, n_groups=n_groups, X_sigma=X_sigma)
    L = np.linalg.cholesky(C)
    d = m.shape[-1]
    grid, log_w = _nodes(nodes, d)
    present = np.unique(group)
    starts = np.searchsorted(group, present)
    # eta at node z: the centre's eta plus W z, with W = Z L of the row's patient: (S, n, d).
    centre = draws.beta @ X.T + np.einsum("nd,snd->sn", Z, m[:, group])
    W = [np.ascontiguousarray(w) for w in np.moveaxis(
        np.einsum("ni,snij->snj", Z, L[:, group]), -1, 0)]
    row_loglik = (pointwise or _pointwise)(y, draws.scale(X_sigma, len(y)), draws.nu)
    const, a0, a1, A2 = _prior_terms(m, L, draws.covariance())
    best = np.full(m.shape[:2], -np.inf)
    total = np.zeros(m.shape[:2])
    for point, lw in zip(grid, log_w, strict=True):  # a running log-sum-exp over the nodes
        term = np.zeros(m.shape[:2])
        eta = centre + sum(wj * zj for wj, zj in zip(W, point, strict=True))
        term[:, present] = np.add.reduceat(row_loglik(eta), starts, axis=1)
        quad = a0 + sum(a1[..., i] * point[i] + sum(A2[..., i, j] * point[i] * point[j]
                                                   for j in range(d)) for i in range(d))
        term += lw - 0.5 * quad
        new = np.maximum(best, term)
        total = total * np.exp(best - new) + np.exp(term - new)
        best = new
    out = const + best + np.log(total)
    out[:, np.setdiff1d(np.arange(n_groups), present)] = 0.0
    return out


def _nodes(nodes: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Product Gauss-Hermite nodes in ``d`` dimensions and their log weights times the
    standard normal's inverse kernel (so that the rule integrates the plain integrand)."""
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    index = np.stack(np.meshgrid(*[np.arange(nodes)] * d, indexing="ij"), -1).reshape(-1, d)
    grid = x[index]
    return grid, np.log(w)[index].sum(-1) + 0.5 * (grid**2).sum(-1)


def _prior_terms(m: np.ndarray, L: np.ndarray,
                 cov: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The N(0, G) log-density at ``u = m + L z`` as ``const - (a0 + a1 z + z' A2 z) / 2``;
    ``const`` includes ``log det L`` (the change of variables)."""
    g_inv, logdet_g = np.linalg.inv(cov), np.linalg.slogdet(cov)[1]
    gm = np.einsum("sij,sgj->sgi", g_inv, m)
    a0 = np.einsum("sgi,sgi->sg", m, gm)
    a1 = np.ascontiguousarray(2 * np.einsum("sgji,sgj->sgi", L, gm))
    A2 = np.einsum("sgki,skl,sglj->sgij", L, g_inv, L, optimize=True)
    const = (-0.5 * (m.shape[-1] * LOG_2PI + logdet_g[:, None])
             + np.log(np.diagonal(L, axis1=-2, axis2=-1)).sum(-1))
    return const, a0, a1, A2


def _pointwise(y: np.ndarray, scale: np.ndarray,
               nu: np.ndarray | None) -> Callable[[np.ndarray], np.ndarray]:
    """``eta -> logpdf(y | eta, scale[, nu])`` with the terms that do not depend on eta
    computed once (the same density as :func:`logpdf`)."""
    inv = 1 / scale
    if nu is None:
        const = -0.5 * LOG_2PI - np.log(scale)
        return lambda eta: const - 0.5 * ((y - eta) * inv) ** 2
    v = nu[:, None]
    const = gammaln((v + 1) / 2) - gammaln(v / 2) - 0.5 * np.log(v * np.pi) - np.log(scale)
    half, inv_v = (v + 1) / 2, 1 / v
    return lambda eta: const - half * np.log1p(((y - eta) * inv) ** 2 * inv_v)


def predictive(draws: Draws, effects: np.ndarray, rng: np.random.Generator, *, X: np.ndarray,
               Z: np.ndarray, group: np.ndarray, X_sigma: np.ndarray | None = None,
               dtype: type[np.floating] = np.float64,
               bounds: tuple[float, float] | None = None) -> np.ndarray:
    """Posterior predictive draws of every observation, ``(S, n)``, given patient effects
    (computed in float64, stored as ``dtype``); clipped to ``bounds`` when given (a censored
    model's recorded scores)."""
    out = np.empty((len(draws.beta), X.shape[0]), dtype=dtype)
    for rows in chunks(len(draws.beta), X.shape[0] * Z.shape[1]):
        part = draws.take(rows)
        own = effects[rows]
        eta = part.beta @ X.T + sum(Z[:, k] * own[:, :, k][:, group] for k in range(Z.shape[1]))
        scale = part.scale(X_sigma, X.shape[0])
        noise = (rng.standard_normal(eta.shape) if part.nu is None
                 else rng.standard_t(part.nu[:, None], size=eta.shape))
        values = eta + scale * noise
        out[rows] = values if bounds is None else np.clip(values, *bounds)
    return out
