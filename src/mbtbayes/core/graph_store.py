"""Compiled model graphs on disk: a graph compiled in one process is loaded, not compiled, in
the next.

nutpie compiles a PyMC model into two numba C callbacks (log-density with gradient, and the
expansion to stored variables). Numba cannot cache them (nutpie generates them at run time),
so every new process spent 15-25 s compiling the same machine code again. This module keeps
that machine code (numba's own object-code serialisation) with what nutpie needs around it,
one file per graph, and rebuilds nutpie's compiled model from it in about 0.2 s.

An entry is keyed by a SHA-256 of the graph itself (the printed log-density and stored
variables with their types, the bytes of every constant and non-data shared value in them,
the length of every dimension), the stored variables,
the versions of Python and the compiling packages, and the CPU numba compiles for; a changed
graph, package or machine never meets a stale entry. The initial-point function is built
from the caller's model each time, exactly as nutpie builds it.

No patient data are written: the graph is compiled with every data container set to ones of
the same shape (the caller's data are swapped in afterwards, by ``with_data``), and a graph
whose constants could hold data (more than :data:`MAX_CONSTANT` values) or whose compiled
functions read other shared variables is compiled in each process as before.

The folder is ``$MBTBAYES_GRAPH_CACHE`` (``off`` switches the store off), else
``$XDG_CACHE_HOME/mbtbayes/graphs`` (``~/.cache/mbtbayes/graphs``). It holds a marker,
:data:`MARKER`; a folder that is not empty and has no marker is left alone (graphs are then
compiled in each process). Entries are written to a temporary file and renamed into place,
with a SHA-256 of their contents; an entry that does not match it is compiled again and
replaced.

Examples
--------
>>> store_folder({"MBTBAYES_GRAPH_CACHE": "off"}) is None
True
>>> store_folder({"MBTBAYES_GRAPH_CACHE": "/tmp/graphs"})
PosixPath('/tmp/graphs')
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import pickle
import platform
import tempfile
from collections.abc import Mapping, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pymc as pm
    from nutpie.compile_pymc import CompiledPyMCModel

ENV = "MBTBAYES_GRAPH_CACHE"
"""Environment variable naming the store's folder (``off``: no store)."""

MARKER = ".mbtbayes-graphs.json"
"""The file marking a folder as mbtbayes's store of compiled graphs."""

MAX_CONSTANT = 16
"""Largest constant (number of values) a stored graph may hold: larger ones could be data."""

PACKAGES = ("nutpie", "numba", "llvmlite", "pytensor", "pymc", "numpy")
"""Packages whose versions are part of an entry's key."""

_FUNCS = ("compiled_logp_func", "compiled_expand_func")
_REBUILT = (*_FUNCS, "initial_point_func", "logp_func", "expand_func", "_coords", "dims")

log = logging.getLogger(__name__)

counts: dict[str, int] = {"loaded": 0, "compiled": 0, "stored": 0}
"""What this process did: graphs loaded from the store, compiled, stored."""


def store_folder(environ: Mapping[str, str] | None = None) -> Path | None:
    """The store's folder, or None when it is switched off (``MBTBAYES_GRAPH_CACHE=off``)."""
    env = os.environ if environ is None else environ
    chosen = env.get(ENV)
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off", "0", "none") else Path(chosen)
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mbtbayes" / "graphs"


def compile_model(model: pm.Model, keep: Sequence[str] | None, *,
                  folder: Path | None | bool = True) -> CompiledPyMCModel:
    """nutpie's compiled model of ``model``, loaded from the store when it holds the graph.

    Parameters
    ----------
    model : pymc.Model
    keep : sequence of str, optional
        Variables the compiled graph stores (nutpie's ``var_names``).
    folder : Path, None or True
        The store (True: :func:`store_folder`; None: no store).

    Returns
    -------
    nutpie.compile_pymc.CompiledPyMCModel
        With the model's current data (as nutpie's own compile gives it).
    """
    folder = store_folder() if folder is True else folder
    data = {var.name: var.get_value() for var in model.data_vars}
    key = fingerprint(model, keep)
    usable = folder is not None and key is not None and _claimed(folder)
    compiled = _load(folder / f"{key}.graph", model) if usable else None
    if compiled is None:
        compiled = _compile_on_placeholders(model, keep, data)
        counts["compiled"] += 1
        if usable and _storable(compiled, data):
            _save(folder / f"{key}.graph", compiled)
    else:
        counts["loaded"] += 1
    return compiled.with_data(**{k: v for k, v in data.items() if k in compiled.shared_data})


