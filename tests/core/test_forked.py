"""Work in forked copies of the process: results in order, errors raised in the caller, a child
that dies has its work redone here."""

from __future__ import annotations

import os
import sys

import pytest

from mbtbayes.core.forked import in_background, map_forked

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="forks on Linux only")


def test_map_returns_each_result_in_order_from_other_processes():
    results = map_forked([lambda i=i: (i, os.getpid()) for i in range(6)], workers=2)
    assert [i for i, _ in results] == list(range(6))
    assert os.getpid() not in {pid for _, pid in results}
    assert set(map_forked([os.getpid, os.getpid], workers=1)) == {os.getpid()}


def test_map_raises_a_tasks_error_in_the_caller():
    def fail():
        raise ValueError("task 2 failed")

    with pytest.raises(ValueError, match="task 2 failed"):
        map_forked([lambda: 1, fail, lambda: 3], workers=2)


def test_background_work_is_done_elsewhere_once_waited_for(tmp_path):
    target = tmp_path / "done.txt"
    job = in_background(lambda: target.write_text(str(os.getpid())))
    job.wait()
    assert target.read_text() != str(os.getpid())


def test_background_error_is_raised_by_wait_with_the_task_redone_here(tmp_path):
    calls = tmp_path / "calls"
    calls.mkdir()

    def fail():
        (calls / str(os.getpid())).touch()
        raise OSError("disk full")

    job = in_background(fail)
    with pytest.raises(OSError, match="disk full"):
        job.wait()
    assert len(list(calls.iterdir())) == 2 and (calls / str(os.getpid())).exists()


def test_a_child_that_dies_has_its_work_redone_here(tmp_path):
    target = tmp_path / "done.txt"

    def task():
        if os.getpid() != parent:
            os._exit(3)
        target.write_text("here")

    parent = os.getpid()
    job = in_background(task)
    job.wait()
    assert target.read_text() == "here"
