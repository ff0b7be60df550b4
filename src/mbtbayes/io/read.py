"""Reading a register file: CSV (or other delimited text), ``.xlsx``, Parquet or SPSS ``.sav``.

The table is read as it is, before any mapping: column names exactly as in the file's header
(a name used twice is kept twice, for the mapping step to refuse), cells as text for text files
and as stored otherwise. SPSS value labels are kept beside the codes, so that a mapping may
name either. A file that cannot be read raises one :class:`~mbtbayes.core.errors.DataError`
naming the file and the likely cause.

Examples
--------
>>> from mbtbayes.io.read import read_table
>>> raw = read_table("register.sav")  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mbtbayes.core.errors import DataError
from mbtbayes.io.codes import as_text
from mbtbayes.io.text import binary_kind, check_encoding, decode, parse

TEXT_SUFFIXES = (".csv", ".txt", ".tsv", ".tab")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
SUFFIXES = (*TEXT_SUFFIXES, *EXCEL_SUFFIXES, ".parquet", ".pq", ".sav")


@dataclass(frozen=True)
class RawTable:
    """A table as read from a file, with what the reader learnt about it.

    Attributes
    ----------
    frame : pandas.DataFrame
        The cells, with the header's column names (not made unique).
    value_labels : dict
        SPSS value labels: column -> {code: label} (empty for other formats).
    decimal_comma : bool
        Numbers may be written with a decimal comma (text files not separated by commas).
    warnings : tuple of str
        Things to check, e.g. an encoding that was guessed.
    """

    frame: pd.DataFrame
    value_labels: dict[str, dict] = field(default_factory=dict)
    decimal_comma: bool = False
    warnings: tuple[str, ...] = ()


def read_table(path: str | Path, *, encoding: str | None = None) -> pd.DataFrame:
    """Read a CSV, ``.xlsx``, Parquet or SPSS ``.sav`` file as it is, before any mapping.

    Parameters
    ----------
    path : str or Path
    encoding : str, optional
        Text encoding of a CSV or ``.sav`` file (default: found out, see :func:`read_raw`).

    Returns
    -------
    pandas.DataFrame
        SPSS files keep their numeric codes (see :func:`read_raw` for the labels).

    Raises
    ------
    DataError
        The file is missing, empty or not in a format it claims to be, with the likely cause.
    """
    return read_raw(path, encoding=encoding).frame


def read_raw(path: str | Path, *, encoding: str | None = None) -> RawTable:
    """Read a register file into a :class:`RawTable`.

    Text files (``.csv``, ``.txt``, ``.tsv``) may be UTF-8 (with or without a byte-order mark),
    UTF-16 with a byte-order mark, or Windows-1252 / Latin-1 (read with a warning unless
    ``encoding`` names it); separated by commas, semicolons, tabs or bars (found from the
    header); with CRLF or LF line ends; with decimal commas when not comma-separated. Excel
    files are read from their first sheet.

    Parameters
    ----------
    path : str or Path
    encoding : str, optional
        Encoding of a text or ``.sav`` file; ignored (with a warning) for other formats.

    Returns
    -------
    RawTable

    Raises
    ------
    DataError
        One message naming the file and the likely cause.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "r.csv"
    >>> _ = path.write_bytes("pasnr;bsi\\r\\nÅse;1,5\\r\\n".encode("cp1252"))
    >>> raw = read_raw(path)
    >>> raw.frame.to_dict("list"), raw.decimal_comma, len(raw.warnings)
    ({'pasnr': ['Åse'], 'bsi': ['1,5']}, True, 1)
    """
    path = Path(path)
    if encoding is not None:
        check_encoding(encoding)
    _check_file(path)
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return _read_text(path, encoding)
    ignored = () if encoding is None else (f"--encoding {encoding} is not used for "
                                           f"{suffix} files (they name their own encoding)",)
    if suffix in EXCEL_SUFFIXES:
        table = _read_excel(path)
        return RawTable(table.frame, warnings=ignored + table.warnings)
    if suffix in (".parquet", ".pq"):
        return RawTable(_read_parquet(path), warnings=ignored)
    return _read_sav(path, encoding)


def _check_file(path: Path) -> None:
    if not path.exists():
        raise DataError(f"data file not found: {path}")
    if path.is_dir():
        raise DataError(f"{path} is a folder; --data takes a file")
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise DataError(f"cannot read {path}: old Excel .xls files are not supported; save it "
                        "from Excel as .xlsx or CSV")
    if suffix not in SUFFIXES:
        raise DataError(f"cannot read {path}: use a .csv, .xlsx, .parquet or .sav file")
    try:
        size = path.stat().st_size
        with path.open("rb"):
            pass
    except OSError as err:
        raise DataError(f"cannot read {path}: {err.strerror or err}") from None
    if size == 0:
        raise DataError(f"{path}: the file is empty (0 bytes)")


def _read_text(path: Path, encoding: str | None) -> RawTable:
    data = path.read_bytes()
    kind = binary_kind(data[:8192])
    if kind is not None:
        raise DataError(f"cannot read {path} as text: it looks like {kind}")
    text, warnings = decode(data, name=str(path), encoding=encoding)
    frame, separator = parse(text, name=str(path))
    return RawTable(with_header(frame, name=str(path)), decimal_comma=separator != ",",
                    warnings=warnings)


def _read_excel(path: Path) -> RawTable:
    import zipfile

    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
        sheets = book.sheetnames
        book.close()
        frame = pd.read_excel(path, sheet_name=0, header=None, dtype=object, engine="openpyxl")
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as err:
        kind = binary_kind(path.read_bytes()[:8192])
        cause = f"it looks like {kind}" if kind and "xlsx" not in kind else (
            "it is text, not a workbook; rename it to .csv" if kind is None
            else f"the workbook is damaged ({type(err).__name__}: {err})")
        raise DataError(f"cannot read {path} as an Excel workbook: {cause}") from None
    warnings = ()
    if len(sheets) > 1:
        warnings = (f"{path.name} has {len(sheets)} sheets; read the first, '{sheets[0]}' "
                    "(put the register in the first sheet)",)
    return RawTable(with_header(frame, name=str(path)), warnings=warnings)


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except Exception as err:  # pyarrow raises several types for a file that is not Parquet
        raise DataError(f"cannot read {path} as a Parquet file: "
                        f"{' '.join(str(err).split())}") from None
    if frame.columns.empty:
        raise DataError(f"{path}: the file is empty (no columns)")
    return frame


def _read_sav(path: Path, encoding: str | None) -> RawTable:
    import pyreadstat

    try:
        frame, meta = pyreadstat.read_sav(str(path), encoding=encoding)
    except Exception as err:  # pyreadstat's errors carry the C library's message
        raise DataError(f"cannot read {path} as an SPSS .sav file: "
                        f"{' '.join(str(err).split())}") from None
    if frame.columns.empty:
        raise DataError(f"{path}: the file is empty (no variables)")
    labels = {str(c): dict(v) for c, v in meta.variable_value_labels.items() if c in frame}
    return RawTable(frame, value_labels=labels)


def with_header(frame: pd.DataFrame, *, name: str) -> pd.DataFrame:
    """Make row 0 of a header-less table its column names.

    Names are stripped of surrounding spaces and kept as they are otherwise (a name used
    twice stays twice). A column with a blank name is dropped when it is empty too (the
    trailing separators of a spreadsheet export) and called ``unnamed_<k>`` otherwise; empty
    rows at the end are dropped.

    Raises
    ------
    DataError
        When the table has no header row.
    """
    if frame.empty:
        raise DataError(f"{name}: the file is empty (no header, no rows)")
    names = [_name(v, k) for k, v in enumerate(frame.iloc[0], start=1)]
    body = frame.iloc[1:].set_axis(names, axis=1)
    keep = [k for k, v in enumerate(frame.iloc[0])
            if not _blank(v) or body.iloc[:, k].notna().any()]
    body = body.iloc[:, keep]
    filled = body.notna().to_numpy().any(axis=1).nonzero()[0]
    body = body.iloc[: filled[-1] + 1 if len(filled) else 0]
    return body.reset_index(drop=True)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value)) or not str(value).strip()


def _name(value: object, k: int) -> str:
    return f"unnamed_{k}" if _blank(value) else as_text(value)
