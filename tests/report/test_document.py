"""Markdown and HTML renderings of the same blocks; the HTML loads nothing from outside."""

from __future__ import annotations

import base64
import re

import pandas as pd
from PIL import Image as PILImage

from mbtbayes.report.document import (
    Banner,
    Bullets,
    Details,
    Heading,
    Image,
    Paragraph,
    Table,
    to_html,
    to_markdown,
)


def blocks(tmp_path):
    (tmp_path / "figures").mkdir()
    PILImage.new("RGB", (40, 30), "white").save(tmp_path / "figures" / "a.png")
    table = pd.DataFrame({"measure": ["bsi <1>"], "mean": [0.16053407], "n": [55.0]})
    return [Heading("Data"), Banner("SYNTHETIC DATA"), Paragraph("p < 0.05 & **bold**"),
            Bullets(["`run.json`"]), Table(table, "caption"), Heading("Sub", 3),
            Image("figures/a.png", "a figure", "**A.** caption")]


def test_markdown(tmp_path):
    md = to_markdown(blocks(tmp_path), title="T")
    assert md.startswith("# T\n\n## Data\n\n> **SYNTHETIC DATA**\n\n")
    assert "| bsi <1>   |  0.161 |  55 |" in md
    assert "![a figure](figures/a.png)\n\n***A.** caption*" in md
    assert "### Sub" in md


def test_html_is_self_contained_and_escaped(tmp_path):
    page = to_html(blocks(tmp_path), title="T", folder=tmp_path, banner="SYNTHETIC DATA")
    assert "default-src 'none'; img-src data:" in page
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert re.findall(r'(?:src|href)="([^"#][^"]*)"', page) == [
        src for src in re.findall(r'src="([^"]*)"', page) if src.startswith("data:")]
    payload = re.search(r'src="data:image/png;base64,([^"]+)"', page).group(1)
    assert base64.b64decode(payload) == (tmp_path / "figures" / "a.png").read_bytes()
    assert "p &lt; 0.05 &amp; <strong>bold</strong>" in page
    assert "<td class=\"txt short\">bsi &lt;1&gt;</td><td class=\"num\">0.161</td>" in page
    assert '<div class="banner" role="alert">SYNTHETIC DATA</div>' in page
    assert '<nav><ol><li><a href="#data">Data</a></li></ol></nav>' in page


def test_folded_blocks_render_closed_in_html_and_as_details_in_markdown(tmp_path):
    """A Details block keeps its table and figure (nothing lost), closed in HTML, with the
    summary that names the CSV; the caption sits outside the scrolling box of its table."""
    inner = blocks(tmp_path)[4:]
    folded = [Heading("Data"), Details("All rows; `x.csv` holds all of it", inner)]
    page = to_html(folded, title="T", folder=tmp_path)
    assert ("<details><summary>All rows; <code>x.csv</code> holds all of it</summary>"
            in page)
    assert "<details open" not in page
    assert page.count("data:image/png;base64,") == 1 and page.count("<table>") == 1
    assert '<p class="caption">caption</p><div class="table-wrap"><table>' in page
    md = to_markdown(folded, title="T")
    assert md.index("<details><summary>All rows") < md.index("| bsi <1>") < md.index(
        "</details>")
    assert "![a figure](figures/a.png)" in md


def test_long_text_cells_wrap_and_short_ones_do_not():
    from mbtbayes.report.document import _cell_class

    short = pd.Series(["too imprecise", "-2.2 [-3.7, -0.75] II worse"])
    long = pd.Series(["difference in change 0-24 months: change(II) - change(I)"])
    assert _cell_class(short, short) == "txt short"
    assert _cell_class(long, long) == "txt"
    assert _cell_class(pd.Series([1.5]), pd.Series(["1.5"])) == "num"


def test_a_long_text_said_in_every_row_is_said_once_under_the_table(tmp_path):
    method = "10-fold cross-validation leaving patients out, patient effects integrated out"
    table = pd.DataFrame({"model": ["joint period", "joint no period"], "elpd": [-3177.2, -3180.7],
                          "method": [method] * 2, "loo_method": ["kfold"] * 2})
    page = to_html([Table(table, "c")], title="T", folder=tmp_path)
    assert page.count(method) == 1
    assert f'<p class="note">method (every row): {method}</p>' in page
    assert "<th>loo_method</th>" in page  # short shared text stays a column
    assert to_markdown([Table(table, "c")], title="T").count(method) == 2  # the file keeps it
