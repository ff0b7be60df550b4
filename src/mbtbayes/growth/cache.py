"""A disk cache of growth fits (and of the other models a run samples or fits), so that a
rerun that changes only the report or the summaries does not sample again.

Each fit is stored under a key: the SHA-256 of everything that decides its draws, namely the
data the fit uses (its design: outcome, predictors, patients, rows, priors), the spec fields
that reach the model (formulas, family, priors, engine, correlation; not its label, ROPE or
d time points, which only the summaries use), the variant, the engine and its compiled width,
the sampler settings, the fit's seed, and the versions of mbtbayes, nutpie, PyMC and Bambi.
Change any of them and the fit is sampled again.

An entry is a folder ``<key>/`` holding ``idata.nc`` (the whole InferenceData, full
precision), ``params.nc`` (the population-level parameters in the shared names) and
``entry.json`` (the diagnostics, wall time, engine, and the SHA-256 of both files). The
other models have entries of their own (:data:`ENTRY_LAYOUTS`), keyed by
:meth:`FitCache.identity_key`: the draws of a remission, GLMM or K-fold model
(``idata.nc`` and ``entry.json``) and the JSON record of an ML fit (``record.json`` and
``entry.json``). Every entry is written into a temporary folder and renamed into place, so a
crash leaves no half entry; an entry whose files are missing, truncated or do not match their
checksums is refitted and replaced, with a logged note.

The cache folder holds a marker, :data:`MARKER`. A folder that exists, is not empty and has no
marker is refused (:class:`~mbtbayes.core.errors.OutputError`): the cache never deletes or
overwrites files mbtbayes did not write, and replaces only entry folders holding nothing but
its own files (:data:`ENTRY_FILES`).

The cache holds posterior draws and the data of each fit (``observed_data``), keyed by the
pseudonymous ids: keep it where the outputs are kept (the default of ``mbtbayes reanalyze`` is
``.mbtbayes-cache`` beside the output folder).

Examples
--------
>>> import tempfile
>>> cache = FitCache(tempfile.mkdtemp())
>>> cache.hits, cache.misses
(0, 0)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from mbtbayes.core.errors import OutputError

MARKER = ".mbtbayes-cache.json"
"""The file marking a folder as an mbtbayes fit cache."""

ENTRY_FILES = ("idata.nc", "params.nc", "entry.json", "record.json")
"""The files an entry may hold."""

ENTRY_LAYOUTS = (frozenset({"idata.nc", "params.nc", "entry.json"}),
                 frozenset({"idata.nc", "entry.json"}), frozenset({"record.json", "entry.json"}))
"""The files of a whole entry: a growth fit, the draws of another sampled model (remission,
GLMM, a K-fold refit), a record (an ML fit)."""

SUMMARY_ONLY = ("label", "kind", "rope_sd_units", "rope_half_width", "rope_source",
                "rope_label", "rope_reference_sd", "rope_reference_sd_source",
                "rope_justification", "d_months")
"""Spec fields that only the summaries and the report use: changing them keeps the fit."""

DEFAULT_NAME = ".mbtbayes-cache"
"""Name of the default cache folder, beside a run's output folder."""


def default_cache_dir(out: str | Path) -> Path:
    """The default cache folder of a run writing to ``out``: ``.mbtbayes-cache`` beside it.

    Examples
    --------
    >>> default_cache_dir("/data/results").as_posix()
    '/data/.mbtbayes-cache'
    """
    return Path(out).expanduser().resolve().parent / DEFAULT_NAME


