"""``run.json``: what a run needs to be repeated and checked.

The command line (the equivalent ``mbtbayes reanalyze`` call and the process's own
arguments), the versions of Python and of every package that shapes a result, the run seed
and each fit's seed, the sampler settings with the diagnostics gate and retry policy, and the
SHA-256 of the data file, of the column mapping and of each model spec.

Examples
--------
>>> sha256_bytes(b"abc")[:12]
'ba7816bf8f01'
>>> info = run_record(options={"seed": 1}, data=None, register=reg, specs=specs)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
import shlex
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import pandas as pd

from mbtbayes.core.sampling import GATE, RETRY
from mbtbayes.core.seeds import seed_for
from mbtbayes.growth.engines import Engines
from mbtbayes.growth.specs import models_dir
from mbtbayes.io.register import Register, bundled_path

PACKAGES = ("mbtbayes", "pymc", "pytensor", "nutpie", "numba", "bambi", "arviz", "numpy",
            "scipy", "pandas", "statsmodels", "xarray", "matplotlib", "formulae")
"""Packages whose versions a run records."""


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def versions() -> dict[str, str]:
    """Python, platform and package versions (``"not installed"`` when absent)."""
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def data_record(data: str | Path | pd.DataFrame | None, register: Register) -> dict:
    """Where the data came from and its SHA-256 (a DataFrame: of its CSV text)."""
    record = {"label": register.label, "synthetic": bool(register.synthetic),
              "rows": int(len(register.data)),
              "patients": int(register.data["patient_id"].nunique())
              if "patient_id" in register.data else None}
    if isinstance(data, pd.DataFrame):
        text = data.to_csv(index=False, lineterminator="\n").encode("utf-8")
        return record | {"file": None, "sha256": sha256_bytes(text),
                         "sha256_of": "the DataFrame passed in, as CSV text"}
    path = bundled_path() if data is None else Path(data)
    return record | {"file": str(path), "sha256": sha256_file(path), "sha256_of": "the file"}


def spec_records(specs: dict, models: str | Path | None) -> dict[str, dict]:
    """Per spec: its TOML file and that file's SHA-256 (or of its fields, for a made spec)."""
    folder = Path(models) if models is not None else models_dir()
    out = {}
    for name, spec in specs.items():
        path = folder / f"{name}.toml"
        if path.is_file():
            out[name] = {"file": str(path), "sha256": sha256_file(path)}
        else:
            text = json.dumps(dataclasses.asdict(spec), sort_keys=True, default=str)
            out[name] = {"file": None, "sha256": sha256_bytes(text.encode("utf-8")),
                         "sha256_of": "the spec's fields as sorted JSON"}
    return out


def command_line(options: dict) -> str:
    """The ``mbtbayes reanalyze`` command that repeats a run with these options.

    Examples
    --------
    >>> command_line({"data": None, "out": "res", "seed": 3, "draws": 500, "quick": False})
    'mbtbayes reanalyze --out res --seed 3 --draws 500'
    """
    words = ["mbtbayes", "reanalyze"]
    for key, value in options.items():
        if value is None or value is False or isinstance(value, pd.DataFrame):
            continue
        flag = "--" + key.replace("_", "-")
        words += [flag] if value is True else [flag, str(value)]
    return shlex.join(words)


def run_record(*, options: dict, data: str | Path | pd.DataFrame | None, register: Register,
               specs: dict, engines: Engines | None = None, fits: list | None = None,
               models: str | Path | None = None, mapping: str | Path | dict | None = None,
               seconds: dict | None = None) -> dict:
    """Everything ``run.json`` holds.

    Parameters
    ----------
    options : dict
        The run's options as passed (data, mapping, models, out, seed, draws, chains,
        sampler, quick, ...).
    data : path, DataFrame or None
        As passed to the run (None: the bundled synthetic register).
    register : Register
    specs : dict of str to ModelSpec
    engines : Engines, optional
        The run's engines: they give the sampler settings actually used.
    fits : list of GrowthFit, optional
        Gives each fit's seed and attempts.
    models : path, optional
        Folder of the spec files.
    mapping : path, dict or None
    seconds : dict, optional
        Wall time per stage.

    Returns
    -------
    dict
    """
    seed = options.get("seed")
    sampler = {}
    if engines is not None:
        sampler = dataclasses.asdict(engines.sampling.options)
    sampler |= {"gate": dict(GATE), "retry": dict(RETRY)}
    fit_seeds = {f"{f.spec.name}/{f.variant}": seed_for(seed, f.spec.name, f.variant)
                 for f in (fits or [])}
    record = {
        "written_by": "mbtbayes",
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "command_line": command_line({k: v for k, v in options.items()
                                      if k not in ("log", "progress", "headline")}),
        "process_argv": [Path(sys.argv[0]).name, *sys.argv[1:]],
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in options.items()
                    if not isinstance(v, pd.DataFrame | dict) and not callable(v)},
        "data": data_record(data, register),
        "mapping": _mapping_record(mapping),
        "specs": spec_records(specs, models),
        "sampler": sampler,
        "seeds": {"run": seed, "rule": "seed_for(run seed, spec name, variant): SHA-256 of the "
                  "name as a SeedSequence spawn key", "fits": fit_seeds},
        "versions": versions(),
    }
    if fits:
        record["fit_seconds"] = {f"{f.spec.name}/{f.variant}": round(f.seconds, 2) for f in fits}
    if seconds:
        record["seconds"] = {k: round(v, 2) for k, v in seconds.items()}
    return record


def _mapping_record(mapping: str | Path | dict | None) -> dict | None:
    if mapping is None:
        return None
    if isinstance(mapping, str | Path):
        return {"file": str(mapping), "sha256": sha256_file(mapping)}
    text = json.dumps(mapping, sort_keys=True, default=str).encode("utf-8")
    return {"file": None, "sha256": sha256_bytes(text), "sha256_of": "the mapping as JSON"}


def write_run_json(folder: str | Path, record: dict) -> Path:
    """Write ``run.json`` into ``folder``."""
    path = Path(folder) / "run.json"
    path.write_text(json.dumps(record, indent=1, default=str) + "\n", encoding="utf-8")
    return path
