"""One executor interface: the same results in-process, in local processes and on Dask."""

from __future__ import annotations

import sys
from functools import partial

import pytest

from mbtbayes.core.errors import DependencyError, MbtbayesError, SpecError
from mbtbayes.core.execute import executor_for, parse_scheduler
from mbtbayes.core.seeds import seed_for

ITEMS = [f"fit-{i}" for i in range(12)]
JOB = partial(seed_for, 20250403)  # picklable, deterministic, order-sensitive if misplaced


def expected() -> list[int]:
    return [seed_for(20250403, item) for item in ITEMS]


def test_inline_runs_in_order_and_reports_progress():
    seen = []
    with executor_for(None) as ex:
        assert ex.map(JOB, ITEMS, progress=lambda d, t: seen.append((d, t))) == expected()
    assert seen[-1] == (12, 12)


def test_local_processes_give_the_same_results():
    with executor_for("processes:2") as ex:
        assert ex.map(JOB, ITEMS) == expected()


def test_dask_local_cluster_gives_the_same_results():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    with cluster, executor_for(cluster.scheduler_address) as ex:
        done = []
        assert ex.map(JOB, ITEMS, progress=lambda d, t: done.append(d)) == expected()
        assert sorted(done) == list(range(1, 13))


def test_environment_variable_names_the_scheduler(monkeypatch):
    monkeypatch.setenv("MBTBAYES_SCHEDULER", "processes:3")
    assert parse_scheduler(None) == ("processes", 3)
    assert parse_scheduler("inline") == ("inline", None)


@pytest.mark.parametrize("bad", ["proccesses", "processes:0", "processes:x", "http://h:1"])
def test_bad_scheduler_is_refused_with_the_accepted_forms(bad):
    with pytest.raises(SpecError, match="processes:N"):
        parse_scheduler(bad)


def test_unreachable_dask_scheduler_is_one_clear_error(monkeypatch):
    import mbtbayes.core.execute as execute

    monkeypatch.setattr(execute, "CONNECT_TIMEOUT", "2s")  # nothing listens: no need to wait
    with (pytest.raises(SpecError, match="cannot reach the Dask scheduler"),
          executor_for("tcp://127.0.0.1:1")):
        pass


def test_dask_without_distributed_names_the_extra(monkeypatch):
    """A Dask scheduler asked for where `distributed` is not installed: one error naming the
    extra, raised before any connection is tried (sys.modules[name] = None makes the import
    fail as an absent package does)."""
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(DependencyError) as err, executor_for("tcp://127.0.0.1:1"):
        pass
    message = str(err.value)
    assert 'pip install "mbtbayes[dask]"' in message and "uv sync --extra dask" in message
    assert isinstance(err.value, ImportError) and isinstance(err.value, MbtbayesError)
    with executor_for("processes:1") as ex:  # the other executors do not need it
        assert ex.map(abs, [-1]) == [1]
