"""One executor interface for independent jobs: in-process, local processes, or a Dask cluster.

Sensitivity settings, calibration replicates, power scenarios and K-fold folds are independent
fits. They fan out through :func:`executor_for`, whichever backend runs them:

- ``None`` or ``"inline"``: in this process, one after the other (compiled graphs are reused);
- ``"processes"`` or ``"processes:N"``: N local worker processes (``spawn``; each compiles its
  own graphs once);
- ``"tcp://host:port"``: a Dask distributed scheduler (``--scheduler`` or the environment
  variable :data:`SCHEDULER_ENV`).

Each job carries its own seed, derived by name (:func:`mbtbayes.core.seeds.seed_for`), so the
results are identical whichever executor runs them. Every executor says how many ``workers``
it has; callers split replicates into that many chunks (see :func:`chunked`), so that each
chunk compiles its graphs once. Jobs and their functions must be picklable
(module-level functions, plain data) for the process and Dask backends.

Examples
--------
>>> with executor_for(None) as ex:
...     ex.map(abs, [-1, 2, -3])
[1, 2, 3]
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from multiprocessing import get_context
from types import ModuleType
from typing import Any

from mbtbayes.core.errors import DependencyError, SpecError

DASK_MISSING = ("a Dask scheduler needs the 'distributed' package, which is not installed: "
                'pip install "mbtbayes[dask]" (or, in a clone, uv sync --extra dask)')
"""The message of :class:`~mbtbayes.core.errors.DependencyError` when Dask is asked for but
``distributed`` is missing."""

SCHEDULER_ENV = "MBTBAYES_SCHEDULER"
"""Environment variable naming the executor when ``--scheduler`` is not given."""

Progress = Callable[[int, int], None]
"""``progress(done, total)``, called as jobs finish."""


class InlineExecutor:
    """Runs jobs in this process, in order."""

    name = "inline"
    workers = 1

    def map(self, fn: Callable, items: Sequence, *, progress: Progress | None = None) -> list:
        """Apply ``fn`` to every item; results in item order."""
        results = []
        for i, item in enumerate(items, start=1):
            results.append(fn(item))
            if progress is not None:
                progress(i, len(items))
        return results


class ProcessExecutor:
    """Runs jobs in local worker processes (``spawn``: no state is inherited)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.name = f"processes:{workers}"
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))

    def map(self, fn: Callable, items: Sequence, *, progress: Progress | None = None) -> list:
        """Apply ``fn`` to every item in the workers; results in item order."""
        futures = {self._pool.submit(fn, item): i for i, item in enumerate(items)}
        return _collect(as_completed(futures), futures, len(items), progress)

    def close(self) -> None:
        """Stop the workers."""
        self._pool.shutdown(cancel_futures=True)


CONNECT_TIMEOUT = "30s"
"""How long to wait for a Dask scheduler (a just-started local cluster on a loaded 2-core machine
can take more than 5 s to answer)."""


class DaskExecutor:
    """Runs jobs on a Dask distributed cluster given by its scheduler address."""

    def __init__(self, address: str) -> None:
        distributed = _distributed()
        try:
            self._client = distributed.Client(address, timeout=CONNECT_TIMEOUT)
        except OSError as err:
            raise SpecError(f"cannot reach the Dask scheduler at {address}: {err}") from None
        self.name = f"dask:{address}"
        self.workers = max(1, len(self._client.scheduler_info().get("workers", {})))

    def map(self, fn: Callable, items: Sequence, *, progress: Progress | None = None) -> list:
        """Apply ``fn`` to every item on the cluster; results in item order."""
        futures = self._client.map(fn, list(items), pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        done = _distributed().as_completed(futures)
        return _collect(done, {f: index[f.key] for f in futures}, len(items), progress)

    def close(self) -> None:
        """Disconnect from the cluster (the cluster keeps running)."""
        self._client.close()


def _distributed() -> ModuleType:
    """The ``distributed`` module (imported on first use: Dask is an optional extra).

    Raises
    ------
    DependencyError
        If it is not installed; the message names the extra (:data:`DASK_MISSING`).
    """
    try:
        import distributed
    except ImportError:
        raise DependencyError(DASK_MISSING) from None
    return distributed


def chunked(items: Sequence, parts: int) -> list[tuple]:
    """Split ``items`` into at most ``parts`` contiguous chunks of near-equal size.

    Examples
    --------
    >>> chunked(list(range(5)), 2)
    [(0, 1, 2), (3, 4)]
    """
    parts = max(1, min(parts, len(items)))
    size = -(-len(items) // parts)
    return [tuple(items[i:i + size]) for i in range(0, len(items), size)]


def _collect(finished: Iterator, position: dict, total: int, progress: Progress | None) -> list:
    results: list[Any] = [None] * total
    for count, future in enumerate(finished, start=1):
        results[position[future]] = future.result()
        if progress is not None:
            progress(count, total)
    return results


def parse_scheduler(scheduler: str | None) -> tuple[str, str | int | None]:
    """Validate an executor name: ``("inline", None)``, ``("processes", N)`` or ``("dask", addr)``.

    Raises
    ------
    SpecError
        On an unknown form, with the accepted forms.

    Examples
    --------
    >>> parse_scheduler("processes:3")
    ('processes', 3)
    >>> parse_scheduler("tcp://10.0.0.5:8786")
    ('dask', 'tcp://10.0.0.5:8786')
    """
    scheduler = scheduler if scheduler is not None else os.environ.get(SCHEDULER_ENV) or None
    if scheduler in (None, "", "inline"):
        return "inline", None
    if scheduler.startswith(("tcp://", "tls://", "inproc://")):
        return "dask", scheduler
    if scheduler == "processes" or scheduler.startswith("processes:"):
        count = scheduler.partition(":")[2] or str(os.cpu_count() or 1)
        if not count.isdigit() or int(count) < 1:
            raise SpecError(f"--scheduler {scheduler}: the number of processes must be a whole "
                            "number >= 1, as in processes:N")
        return "processes", int(count)
    raise SpecError(f"--scheduler {scheduler!r} is not understood; use 'inline', 'processes', "
                    "'processes:N' or a Dask scheduler address such as tcp://host:8786")


@contextmanager
def executor_for(
        scheduler: str | None = None) -> Iterator[InlineExecutor | ProcessExecutor | DaskExecutor]:
    """An executor for ``scheduler`` (see the module docstring), closed on exit.

    Parameters
    ----------
    scheduler : str, optional
        ``None`` (or ``"inline"``), ``"processes[:N]"``, or a Dask scheduler address; without
        one, the environment variable :data:`SCHEDULER_ENV` is read.

    Yields
    ------
    InlineExecutor, ProcessExecutor or DaskExecutor

    Examples
    --------
    >>> with executor_for("processes:2") as ex:  # doctest: +SKIP
    ...     ex.map(abs, [-1, 2])
    [1, 2]
    """
    kind, arg = parse_scheduler(scheduler)
    executor = (InlineExecutor() if kind == "inline" else
                ProcessExecutor(arg) if kind == "processes" else DaskExecutor(arg))
    try:
        yield executor
    finally:
        if hasattr(executor, "close"):
            executor.close()
