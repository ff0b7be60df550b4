"""Work done by forked copies of this process, where the platform forks (Linux).

A forked child sees everything the parent holds (fits, tables) without pickling it, which
fits do not survive. Two shapes: :func:`map_forked` runs a list of tasks in a pool of forked
workers and returns their results in order (a task's error is raised in the caller);
:func:`in_background` runs one task in a forked child while the caller goes on, and
:meth:`Background.wait` waits for it. Where forking is not available, or one worker is asked
for, the tasks run in this process; a worker that dies (not a task's error) has its tasks run
again in this process.

Examples
--------
>>> map_forked([lambda: 1, lambda: 2], workers=1)
[1, 2]
>>> job = in_background(lambda: None)
>>> job.wait()
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

T = TypeVar("T")

_TASKS: Sequence[Callable[[], object]] = ()
"""The tasks being mapped, read by the forked workers (inherited, never pickled)."""


def forks() -> bool:
    """Whether work can go to forked copies of this process (Linux)."""
    return sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()


def usable_cpus() -> int:
    """CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def map_forked(tasks: Sequence[Callable[[], T]], *, workers: int) -> list[T]:
    """Each task's result, in order, computed by ``workers`` forked workers.

    Parameters
    ----------
    tasks : sequence of callables without arguments
    workers : int
        Forked workers (1, or no fork on this platform: in this process).

    Returns
    -------
    list
    """
    global _TASKS
    if workers > 1 and forks() and len(tasks) > 1:
        _TASKS = tasks
        try:
            with ProcessPoolExecutor(min(workers, len(tasks)),
                                     mp_context=multiprocessing.get_context("fork")) as pool:
                return list(pool.map(_run, range(len(tasks))))
        except BrokenProcessPool:  # a worker died (not a task's error): run them here
            pass
        finally:
            _TASKS = ()
    return [task() for task in tasks]


def _run(i: int) -> object:
    return _TASKS[i]()


class Background:
    """One task running in a forked child (or done already, where nothing forks)."""

    def __init__(self, task: Callable[[], None]) -> None:
        self._task = task
        self._process = None
        if not forks():
            task()
            return
        context = multiprocessing.get_context("fork")
        self._reader, writer = context.Pipe(duplex=False)
        self._process = context.Process(target=_child, args=(task, writer), daemon=True)
        self._process.start()
        writer.close()

    def wait(self) -> None:
        """Wait for the task; its error is raised here (the task run again in this process,
        so that the error comes with its own traceback; a child that died is redone too)."""
        if self._process is None:
            return
        self._process.join()
        failed = None
        if self._reader.poll():
            try:
                failed = self._reader.recv()
            except EOFError:  # closed without a word: the exit code tells
                failed = None
        self._reader.close()
        redo = self._process.exitcode != 0 or failed
        self._process = None
        if redo:
            self._task()

    def cancel(self) -> None:
        """Stop the child, if it still runs, without redoing its work."""
        if self._process is not None:
            self._process.terminate()
            self._process.join()
            self._reader.close()
            self._process = None


def in_background(task: Callable[[], None]) -> Background:
    """Start ``task`` in a forked child; call :meth:`Background.wait` before using its work."""
    return Background(task)


def _child(task: Callable[[], None], writer: object) -> None:
    try:
        task()
    except BaseException:  # noqa: BLE001 (reported to the parent, which redoes the task)
        writer.send(traceback.format_exc())
    finally:
        writer.close()
