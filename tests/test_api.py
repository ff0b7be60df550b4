"""The public API: what ``import mbtbayes as mb`` offers, and how every function takes options."""

from __future__ import annotations

import inspect

import pytest

import mbtbayes as mb

INPUTS = {"data", "spec", "specs", "fits", "folder"}
"""The only parameters that may be passed by position: a function's main inputs."""

FUNCTIONS = [n for n in mb.__all__ if inspect.isfunction(getattr(mb, n))]


def test_the_documented_api_is_exported():
    wanted = {"load_register", "validate_register", "simulate_register", "load_specs",
              "make_spec", "fit_growth", "fit_specs", "remission_table", "start_end_change",
              "adherence_table", "fit_mixed", "concordance", "reanalyze", "published"}
    assert wanted <= set(FUNCTIONS)
    assert all(hasattr(mb, name) for name in mb.__all__)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_options_are_keyword_only(name):
    params = inspect.signature(getattr(mb, name)).parameters.values()
    positional = [p.name for p in params
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    assert set(positional) <= INPUTS, f"{name}: {positional} should be keyword-only"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_docstring_has_parameters_returns_and_an_example(name):
    doc = inspect.getdoc(getattr(mb, name)) or ""
    for section in ("Returns", "Examples"):
        assert f"{section}\n---" in doc, f"{name} lacks a {section} section"
    assert ">>> " in doc


def test_help_lists_the_api():
    text = inspect.getdoc(mb)
    for name in ("load_register", "fit_growth", "reanalyze"):
        assert name in text
