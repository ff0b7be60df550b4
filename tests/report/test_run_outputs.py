"""What a run leaves behind: the report, run.json, figures, paper tables, rounded Markdown.

Reference values: SHA-256 from the system's ``sha256sum``; PNG sizes from Pillow; the CSV's
full precision from the tables themselves (round trip)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pandas as pd
import pytest
from PIL import Image

from mbtbayes.io.register import bundled_path


def test_the_run_succeeds_and_shows_the_answer(quick_run):
    assert quick_run.status == 0
    out = quick_run.stdout
    assert "Growth models: was improvement sustained?" in out
    assert "intake II - I (case mix)" in out and "pre-specified margin" in out
    assert "Remission among start-positive patients" in out
    assert re.search(r"agree on: existence \d+ of \d+ primary questions", out)
    assert out.rstrip().splitlines()[-1].startswith(f"wrote {quick_run.out}")


def test_progress_lines_are_plain_when_stderr_is_not_a_terminal(quick_run):
    err = quick_run.stderr
    assert "\x1b[" not in err and "━" not in err  # no escape codes, no bar
    assert re.search(r"^\[1/4\] bsi linear: ", err, flags=re.M)
    assert re.search(r"^\[4/4\] wai_bonds period: ", err, flags=re.M)


def test_output_holds_report_run_json_and_figures(quick_run):
    out = quick_run.out
    for name in ("report.html", "report.md", "run.json", "paper_tables.md"):
        assert (out / name).is_file(), name
    figures = sorted((out / "figures").glob("*.png"))
    names = {p.stem for p in figures}
    assert {"trajectories_outcome", "trajectories_process", "period_contrasts",
            "effect_sizes", "remission", "loo_aic", "prior_posterior", "rope_curve"} <= names
    assert (out / "rope_curve.csv").is_file()
    manifest = json.loads((out / ".mbtbayes-output.json").read_text())
    assert {"report.html", "run.json", "figures/effect_sizes.png"} <= set(manifest["files"])


def test_every_figure_is_a_real_picture(quick_run):
    for path in sorted((quick_run.out / "figures").glob("*.png")):
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            grey = image.convert("L")
            low, high = grey.getextrema()
            assert image.width > 500 and image.height > 250, path.name
            assert high - low > 100, f"{path.name} is blank"


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="sha256sum not installed")
def test_run_json_records_what_repeats_the_run(quick_run):
    record = json.loads((quick_run.out / "run.json").read_text())
    expected = subprocess.run(["sha256sum", str(bundled_path())], capture_output=True,
                              text=True, check=True).stdout.split()[0]
    assert record["data"]["sha256"] == expected
    assert record["data"]["synthetic"] is True
    for name, spec in record["specs"].items():
        digest = subprocess.run(["sha256sum", spec["file"]], capture_output=True, text=True,
                                check=True).stdout.split()[0]
        assert spec["sha256"] == digest, name
    assert set(record["specs"]) == {"bsi", "wai_bonds"}
    assert record["command_line"].startswith("mbtbayes reanalyze ")
    assert "--quick" in record["command_line"]
    assert record["sampler"]["draws"] == 200 and record["sampler"]["chains"] == 2
    assert record["sampler"]["gate"]["max_r_hat"] == 1.01
    assert len(record["seeds"]["fits"]) == 4 and record["seeds"]["run"] == 20250403
    for package in ("pymc", "nutpie", "arviz", "bambi", "numpy", "mbtbayes"):
        assert record["versions"][package] != "not installed"
    assert record["seconds"]["report"] > 0


def test_markdown_is_rounded_and_csv_keeps_full_precision(quick_run):
    csv = pd.read_csv(quick_run.out / "period_effects.csv")
    assert csv["mean"].map(lambda x: len(repr(x)) > 8).any()  # full float precision
    md = (quick_run.out / "period_effects.md").read_text()
    numbers = re.findall(r"(?<![\w.])-?\d+\.\d+", md)
    assert numbers
    for number in numbers:
        digits = number.lstrip("-").replace(".", "").lstrip("0")
        assert len(digits) <= 3, f"{number} has more than 3 significant digits"


def test_paper_tables_have_both_analyses_per_measure(quick_run):
    text = (quick_run.out / "paper_tables.md").read_text()
    assert "## Table 5" in text and "## Table 3" in text
    assert "intercept ML" in text and "intercept Bayes" in text and "AIC" in text
    table5 = text.split("## Table 5")[1].split("## Table 3")[0]
    rows = [r for r in table5.splitlines() if r.startswith("| BSI")]
    assert [r.split("|")[2].strip() for r in rows] == ["linear", "period"]