def constants_as_data(model: pm.Model) -> pm.Model:
    """The model with every constant of more than :data:`MAX_CONSTANT` values made a data
    container (``constant_0``, ``constant_1``, ...), so that its graph can be stored.

    Bambi builds its design matrices and observed values into the graph as constants; as data
    containers they are inputs of the compiled functions, so the store compiles the graph on
    placeholders like any other data. The log density is the same function of the same
    values; a model without such constants is returned as it is.

    Examples
    --------
    >>> import numpy as np, pymc as pm
    >>> with pm.Model() as m:
    ...     x = pm.Normal("x")
    ...     y = pm.Normal("y", x, 1.0, observed=np.arange(20.0))
    >>> [v.name for v in constants_as_data(m).data_vars]
    ['constant_0']
    """
    import pytensor
    from pymc.model.fgraph import fgraph_from_model, model_from_fgraph
    from pytensor.graph.basic import Constant

    fgraph, _ = fgraph_from_model(model)
    large = [var for var in fgraph.variables
             if isinstance(var, Constant) and np.asarray(var.data).size > MAX_CONSTANT]
    if not large:
        return model
    made = []
    for i, const in enumerate(large):
        value = np.asarray(const.data)
        shared = pytensor.shared(value, name=f"constant_{i}", shape=value.shape)
        fgraph.replace(const, shared, import_missing=True)
        made.append(shared)
    new = model_from_fgraph(fgraph, mutate_fgraph=True)
    for shared in made:
        new.register_data_var(shared)
    return new


def fingerprint(model: pm.Model, keep: Sequence[str] | None) -> str | None:
    """SHA-256 of what decides the compiled machine code and its shapes; None when a constant
    could be data.

    Examples
    --------
    >>> import pymc as pm
    >>> def model(scale):
    ...     with pm.Model() as m:
    ...         pm.Normal("x", 0, scale)
    ...     return m
    >>> fingerprint(model(1.0), None) == fingerprint(model(1.0), None)
    True
    >>> fingerprint(model(1.0), None) == fingerprint(model(2.0), None)
    False
    """
    import pytensor
    from pytensor.compile.sharedvalue import SharedVariable
    from pytensor.graph.basic import Constant
    from pytensor.graph.traversal import ancestors

    outputs = [model.logp(), *model.unobserved_value_vars]
    digest = hashlib.sha256()
    digest.update(pytensor.dprint(outputs, file="str", print_type=True).encode())
    data = {var.name for var in model.data_vars}
    for var in ancestors(outputs):
        if isinstance(var, Constant | SharedVariable) and var.name not in data:
            value = np.asarray(var.data if isinstance(var, Constant) else var.get_value())
            if value.size > MAX_CONSTANT:
                return None
            digest.update(f"{var.name}{value.dtype}{value.shape}".encode() + value.tobytes())
    about = {"keep": None if keep is None else list(keep), "python": platform.python_version(),
             "dims": sorted((name, len(values)) for name, values in model.coords.items()
                            if values is not None),
             "versions": [version(name) for name in PACKAGES], "cpu": _cpu(),
             "data": sorted((v.name, str(v.type)) for v in model.data_vars)}
    digest.update(json.dumps(about, sort_keys=True).encode())
    return digest.hexdigest()


def _cpu() -> str:
    from numba.core.registry import cpu_target

    return repr(cpu_target.target_context.codegen().magic_tuple())


def _compile_on_placeholders(model: pm.Model, keep: Sequence[str] | None,
                             data: dict[str, np.ndarray]) -> CompiledPyMCModel:
    """Compile with every data container set to ones, so that no data reach the machine code
    (numba freezes the compile-time values into it); the data are put back afterwards."""
    import nutpie

    shared = {var.name: var for var in model.data_vars}
    try:
        for name, var in shared.items():
            var.set_value(np.ones_like(data[name]))
        return nutpie.compile_pymc_model(model, var_names=keep)
    finally:
        for name, var in shared.items():
            var.set_value(data[name])


