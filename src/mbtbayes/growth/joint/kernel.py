"""The joint growth model's per-patient marginal log-likelihood: numba kernels with an analytic
gradient.

For patient i with visits v at times ``t_v``, masked residuals ``r_v`` (O values, 0 where
missing), ``Z_v = [I_O, t_v I_O]`` (patient effects ordered: O intercepts, then O slopes), the
patient-effect covariance ``G = L_G L_G'`` (2O x 2O) and the residual covariance
``R = L_R L_R'`` (O x O), the observed values have

    log p(r_i) = -(n_i log 2 pi + sum_v log det R_v + log det G + log det M_i
                   + r'Wr - u' M_i^-1 u) / 2,
    u = sum_v Z_v' W_v r_v,   M_i = G^-1 + sum_v Z_v' W_v Z_v,

(Woodbury and determinant identities), where ``W_v`` is the inverse of R restricted to the
outcomes observed at visit v, zero-padded to O x O, and ``log det R_v`` that restriction's
log-determinant. A visit's missingness pattern is the integer ``k = sum_o 2^o [o observed]``;
``W_k`` and ``log det R_k`` are computed once per call for all ``2^O`` patterns (``k = 0``, a
padded visit, contributes nothing). Per patient the kernel factors the 2O x 2O matrix M once.
No LAPACK call is made (loops over tiny matrices), so BLAS threading plays no part.

With the patient-effect posterior mean ``m = M^-1 u`` and covariance ``S = M^-1``, the gradient
follows from the EM identities of the Gaussian mixed model::

    d/dr_v = -W_v (r_v - Z_v m)
    d/dW_k = -1/2 sum_{v in pattern k} [(r_v - Z_v m)(r_v - Z_v m)' + Z_v S Z_v']
    d/dG^-1 = -1/2 sum_i (S_i + m_i m_i')

then ``d/dR = sum_k (-1/2 n_k W_k - W_k (d/dW_k) W_k)``, ``d/dG = -G^-1 (d/dG^-1) G^-1 -
N G^-1 / 2`` and ``d/dL = 2 (d/dC) L`` (lower triangle) for ``C = L L'``.

Every kernel is compiled with ``cache=True``: a warm process loads it from numba's cache.

Contract: ``r`` is zero where a value is missing; pattern codes agree with the mask; ``chol_g``
and ``chol_r`` are lower triangular with a positive diagonal (their upper triangles are ignored).

Examples
--------
>>> import numpy as np
>>> r = np.array([[[0.5], [-0.2]]]); code = np.array([[1, 1]]); t = np.array([[0.0, 12.0]])
>>> ll = marginal_loglik(r, code, t, np.diag([1.0, 0.05]), np.array([[0.5]]), np.ones(1),
...                      False)[0]
>>> round(float(ll[0]), 4)
-2.1663
"""

from __future__ import annotations

import numba
import numpy as np

LOG_2PI = float(np.log(2 * np.pi))

jit = numba.njit(cache=True, fastmath=True)


# ---------------------------------------------------------------- small dense algebra


@jit
def _cholesky(a: np.ndarray, L: np.ndarray) -> bool:
    """Lower Cholesky factor of ``a`` into ``L``; False if ``a`` is not positive definite."""
    n = a.shape[0]
    for j in range(n):
        s = a[j, j]
        for k in range(j):
            s -= L[j, k] * L[j, k]
        if not s > 0.0:
            return False
        d = np.sqrt(s)
        L[j, j] = d
        for i in range(j + 1, n):
            s = a[i, j]
            for k in range(j):
                s -= L[i, k] * L[j, k]
            L[i, j] = s / d
        for i in range(j):
            L[i, j] = 0.0
    return True


@jit
def _lower_inverse(L: np.ndarray, Li: np.ndarray) -> None:
    """Inverse of a lower-triangular ``L`` (non-zero diagonal) into ``Li``."""
    n = L.shape[0]
    for j in range(n):
        for i in range(n):
            if i < j:
                Li[i, j] = 0.0
                continue
            s = 1.0 if i == j else 0.0
            for k in range(j, i):
                s -= L[i, k] * Li[k, j]
            Li[i, j] = s / L[i, i]


@jit
def _gram_lower(Li: np.ndarray, out: np.ndarray) -> None:
    """``out = Li' Li`` for lower-triangular ``Li`` (the inverse of ``(Li^-1)(Li^-1)'``)."""
    n = Li.shape[0]
    for i in range(n):
        for j in range(i + 1):
            s = 0.0
            for k in range(i, n):
                s += Li[k, i] * Li[k, j]
            out[i, j] = s
            out[j, i] = s


