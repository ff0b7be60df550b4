"""The fit-cache and scheduler options of ``mbtbayes reanalyze``: what reaches the pipeline,
and the one-line errors of a cache folder mbtbayes did not write and of a bad scheduler."""

from __future__ import annotations

from pathlib import Path

import pytest

import mbtbayes.pipeline
from mbtbayes.cli import main


@pytest.fixture
def received(monkeypatch):
    seen = {}

    def record(**kwargs):
        seen.update(kwargs)
        return Path(kwargs["out"])

    monkeypatch.setattr(mbtbayes.pipeline, "reanalyze", record)
    return seen


@pytest.mark.parametrize(("options", "cache", "scheduler"), [
    ([], True, None),
    (["--no-cache"], False, None),
    (["--cache", "fitcache", "--scheduler", "processes:2"], Path("fitcache"), "processes:2"),
])
def test_options_reach_the_pipeline(received, tmp_path, options, cache, scheduler):
    assert main(["reanalyze", "--quiet", "--out", str(tmp_path / "o"), *options]) == 0
    assert received["cache"] == cache and received["scheduler"] == scheduler


def test_cache_and_no_cache_exclude_each_other(received, tmp_path, capsys):
    assert main(["reanalyze", "--cache", "x", "--no-cache"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err
    assert received == {}


def test_a_foreign_cache_folder_and_a_bad_scheduler_are_one_line_errors(tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    assert main(["reanalyze", "--quiet", "--out", str(tmp_path / "o"), "--cache",
                 str(mine)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds files mbtbayes did not write" in err[0], err
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    assert main(["reanalyze", "--out", str(tmp_path / "o"), "--scheduler", "threads"]) == 2
    assert "is not understood" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