def _storable(compiled: CompiledPyMCModel, data: dict[str, np.ndarray]) -> bool:
    """Whether the compiled functions read only placeholders and hold no dynamic addresses."""
    placeholders = all(name in data and np.all(value == 1)
                       for name, value in compiled.shared_data.items())
    static = not any(getattr(compiled, f)._library.has_dynamic_globals for f in _FUNCS)
    return placeholders and static


def _claimed(folder: Path) -> bool:
    """Make the folder ours (marker) or find it ours; a foreign folder is left alone."""
    try:
        if folder.is_dir() and not (folder / MARKER).is_file() and any(folder.iterdir()):
            log.info("%s is not empty and not mbtbayes's store of graphs: not used", folder)
            return False
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / MARKER).is_file():
            _write_atomic(folder / MARKER, json.dumps(
                {"what": "mbtbayes compiled graphs (nutpie machine code), safe to delete"}
            ).encode())
        return True
    except OSError as err:
        log.info("store of graphs %s not usable: %s", folder, err)
        return False


def _payload(compiled: CompiledPyMCModel) -> bytes:
    """What an entry holds: nutpie's fields (shapes, names, data containers) and the two C
    callbacks' object code."""
    fields = {f.name: getattr(compiled, f.name) for f in dataclasses.fields(compiled)
              if f.name not in _REBUILT}
    libraries = {f: (getattr(compiled, f)._library.serialize_using_object_code(),
                     getattr(compiled, f).native_name) for f in _FUNCS}
    return pickle.dumps({"fields": fields, "libraries": libraries})


def _save(path: Path, compiled: CompiledPyMCModel) -> None:
    payload = _payload(compiled)
    try:
        _write_atomic(path, hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
        counts["stored"] += 1
    except OSError as err:
        log.info("compiled graph not stored in %s: %s", path.parent, err)


def _write_atomic(path: Path, content: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclasses.dataclass(frozen=True)
class _Loaded:
    """A C callback loaded from the store: its address, and the library that holds it."""

    library: object
    address: int


def _load(path: Path, model: pm.Model) -> CompiledPyMCModel | None:
    """The stored compiled model, rebuilt around the caller's model; None when absent or
    unreadable (then compiled again and replaced)."""
    try:
        content = path.read_bytes()
    except OSError:
        return None
    digest, _, payload = content.partition(b"\n")
    if hashlib.sha256(payload).hexdigest().encode() != digest:
        log.info("compiled graph %s does not match its checksum: compiled again", path.name)
        return None
    try:
        return _rebuild(pickle.loads(payload), model)
    except Exception as err:  # noqa: BLE001 (any failure means: compile instead)
        log.info("compiled graph %s not loaded (%s): compiled again", path.name, err)
        return None


def _rebuild(stored: dict, model: pm.Model) -> CompiledPyMCModel:
    import nutpie.compile_pymc as ncp
    from numba.core.registry import cpu_target

    codegen = cpu_target.target_context.codegen()
    funcs = {}
    for name, (state, symbol) in stored["libraries"].items():
        library = codegen.unserialize_library(state)
        funcs[name] = _Loaded(library, library.get_pointer_to_function(symbol))
    fields = stored["fields"]
    fields["user_data"] = ncp.update_user_data(fields["user_data"], fields["shared_data"])
    dims, coords = ncp._prepare_dims_and_coords(model, fields["shape_info"])
    return ncp.CompiledPyMCModel(**fields, **funcs, dims=dims, _coords=coords,
                                 initial_point_func=_initial_point_fn(model, fields),
                                 logp_func=None, expand_func=None)


def _initial_point_fn(model: pm.Model, fields: dict) -> object:
    """nutpie's initial points for the model (its defaults: support points, jittered)."""
    import nutpie.compile_pymc as ncp
    from pymc.initial_point import make_initial_point_fn

    point = make_initial_point_fn(model=model, overrides=None, default_strategy="support_point",
                                  jitter_rvs=set(model.free_RVs), return_transformed=True)
    free = [model.rvs_to_values[var].name for var in model.free_RVs]
    return ncp._rv_dict_to_flat_array_wrapper(ncp._wrap_with_lock(point), names=free,
                                              shapes=[fields["_shapes"][n] for n in free])