@jit
def _sandwich(A: np.ndarray, B: np.ndarray, out: np.ndarray) -> None:
    """``out = A B A`` for symmetric A and B."""
    n = A.shape[0]
    for i in range(n):
        for j in range(n):
            s = 0.0
            for k in range(n):
                t = 0.0
                for m in range(n):
                    t += B[k, m] * A[m, j]
                s += A[i, k] * t
            out[i, j] = s


@jit
def _chain_to_factor(dC: np.ndarray, L: np.ndarray, out: np.ndarray) -> None:
    """Gradient with respect to L of f(C = L L') given symmetric ``dC``: lower of ``2 dC L``."""
    n = L.shape[0]
    for i in range(n):
        for j in range(n):
            if j > i:
                out[i, j] = 0.0
                continue
            s = 0.0
            for k in range(j, n):
                s += dC[i, k] * L[k, j]
            out[i, j] = 2.0 * s


# ---------------------------------------------------------------- residual patterns


@jit
def _pattern_precisions(chol_r: np.ndarray, W: np.ndarray, logdet: np.ndarray) -> bool:
    """For every pattern k: ``W[k]`` (restricted inverse of R, zero-padded) and ``logdet[k]``."""
    n_out = chol_r.shape[0]
    R = np.zeros((n_out, n_out))
    for i in range(n_out):
        for j in range(i + 1):
            s = 0.0
            for k in range(j + 1):
                s += chol_r[i, k] * chol_r[j, k]
            R[i, j] = s
            R[j, i] = s
    idx = np.empty(n_out, np.int64)
    for k in range(W.shape[0]):
        W[k] = 0.0
        logdet[k] = 0.0
        m = 0
        for o in range(n_out):
            if (k >> o) & 1:
                idx[m] = o
                m += 1
        if m == 0:
            continue
        sub, Ls, Li, inv = np.empty((m, m)), np.zeros((m, m)), np.empty((m, m)), np.empty((m, m))
        for a in range(m):
            for b in range(m):
                sub[a, b] = R[idx[a], idx[b]]
        if not _cholesky(sub, Ls):
            return False
        _lower_inverse(Ls, Li)
        _gram_lower(Li, inv)
        for a in range(m):
            logdet[k] += 2.0 * np.log(Ls[a, a])
            for b in range(m):
                W[k, idx[a], idx[b]] = inv[a, b]
    return True


# ---------------------------------------------------------------- per patient


@jit
def _accumulate(r: np.ndarray, code: np.ndarray, time: np.ndarray, W: np.ndarray, u: np.ndarray,
                A: np.ndarray) -> float:
    """One patient: ``u = sum Z'Wr``, ``A = sum Z'WZ`` (in place); returns ``r'Wr``."""
    n_vis, n_out = r.shape
    u[:] = 0.0
    A[:, :] = 0.0
    q = 0.0
    for v in range(n_vis):
        k = code[v]
        if k == 0:
            continue
        z1 = time[v]
        for o in range(n_out):
            wr = 0.0
            for p in range(n_out):
                w = W[k, o, p]
                wr += w * r[v, p]
                A[o, p] += w
                A[o, n_out + p] += z1 * w
                A[n_out + o, p] += z1 * w
                A[n_out + o, n_out + p] += z1 * z1 * w
            q += r[v, o] * wr
            u[o] += wr
            u[n_out + o] += z1 * wr
    return q


@jit
def _patient_grad(r: np.ndarray, code: np.ndarray, time: np.ndarray, W: np.ndarray, gi: np.ndarray,
                  m: np.ndarray, S: np.ndarray, e: np.ndarray, g_r: np.ndarray, g_W: np.ndarray,
                  g_P: np.ndarray) -> None:
    """Add one patient's gradient (weight ``gi``) to its rows of g_r, and to g_W and g_P."""
    n = m.shape[0]
    n_out = n // 2
    for a in range(n):
        for c in range(n):
            g_P[a, c] -= 0.5 * gi * (S[a, c] + m[a] * m[c])
    for v in range(r.shape[0]):
        k = code[v]
        if k == 0:
            continue
        tv = time[v]
        for o in range(n_out):
            e[o] = r[v, o] - m[o] - tv * m[n_out + o]
        for o in range(n_out):
            if not (k >> o) & 1:
                continue
            s = 0.0
            for p in range(n_out):
                s += W[k, o, p] * e[p]
            g_r[v, o] -= gi * s
            for p in range(n_out):
                if not (k >> p) & 1:
                    continue
                zsz = (S[o, p] + tv * (S[n_out + o, p] + S[o, n_out + p])
                       + tv * tv * S[n_out + o, n_out + p])
                g_W[k, o, p] -= 0.5 * gi * (e[o] * e[p] + zsz)


