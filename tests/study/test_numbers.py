"""Tests of mbtbayes.published.

The reference is the study documentation itself: ``published-numbers.md`` (a copy is kept in
``tests/data/study/``) and the paper's text ``paper.txt`` (in the developers' shared study folder
beside the repository, not distributed). The tests parse the documents, so that expected values
come from them and not from the module. The paper-text test is skipped, with a reason, where the
paper is not available (set ``MBTBAYES_STUDY_DIR`` to its folder).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from mbtbayes.study.numbers import (
    PROVENANCES,
    PUBLISHED_VALUES,
    PublishedValue,
    published_table,
    published_value,
)

SHARED = Path(__file__).resolve().parents[3] / "shared" / "study"
STUDY = Path(os.environ.get("MBTBAYES_STUDY_DIR", SHARED))
DOC = Path(__file__).parents[1] / "data" / "study" / "published-numbers.md"
PAPER = STUDY / "paper.txt"
needs_doc = pytest.mark.skipif(not DOC.exists(), reason=f"{DOC} not found")
NAMES = r"BSI-18|SIPP-118|EQ-5D-3L|EQ-5D|IIP-C|Table 3|d24|row [12]"
"""Digits that belong to names (instruments, labels), not to values."""
needs_paper = pytest.mark.skipif(not PAPER.exists(), reason=f"{PAPER} not found")


def _flat(text: str) -> str:
    """Normalise dashes and whitespace so that line breaks do not split phrases."""
    text = re.sub(r"[\u2010-\u2015\u2212]", "-", text)
    return re.sub(r"\s+", " ", text)


def _flat_lines(text: str) -> list[str]:
    return [_flat(line).strip() for line in text.splitlines()]


def _doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _section(title: str) -> str:
    parts = re.split(r"^## ", _doc(), flags=re.M)
    (body,) = [p for p in parts if p.startswith(title)]
    return body


def _val(key: str) -> float:
    return published_value(key).value


def _pairs(text: str) -> list[tuple[int, ...]]:
    return [tuple(map(int, m)) for m in re.findall(r"(\d+)/(\d+) vs (\d+)/(\d+)", text)]


# ----------------------------------------------------------------------------- structure


def test_every_provenance_is_one_of_the_four_labels() -> None:
    assert set(PROVENANCES) == {"paper", "2015", "derived", "assumed"}
    assert {v.provenance for v in PUBLISHED_VALUES} <= set(PROVENANCES)
    assert set(published_table()["provenance"]) == set(PROVENANCES)


def test_keys_unique_and_follow_the_scheme() -> None:
    keys = [v.key for v in PUBLISHED_VALUES]
    assert len(keys) == len(set(keys))
    part = r"(?:[a-z0-9_]+|I|II)"
    assert all(re.fullmatch(rf"{part}(?:\.{part})+", k) for k in keys if k != "n.I")


def test_section_prefix_matches_provenance() -> None:
    for v in PUBLISHED_VALUES:
        if v.key.startswith("assumed."):
            assert v.provenance == "assumed", v.key
        if v.key.startswith("derived."):
            assert v.provenance == "derived", v.key
        if v.key.startswith("table3_2015."):
            assert v.provenance == "2015", v.key
        if v.provenance == "assumed":  # never label a published-looking key as assumed silently
            assert v.key.startswith("assumed.") or "not in paper.txt" in v.note, v.key


def test_period_agrees_with_key_suffix() -> None:
    for v in PUBLISHED_VALUES:
        last = v.key.rsplit(".", 1)[-1]
        if last in ("I", "II", "total"):
            assert v.period == last, v.key


def test_table_is_tidy_one_row_per_value() -> None:
    table = published_table()
    assert len(table) == len(PUBLISHED_VALUES)
    assert list(table.columns) == [
        "key", "value", "provenance", "quantity", "unit", "period", "note",
    ]  # fmt: skip
    assert table["value"].dtype == float
    assumed = published_table(provenance="assumed")
    assert (assumed["provenance"] == "assumed").all() and len(assumed) > 0


def test_unknown_key_gives_a_hint() -> None:
    with pytest.raises(KeyError, match="Did you mean 'self_harm.remission.p'"):
        published_value("self_harm.remision.p")
    with pytest.raises(KeyError, match="Unknown published key"):
        published_value("zzz")


def test_bad_provenance_is_rejected() -> None:
    with pytest.raises(ValueError, match="provenance"):
        PublishedValue("x.y", 1.0, "published", "q", "u", None, "")
    with pytest.raises(ValueError, match="provenance"):
        published_table(provenance="published")


# ----------------------------------------------------------------------------- against the document


@needs_doc
def test_every_number_in_the_document_is_in_the_module() -> None:
    text = _flat(_doc())
    text = re.sub(r"Citation:.*?doi:\S+", " ", text)  # bibliographic numbers are not data
    text = re.sub(r"Psychol Psychother\* \d+:\d+-\d+, doi:\S+", " ", text)
    tokens = re.findall(r"\d+(?:\.\d+)?", re.sub(NAMES, " ", text))
    values = {round(abs(v.value), 6) for v in PUBLISHED_VALUES}
    missing = sorted({t for t in tokens if round(float(t), 6) not in values}, key=float)
    assert missing == []


@needs_doc
def test_design_and_results_match_the_document() -> None:
    design = _flat(_section("Design"))
    assert re.search(r"n = (\d+)\. Period II", design).group(1) == str(int(_val("n.I")))
    assert re.search(r"n = (\d+)\. Total (\d+)", design).groups() == (
        str(int(_val("n.II"))),
        str(int(_val("n.total"))),
    )
    results = _flat(_section("Results stated"))
    org = re.search(r"(\d+) of (\d+) standards met in Period I, (\d+) of (\d+)", results)
    met_i, total, met_ii, _ = map(float, org.groups())
    assert (met_i, met_ii, total) == (
        _val("org.standards_met.I"),
        _val("org.standards_met.II"),
        _val("org.standards_count"),
    )
    remission = re.findall(
        r"remission (\d+)% overall, (\d+)% \(I\) vs (\d+)% \(II\), p = (\d+\.\d+)", results
    )
    for behaviour, row in zip(("self_harm", "suicide_attempt"), remission, strict=True):
        expected = tuple(map(float, row))
        got = tuple(
            _val(f"{behaviour}.remission.{k}") for k in ("pct.total", "pct.I", "pct.II", "p")
        )
        assert got == expected
    last = re.search(r"last year of MBT (\d+)% \(I\) and (\d+)% \(II\)", results).groups()
    assert tuple(map(float, last)) == (
        _val("self_harm.last_year.pct.I"),
        _val("self_harm.last_year.pct.II"),
    )
    assert float(re.search(r"(\d+)% self-harmed", results).group(1)) == _val("self_harm.start.pct")


@needs_doc
def test_table3_2015_rows_match_the_document() -> None:
    rows = re.findall(
        r"^\| (BSI|CIP|GAF) \| ([\d.]+) \(([\d.]+)\) \| ([+-]?[\d.]+) \(([\d.]+)\) \| ([\d.]+) \|",
        _section("Period I predecessor"),
        flags=re.M,
    )
    assert len(rows) == 3
    fields = ("baseline", "baseline_se", "slope", "slope_se", "effect_size_3y")
    for name, *numbers in rows:
        for field, number in zip(fields, numbers, strict=True):
            v = published_value(f"table3_2015.{name.lower()}.{field}")
            assert v.value == float(number), v.key
            assert v.provenance == "2015"


@needs_doc
def test_derived_counts_match_the_document() -> None:
    derived = _flat(_section("Cell counts"))
    bold = [tuple(map(int, m)) for m in re.findall(r"\*\*(\d+)/(\d+) vs (\d+)/(\d+)\*\*", derived)]
    assert len(bold) == 2
    for behaviour, counts in zip(("self_harm", "suicide_attempt"), bold, strict=True):
        prefix = f"derived.{behaviour}.remission"
        keys = ("count.I", "n.I", "count.II", "n.II")
        assert tuple(_val(f"{prefix}.{k}") for k in keys) == counts
    others = re.search(r"Other unpooled-Wald solutions: (.*?)\. The", derived).group(1)
    alternatives = _pairs(others)
    assert len(alternatives) == 5
    for k, counts in enumerate(alternatives, start=1):
        prefix = f"derived.self_harm.remission.alt.{k}"
        keys = ("count.I", "n.I", "count.II", "n.II")
        assert tuple(_val(f"{prefix}.{key}") for key in keys) == counts
    full = re.search(r"(\d+)/(\d+) vs (\d+)/(\d+) on full n \(Wald p = ([\d.]+)\)", derived)
    prefix = "derived.self_harm.last_year.full"
    keys = ("count.I", "n.I", "count.II", "n.II", "p.wald_unpooled")
    assert tuple(_val(f"{prefix}.{k}") for k in keys) == tuple(map(float, full.groups()))
    end = re.search(r"(\d+)/(\d+) vs (\d+)/(\d+) among patients with end data", derived)
    prefix = "derived.self_harm.last_year.end_data"
    keys = ("count.I", "n.I", "count.II", "n.II")
    assert tuple(_val(f"{prefix}.{k}") for k in keys) == tuple(map(float, end.groups()))
    p_sh = re.search(r"unpooled Wald test \(p = ([\d.]+)\).*?Wald test \(([\d.]+)\)", derived)
    assert tuple(map(float, p_sh.groups())) == (
        _val("derived.self_harm.remission.p.wald_unpooled"),
        _val("derived.self_harm.remission.p.logistic_wald"),
    )
    p_sa = re.search(r"pooled chi-square \(([\d.]+)\) and logistic Wald \(([\d.]+)\)", derived)
    assert tuple(map(float, p_sa.groups())) == (
        _val("derived.suicide_attempt.remission.p.wald_pooled"),
        _val("derived.suicide_attempt.remission.p.logistic_wald"),
    )


@needs_doc
def test_assumed_growth_rows_match_the_document_and_are_labelled_assumed() -> None:
    rows = re.findall(
        r"^\| (BSI|CIP|GAF|WSAS) baseline.*?\| ([\d.]+) \(([\d.]+)\) \| ([\d.]+) \(([\d.]+)\) "
        r"\| slope ([+-]?[\d.]+)/month.*?d24 ~ ([\d.]+)\)",
        _section("Assumed values"),
        flags=re.M,
    )
    assert len(rows) == 4
    for name, base_i, sd_i, base_ii, sd_ii, slope, d24 in rows:
        m = name.lower()
        assert sd_i == sd_ii
        expected = {
            f"assumed.{m}.baseline.I": base_i,
            f"assumed.{m}.baseline.II": base_ii,
            f"assumed.{m}.baseline_sd": sd_i,
            f"assumed.{m}.slope": slope,
            f"assumed.{m}.d24": d24,
        }
        for key, number in expected.items():
            v = published_value(key)
            assert v.value == float(number), key
            assert v.provenance == "assumed"


@needs_doc
def test_no_assumed_number_is_labelled_published() -> None:
    # Every number of the assumed table must exist as an assumed value, so nothing assumed can
    # hide behind a "paper" label with the same key family.
    lines = _flat_lines(_section("Assumed values"))
    table = " ".join(line for line in lines if line.startswith("|"))
    tokens = {round(float(t), 6) for t in re.findall(r"\d+(?:\.\d+)?", re.sub(NAMES, " ", table))}
    tokens -= {1.0, 7.0}  # the WAI "1-7" scale label repeats the paper's range
    assumed = {round(abs(v.value), 6) for v in PUBLISHED_VALUES if v.provenance == "assumed"}
    assert tokens <= assumed


@needs_paper
def test_paper_values_are_printed_in_the_paper() -> None:
    text = _flat(PAPER.read_text(encoding="utf-8"))
    missing = []
    for v in PUBLISHED_VALUES:
        if v.provenance != "paper":
            continue
        number = abs(v.value)
        shown = str(int(number)) if number == int(number) else repr(number)
        if not re.search(rf"(?<![\d.]){re.escape(shown)}(?!\d)", text):
            missing.append(v.key)
    assert missing == []
    remission = re.search(r"Period I: (\d+)%, Period II: (\d+)%, ?p ?= ?([\d.]+)", text)
    assert tuple(map(float, remission.groups())) == (
        _val("self_harm.remission.pct.I"),
        _val("self_harm.remission.pct.II"),
        _val("self_harm.remission.p"),
    )


@pytest.mark.skipif(not (STUDY / "published-numbers.md").exists(), reason="no shared study folder")
def test_vendored_document_is_current():
    assert DOC.read_bytes() == (STUDY / "published-numbers.md").read_bytes()
