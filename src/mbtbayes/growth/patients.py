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

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.special import gammaln, logsumexp

LOG_2PI = float(np.log(2 * np.pi))
NODES = {"gaussian": 1, "t": 9}
"""Quadrature nodes per patient effect: one is exact for the Gaussian family."""
IRLS_STEPS = 8
"""Reweighting steps that find the centre of a Student-t patient's integrand."""
CHUNK = 1000
"""Draws handled at once (bounds memory)."""


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
        def pick(a):
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


def logpdf(y: np.ndarray, eta: np.ndarray, scale: np.ndarray, nu: np.ndarray | None):
    """Pointwise log-density, Gaussian (``nu`` None) or Student-t, ``(S, n)``."""
    z = (y[None] - eta) / scale
    if nu is None:
        return -0.5 * (LOG_2PI + z**2) - np.log(scale)
    v = nu[:, None]
    return (gammaln((v + 1) / 2) - gammaln(v / 2) - 0.5 * np.log(v * np.pi) - np.log(scale)
            - (v + 1) / 2 * np.log1p(z**2 / v))


def conditional(draws: Draws, *, y, X, Z, group, n_groups, X_sigma=None):
    """The normal centre and covariance of each patient's effects, per draw.

    Exact (the conditional posterior) for the Gaussian family; for the Student-t family the
    mode and the IRLS curvature there.

    Returns
    -------
    tuple
        ``m`` of shape ``(S, G, d)`` and ``C`` of shape ``(S, G, d, d)``.
    """
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
        C = np.linalg.inv(A + g_inv[:, None])
        m = np.einsum("sgij,sgj->sgi", C, b)
        if draws.nu is not None:
            r = resid - np.einsum("nd,snd->sn", Z, m[:, group])
            v = draws.nu[:, None]
            weight = (v + 1) / (v * scale**2 + r**2)
    return m, C


def draw_effects(draws: Draws, rng: np.random.Generator, **data) -> np.ndarray:
    """Patient effects drawn from their conditional normal, one per draw: ``(S, G, d)``.

    Exact for the Gaussian family (the marginal engine's patient effects).
    """
    out = []
    for start in range(0, len(draws.beta), CHUNK):
        part = draws.take(slice(start, start + CHUNK))
        m, C = conditional(part, **data)
        L = np.linalg.cholesky(C)
        out.append(m + np.einsum("sgij,sgj->sgi", L, rng.standard_normal(m.shape)))
    return np.concatenate(out)


def quadrature_loglik(draws: Draws, *, y, X, Z, group, n_groups, X_sigma=None,
                      family: str = "gaussian", nodes: int | None = None) -> np.ndarray:
    """Per-patient log-likelihood with the patient effects integrated out, ``(S, G)``.

    Adaptive Gauss-Hermite quadrature with ``nodes`` points per effect (default
    :data:`NODES`), centred and scaled by :func:`conditional`. Patients without rows get 0.
    """
    nodes = nodes or NODES[family]
    data = {"y": y, "X": X, "Z": Z, "group": group, "n_groups": n_groups, "X_sigma": X_sigma}
    out = [_quadrature(draws.take(slice(s, s + CHUNK)), nodes, **data)
           for s in range(0, len(draws.beta), CHUNK)]
    counts = np.bincount(group, minlength=n_groups)
    return np.where(counts[None] > 0, np.concatenate(out), 0.0)


def _quadrature(draws: Draws, nodes: int, *, y, X, Z, group, n_groups, X_sigma):
    m, C = conditional(draws, y=y, X=X, Z=Z, group=group, n_groups=n_groups, X_sigma=X_sigma)
    L = np.linalg.cholesky(C)
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    d = m.shape[-1]
    grid = np.stack(np.meshgrid(*[x] * d, indexing="ij"), -1).reshape(-1, d)
    log_w = (np.log(w)[np.stack(np.meshgrid(*[np.arange(nodes)] * d, indexing="ij"), -1)
                       .reshape(-1, d)].sum(-1) + 0.5 * (grid**2).sum(-1))
    ind = indicator(group, n_groups)
    mean = draws.beta @ X.T
    scale = draws.scale(X_sigma, len(y))
    cov = draws.covariance()
    g_inv, logdet_g = np.linalg.inv(cov), np.linalg.slogdet(cov)[1]
    terms = []
    for point, lw in zip(grid, log_w, strict=True):
        u = m + np.einsum("sgij,j->sgi", L, point)
        eta = mean + np.einsum("nd,snd->sn", Z, u[:, group])
        ll = _per_patient(logpdf(y, eta, scale, draws.nu), ind)
        prior = -0.5 * (d * LOG_2PI + logdet_g[:, None]
                        + np.einsum("sgi,sij,sgj->sg", u, g_inv, u))
        terms.append(ll + prior + lw)
    log_det_l = np.log(np.diagonal(L, axis1=-2, axis2=-1)).sum(-1)
    return log_det_l + logsumexp(np.stack(terms), axis=0)


def predictive(draws: Draws, effects: np.ndarray, rng: np.random.Generator, *, X, Z, group,
               X_sigma=None) -> np.ndarray:
    """Posterior predictive draws of every observation, ``(S, n)``, given patient effects."""
    eta = draws.beta @ X.T + np.einsum("nd,snd->sn", Z, effects[:, group])
    scale = draws.scale(X_sigma, X.shape[0])
    noise = (rng.standard_normal(eta.shape) if draws.nu is None
             else rng.standard_t(draws.nu[:, None], size=eta.shape))
    return eta + scale * noise
