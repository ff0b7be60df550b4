"""Figures stay readable in grey: the periods differ in lightness, line and marker."""

from __future__ import annotations

from matplotlib.colors import to_rgb

from mbtbayes.report.style import PERIOD


def lightness(colour: str) -> float:
    """Relative luminance (ITU-R BT.709 weights on sRGB) - what a grey print keeps."""
    r, g, b = to_rgb(colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_periods_differ_in_grey_and_in_shape():
    one, two, pooled = PERIOD["I"], PERIOD["II"], PERIOD["pooled"]
    assert abs(lightness(one["color"]) - lightness(two["color"])) > 0.3
    assert abs(lightness(pooled["color"]) - lightness(one["color"])) > 0.3
    assert len({s["linestyle"] for s in (one, two, pooled)}) == 3
    assert len({s["marker"] for s in (one, two, pooled)}) == 3
