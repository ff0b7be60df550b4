"""The profiled ML deviance of a linear mixed growth model, in lme4's parametrisation.

One grouping factor (patient) with a random intercept and a random time slope. The covariance
of a patient's two effects is ``sigma^2 * L @ L.T`` with ``L`` the relative Cholesky factor
(lme4's ``theta``): ``diag(theta)`` for independent effects, ``[[theta0, 0], [theta1, theta2]]``
for correlated ones. The diagonal of ``L`` is bounded below by 0; a diagonal element at 0 is
lme4's "boundary (singular) fit". Fixed effects and the residual variance are profiled out, so
the deviance is a function of ``theta`` alone and is finite on the boundary as well, where
statsmodels' parametrisation (which inverts the effects' covariance) is not.

For patient ``i`` with effects design ``Z_i`` (intercept and time), ``A_i = L' Z_i' Z_i L + I``
and ``V_i / sigma^2 = I + Z_i L L' Z_i'``. By the determinant lemma and Woodbury's identity,
``log det(V_i / sigma^2) = log det A_i`` and ``u' (V_i / sigma^2)^-1 w = u'w - (L' Z_i' u)'
A_i^-1 (L' Z_i' w)``, so per-patient sums of ``Z'Z``, ``Z'X`` and ``Z'y`` are all that is needed.
With ``beta`` the generalised least-squares estimate and ``r2`` its weighted residual sum of
squares, ``sigma^2 = r2 / n`` and the deviance (-2 log-likelihood) is
``sum_i log det A_i + n * (1 + log(2 pi r2 / n))``: lme4's profiled deviance for ``REML = FALSE``.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> group = np.repeat(np.arange(30), 3)
>>> t = np.tile([0.0, 1.0, 2.0], 30)
>>> x = np.column_stack([np.ones(90), t])
>>> y = 1 + rng.normal(0, 1, 30)[group] + rng.normal(0, 1, 90)
>>> deviance = ProfiledDeviance(y=y, x=x, time=t, group=group, correlated=False)
>>> deviance([1.0, 0.0]) < deviance([0.0, 0.0])  # a patient intercept fits these data better
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Profile:
    """What the profiled deviance fixes at one ``theta``.

    Attributes
    ----------
    deviance : float
        -2 x the ML log-likelihood.
    beta : numpy.ndarray
        Generalised least-squares fixed effects.
    sigma2 : float
        ML residual variance.
    fixed_cov : numpy.ndarray
        Covariance of ``beta``: ``(X' V^-1 X)^-1`` (lme4's ``vcov``).
    """

    deviance: float
    beta: np.ndarray
    sigma2: float
    fixed_cov: np.ndarray


class ProfiledDeviance:
    """The profiled deviance of ``y ~ x + (time | group)`` as a function of ``theta``.

    Parameters
    ----------
    y : numpy.ndarray
        Outcome, one value per observation.
    x : numpy.ndarray
        Fixed-effects design (observations x terms), full column rank.
    time : numpy.ndarray
        Time of each observation (the random slope's covariate).
    group : numpy.ndarray
        Group label of each observation.
    correlated : bool
        False: ``theta = (theta0, theta1)``, independent effects. True: ``theta = (theta0,
        theta1, theta2)``, the lower triangle of ``L`` by columns, as lme4.
    """

    def __init__(self, *, y: np.ndarray, x: np.ndarray, time: np.ndarray, group: np.ndarray,
                 correlated: bool) -> None:
        codes = np.unique(np.asarray(group), return_inverse=True)[1]
        z = np.column_stack([np.ones(len(y)), np.asarray(time, dtype=float)])
        n_groups = int(codes.max()) + 1

        def per_group(values: np.ndarray) -> np.ndarray:
            out = np.zeros((n_groups, *values.shape[1:]))
            np.add.at(out, codes, values)
            return out

        self.correlated = correlated
        self.n_obs = len(y)
        self._zz = per_group(np.einsum("ni,nj->nij", z, z))
        self._zw = per_group(np.einsum("ni,nj->nij", z, np.column_stack([x, y])))
        w = np.column_stack([x, y])
        self._ww = w.T @ w

    @property
    def lower(self) -> tuple[float, ...]:
        """Lower bounds of ``theta`` (0 on the diagonal of ``L``, none off it)."""
        return (0.0, -np.inf, 0.0) if self.correlated else (0.0, 0.0)

    def factor(self, theta: Sequence[float]) -> np.ndarray:
        """The relative Cholesky factor ``L`` of ``theta``."""
        th = np.asarray(theta, dtype=float)
        if self.correlated:
            return np.array([[th[0], 0.0], [th[1], th[2]]])
        return np.diag(th)

    def __call__(self, theta: Sequence[float]) -> float:
        """The deviance (-2 log-likelihood) at ``theta``."""
        return self.profile(theta).deviance

    def profile(self, theta: Sequence[float]) -> Profile:
        """The deviance with the fixed effects and residual variance it profiles out."""
        lam = self.factor(theta)
        a = np.einsum("ji,gjk,kl->gil", lam, self._zz, lam) + np.eye(2)
        b = np.einsum("ji,gjp->gip", lam, self._zw)
        ww = self._ww - np.einsum("gip,giq->pq", b, np.linalg.solve(a, b))
        xvx, xvy, yvy = ww[:-1, :-1], ww[:-1, -1], ww[-1, -1]
        beta = np.linalg.solve(xvx, xvy)
        r2 = float(yvy - beta @ xvy)
        if not r2 > 0:
            return Profile(np.inf, beta, np.nan, np.full_like(xvx, np.nan))
        sigma2 = r2 / self.n_obs
        logdet = float(np.linalg.slogdet(a)[1].sum())
        deviance = float(logdet + self.n_obs * (1.0 + np.log(2.0 * np.pi * sigma2)))
        return Profile(deviance, beta, sigma2, sigma2 * np.linalg.inv(xvx))


def derivatives(
    fun: Callable[[np.ndarray], float], x: Sequence[float], *, delta: float = 1e-4
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and Hessian of ``fun`` at ``x`` by central differences, as lme4's ``deriv12``.

    lme4 shortens a step that would cross a bound; the ML checks call this only off the
    boundary (a diagonal ``theta`` below 1e-4 = ``delta`` is a singular fit, not checked
    further), where every step stays inside.

    Examples
    --------
    >>> g, h = derivatives(lambda v: float(v[0] ** 2 + 3 * v[0] * v[1]), [1.0, 2.0])
    >>> np.round(g, 6).tolist(), np.round(h, 6).tolist()
    ([8.0, 3.0], [[2.0, 3.0], [3.0, 0.0]])
    """
    x = np.asarray(x, dtype=float)
    f0 = fun(x)

    def at(*steps: tuple[int, float]) -> float:
        point = x.copy()
        for index, step in steps:
            point[index] += step
        return fun(point)

    n = len(x)
    grad, hess = np.zeros(n), np.zeros((n, n))
    for j in range(n):
        f_up, f_down = at((j, delta)), at((j, -delta))
        grad[j] = (f_up - f_down) / (2 * delta)
        hess[j, j] = (f_up - 2 * f0 + f_down) / delta**2
        for i in range(j):
            hess[i, j] = hess[j, i] = (
                at((i, delta), (j, delta)) - at((i, delta), (j, -delta))
                - at((i, -delta), (j, delta)) + at((i, -delta), (j, -delta))
            ) / (2 * delta) ** 2
    return grad, hess
