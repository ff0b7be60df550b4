"""Writing a run's outputs safely: atomically, and never over anything mbtbayes did not write.

An output folder is written into a temporary folder beside it and swapped in only when every
file is written, so a failed or interrupted run leaves no half-written tables and the previous
output intact. Every output folder holds a manifest, :data:`MARKER`, listing the files the run
wrote. An existing folder is replaced only when it is empty or is a previous mbtbayes output
whose every file is in its manifest; anything else (a user's folder, a file, the data file, a
folder holding the data file) is refused with :class:`~mbtbayes.core.errors.OutputError`
before any work starts.

Every table gets a ``data_source`` column (``"synthetic"`` or ``"register"``), and the folder
holds ``DATA_SOURCE.txt`` saying what the data were.

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp()) / "results"
>>> check_output(folder) == folder.resolve()
True
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from mbtbayes import __version__
from mbtbayes.core.errors import OutputError
from mbtbayes.core.formatting import markdown_table
from mbtbayes.io.register import Register

MARKER = ".mbtbayes-output.json"
"""The manifest every output folder holds: what wrote it and which files."""


def label_table(table: pd.DataFrame, register: Register) -> pd.DataFrame:
    """Return ``table`` with a first column ``data_source`` naming the kind of data."""
    labelled = table.copy()
    labelled.insert(0, "data_source", "synthetic" if register.synthetic else "register")
    return labelled


def check_output(out: str | Path, *, data: str | Path | None = None) -> Path:
    """Check that ``out`` may be written (or replaced) before any work starts.

    Parameters
    ----------
    out : path
        The output folder.
    data : path, optional
        The data file of the run: it may be neither the output nor inside it.

    Returns
    -------
    Path
        The resolved output folder.

    Raises
    ------
    OutputError
        ``out`` is a file, is or holds the data file, is a folder with files mbtbayes did not
        write, or its parent cannot be written.

    Examples
    --------
    >>> check_output(".")  # doctest: +SKIP
    Traceback (most recent call last):
    OutputError: refusing to write into ...
    """
    out = Path(out).expanduser().resolve()
    if data is not None and isinstance(data, str | Path):
        source = Path(data).expanduser().resolve()
        if source == out or out in source.parents:
            raise OutputError(f"--out {out} would replace the data file {source}; "
                              "choose another output folder with --out NEW")
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} is a file, not a folder; choose a folder with --out NEW")
    if out.is_dir():
        foreign = _foreign_files(out)
        if foreign:
            shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more"
                                              if len(foreign) > 3 else "")
            raise OutputError(f"refusing to write into {out}: it holds files mbtbayes did not "
                              f"write ({shown}); choose a new folder with --out NEW")
    parent = _existing_parent(out)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write the output folder {out}: {parent} is not writable; "
                          "choose another folder with --out NEW")
    return out


def _existing_parent(path: Path) -> Path:
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    return parent


def _foreign_files(folder: Path) -> list[str]:
    """Files in ``folder`` that its manifest does not list (all of them without a manifest)."""
    present = sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                     if p.is_file() or p.is_symlink())
    listed = set(_manifest(folder))
    return [p for p in present if p != MARKER and p not in listed]


def _manifest(folder: Path) -> list[str]:
    try:
        manifest = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(manifest, dict) or manifest.get("written_by") != "mbtbayes":
        return []
    return [str(f) for f in manifest.get("files", [])]


def write_run(
    out: str | Path,
    register: Register,
    tables: dict[str, pd.DataFrame],
    *,
    extra: Callable[[Path], None] | None = None,
) -> Path:
    """Write a run's tables, each labelled with its data source, into ``out`` atomically.

    Parameters
    ----------
    out : str or Path
        Output folder (see :func:`write_tables`).
    register : Register
        The data the tables were made from (labels every table).
    tables : dict of str to DataFrame
        File stem -> table.
    extra : callable, optional
        Called with the temporary folder to write further files (figures, fits) before the swap.

    Returns
    -------
    Path
        The output folder.
    """
    labelled = {stem: label_table(table, register) for stem, table in tables.items()}
    return write_tables(out, labelled, label=register.label, extra=extra)


def write_tables(
    out: str | Path,
    tables: dict[str, pd.DataFrame],
    *,
    label: str,
    extra: Callable[[Path], None] | None = None,
) -> Path:
    """Write tables as CSV and Markdown into ``out`` atomically, with a data-source note.

    CSV keeps full precision; Markdown is rounded for reading
    (:func:`mbtbayes.core.formatting.markdown_table`).

    Parameters
    ----------
    out : str or Path
        Output folder; checked by :func:`check_output`, and an existing previous output is
        replaced as a whole only at the end.
    tables : dict of str to DataFrame
        File stem -> table.
    label : str
        What the data were; written to ``DATA_SOURCE.txt`` and atop every Markdown table.
    extra : callable, optional
        Called with the temporary folder to write further files before the swap.

    Returns
    -------
    Path
    """
    out = check_output(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-new-", dir=out.parent))
    try:
        (tmp / "DATA_SOURCE.txt").write_text(label + "\n", encoding="utf-8")
        for stem, table in tables.items():
            table.to_csv(tmp / f"{stem}.csv", index=False, lineterminator="\n")
            (tmp / f"{stem}.md").write_text(
                f"Data: {label}\n\n" + markdown_table(table) + "\n", encoding="utf-8")
        if extra is not None:
            extra(tmp)
        _write_manifest(tmp, label)
        _swap(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _write_manifest(folder: Path, label: str) -> None:
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    manifest = {"written_by": "mbtbayes", "version": __version__, "data": label,
                "files": files}
    (folder / MARKER).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


def _swap(new: Path, out: Path) -> None:
    """Put ``new`` in place of ``out``; the old output is removed only after the swap."""
    check_output(out)  # the folder may have changed while the run worked
    if not out.exists():
        new.rename(out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}-old-", dir=out.parent))
    old.rmdir()
    out.rename(old)
    try:
        new.rename(out)
    except BaseException:
        old.rename(out)
        raise
    shutil.rmtree(old)