class FitCache:
    """Growth fits on disk, keyed by everything that decides their draws.

    Parameters
    ----------
    folder : path
        The cache folder (created with its marker when the first fit is stored).
    log : callable, optional
        Receives a note when an entry is unreadable and is refitted.

    Raises
    ------
    OutputError
        If ``folder`` is a file, or a non-empty folder that is not an mbtbayes cache.

    Examples
    --------
    >>> import tempfile
    >>> FitCache(tempfile.mkdtemp()).folder.name  # doctest: +ELLIPSIS
    'tmp...'
    """

    def __init__(self, folder: str | Path, *, log: Callable[[str], None] | None = None) -> None:
        self.folder = Path(folder).expanduser().resolve()
        self.log = log
        self.hits = 0
        self.misses = 0
        self._check()

    def _check(self) -> None:
        folder = self.folder
        if folder.exists() and not folder.is_dir():
            raise OutputError(f"--cache {folder} is a file, not a folder; choose a folder "
                              "with --cache DIR or run with --no-cache")
        if folder.is_dir() and not (folder / MARKER).is_file() and any(folder.iterdir()):
            raise OutputError(f"--cache {folder} holds files mbtbayes did not write; choose "
                              "another folder with --cache DIR or run with --no-cache")

    def _claim(self) -> None:
        """Create the folder and its marker (at the first entry: a run that stops before any
        fit leaves nothing behind)."""
        if (self.folder / MARKER).is_file():
            return
        self._check()
        from mbtbayes import __version__

        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / MARKER).write_text(json.dumps(
            {"written_by": "mbtbayes", "kind": "fit cache", "version": __version__}) + "\n",
            encoding="utf-8")

    def key(self, spec, design, *, variant: str, seed: int, engine: str, width: int,
            options) -> str:
        """The entry key of one fit (hex SHA-256)."""
        return fit_key(spec, design, variant=variant, seed=seed, engine=engine, width=width,
                       options=options)

    def get(self, key: str, *, spec, design, variant: str, rebuild=None):
        """The cached fit under ``key`` as a GrowthFit, or None (absent or unreadable).

        ``rebuild(spec, design, variant)`` returns the Bambi model of a Bambi fit (built, not
        sampled), so that a cached Bambi fit keeps ``fit.model``.
        """
        return self._load(key, lambda entry, record: _read_entry(
            entry, record, spec=spec, design=design, variant=variant, rebuild=rebuild),
            f"the entry for {spec.name} {variant}", "refitting it")

    def put(self, key: str, fit) -> None:
        """Store a fit under ``key``, atomically (a failure to write is logged, not raised)."""
        self._put(key, lambda folder: _write_entry(folder, fit),
                  f"{fit.spec.name} {fit.variant}")

    def identity_key(self, identity: dict) -> str:
        """The entry key of any other model (remission, GLMM, ML fits): the SHA-256 of its
        ``identity`` (JSON values, arrays and data frames) and the package versions."""
        digest = hashlib.sha256(b"draws")
        _update_identity(digest, {"identity": identity, "versions": _versions()})
        return digest.hexdigest()

    def get_draws(self, key: str):
        """``(idata, Diagnostics)`` stored under ``key`` by :meth:`put_draws`, or None."""
        from mbtbayes.core.arviz_api import read_exact
        from mbtbayes.core.sampling import Diagnostics

        return self._load(key, lambda entry, record: (
            read_exact(entry / "idata.nc"), Diagnostics(**record["diagnostics"])),
            f"the entry {key[:12]}", "sampling it again")

    def put_draws(self, key: str, idata, diagnostics) -> None:
        """Store the draws of a sampled model under ``key``, atomically."""
        from mbtbayes.core.arviz_api import write_exact

        def write(folder: Path) -> None:
            write_exact(idata, folder / "idata.nc")
            _write_record(folder, {"diagnostics": dataclasses.asdict(diagnostics)},
                          files=("idata.nc",))

        self._put(key, write, f"model {key[:12]}")

    def get_record(self, key: str) -> dict | None:
        """The JSON record stored under ``key`` by :meth:`put_record`, or None."""
        return self._load(key, lambda entry, record: json.loads(
            (entry / "record.json").read_text(encoding="utf-8")),
            f"the entry {key[:12]}", "fitting it again")

    def _load(self, key: str, read: Callable[[Path, dict], object], what: str, then: str):
        """``read(entry, record)`` of a present entry whose files match their checksums;
        None (counted as a miss, an unreadable entry noted) otherwise."""
        entry = self.folder / key
        if not entry.exists():
            self.misses += 1
            return None
        try:
            value = read(entry, _checked(entry))
        except (OSError, ValueError, KeyError, TypeError) as err:
            self.misses += 1
            self._note(f"fit cache: {what} is unreadable ({_short(err)}); {then}")
            return None
        self.hits += 1
        return value

    def put_record(self, key: str, record: dict) -> None:
        """Store a JSON record (a fit that is not sampled: an ML fit) under ``key``."""
        def write(folder: Path) -> None:
            (folder / "record.json").write_text(json.dumps(record) + "\n", encoding="utf-8")
            _write_record(folder, {}, files=("record.json",))

        self._put(key, write, f"record {key[:12]}")

    def _put(self, key: str, write: Callable[[Path], None], label: str) -> None:
        entry = self.folder / key
        try:
            self._claim()
            tmp = Path(tempfile.mkdtemp(prefix=f".{key[:12]}-new-", dir=self.folder))
        except (OSError, OutputError) as err:
            self._note(f"fit cache: cannot write {self.folder} ({_short(err)}); "
                       f"{label} is not cached")
            return
        try:
            write(tmp)
            if entry.exists():
                if not _ours(entry):
                    self._note(f"fit cache: {entry} holds files mbtbayes did not write; "
                               "left alone, the fit is not cached")
                    shutil.rmtree(tmp)
                    return
                shutil.rmtree(entry)
            tmp.rename(entry)
        except BaseException as err:  # also Ctrl-C or SIGTERM: no half-written entry is left
            shutil.rmtree(tmp, ignore_errors=True)
            if not isinstance(err, OSError):
                raise
            self._note(f"fit cache: could not store {label} ({_short(err)}); the run goes on")

    def _note(self, message: str) -> None:
        if self.log is not None:
            self.log(message)


