"""The report in a real browser: headless Chromium (Debian's ``chromium``) loads
``report.html`` with every network request blocked, and every section heading and every
image must be there and rendered (each image decoded at its PNG's own size)."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
REQUIRED = os.environ.get("MBTBAYES_REQUIRE_BROWSER") == "1"
"""Set by ``.ci/run``, which installs chromium: there the check must run, not skip."""

pytestmark = pytest.mark.skipif(
    BROWSER is None and not REQUIRED,
    reason="chromium is not installed (apt-get install chromium; .ci/run installs it)")

SECTIONS = ("Summary", "Data", "Models and priors", "Computation", "Posterior distributions",
            "Decisions", "Model comparison", "Concordance with the frequentist analysis",
            "Reproducibility")

PROBE = """<script>
window.addEventListener("load", () => {
  const images = [...document.images].map(i => ({alt: i.alt, complete: i.complete,
    width: i.naturalWidth, height: i.naturalHeight, src: i.src.slice(0, 22)}));
  const headings = [...document.querySelectorAll("h2")].map(h => h.textContent);
  const probe = document.createElement("pre");
  probe.id = "mbtbayes-probe";
  probe.textContent = JSON.stringify({images, headings});
  document.body.appendChild(probe);
});
</script>"""
"""Added to a copy of the report: writes what the browser rendered into the page."""


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    assert BROWSER is not None, "chromium is required here (MBTBAYES_REQUIRE_BROWSER=1)"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={profile}",
             "--hide-scrollbars"]
    return subprocess.run([BROWSER, *flags, *args], capture_output=True, text=True,
                          timeout=120, check=False)


def rendered(report: Path, tmp_path: Path) -> dict:
    """Load a copy of the report with the probe and return what the browser saw."""
    page = report.read_text(encoding="utf-8")
    # the probe is an inline script: allow scripts in the copy; nothing else may load
    page = page.replace("default-src 'none';", "default-src 'none'; script-src 'unsafe-inline';")
    page = page.replace("</body>", PROBE + "</body>")
    copy = tmp_path / "probe.html"
    copy.write_text(page, encoding="utf-8")
    done = chromium("--virtual-time-budget=15000", "--dump-dom", copy.as_uri(),
                    profile=tmp_path / "profile-dom")
    found = re.search(r'<pre id="mbtbayes-probe">(.*?)</pre>', done.stdout, flags=re.S)
    assert found, f"the page did not load in chromium: {done.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


def test_every_section_and_image_renders_in_chromium(quick_run, tmp_path):
    report = quick_run.out / "report.html"
    seen = rendered(report, tmp_path)
    assert [h for h in seen["headings"] if h in SECTIONS] == list(SECTIONS)
    markdown = (quick_run.out / "report.md").read_text(encoding="utf-8")
    assert seen["headings"] == re.findall(r"^## (.+)$", markdown, flags=re.M)
    figures = re.findall(r"!\[[^\]]*\]\((figures/[^)]+\.png)\)", markdown)
    assert len(seen["images"]) == len(figures) >= 7
    for image, path in zip(seen["images"], figures, strict=True):
        with Image.open(quick_run.out / path) as png:
            size = png.size
        assert image["complete"] and image["src"].startswith("data:image/png;base64"), image
        assert (image["width"], image["height"]) == size, f"{path} rendered as {image}"


def test_first_screen_screenshot(quick_run, tmp_path):
    shot = tmp_path / "first_screen.png"
    done = chromium("--window-size=1280,900", f"--screenshot={shot}",
                    (quick_run.out / "report.html").as_uri(), profile=tmp_path / "profile-shot")
    assert shot.is_file(), done.stderr[-2000:]
    with Image.open(shot) as image:
        assert image.size == (1280, 900)
        rgb = image.convert("RGB")
        banner = rgb.getpixel((20, 10))  # the red SYNTHETIC banner across the top
        assert banner[0] > 150 and banner[1] < 60 and banner[2] < 60, banner
        colours = rgb.resize((128, 90)).getcolors(maxcolors=128 * 90)
        assert len(colours) > 20  # text and tables, not a blank page


def test_the_probe_sees_a_broken_image(tmp_path):
    """The check can fail: a corrupt embedded PNG renders with no size."""
    import base64
    import io

    buffer = io.BytesIO()
    Image.new("RGB", (30, 20), "red").save(buffer, format="PNG")
    good = base64.b64encode(buffer.getvalue()).decode()
    page = ('<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
            "content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">"
            f'</head><body><h2>A</h2><img src="data:image/png;base64,{good}" alt="good">'
            f'<img src="data:image/png;base64,{good[:40]}" alt="broken">'
            '<img src="https://example.org/x.png" alt="remote"></body></html>')
    report = tmp_path / "report.html"
    report.write_text(page, encoding="utf-8")
    seen = rendered(report, tmp_path)
    sizes = {i["alt"]: (i["width"], i["height"]) for i in seen["images"]}
    assert sizes == {"good": (30, 20), "broken": (0, 0), "remote": (0, 0)}
