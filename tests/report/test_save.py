"""``style.save``: the tight box measured once gives the files matplotlib's own
``bbox_inches="tight"`` gives, with one drawing per format."""

from __future__ import annotations

import io

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from mbtbayes.report import style


def busy_figure(*, layout: str | None = None) -> Figure:
    """Panels with titles, shared axes, a suptitle and a legend outside the axes."""
    with style.figure_style():
        if layout:
            fig = Figure(figsize=(7.0, 4.0), layout=layout)
            axes = fig.subplots(2, 3, squeeze=False, sharex=True, sharey=True)
        else:
            fig, axes = style.new_figure(2, 3, sharex=True, sharey=True)
        rng = np.random.default_rng(1)
        for k, ax in enumerate(axes.flat):
            ax.plot(np.arange(20), rng.normal(size=20).cumsum() * 1000, label="draws")
            ax.set_title(f"patient {k}\n{k + 2} scores", fontsize=8)
        axes[1, 0].set_xlabel("months")
        axes[0, 0].set_ylabel("score")
        fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="lower center")
        fig.suptitle("a long suptitle that reaches the figure's edge " * 2, fontsize=8)
        if not layout:
            fig.tight_layout(rect=(0, 0.05, 1, 1))
        style.stamp(fig, "SYNTHETIC data")
    return fig


def reference_png(fig: Figure) -> bytes:
    """matplotlib's own tight PNG of the figure (measuring draw included)."""
    buffer = io.BytesIO()
    with style.figure_style():
        fig.savefig(buffer, format="png", bbox_inches="tight",
                    metadata={"Software": "mbtbayes (matplotlib)", "Description": "c"})
    return buffer.getvalue()


def count_draws(fig: Figure) -> list:
    drawn = []
    original = fig.draw

    def draw(renderer):
        drawn.append(type(renderer).__name__)
        return original(renderer)

    fig.draw = draw
    return drawn


def test_save_gives_matplotlibs_tight_png_with_one_draw_per_format(tmp_path):
    fig = busy_figure()
    expected = reference_png(busy_figure())
    drawn = count_draws(fig)
    with style.figure_style():
        png = style.save(fig, tmp_path / "busy.png", caption="c")
    assert png.read_bytes() == expected  # same box, same pixels
    assert drawn == ["RendererAgg", "MixedModeRenderer"]  # PNG, SVG: no measuring draw
    with Image.open(png) as image:
        assert image.info["Description"] == "c"


def test_svg_has_the_pngs_size_and_is_the_same_each_time(tmp_path):
    with style.figure_style():
        png = style.save(busy_figure(), tmp_path / "a.png", caption="c")
        style.save(busy_figure(), tmp_path / "b.png", caption="c")
    svg = (tmp_path / "a.svg").read_bytes()
    assert svg == (tmp_path / "b.svg").read_bytes()
    assert b"<dc:date>" not in svg and b"<dc:description>c</dc:description>" in svg
    with Image.open(png) as image:
        width_px = image.size[0]
    width_pt = float(svg.split(b'width="')[1].split(b'pt"')[0])
    assert abs(width_pt / 72 * style.DPI - width_px) <= 2  # one box for both formats


def test_a_live_layout_engine_is_run_at_save_and_kept(tmp_path):
    fig = busy_figure(layout="constrained")
    expected = reference_png(busy_figure(layout="constrained"))
    engine = fig.get_layout_engine()
    with style.figure_style():
        png = style.save(fig, tmp_path / "constrained.png", caption="c")
    assert png.read_bytes() == expected
    assert fig.get_layout_engine() is engine


def test_the_placeholder_engine_of_tight_layout_is_restored(tmp_path):
    fig = busy_figure()
    engine = fig.get_layout_engine()
    with style.figure_style():
        style.save(fig, tmp_path / "busy.png")
    assert fig.get_layout_engine() is engine


def test_the_stamp_is_saved_and_overlaps_no_other_text(tmp_path):
    from PIL import Image

    with style.figure_style():
        fig, axes = style.new_figure(1, 2)
        for ax in axes.flat:
            ax.plot([0, 1], [0, 1])
        fig.supxlabel("a figure-wide label long enough to reach the left edge " * 3, fontsize=8)
        fig.tight_layout()
        style.stamp(fig, "SYNTHETIC data")
        png = style.save(fig, tmp_path / "f.png")
        renderer = fig.canvas.get_renderer()
        mark = fig.texts[-1].get_window_extent(renderer)
        label = fig._supxlabel.get_window_extent(renderer)
    assert not mark.overlaps(label)
    assert Image.open(png).size[1] > fig.get_figheight() * style.DPI  # the box took it in