def open_cache(cache, *, log: Callable[[str], None] | None = None) -> FitCache | None:
    """A FitCache from a ``cache`` argument: None/False (no cache), a path, or a FitCache."""
    if cache is None or cache is False:
        return None
    if isinstance(cache, FitCache):
        return cache
    return FitCache(cache, log=log)


def fit_cached(engines, store: FitCache | None, spec, design, *, variant: str, seed: int,
               requested: str | None = None):
    """Fit one design through ``engines``, or take it from ``store`` when it holds it.

    Returns
    -------
    tuple
        ``(GrowthFit, cached)``, ``cached`` True when the fit came from the cache.
    """
    if store is None:
        return engines.fit_design(spec, design, variant=variant, seed=seed,
                                  requested=requested), False
    key, fit = lookup(store, engines, spec, design, variant=variant, seed=seed,
                      requested=requested)
    if fit is not None:
        return fit, True
    fit = engines.fit_design(spec, design, variant=variant, seed=seed, requested=requested)
    store.put(key, fit)
    return fit, False


def lookup(store: FitCache, engines, spec, design, *, variant: str, seed: int,
           requested: str | None = None):
    """The key of one fit fitted by ``engines``, and the cached fit (None when absent)."""
    from functools import partial

    from mbtbayes.growth.engines import resolve_engine

    key = store.key(spec, design, variant=variant, seed=seed,
                    engine=resolve_engine(spec, requested), width=engines.width,
                    options=engines.sampler.options)
    return key, store.get(key, spec=spec, design=design, variant=variant,
                          rebuild=partial(rebuild_model, engines))


def rebuild_model(engines, spec, design, variant: str):
    """The built (not sampled) ``bambi.Model`` of a Bambi fit."""
    model = engines.get("bambi").build(spec, design, variant=variant)
    model.build()
    return model


def fit_key(spec, design, *, variant: str, seed: int, engine: str, width: int,
            options) -> str:
    """SHA-256 of everything that decides one fit's draws (see the module docstring).

    Examples
    --------
    >>> import mbtbayes as mb
    >>> from mbtbayes.growth.design import make_design
    >>> spec = mb.load_specs()["bsi"]
    >>> design = make_design(spec, mb.load_register().data, variant="period")
    >>> opts = mb.SamplerOptions()
    >>> a = fit_key(spec, design, variant="period", seed=1, engine="marginal", width=5,
    ...             options=opts)
    >>> a == fit_key(spec, design, variant="period", seed=2, engine="marginal", width=5,
    ...              options=opts)
    False
    """
    digest = hashlib.sha256()
    identity = {
        "spec": {k: v for k, v in dataclasses.asdict(spec).items() if k not in SUMMARY_ONLY},
        "variant": variant, "seed": int(seed), "engine": engine, "width": int(width),
        "options": dataclasses.asdict(options), "versions": _versions(),
        "design": {"columns": design.columns, "terms": design.terms, "groups": design.groups,
                   "effects": design.effects, "sigma_columns": design.sigma_columns,
                   "n_excluded": design.n_excluded, "priors": design.priors},
    }
    digest.update(json.dumps(identity, sort_keys=True, default=str).encode())
    for name in ("y", "X", "time", "group", "Z", "X_sigma"):
        _update_array(digest, getattr(design, name))
    if design.frame is not None:
        digest.update(json.dumps(list(map(str, design.frame.columns))).encode())
        digest.update(pd.util.hash_pandas_object(design.frame, index=True).values.tobytes())
    return digest.hexdigest()


