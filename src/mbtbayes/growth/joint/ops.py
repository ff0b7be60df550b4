"""The joint model's marginal log-likelihood as PyTensor Ops (the numba kernels of
:mod:`mbtbayes.growth.joint.kernel`, analytic gradient).

:class:`MarginalLoglikSum` returns the total and its gradient from one kernel pass (the
sampler's call); :class:`MarginalLoglik` gives the per-patient values (PSIS-LOO, tests).
``perform`` runs the same numba-jitted kernels, so the Ops work with every PyTensor backend;
under the numba backend (nutpie) the kernel is called directly, and PyTensor's numba cache is
keyed by :data:`KERNEL_VERSION`.

Examples
--------
>>> import numpy as np, pytensor
>>> r = np.zeros((1, 1, 1)); code = np.ones((1, 1), dtype=np.int64); t = np.zeros((1, 1))
>>> out = marginal_loglik_op(r, code, t, np.eye(2), np.eye(1)).eval()
>>> round(float(out[0]), 4)  # N(0, 1 + 1) at 0
-1.2655
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType, disconnected_type
from pytensor.graph.basic import Apply
from pytensor.graph.fg import FunctionGraph
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch.basic import numba_njit, register_funcify_default_op_cache_key
from pytensor.tensor.variable import TensorVariable

from mbtbayes.growth.joint.kernel import marginal_loglik

KERNEL_VERSION = int(hashlib.sha256(
    Path(__file__).read_bytes()
    + (Path(__file__).parent / "kernel.py").read_bytes()).hexdigest()[:12], 16)
"""Part of PyTensor's numba cache key: a hash of the kernel and the Ops, so that an edited kernel
is never served from a stale cache."""


def _inputs(r: np.ndarray | TensorVariable, code: np.ndarray | TensorVariable,
            time: np.ndarray | TensorVariable, chol_g: np.ndarray | TensorVariable,
            chol_r: np.ndarray | TensorVariable) -> list[TensorVariable]:
    r, time, chol_g, chol_r = (pt.as_tensor_variable(a, dtype="float64")
                               for a in (r, time, chol_g, chol_r))
    return [r, pt.as_tensor_variable(code, dtype="int64"), time, chol_g, chol_r]


class MarginalLoglik(Op):
    """``(r (N, V, O), code (N, V), time (N, V), chol_g, chol_r) -> loglik (N,)``."""

    __props__ = ()

    def make_node(self, r: np.ndarray | TensorVariable, code: np.ndarray | TensorVariable,
                  time: np.ndarray | TensorVariable, chol_g: np.ndarray | TensorVariable,
                  chol_r: np.ndarray | TensorVariable) -> Apply:
        return Apply(self, _inputs(r, code, time, chol_g, chol_r), [pt.vector(dtype="float64")])

    def perform(self, node: Apply, inputs: list[np.ndarray], outputs: list[list]) -> None:
        r = np.asarray(inputs[0])
        outputs[0][0] = marginal_loglik(*(np.asarray(a) for a in inputs), np.ones(r.shape[0]),
                                        False)[0]

    def infer_shape(self, fgraph: FunctionGraph, node: Apply, shapes: list[tuple]) -> list[tuple]:
        return [(shapes[0][0],)]

    def L_op(self, inputs: list[TensorVariable],  # noqa: N802 (PyTensor's name)
             outputs: list[TensorVariable], grads: list[TensorVariable]) -> list[TensorVariable]:
        (g,) = grads
        if isinstance(g.type, DisconnectedType):
            g = pt.zeros_like(outputs[0])
        g_r, g_lg, g_lr = MarginalLoglikGrad()(*inputs, g)
        return [g_r, disconnected_type(), disconnected_type(), g_lg, g_lr]

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        return [[True], [False], [False], [True], [True]]


class MarginalLoglikGrad(Op):
    """Gradient of ``sum_i g_i loglik_i`` with respect to r, chol_g and chol_r."""

    __props__ = ()

    def make_node(self, r: np.ndarray | TensorVariable, code: np.ndarray | TensorVariable,
                  time: np.ndarray | TensorVariable, chol_g: np.ndarray | TensorVariable,
                  chol_r: np.ndarray | TensorVariable, g: np.ndarray | TensorVariable) -> Apply:
        inputs = [*_inputs(r, code, time, chol_g, chol_r), pt.as_tensor_variable(g)]
        return Apply(self, inputs, [inputs[0].type(), inputs[3].type(), inputs[4].type()])

    def perform(self, node: Apply, inputs: list[np.ndarray], outputs: list[list]) -> None:
        grads = marginal_loglik(*(np.asarray(a) for a in inputs), True)[1:]
        for slot, value in zip(outputs, grads, strict=True):
            slot[0] = value

    def infer_shape(self, fgraph: FunctionGraph, node: Apply, shapes: list[tuple]) -> list[tuple]:
        return [shapes[0], shapes[3], shapes[4]]


class MarginalLoglikSum(Op):
    """``sum_i loglik_i`` with its gradient computed in the same kernel call.

    Outputs ``(total, d/dr, d/dchol_g, d/dchol_r)``; ``L_op`` scales the stored gradient, so a
    logp-and-gradient evaluation runs the kernel once. Only the total is differentiable.
    """

    __props__ = ()

    def make_node(self, r: np.ndarray | TensorVariable, code: np.ndarray | TensorVariable,
                  time: np.ndarray | TensorVariable, chol_g: np.ndarray | TensorVariable,
                  chol_r: np.ndarray | TensorVariable) -> Apply:
        inputs = _inputs(r, code, time, chol_g, chol_r)
        return Apply(self, inputs, [pt.scalar(dtype="float64"), inputs[0].type(),
                                    inputs[3].type(), inputs[4].type()])

    def perform(self, node: Apply, inputs: list[np.ndarray], outputs: list[list]) -> None:
        r = np.asarray(inputs[0])
        value, *grads = marginal_loglik(*(np.asarray(a) for a in inputs), np.ones(r.shape[0]),
                                        True)
        outputs[0][0] = np.asarray(value.sum())
        for slot, grad in zip(outputs[1:], grads, strict=True):
            slot[0] = grad

    def infer_shape(self, fgraph: FunctionGraph, node: Apply, shapes: list[tuple]) -> list[tuple]:
        return [(), shapes[0], shapes[3], shapes[4]]

    def L_op(self, inputs: list[TensorVariable],  # noqa: N802 (PyTensor's name)
             outputs: list[TensorVariable], grads: list[TensorVariable]) -> list[TensorVariable]:
        if not all(isinstance(g.type, DisconnectedType) for g in grads[1:]):
            raise NotImplementedError("MarginalLoglikSum: only the total is differentiable")
        g = grads[0]
        return [g * outputs[1], disconnected_type(), disconnected_type(), g * outputs[2],
                g * outputs[3]]

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        return [[True] * 4, [False] * 4, [False] * 4, [True] * 4, [True] * 4]


@register_funcify_default_op_cache_key(MarginalLoglik)
def _numba_loglik(op: Op, node: Apply, **kwargs: object) -> tuple[Callable, int]:
    @numba_njit
    def fn(r: np.ndarray, code: np.ndarray, time: np.ndarray, chol_g: np.ndarray,
           chol_r: np.ndarray) -> np.ndarray | tuple[np.ndarray, ...]:
        return marginal_loglik(r, code, time, chol_g, chol_r, np.ones(r.shape[0]), False)[0]

    return fn, KERNEL_VERSION


@register_funcify_default_op_cache_key(MarginalLoglikGrad)
def _numba_loglik_grad(op: Op, node: Apply, **kwargs: object) -> tuple[Callable, int]:
    @numba_njit
    def fn(r: np.ndarray, code: np.ndarray, time: np.ndarray, chol_g: np.ndarray,
           chol_r: np.ndarray, g: np.ndarray) -> np.ndarray | tuple[np.ndarray, ...]:
        _, g_r, g_lg, g_lr = marginal_loglik(r, code, time, chol_g, chol_r, g, True)
        return g_r, g_lg, g_lr

    return fn, KERNEL_VERSION


@register_funcify_default_op_cache_key(MarginalLoglikSum)
def _numba_loglik_sum(op: Op, node: Apply, **kwargs: object) -> tuple[Callable, int]:
    @numba_njit
    def fn(r: np.ndarray, code: np.ndarray, time: np.ndarray, chol_g: np.ndarray,
           chol_r: np.ndarray) -> np.ndarray | tuple[np.ndarray, ...]:
        value, g_r, g_lg, g_lr = marginal_loglik(r, code, time, chol_g, chol_r,
                                                 np.ones(r.shape[0]), True)
        return np.asarray(value.sum()), g_r, g_lg, g_lr

    return fn, KERNEL_VERSION


def marginal_loglik_op(r: np.ndarray | TensorVariable, code: np.ndarray | TensorVariable,
                       time: np.ndarray | TensorVariable, chol_g: np.ndarray | TensorVariable,
                       chol_r: np.ndarray | TensorVariable) -> TensorVariable:
    """Symbolic per-patient marginal log-likelihood, shape (N,)."""
    return MarginalLoglik()(r, code, time, chol_g, chol_r)


def marginal_loglik_sum_op(r: np.ndarray | TensorVariable, code: np.ndarray | TensorVariable,
                           time: np.ndarray | TensorVariable, chol_g: np.ndarray | TensorVariable,
                           chol_r: np.ndarray | TensorVariable) -> TensorVariable:
    """Symbolic sum over patients, its gradient computed in the same kernel call."""
    return MarginalLoglikSum()(r, code, time, chol_g, chol_r)[0]
