"""A signal is never lost.

nutpie and PyMC check for signals while they sample and answer any exception a signal
handler raises by stopping and returning the draws so far; when that happens after the last
draw, the exception is gone and the run would go on. Python drops one raised in a weakref
callback or a finaliser too. The command line's handlers therefore record the exception they
raise (:func:`record`), and the sampling path (as soon as a sampler returns) and every stage of
``reanalyze`` call :func:`reraise`, which raises it again (once).

Examples
--------
>>> reraise()  # nothing pending
>>> _ = record(RuntimeError("stop"))
>>> try:
...     reraise()
... except RuntimeError as exc:
...     print(exc)
stop
>>> reraise()  # raised once
"""

from __future__ import annotations

_pending: BaseException | None = None


def record(exc: BaseException) -> BaseException:
    """Keep ``exc`` (the exception a signal handler is about to raise); returns it."""
    global _pending
    _pending = exc
    return exc


def reraise() -> None:
    """Raise the recorded exception, if any, and forget it."""
    global _pending
    exc, _pending = _pending, None
    if exc is not None:
        raise exc


def clear() -> None:
    """Forget a recorded exception (a run's handlers are installed or removed)."""
    global _pending
    _pending = None