def _update_array(digest, array) -> None:
    if array is None:
        digest.update(b"none")
        return
    array = np.ascontiguousarray(array)
    digest.update(f"{array.dtype.str}{array.shape}".encode())
    digest.update(array.tobytes())


def _update_identity(digest, value) -> None:
    """Feed a nested identity (dicts, lists, JSON values, arrays, data frames) to ``digest``."""
    if isinstance(value, dict):
        for name in sorted(value, key=str):
            digest.update(f"<{name}>".encode())
            _update_identity(digest, value[name])
    elif isinstance(value, list | tuple):
        digest.update(f"[{len(value)}".encode())
        for item in value:
            _update_identity(digest, item)
    elif isinstance(value, np.ndarray):
        _update_array(digest, value)
    elif isinstance(value, pd.DataFrame):
        digest.update(repr({str(k): str(v) for k, v in value.dtypes.items()}).encode())
        digest.update(pd.util.hash_pandas_object(value, index=True).values.tobytes())
    else:
        digest.update(json.dumps(value, default=str).encode())


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    from mbtbayes import __version__

    out = {"mbtbayes": __version__}
    for name in ("nutpie", "pymc", "bambi"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "absent"
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_entry(folder: Path, fit) -> None:
    from mbtbayes.core.arviz_api import write_exact

    write_exact(fit.idata, folder / "idata.nc")
    params = fit.params if fit.params is not None else fit.idata.posterior[[]]
    params.to_netcdf(folder / "params.nc", engine="h5netcdf")
    _write_record(folder, {"spec": fit.spec.name, "variant": fit.variant, "engine": fit.engine,
                           "sampler": fit.sampler, "seconds": fit.seconds,
                           "diagnostics": dataclasses.asdict(fit.diagnostics)},
                  files=ENTRY_FILES[:2])


def _write_record(folder: Path, record: dict, *, files: tuple[str, ...]) -> None:
    """``entry.json``: the record and the SHA-256 of each of the entry's ``files``."""
    record = record | {"sha256": {name: _sha256(folder / name) for name in files}}
    (folder / "entry.json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


def _checked(folder: Path) -> dict:
    """The record of an entry whose files match their checksums (ValueError otherwise)."""
    record = json.loads((folder / "entry.json").read_text(encoding="utf-8"))
    for name, expected in record["sha256"].items():
        if _sha256(folder / name) != expected:
            raise ValueError(f"{name} does not match its checksum")
    return record


def _read_entry(folder: Path, entry: dict, *, spec, design, variant: str, rebuild):
    import xarray as xr

    from mbtbayes.core.arviz_api import read_exact
    from mbtbayes.core.sampling import Diagnostics
    from mbtbayes.growth.fit import GrowthFit

    idata = read_exact(folder / "idata.nc")
    with xr.open_dataset(folder / "params.nc", engine="h5netcdf") as stored:
        params = stored.load()
    model = None
    if entry["engine"] == "bambi" and rebuild is not None:
        model = rebuild(spec, design, variant)
    return GrowthFit(spec, variant, design, idata, Diagnostics(**entry["diagnostics"]),
                     entry["sampler"], float(entry["seconds"]), entry["engine"], model=model,
                     params=params)


def _ours(entry: Path) -> bool:
    """True when ``entry`` is a folder holding only an entry's own files."""
    return entry.is_dir() and all(p.name in ENTRY_FILES and p.is_file()
                                  for p in entry.iterdir())


def _short(err: BaseException) -> str:
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    return text[:120]
