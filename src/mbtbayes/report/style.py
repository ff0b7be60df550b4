"""One figure style for every figure: readable in print and in grey.

Periods differ in lightness (dark blue vs light orange), line style and marker, so that a
grey-scale print keeps them apart; pooled estimates are mid-grey; frequentist estimates are
open markers beside the filled Bayesian ones. Every figure names its interval in its labels.

Examples
--------
>>> with figure_style():
...     fig, ax = new_figure(1, 1)
>>> PERIOD["I"]["marker"], PERIOD["II"]["linestyle"]
('o', '--')
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.figure import Figure
    from matplotlib.transforms import Bbox

PERIOD: dict[str, dict] = {
    "I": {"color": "#1b2a49", "linestyle": "-", "marker": "o", "label": "Period I"},
    "II": {"color": "#e08a1e", "linestyle": "--", "marker": "s", "label": "Period II"},
    "pooled": {"color": "#8c8c8c", "linestyle": ":", "marker": "D", "label": "pooled"},
}
"""Colour, line style, marker and label per period."""

ROPE_COLOR = "#d9d9d9"
"""Fill of a region of practical equivalence."""

INK = "#222222"
"""Text, axes and reference lines."""

DPI = 150
"""Resolution of the PNG files (sharp in print at the report's width)."""

VECTOR = "svg"
"""The vector format written beside every PNG. SVG rather than PDF: papers are written in
Word, which (like LibreOffice and Google Docs) inserts an SVG as a picture that stays vector
and can be edited there, and takes no PDF as a picture; Inkscape turns an SVG into the PDF or
EPS a journal may ask for. Text is drawn as paths (``svg.fonttype = "path"``), so a figure
looks the same where DejaVu Sans is not installed. Measured on a default run's 21 figures:
SVG 7.4 s and 3.7 MB beside PNG 7.4 s and 2.7 MB (PDF: 8.4 s, 1.0 MB)."""

RC = {
    "font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 8,
    "xtick.labelsize": 8, "ytick.labelsize": 8, "axes.spines.top": False,
    "axes.spines.right": False, "axes.edgecolor": INK, "axes.labelcolor": INK,
    "text.color": INK, "xtick.color": INK, "ytick.color": INK, "lines.linewidth": 1.6,
    "errorbar.capsize": 0, "legend.frameon": False, "savefig.dpi": DPI,
    "savefig.bbox": "tight", "figure.dpi": 100, "font.family": "DejaVu Sans",
    "svg.fonttype": "path", "svg.hashsalt": "mbtbayes",
}


def period_style(period: str) -> dict:
    """Style of a period label; unknown labels get the pooled style with their own name."""
    return PERIOD.get(str(period), PERIOD["pooled"] | {"label": str(period)})


@contextlib.contextmanager
def figure_style() -> Iterator[None]:
    """The package's style for figures made and saved inside the block (restored after).

    Figures are made without pyplot (:func:`new_figure`), so no display backend is involved
    and nothing is kept in pyplot's registry.
    """
    import matplotlib

    with matplotlib.rc_context(RC):
        yield


def new_figure(rows: int, cols: int, *, width: float = 7.0, height: float | None = None,
               **kwargs: object) -> tuple[Figure, np.ndarray]:
    """A figure of ``rows`` x ``cols`` panels, ``width`` inches wide (the report's width).

    Returns
    -------
    (matplotlib.figure.Figure, numpy.ndarray of Axes)
    """
    from matplotlib.figure import Figure

    height = height if height is not None else 2.4 * rows + 0.6
    fig = Figure(figsize=(width, height))
    return fig, fig.subplots(rows, cols, squeeze=False, **kwargs)


def save(fig: Figure, path: str | Path, *, caption: str | None = None) -> Path:
    """Save a figure as PNG, with ``caption`` as its description, and as SVG beside it (same
    name, ``.svg``; undated, so that the same figure gives the same file).

    A figure laid out already (``tight_layout``, or no layout) is measured once
    (:func:`tight_box`) and drawn once per format: ``savefig(bbox_inches="tight")`` would
    draw it twice per format, once to lay out and measure. A figure with a live layout engine
    (e.g. ``layout="constrained"``) is saved as before, the engine run at each save.

    Returns
    -------
    pathlib.Path
        The PNG (the report shows the PNGs).
    """
    path = Path(path)
    described = {"Description": caption} if caption else {}
    with _laid_out(fig) as done, _no_minor_overlap_check(fig):
        box = tight_box(fig) if done else "tight"
        fig.savefig(path, format="png", bbox_inches=box,
                    metadata={"Software": "mbtbayes (matplotlib)", **described})
        fig.savefig(path.with_suffix(f".{VECTOR}"), format=VECTOR, bbox_inches=box,
                    metadata={"Creator": "mbtbayes (matplotlib)", "Date": None, **described})
    return path


@contextlib.contextmanager
def _laid_out(fig: Figure) -> Iterator[bool]:
    """Whether ``fig`` is laid out already; if so, without the placeholder layout engine
    that ``tight_layout`` leaves behind (it lays out nothing, but makes every ``savefig``
    draw the figure once more), restored after."""
    import matplotlib
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    engine = fig.get_layout_engine()
    if engine is not None and not isinstance(engine, PlaceHolderLayoutEngine):
        yield False
        return
    with matplotlib.rc_context({"figure.autolayout": False,
                                "figure.constrained_layout.use": False}):
        fig.set_layout_engine(None)  # under these settings: no engine at all
    try:
        yield True
    finally:
        if engine is not None:
            fig.set_layout_engine(engine)


@contextlib.contextmanager
def _no_minor_overlap_check(fig: Figure) -> Iterator[None]:
    """Axes without minor ticks skip removing minor ticks that fall on major ones (nothing to
    remove; matplotlib would run the major tick locator a second time at every tick update,
    of which each save makes several per axis), restored after."""
    from matplotlib.ticker import NullLocator

    axes = [axis for ax in fig.axes for axis in (ax.xaxis, ax.yaxis)
            if axis.remove_overlapping_locs and isinstance(axis.get_minor_locator(),
                                                           NullLocator)]
    for axis in axes:
        axis.remove_overlapping_locs = False
    try:
        yield
    finally:
        for axis in axes:
            axis.remove_overlapping_locs = True


def tight_box(fig: Figure) -> Bbox:
    """The figure's tight bounding box in inches, padded by ``savefig.pad_inches``, as
    ``savefig(bbox_inches="tight")`` measures it for the PNG (Agg at ``savefig.dpi``) but
    without its drawing pass: the figures are laid out already (``tight_layout``) and
    ``get_tightbbox`` updates ticks, titles and legends itself.

    Returns
    -------
    matplotlib.transforms.Bbox
    """
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    dpi = matplotlib.rcParams["savefig.dpi"]
    original = fig.dpi
    fig.dpi = original if dpi == "figure" else dpi
    try:
        box = fig.get_tightbbox(FigureCanvasAgg(fig).get_renderer())
    finally:
        fig.dpi = original
    pad = matplotlib.rcParams["savefig.pad_inches"]
    return box.padded(pad)


def stamp(fig: Figure, text: str) -> None:
    """A small note under the figure's lower left corner (e.g. ``SYNTHETIC data``): below
    everything the figure holds (a figure-wide x label sits at its bottom edge), inside the
    saved image, whose tight box takes it in."""
    fig.text(0.005, 0.0, text, fontsize=7, color="#b00020", ha="left", va="top")
