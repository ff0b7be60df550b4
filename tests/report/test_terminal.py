"""The terminal: bars only on a terminal, plain lines otherwise, nothing when quiet."""

from __future__ import annotations

import io

import pandas as pd

from mbtbayes.report.terminal import Terminal

TABLES = {"diagnostics": pd.DataFrame({"fit": ["bsi/linear"], "passed": [True]})}


def test_plain_lines_without_a_terminal():
    err, out = io.StringIO(), io.StringIO()
    with Terminal(err=err, out=out) as term:
        term.progress("growth models", 0, 2)
        term.log("[1/2] bsi linear: [passed]")
        term.progress("growth models", 1, 2)
        term.headline(TABLES)
    assert err.getvalue() == "[1/2] bsi linear: [passed]\n"
    assert out.getvalue() == "All 1 growth fits passed the diagnostics gate.\n"


def test_bars_with_counts_and_time_left_on_a_terminal():
    err, out = io.StringIO(), io.StringIO()
    with Terminal(err=err, out=out, force_terminal=True) as term:
        assert term.live
        term.progress("growth models", 0, 18)
        term.log("[1/18] bsi linear: passed")
        term.progress("growth models", 1, 18)
        term.progress("sensitivity fits", 2, 5)
        term.progress("growth models", 18, 18)
        term.progress("sensitivity fits", 5, 5)
        assert not term._bar  # every stage finished: the bars stop
        term.log("after the fits")
    text = err.getvalue()
    assert "growth models" in text and "18/18" in text and "sensitivity fits" in text
    assert "5/5" in text and "left" in text and "[1/18] bsi linear: passed" in text
    assert text.endswith("after the fits\n")


def test_quiet_shows_nothing():
    err, out = io.StringIO(), io.StringIO()
    with Terminal(quiet=True, err=err, out=out, force_terminal=True) as term:
        term.progress("growth models", 1, 2)
        term.log("x")
        term.headline(TABLES)
    assert err.getvalue() == "" and out.getvalue() == ""


def test_rich_headline_on_a_terminal():
    out = io.StringIO()
    Terminal(err=io.StringIO(), out=out, force_terminal=True).headline(TABLES)
    assert "All 1 growth fits passed" in out.getvalue()
