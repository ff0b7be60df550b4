"""The marginal growth likelihood's numba kernel: value and analytic gradient against a dense
multivariate normal written in PyTensor (differentiated by PyTensor) and finite differences."""

from types import SimpleNamespace

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from mbtbayes.growth.marginal import _data_values, _marginal_logp
from mbtbayes.growth.marginal_kernel import patient_terms


def _patients(seed: int = 3) -> dict[str, np.ndarray]:
    """Eight patients with 1-6 visits (one patient with a single visit), three columns."""
    rng = np.random.default_rng(seed)
    visits = [1, 2, 3, 4, 5, 6, 3, 2]
    group = np.repeat(np.arange(len(visits)), visits)
    time = np.concatenate([np.sort(rng.choice([0.0, 3, 6, 12, 18, 24, 36], k, replace=False))
                           for k in visits])
    period = np.repeat(rng.integers(0, 2, len(visits)), visits).astype(float)
    X = np.column_stack([np.ones_like(time), time, period])
    y = X @ np.array([2.0, -0.03, 0.2]) + rng.normal(0, 0.5, time.size)
    return {"y": y, "X": X, "time": time, "group": group, "n": len(visits)}


def _dense_logp(p: dict[str, np.ndarray], beta: pt.TensorVariable, sd0: pt.TensorVariable,
                sd1: pt.TensorVariable, rho: pt.TensorVariable,
                sigma: pt.TensorVariable) -> pt.TensorVariable:
    """Sum over patients of log MVN(y_i; X_i b, Z_i G Z_i' + sigma^2 I), dense algebra."""
    G = pt.stack([pt.stack([sd0**2, rho * sd0 * sd1]), pt.stack([rho * sd0 * sd1, sd1**2])])
    total = 0.0
    for i in range(p["n"]):
        rows = p["group"] == i
        Z = np.column_stack([np.ones(rows.sum()), p["time"][rows]])
        V = pt.dot(pt.dot(Z, G), Z.T) + sigma**2 * pt.eye(rows.sum())
        r = p["y"][rows] - pt.dot(p["X"][rows], beta)
        total = total - 0.5 * (rows.sum() * np.log(2 * np.pi) + pt.log(pt.linalg.det(V))
                               + pt.dot(r, pt.linalg.solve(V, r)))
    return total


POINTS = [  # beta, sd_intercept, sd_slope, corr, sigma
    (np.array([1.8, -0.02, 0.3]), 0.6, 0.04, -0.45, 0.4),
    (np.array([2.3, 0.01, -0.1]), 1.5, 0.2, 0.7, 0.9),
    (np.array([0.0, 0.0, 0.0]), 0.05, 0.001, 0.0, 2.0),
]


@pytest.mark.parametrize("mode", ["FAST_RUN", "NUMBA"])
def test_graph_value_and_gradient_equal_the_dense_normal(mode):
    """The graph's marginal log-likelihood and its gradient (kernel + totals, through PyTensor's
    chain rule) equal a dense MVN's, differentiated by PyTensor, in both backends."""
    p = _patients()
    design = SimpleNamespace(y=p["y"], X=p["X"], time=p["time"], group=p["group"],
                             groups=tuple(str(i) for i in range(p["n"])))
    data = {k: pt.as_tensor_variable(v) for k, v in _data_values(design, {}).items()}
    beta, sd0, sd1, rho, sigma = (pt.dvector("beta"), *pt.dscalars("sd0", "sd1", "rho", "sigma"))
    inputs = [beta, sd0, sd1, rho, sigma]
    got = _marginal_logp(data, beta, sd0, sd1, rho, sigma)
    want = _dense_logp(p, beta, sd0, sd1, rho, sigma)
    fn = pytensor.function(inputs, [got, *pytensor.grad(got, inputs)], mode=mode)
    ref = pytensor.function(inputs, [want, *pytensor.grad(want, inputs)])
    for point in POINTS:
        for g, w in zip(fn(*point), ref(*point), strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("point", POINTS)
def test_kernel_gradient_equals_finite_differences(point):
    """Central differences of the kernel's value in every beta and covariance entry."""
    p = _patients(seed=7)
    beta, sd0, sd1, rho, sigma = point
    Z = np.column_stack([np.ones_like(p["time"]), p["time"]])
    zx = np.zeros((p["n"], 2, 3))
    zy = np.zeros((p["n"], 2))
    zz = np.zeros((p["n"], 3))
    np.add.at(zx, p["group"], Z[:, :, None] * p["X"][:, None, :])
    np.add.at(zy, p["group"], Z * p["y"][:, None])
    np.add.at(zz, p["group"], np.column_stack([Z[:, 0], Z[:, 1], Z[:, 1] ** 2]))
    cov = np.array([sd0**2, rho * sd0 * sd1, sd1**2, sigma**2])
    _, d_beta, d_cov = patient_terms(zx, zy, zz, beta, cov)
    for vector, grad in ((beta, d_beta), (cov, d_cov)):
        for j in range(vector.size):
            h = 1e-6 * max(abs(vector[j]), 1e-3)
            up, down = vector.copy(), vector.copy()
            up[j] += h
            down[j] -= h
            args = [(up if vector is beta else beta), (up if vector is cov else cov)]
            hi = patient_terms(zx, zy, zz, *args)[0]
            args = [(down if vector is beta else beta), (down if vector is cov else cov)]
            lo = patient_terms(zx, zy, zz, *args)[0]
            assert grad[j] == pytest.approx((hi - lo) / (2 * h), rel=1e-5, abs=1e-6), j
