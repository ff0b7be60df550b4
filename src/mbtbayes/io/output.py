"""Writing a run's outputs atomically: a failed run leaves no half-written tables.

Every table gets a ``data_source`` column (``"synthetic"`` or ``"register"``), and the folder
holds ``DATA_SOURCE.txt`` saying what the data were.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from mbtbayes.io.register import Register


def label_table(table: pd.DataFrame, register: Register) -> pd.DataFrame:
    """Return ``table`` with a first column ``data_source`` naming the kind of data."""
    labelled = table.copy()
    labelled.insert(0, "data_source", "synthetic" if register.synthetic else "register")
    return labelled


def write_run(
    out: str | Path,
    register: Register,
    tables: dict[str, pd.DataFrame],
    *,
    extra: Callable[[Path], None] | None = None,
) -> Path:
    """Write tables (CSV and Markdown) into ``out``, replacing it only when all are written.

    Parameters
    ----------
    out : str or Path
        Output folder; an existing one is replaced as a whole at the end.
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

    Parameters
    ----------
    out : str or Path
        Output folder; an existing one is replaced as a whole at the end.
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
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        (tmp / "DATA_SOURCE.txt").write_text(label + "\n", encoding="utf-8")
        for stem, table in tables.items():
            table.to_csv(tmp / f"{stem}.csv", index=False, lineterminator="\n")
            (tmp / f"{stem}.md").write_text(
                f"Data: {label}\n\n" + table.to_markdown(index=False) + "\n", encoding="utf-8")
        if extra is not None:
            extra(tmp)
        _swap(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _swap(new: Path, out: Path) -> None:
    old = out.with_name(f".{out.name}-old")
    if old.exists():
        shutil.rmtree(old)
    if out.exists():
        out.rename(old)
    new.rename(out)
    shutil.rmtree(old, ignore_errors=True)
