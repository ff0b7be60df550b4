"""Figures drawn by forked workers are the figures drawn inline: same files, same list, a
builder's error raised in the caller."""

from __future__ import annotations

import os
import sys

import numpy as np
import pandas as pd
import pytest

from mbtbayes.report import figures
from mbtbayes.report.style import new_figure

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="figures fork on Linux only")


def _plan(pids: list | None = None, fail: int | None = None):
    def build(i: int, folder=None):
        if folder is not None:
            (folder / f"pid_{i}").write_text(str(os.getpid()))
        if i == fail:
            raise ValueError(f"figure {i} cannot be drawn")
        if i == 3:
            return None  # nothing to draw
        fig, axes = new_figure(1, 2)
        x = np.linspace(0, 1, 50)
        axes[0, 0].plot(x, np.sin((i + 1) * x))
        axes[0, 1].set_title(f"figure {i}")
        fig.tight_layout()
        return fig

    return lambda tables, fits, data: [
        (f"f{i}", f"Figure {i}", f"caption {i}", lambda i=i: build(i, pids)) for i in range(9)]


def test_forked_workers_write_the_inline_files(tmp_path, monkeypatch):
    made = {}
    for workers in (1, 2):
        folder = tmp_path / f"w{workers}"
        (folder / "pids").mkdir(parents=True)
        monkeypatch.setattr(figures, "figure_plan", _plan(folder / "pids"))
        made[workers] = figures.make_figures(folder, tables={}, fits=[], data=pd.DataFrame(),
                                             synthetic=True, workers=workers)
    assert made[1] == made[2] and list(made[1]) == [f"f{i}" for i in range(9) if i != 3]
    for name in made[1]:
        for suffix in (".png", ".svg"):
            one = (tmp_path / "w1" / "figures" / name).with_suffix(suffix).read_bytes()
            two = (tmp_path / "w2" / "figures" / name).with_suffix(suffix).read_bytes()
            assert one == two, name + suffix
    inline = {p.read_text() for p in (tmp_path / "w1" / "pids").iterdir()}
    forked = {p.read_text() for p in (tmp_path / "w2" / "pids").iterdir()}
    assert inline == {str(os.getpid())} and str(os.getpid()) not in forked
    assert not (tmp_path / "w2" / "figures" / "f3.png").exists()


def test_a_builders_error_reaches_the_caller(tmp_path, monkeypatch):
    monkeypatch.setattr(figures, "figure_plan", _plan(fail=5))
    with pytest.raises(ValueError, match="figure 5 cannot be drawn"):
        figures.make_figures(tmp_path, tables={}, fits=[], data=pd.DataFrame(), synthetic=True,
                             workers=2)


def test_few_figures_are_drawn_inline():
    assert figures._workers(4, 7) == 1 and figures._workers(4, 8) == 2
    assert figures._workers(1, 40) == 1 and figures._workers(3, 40) == 3
