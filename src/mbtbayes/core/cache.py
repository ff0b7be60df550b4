"""A disk cache of draws and records, keyed by everything that decides them, so that a rerun
neither compiles nor samples a model it has sampled before.

An entry is a folder ``<key>/`` named by the SHA-256 of a model's identity (:meth:`DiskCache.
identity_key`: JSON values, arrays and data frames, plus the package versions). It holds the
draws of a sampled model (``idata.nc``), or the JSON record of a model that is not sampled
(``record.json``), beside ``entry.json`` (diagnostics and the SHA-256 of each file). Every
entry is written into a temporary folder and renamed into place, so a crash leaves no half
entry; an entry whose files are missing, truncated or do not match their checksums is refitted
and replaced, with a logged note.

The cache folder holds a marker, :data:`MARKER`. A folder that exists, is not empty and has no
marker is refused (:class:`~mbtbayes.core.errors.OutputError`): the cache never deletes or
overwrites files mbtbayes did not write, and replaces only entry folders holding nothing but
its own files (:data:`ENTRY_FILES`).

Every sampled model of the package goes through :class:`~mbtbayes.core.sampling.Sampler`,
which reads and writes its draws here when it has a cache; the growth fits' own entries
(:class:`mbtbayes.growth.cache.FitCache`) build on this class.

Examples
--------
>>> import tempfile
>>> cache = DiskCache(tempfile.mkdtemp())
>>> cache.hits, cache.misses
(0, 0)
>>> len(cache.identity_key({"model": "demo", "n": 3}))
64
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Self

import numpy as np
import pandas as pd

from mbtbayes import __version__
from mbtbayes.core.arviz_api import read_exact, write_exact
from mbtbayes.core.errors import OutputError
from mbtbayes.core.sampling import Diagnostics

if TYPE_CHECKING:
    from arviz import InferenceData

MARKER = ".mbtbayes-cache.json"
"""The file marking a folder as an mbtbayes fit cache."""

ENTRY_FILES = ("idata.nc", "params.nc", "entry.json", "record.json")
"""The files an entry may hold."""

ENTRY_LAYOUTS = (frozenset({"idata.nc", "params.nc", "entry.json"}),
                 frozenset({"idata.nc", "entry.json"}), frozenset({"record.json", "entry.json"}))
"""The files of a whole entry: a growth fit, the draws of another sampled model (remission,
GLMM, a K-fold refit), a record (an ML fit)."""

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


class DiskCache:
    """Draws and records on disk, keyed by everything that decides them.

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
    >>> DiskCache(tempfile.mkdtemp()).folder.name  # doctest: +ELLIPSIS
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
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / MARKER).write_text(json.dumps(
            {"written_by": "mbtbayes", "kind": "fit cache", "version": __version__}) + "\n",
            encoding="utf-8")

    @classmethod
    def open(cls, cache: DiskCache | str | Path | bool | None, *,
             log: Callable[[str], None] | None = None) -> Self | None:
        """The cache a ``cache`` argument names: None or False (no cache), a folder, or a cache
        (a :class:`DiskCache` of another class is opened again on its folder as this class).

        Examples
        --------
        >>> DiskCache.open(None) is None and DiskCache.open(False) is None
        True
        """
        if cache is None or cache is False:
            return None
        if isinstance(cache, cls):
            return cache
        if isinstance(cache, DiskCache):
            return cls(cache.folder, log=cache.log)
        return cls(cache, log=log)

    def identity_key(self, identity: dict) -> str:
        """The entry key of any other model (remission, GLMM, ML fits): the SHA-256 of its
        ``identity`` (JSON values, arrays and data frames) and the package versions."""
        digest = hashlib.sha256(b"draws")
        _update_identity(digest, {"identity": identity, "versions": package_versions()})
        return digest.hexdigest()

    def get_draws(self, key: str) -> tuple[InferenceData, Diagnostics] | None:
        """``(idata, Diagnostics)`` stored under ``key`` by :meth:`put_draws`, or None."""
        return self._load(key, lambda entry, record: (
            read_exact(entry / "idata.nc"), Diagnostics(**record["diagnostics"])),
            f"the entry {key[:12]}", "sampling it again")

    def put_draws(self, key: str, idata: InferenceData, diagnostics: Diagnostics) -> None:
        """Store the draws of a sampled model under ``key``, atomically."""
        def write(folder: Path) -> None:
            write_exact(idata, folder / "idata.nc")
            write_entry_record(folder, {"diagnostics": dataclasses.asdict(diagnostics)},
                          files=("idata.nc",))

        self._put(key, write, f"model {key[:12]}")

    def get_record(self, key: str) -> dict | None:
        """The JSON record stored under ``key`` by :meth:`put_record`, or None."""
        return self._load(key, lambda entry, record: json.loads(
            (entry / "record.json").read_text(encoding="utf-8")),
            f"the entry {key[:12]}", "fitting it again")

    def _load(self, key: str, read: Callable[[Path, dict], object], what: str, then: str) -> object:
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
            write_entry_record(folder, {}, files=("record.json",))

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


def digest_array(digest: hashlib._Hash, array: np.ndarray | None) -> None:
    if array is None:
        digest.update(b"none")
        return
    array = np.ascontiguousarray(array)
    digest.update(f"{array.dtype.str}{array.shape}".encode())
    digest.update(array.tobytes())


def _update_identity(digest: hashlib._Hash, value: object) -> None:
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
        digest_array(digest, value)
    elif isinstance(value, pd.DataFrame):
        digest.update(repr({str(k): str(v) for k, v in value.dtypes.items()}).encode())
        digest.update(pd.util.hash_pandas_object(value, index=True).values.tobytes())
    else:
        digest.update(json.dumps(value, default=str).encode())


def package_versions() -> dict[str, str]:
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


def write_entry_record(folder: Path, record: dict, *, files: tuple[str, ...]) -> None:
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


def _ours(entry: Path) -> bool:
    """True when ``entry`` is a folder holding only an entry's own files."""
    return entry.is_dir() and all(p.name in ENTRY_FILES and p.is_file()
                                  for p in entry.iterdir())


def _short(err: BaseException) -> str:
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    return text[:120]
