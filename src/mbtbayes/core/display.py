"""What a long computation shows while it runs: log lines and progress bars.

On a terminal, progress is a rich bar per stage (counts, elapsed time and an estimate of the
time left) on stderr, with the log lines printed above it and the running step in the bar's
text. When stderr is not a terminal (a notebook, CI logs, a pipe), there is no bar: lines are
printed plainly, one per line, and carry the counts (``[3/18] bsi period: ...``).

:class:`Display` is the command line's display (:class:`mbtbayes.report.terminal.Terminal`
adds the headline to it); :func:`talking` gives the public functions the same display when
they are called with ``progress=True`` (their default), so that a script or notebook sees
which fit is running and how many are left.

Examples
--------
>>> import io
>>> err = io.StringIO()
>>> with Display(err=err) as display:
...     display.log("[1/2] bsi linear: passed")
...     display.progress("growth models", 1, 2)
>>> err.getvalue()
'[1/2] bsi linear: passed\\n'
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress as Bar

Progress = Callable[[int, int], None]
"""``progress(done, total)``: a caller's own progress callback."""


class Display:
    """Log lines and progress bars on stderr.

    Parameters
    ----------
    quiet : bool
        Show nothing.
    err : file, optional
        The stream for progress and log lines (default: ``sys.stderr`` when made).
    force_terminal : bool, optional
        Treat the stream as a terminal (True) or not (False); default: ask the stream.
    """

    def __init__(self, *, quiet: bool = False, err: IO[str] | None = None,
                 force_terminal: bool | None = None) -> None:
        from rich.console import Console

        self.quiet = quiet
        self._err = Console(file=err or sys.stderr, highlight=False, markup=False,
                            soft_wrap=True, force_terminal=force_terminal)
        self._bar: Bar | None = None
        self._tasks: dict[str, int] = {}

    @property
    def live(self) -> bool:
        """True when progress bars are drawn (not quiet, and stderr is a terminal)."""
        return not self.quiet and self._err.is_terminal

    def __enter__(self) -> Display:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def log(self, message: str) -> None:
        """One message on stderr (above the bars when they are drawn)."""
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.console.print(message)
        else:
            self._err.file.write(message + "\n")
            self._err.file.flush()

    def progress(self, stage: str, done: int, total: int, *, running: str = "") -> None:
        """Advance the bar of ``stage`` (e.g. ``"growth models"``) to ``done`` of ``total``;
        ``running`` names the step under way in the bar's text."""
        if not self.live:
            return
        if self._bar is None:
            self._bar = _progress_bar(self._err)
            self._bar.start()
        if stage not in self._tasks:
            self._tasks[stage] = self._bar.add_task(stage, total=total)
        text = f"{stage}: {running}" if running else stage
        self._bar.update(self._tasks[stage], completed=done, total=total, description=text)
        if all(task.finished for task in self._bar.tasks):
            self.close()  # the finished bars stay on screen; later lines print plainly

    def close(self) -> None:
        """Stop the bars (they stay on screen as finished)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
            self._tasks.clear()


def _progress_bar(console: Console) -> Bar:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("elapsed"), TimeElapsedColumn(), TextColumn("left"),
                    TimeRemainingColumn(), console=console, transient=False)


@dataclass(frozen=True)
class Talk:
    """What a public function says while it works (made by :func:`talking`).

    Attributes
    ----------
    log : callable or None
        Receives the function's lines.
    progress : callable or None
        ``progress(done, total)``.
    display : Display or None
        The function's own display (``progress=True``), else None.
    stage : str
        The bar's name.
    """

    log: Callable[[str], None] | None
    progress: Progress | None
    display: Display | None
    stage: str

    def say(self, message: str) -> None:
        """One line of the function's log (e.g. a finished fit), when there is a log."""
        if self.log is not None:
            self.log(message)

    def announce(self, message: str) -> None:
        """One line of the display alone (e.g. what is about to run): shown only by the
        function's own display, never sent to a caller's ``log``."""
        if self.display is not None:
            self.display.log(message)

    def done(self, done: int, total: int) -> None:
        """``done`` of ``total`` steps finished."""
        if self.progress is not None:
            self.progress(done, total)

    def running(self, what: str, done: int, total: int) -> None:
        """Step ``done + 1`` of ``total``, ``what``, starts: in the bar's text on a terminal,
        as the display's line ``[i/n] stage: what ...`` elsewhere; nothing without an own
        display (the caller passed its own ``progress``, or none)."""
        if self.display is None:
            return
        if self.display.live:
            self.display.progress(self.stage, done, total, running=what)
        else:
            self.announce(f"[{done + 1}/{total}] {self.stage}: {what} ...")


@contextmanager
def talking(stage: str, *, progress: bool | Progress | None,
            log: Callable[[str], None] | None) -> Iterator[Talk]:
    """The :class:`Talk` of a public function's ``progress`` and ``log`` options.

    ``progress=True``: the function's own :class:`Display` on stderr, stopped when the function
    ends or fails; it shows what is about to run (:meth:`Talk.announce`, :meth:`Talk.running`)
    and, unless ``log`` is given, the function's log lines too (a given ``log`` gets exactly
    the lines it got without the display). A callable: called as
    ``progress(done, total)``. False or None: no progress.

    Examples
    --------
    >>> lines = []
    >>> with talking("growth models", progress=False, log=lines.append) as talk:
    ...     talk.running("bsi linear", 0, 1)    # no own display: says nothing
    ...     talk.say("[1/1] bsi linear: passed")
    >>> lines
    ['[1/1] bsi linear: passed']
    """
    if progress is True:
        with Display() as display:
            yield Talk(log or display.log, partial(display.progress, stage), display, stage)
        return
    yield Talk(log, progress or None, None, stage)
