"""Delimited text as clinics export it: encoding, separator and decimal commas found out.

A register exported from Excel or SPSS on a Norwegian (or any continental) Windows machine is
often a ``;``-separated file with decimal commas in Windows-1252, or UTF-16 "Unicode text" with
tabs. This module reads each of them: the encoding is UTF-8 (with or without a byte-order mark)
or UTF-16 with a byte-order mark, else Windows-1252 (Latin-1) with a warning, unless the user
names it; the separator is whichever of ``,`` ``;`` tab ``|`` splits the header into the most
columns; with any separator but a comma, numbers may carry decimal commas. A file that cannot
be read gives one :class:`~mbtbayes.core.errors.DataError` naming the file and the likely cause.

Examples
--------
>>> sniff_separator("patient_id;period;months;assessment;bsi")
';'
>>> decode(b"pasnr;navn\\n1;S\\xf8rensen\\n", name="r.csv")[1]  # doctest: +ELLIPSIS
('r.csv is not UTF-8 text (line 2); read it as Windows-1252 ...',)
"""

from __future__ import annotations

import codecs
import csv
import io

import pandas as pd

from mbtbayes.core.errors import DataError

SEPARATORS: tuple[str, ...] = (",", ";", "\t", "|")
"""Candidate separators, in order of preference on a tie."""

FALLBACK_ENCODING = "cp1252"
"""Windows-1252: what Excel on a Western European Windows machine writes as "CSV"."""

SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "bar"}

MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "an Excel .xlsx workbook (a zip file); rename it to .xlsx"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls workbook (or a password-protected one); save it "
                         "from Excel as .xlsx or CSV, without a password"),
    (b"$FL2", "an SPSS .sav file; rename it to .sav"),
    (b"$FL3", "an SPSS .sav file; rename it to .sav"),
    (b"PAR1", "a Parquet file; rename it to .parquet"),
    (b"%PDF", "a PDF document, not a data table"),
)
"""Leading bytes of files that are not text, with what to do about each."""


def check_encoding(encoding: str) -> str:
    """Return the canonical name of ``encoding``, or raise DataError if Python does not know it.

    Examples
    --------
    >>> check_encoding("latin-1")
    'iso8859-1'
    """
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise DataError(f"unknown encoding '{encoding}'; use for example utf-8, cp1252 "
                        "(Windows, Western Europe), latin-1 or utf-16") from None


def binary_kind(head: bytes) -> str | None:
    """What a file that starts with ``head`` is, when it is not text (None for text)."""
    for magic, kind in MAGIC:
        if head.startswith(magic):
            return kind
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    return "a binary file, not text" if b"\x00" in head[:8192] else None


def decode(data: bytes, *, name: str, encoding: str | None = None) -> tuple[str, tuple[str, ...]]:
    """Decode a text file's bytes; return the text and any warning about the encoding.

    Parameters
    ----------
    data : bytes
        The file's contents.
    name : str
        The file, for messages.
    encoding : str, optional
        The encoding the user named; without it UTF-8 (or UTF-16 with a byte-order mark) is
        tried, then Windows-1252, with a warning.

    Returns
    -------
    text : str
    warnings : tuple of str

    Raises
    ------
    DataError
        When the named encoding does not fit the bytes.
    """
    if encoding is not None:
        try:
            return data.decode(check_encoding(encoding)).removeprefix("\ufeff"), ()
        except UnicodeDecodeError as err:
            raise DataError(f"{name}: cannot be read as {encoding} text: byte "
                            f"{data[err.start]:#04x} on line {_line_of(data, err.start)} does "
                            "not fit; try --encoding utf-8 or --encoding cp1252") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), ()
        except UnicodeDecodeError:
            raise DataError(f"{name}: starts like UTF-16 text but cannot be decoded as "
                            "UTF-16; save it again as CSV (UTF-8)") from None
    try:
        return data.decode("utf-8-sig"), ()
    except UnicodeDecodeError as err:
        where = f"line {_line_of(data, err.start)}"
    fallback = FALLBACK_ENCODING
    try:
        text = data.decode(fallback)
    except UnicodeDecodeError:
        fallback, text = "latin-1", data.decode("latin-1")
    label = "Windows-1252" if fallback == FALLBACK_ENCODING else "Latin-1"
    return text, (f"{name} is not UTF-8 text ({where}); read it as {label} (Western "
                  "European, as Excel on Windows saves CSV): check that letters such as "
                  "æ, ø and å came out right, or name the encoding with --encoding",)


def _line_of(data: bytes, position: int) -> int:
    return data.count(b"\n", 0, position) + 1


def sniff_separator(header: str) -> str:
    """The separator that splits a header line into the most columns (a comma on a tie).

    Examples
    --------
    >>> sniff_separator("a,b;c")
    ','
    >>> sniff_separator("pasnr\\tperiode\\tmnd")
    '\\t'
    """
    counts = {sep: len(next(csv.reader([header], delimiter=sep), [])) for sep in SEPARATORS}
    return max(SEPARATORS, key=lambda sep: (counts[sep], -SEPARATORS.index(sep)))


def parse(text: str, *, name: str) -> tuple[pd.DataFrame, str]:
    """Parse delimited text into a table of strings, without a header (row 0 is the header).

    Returns
    -------
    frame : pandas.DataFrame
        Every cell as text, an empty cell as NaN; ``NA``, ``n/a``, ``.`` and other marks stay
        text, to be read as missing, and counted, by :mod:`mbtbayes.io.missing`. The header is
        row 0.
    separator : str

    Raises
    ------
    DataError
        An empty file, or lines with more fields than the header.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise DataError(f"{name}: the file is empty (no header, no rows)")
    separator = sniff_separator(lines[0])
    try:
        frame = pd.read_csv(io.StringIO(text), sep=separator, header=None, dtype=str,
                            skipinitialspace=True, keep_default_na=False, na_values=[""])
    except pd.errors.ParserError as err:
        raise DataError(f"{name}: read as {SEPARATOR_NAMES[separator]}-separated, but "
                        f"{_ragged(str(err))}; check the separator and any quotes in the "
                        "file") from None
    return frame, separator


def _ragged(message: str) -> str:
    """pandas' 'Expected 5 fields in line 7, saw 6' as a sentence about the file."""
    import re

    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if not found:
        return " ".join(message.split())
    header, line, seen = found.groups()
    return f"line {line} has {seen} fields where the header has {header}"
