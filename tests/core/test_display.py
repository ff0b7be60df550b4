"""The progress display of the command line and the public functions: the running step in the
bar's text on a terminal, as a line elsewhere; a caller's own callbacks get the counts only."""

from __future__ import annotations

import io

import pytest

from mbtbayes.core.display import Display, talking


def test_the_bar_names_the_running_step_on_a_terminal():
    err = io.StringIO()
    with Display(err=err, force_terminal=True) as display:
        display.progress("growth models", 2, 18, running="cip period")
        display.log("[2/18] cip linear: passed")
    text = err.getvalue()
    assert "growth models: cip period" in text and "2/18" in text and "left" in text
    assert "[2/18] cip linear: passed" in text


def test_own_display_says_the_running_step_as_a_line_without_a_terminal(capsys):
    with talking("sensitivity", progress=True, log=None) as talk:
        talk.running("bsi", 0, 2)
        talk.say("sensitivity: bsi done")
        talk.done(1, 2)
    assert capsys.readouterr().err == "[1/2] sensitivity: bsi ...\nsensitivity: bsi done\n"


@pytest.mark.parametrize("progress", [False, None])
def test_no_progress_shows_nothing_and_a_given_log_still_gets_its_lines(progress, capsys):
    lines = []
    with talking("growth models", progress=progress, log=lines.append) as talk:
        talk.running("bsi linear", 0, 1)
        talk.done(1, 1)
        talk.say("[1/1] bsi linear: passed")
    assert lines == ["[1/1] bsi linear: passed"] and capsys.readouterr() == ("", "")


def test_a_callers_progress_gets_the_counts():
    counts = []
    with talking("growth models", progress=lambda d, t: counts.append((d, t)), log=None) as talk:
        talk.running("bsi linear", 0, 1)  # the caller's display: not told what runs
        talk.done(0, 1)
        talk.done(1, 1)
    assert counts == [(0, 1), (1, 1)] and talk.display is None
