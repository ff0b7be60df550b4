"""Compiled model graphs, one per structure per process, loaded from disk when another
process compiled them (:mod:`mbtbayes.core.graph_store`).

nutpie compiles a PyMC model into a graph that takes new data (``with_data``); compiling costs
seconds to tens of seconds, sampling a growth model about two. Every entry point (the command
line, the ``mb.`` functions, the tests) goes through this one registry, keyed by the graph's
structure (for example ``("marginal", 4, True)``: the marginal engine, four fixed-effect
columns, correlated patient effects) and the variables nutpie stores, so a second
``mb.fit_growth`` of a structure in a process compiles nothing, whichever sampler asks. Across
processes nutpie's machine code is kept in the store of compiled graphs, so a new process loads
a graph compiled before on the machine instead of compiling it again.

Examples
--------
>>> compiled_graph(("demo", 1), lambda: "model", compile_fn=lambda model, keep: "graph")
('graph', 'model')
>>> compiled_graph(("demo", 1), lambda: 1 / 0)  # the structure is compiled: nothing is built
('graph', 'model')
>>> forget(("demo", 1))
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pymc as pm
    from nutpie.compile_pymc import CompiledModel

_GRAPHS: dict[Hashable, tuple[object, object]] = {}
_LOCK = threading.Lock()
_IN_USE: dict[Hashable, threading.RLock] = {}


def _nutpie_compile(model: pm.Model, keep: Sequence[str] | None) -> CompiledModel:
    from mbtbayes.core.graph_store import compile_model

    return compile_model(model, keep)


def registry_key(key: Hashable, keep: Sequence[str] | None = None) -> Hashable:
    """The registry's key: the structure and the variables the compiled graph stores."""
    return (key, None if keep is None else tuple(keep))


def is_compiled(key: Hashable, keep: Sequence[str] | None = None) -> bool:
    """Whether the structure has a compiled graph in this process."""
    return registry_key(key, keep) in _GRAPHS


def compiled_graph(key: Hashable, build: Callable[[], object], *,
                   keep: Sequence[str] | None = None,
                   compile_fn: Callable = _nutpie_compile) -> tuple[object, object]:
    """The compiled graph of a structure and its PyMC model, compiled the first time.

    Parameters
    ----------
    key : hashable
        The graph's structure (same key = same graph).
    build : callable
        Builds the PyMC model; called only the first time.
    keep : sequence of str, optional
        Variables the compiled graph stores (default: every free and deterministic one).
    compile_fn : callable
        ``compile_fn(model, keep)``; nutpie's by default.

    Returns
    -------
    tuple
        ``(compiled graph, PyMC model)``.
    """
    full = registry_key(key, keep)
    with _LOCK:
        if full not in _GRAPHS:
            model = build()
            _GRAPHS[full] = (compile_fn(model, keep), model)
        return _GRAPHS[full]


def in_use(key: Hashable, keep: Sequence[str] | None = None) -> threading.RLock:
    """The lock a fit holds while it sets the graph's PyMC model to its data and samples.

    nutpie takes a fit's initial points from the PyMC model behind the compiled graph, which
    reads the model's own data; two fits of one structure in two threads of a process (a Dask
    cluster with threads as workers) would otherwise start from each other's data.

    Examples
    --------
    >>> with in_use(("demo", 2)):
    ...     pass
    """
    full = registry_key(key, keep)
    with _LOCK:
        return _IN_USE.setdefault(full, threading.RLock())


def count() -> int:
    """How many graphs this process has compiled."""
    return len(_GRAPHS)


def forget(key: Hashable | None = None, keep: Sequence[str] | None = None) -> None:
    """Drop one structure's graph (or, without a key, every graph) from the registry."""
    with _LOCK:
        if key is None:
            _GRAPHS.clear()
        else:
            _GRAPHS.pop(registry_key(key, keep), None)
