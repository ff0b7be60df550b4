"""The terminal: progress over the fits, log lines, and the headline at the end.

Progress and log lines are :class:`mbtbayes.core.display.Display`'s (the display the public
functions show with ``progress=True``): on a terminal, a rich bar per stage (counts, elapsed
time and an estimate of the time left) on stderr, with the log lines printed above it; when
stderr is not a terminal (CI logs, a pipe), no bar: log lines printed plainly, one per line,
carrying the counts (``[3/18] bsi period: ...``). The headline goes to stdout: as rich tables
on a terminal, as plain text otherwise. ``quiet`` turns all three off.

Examples
--------
>>> import io
>>> err, out = io.StringIO(), io.StringIO()
>>> with Terminal(err=err, out=out) as term:
...     term.log("[1/2] bsi linear: passed")
...     term.progress("growth models", 1, 2)
>>> err.getvalue()
'[1/2] bsi linear: passed\\n'
>>> with Terminal(quiet=True, err=err, out=out) as term:
...     term.log("not shown")
>>> "not shown" in err.getvalue()
False
"""

from __future__ import annotations

import sys
from typing import IO

import pandas as pd

from mbtbayes.core.display import Display
from mbtbayes.report.headline import GROWTH_TITLE, REMISSION_TITLE, headline, headline_text


class Terminal(Display):
    """Progress bars, log lines and the headline, for the command line.

    Parameters
    ----------
    quiet : bool
        Show nothing (errors are printed by the command line itself).
    err, out : file, optional
        Streams for progress and log lines (default stderr) and for the headline (default
        stdout).
    force_terminal : bool, optional
        Treat both streams as terminals (True) or not (False); default: ask the streams.
    """

    def __init__(self, *, quiet: bool = False, err: IO[str] | None = None,
                 out: IO[str] | None = None, force_terminal: bool | None = None) -> None:
        from rich.console import Console

        super().__init__(quiet=quiet, err=err, force_terminal=force_terminal)
        self._out = Console(file=out or sys.stdout, highlight=False, markup=False,
                            force_terminal=force_terminal)

    def __enter__(self) -> Terminal:
        return self

    def headline(self, tables: dict[str, pd.DataFrame]) -> None:
        """The answer: rich tables on a terminal, plain text otherwise."""
        self.close()
        if self.quiet:
            return
        if not self._out.is_terminal:
            self._out.file.write(headline_text(tables) + "\n")
            return
        for renderable in _rich_headline(tables):
            self._out.print(renderable)


def _rich_headline(tables: dict[str, pd.DataFrame]) -> list:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    parts = headline(tables)
    out = []
    for title, frame in ((GROWTH_TITLE, parts["growth"]), (REMISSION_TITLE, parts["remission"])):
        if frame.empty:
            continue
        table = Table(title=title, title_justify="left", header_style="bold",
                      box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 0),
                      collapse_padding=True, show_edge=False)
        for i, column in enumerate(frame.columns):
            widest = int(frame[column].astype(str).str.len().max())
            table.add_column(str(column), justify="left" if i == 0 else "right",
                             min_width=widest)
        for row in frame.itertuples(index=False):
            table.add_row(*[Text(str(v), style=_style(str(v))) for v in row])
        out += [Text(""), table]
    out += [Text("")] + [Text(line, style="bold") for line in parts["lines"]]
    return out


def _style(cell: str) -> str:
    if cell.startswith("difference"):
        return "bold"
    return "red" if "FAILED" in cell else ""