@jit
def marginal_loglik(r: np.ndarray, code: np.ndarray, time: np.ndarray, chol_g: np.ndarray,
                    chol_r: np.ndarray, g: np.ndarray,
                    want_grad: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-patient marginal log-likelihood and, if ``want_grad``, the gradients of
    ``sum_i g_i loglik_i`` with respect to r, chol_g and chol_r.

    Parameters
    ----------
    r : (N, V, O) array
        Masked residuals.
    code : (N, V) int array
        Missingness pattern of each visit (0: padded).
    time : (N, V) array
    chol_g : (2O, 2O) array
    chol_r : (O, O) array
    g : (N,) array
        Weights of the patients in the differentiated sum.
    want_grad : bool

    Returns
    -------
    tuple
        ``loglik`` (N,; NaN if a covariance is not positive definite), ``g_r``, ``g_chol_g``,
        ``g_chol_r`` (zero unless ``want_grad``).
    """
    N, n_vis, n_out = r.shape
    n, K = 2 * n_out, 1 << n_out
    value = np.empty(N)
    g_r, g_lg, g_lr = np.zeros(r.shape), np.zeros((n, n)), np.zeros((n_out, n_out))
    W, logdet_r = np.zeros((K, n_out, n_out)), np.zeros(K)
    if not _pattern_precisions(chol_r, W, logdet_r):
        value[:] = np.nan
        return value, g_r, g_lg, g_lr
    Li, P = np.empty((n, n)), np.empty((n, n))
    logdet_g = 0.0
    for j in range(n):
        logdet_g += 2.0 * np.log(chol_g[j, j])
    _lower_inverse(chol_g, Li)
    _gram_lower(Li, P)  # G^-1
    u, w, m, e = np.empty(n), np.empty(n), np.empty(n), np.empty(n_out)
    A, C, S, Ci = np.empty((n, n)), np.zeros((n, n)), np.empty((n, n)), np.empty((n, n))
    g_W, g_P, weight = np.zeros((K, n_out, n_out)), np.zeros((n, n)), np.zeros(K)
    g_total = 0.0
    for i in range(N):
        q = _accumulate(r[i], code[i], time[i], W, u, A)
        for a in range(n):
            for c in range(n):
                A[a, c] += P[a, c]  # M = G^-1 + Z'WZ, in place
        if not _cholesky(A, C):
            value[i] = np.nan
            continue
        quad, logdet_m = 0.0, 0.0
        for j in range(n):  # w = C^-1 u
            s = u[j]
            for k in range(j):
                s -= C[j, k] * w[k]
            w[j] = s / C[j, j]
            quad += w[j] * w[j]
            logdet_m += 2.0 * np.log(C[j, j])
        n_obs, ld_r = 0, 0.0
        for v in range(n_vis):
            k = code[i, v]
            ld_r += logdet_r[k]
            for o in range(n_out):
                n_obs += (k >> o) & 1
        value[i] = -0.5 * (n_obs * LOG_2PI + ld_r + logdet_g + logdet_m + q - quad)
        if want_grad:
            gi = g[i]
            g_total += gi
            for v in range(n_vis):
                weight[code[i, v]] -= 0.5 * gi
            _lower_inverse(C, Ci)
            _gram_lower(Ci, S)  # M^-1
            for a in range(n):
                s = 0.0
                for k in range(n):
                    s += S[a, k] * u[k]
                m[a] = s
            _patient_grad(r[i], code[i], time[i], W, gi, m, S, e, g_r[i], g_W, g_P)
    if want_grad:
        _factor_grads(W, weight, g_W, P, g_P, g_total, chol_g, chol_r, g_lg, g_lr)
    return value, g_r, g_lg, g_lr


@jit
def _factor_grads(W: np.ndarray, weight: np.ndarray, g_W: np.ndarray, P: np.ndarray,
                  g_P: np.ndarray, g_total: np.ndarray, chol_g: np.ndarray, chol_r: np.ndarray,
                  g_lg: np.ndarray, g_lr: np.ndarray) -> None:
    """From the gradients in W_k (and the log det R_k weights) and in G^-1 to the factors."""
    n_out = chol_r.shape[0]
    n = chol_g.shape[0]
    dR, tmp = np.zeros((n_out, n_out)), np.empty((n_out, n_out))
    for k in range(1, W.shape[0]):
        _sandwich(W[k], g_W[k], tmp)
        for a in range(n_out):
            for b in range(n_out):
                dR[a, b] += weight[k] * W[k, a, b] - tmp[a, b]
    _chain_to_factor(dR, chol_r, g_lr)
    dG = np.empty((n, n))
    _sandwich(P, g_P, dG)
    for a in range(n):
        for b in range(n):
            dG[a, b] = -dG[a, b] - 0.5 * g_total * P[a, b]
    _chain_to_factor(dG, chol_g, g_lg)
