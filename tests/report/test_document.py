"""Markdown and HTML renderings of the same blocks; the HTML loads nothing from outside."""

from __future__ import annotations

import base64
import re

import pandas as pd
from PIL import Image as PILImage

from mbtbayes.report.document import (
    Banner,
    Bullets,
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
    assert "<td class=\"txt\">bsi &lt;1&gt;</td><td class=\"num\">0.161</td>" in page
    assert '<div class="banner" role="alert">SYNTHETIC DATA</div>' in page
    assert '<nav><ol><li><a href="#data">Data</a></li></ol></nav>' in page
