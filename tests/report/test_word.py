"""paper_tables.docx and the vector figures, read back as a user's programs would.

The document is read with python-docx (not with the code that wrote it); reference values come
from the run's own CSV and Markdown files (``intake.csv``, ``paper_tables.md``, the files
present), numbers formatted here with Python's ``format``; the SVG files are parsed with the
standard library's XML parser.
"""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET

import pandas as pd
import pytest
from docx import Document

from mbtbayes.growth.specs import load_specs
from mbtbayes.io.register import load_register
from mbtbayes.report.word import column_widths, write_paper_tables_docx

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def plain(text: str) -> str:
    """Cell text as the Markdown has it: hyphen-minus, plus-minus as ``+-``, plain spaces."""
    return text.replace("\u2212", "-").replace("\u00b1", "+-").replace("\u00a0", " ")


def cells(table) -> list[list[str]]:
    return [[plain(c.text) for c in row.cells] for row in table.rows]


def titles(doc) -> list[str]:
    """The italic title under each 'Table N' line."""
    paragraphs = doc.paragraphs
    return [paragraphs[i + 1].text for i, p in enumerate(paragraphs)
            if p.text.startswith("Table ") and p.text[6:].isdigit()]


def markdown_tables(path) -> dict[str, list[list[str]]]:
    """Body rows of each ``## Table N`` of paper_tables.md, cell by cell."""
    out, name = {}, None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            name = line[3:].split(".")[0]
            out[name] = []
        elif name and line.startswith("|") and not line.startswith("|:"):
            out[name].append([c.strip() for c in line.strip("|").split("|")])
    return {k: rows[1:] for k, rows in out.items()}  # the first row is the header


@pytest.fixture(scope="module")
def docx(quick_run):
    path = quick_run.out / "paper_tables.docx"
    assert path.is_file()
    return Document(str(path))


def test_every_table_of_the_run_is_in_the_document_in_order(quick_run, docx):
    out = quick_run.out
    paper = [line[3:] for line in (out / "paper_tables.md").read_text().splitlines()
             if line.startswith("## Table ")]
    expected = ["Characteristics at intake by period"] * (out / "intake.csv").is_file()
    expected += [f"{name.split('. ', 1)[1]}, in the layout of the paper's {name.split('. ')[0]}"
                 for name in paper]
    expected += ["Remission per period among patients with the behaviour at start"] * (
        out / "remission.csv").is_file()
    expected += ["Existence of each effect: frequentist and Bayesian verdicts"] * (
        out / "concordance.csv").is_file()
    assert len(expected) == 5  # intake, Table 5 (bsi), Table 3 (wai_bonds), remission, concordance
    assert titles(docx) == expected
    assert len(docx.tables) == len(expected)
    listed = [p.text for p in docx.paragraphs[:12]
              if p.text.startswith("Table ") and ". " in p.text]
    assert listed == [f"Table {i}. {t}" for i, t in enumerate(expected, start=1)]


def test_headers_and_a_number_from_intake_csv(quick_run, docx):
    intake = pd.read_csv(quick_run.out / "intake.csv")
    table = cells(docx.tables[0])
    assert table[0] == ["Characteristic", "Period I", "Period II", "Missing I / II", "p",
                        "SMD Bayes [95% HDI]", "P(II more severe)", "Decision"]
    body = {row[0]: row for row in table[1:]}
    row = intake[(intake["p_value"] > 0.001) & (intake["kind"] != "multivariate")].iloc[0]
    assert body[row["label"]][1] == row["summary_I"]
    assert body[row["label"]][4].rstrip("*") == format(row["p_value"], ".3g")
    assert body[row["label"]][5].startswith(format(row["smd_mean"], ".2f"))
    assert len(table) - 1 == len(intake)


def test_growth_tables_hold_the_cells_of_paper_tables_md(quick_run, docx):
    markdown = markdown_tables(quick_run.out / "paper_tables.md")
    assert set(markdown) == {"Table 5", "Table 3"}
    for index, name in ((1, "Table 5"), (2, "Table 3")):
        table = cells(docx.tables[index])
        assert table[0][:4] == ["Measure", "Model", "Intercept", "Intercept"]
        assert table[1][2:4] == ["ML", "Bayes"]  # spanning header over ML beside Bayes
        assert table[2:] == markdown[name]
        assert any("[" in c for c in markdown[name][0])  # an estimate [interval] was compared


def test_notes_follow_each_table_and_remission_and_concordance_read_right(quick_run, docx):
    for table in docx.tables:
        after = table._tbl.getnext()
        assert "".join(after.itertext()).startswith("Note. ")
    remission = pd.read_csv(quick_run.out / "remission.csv")
    one = remission[(remission["model"] == "beta_binomial") & (remission["period"] == "I")]
    rows = cells(docx.tables[3])
    assert rows[2][1] == f"{one.iloc[0]['n_remitted']} / {one.iloc[0]['n_at_risk']}"
    concordance = pd.read_csv(quick_run.out / "concordance.csv")
    rated = concordance[concordance["frequentist_existence"].notna()]
    table = cells(docx.tables[4])
    assert len(table) - 2 == len(rated)
    assert [r[-1] for r in table[2:]] == ["yes" if a else "no" for a in rated["agree_existence"]]


def test_apa_rules_only_at_top_under_the_header_and_at_the_bottom(docx):
    for table in docx.tables:
        borders = table._tbl.tblPr.find(f"{W}tblBorders")
        kinds = {child.tag[len(W):]: child.get(f"{W}val") for child in borders}
        assert kinds["top"] == kinds["bottom"] == "single"
        assert kinds["left"] == kinds["right"] == kinds["insideV"] == kinds["insideH"] == "nil"
        ruled = [i for i, row in enumerate(table.rows)
                 if any(tc.find(f"{W}tcPr/{W}tcBorders/{W}bottom") is not None
                        for tc in row._tr.tc_lst)]
        assert ruled and max(ruled) <= 1  # header rows only (with the spanning headers' rules)


def test_the_synthetic_flag_is_in_the_title_line_and_page_header(docx):
    assert "SYNTHETIC" in docx.paragraphs[0].text
    assert "SYNTHETIC DATA" in docx.sections[0].header.paragraphs[0].text
    fonts = {r.font.name for p in docx.paragraphs for r in p.runs} - {None}
    assert docx.styles["Normal"].font.name == "Times New Roman" and fonts <= {"Times New Roman"}


def test_wide_tables_get_a_landscape_page(docx):
    orientation = [s.page_width > s.page_height for s in docx.sections]
    assert orientation[0] is False  # the title page
    assert any(orientation[1:])  # the growth tables (14 columns) at least


def test_register_data_carry_no_synthetic_flag(quick_run, tmp_path):
    tables = {p.stem: pd.read_csv(p) for p in quick_run.out.glob("*.csv")}
    register = dataclasses.replace(load_register(), synthetic=False, source="my_register.csv")
    path = write_paper_tables_docx(tables=tables, specs=load_specs(),
                                   path=tmp_path / "t.docx", register=register)
    doc = Document(str(path))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "SYNTHETIC" not in text and "my_register.csv" in text
    assert not doc.sections[0].header.paragraphs[0].text


def test_column_widths_fill_the_page_and_cut_the_widest_column_first():
    frame = pd.DataFrame({"label": ["a long label that will have to wrap somewhere " * 2],
                          "n": ["12"], "estimate": ["0.123 [0.100, 0.150]"]})
    wide, narrow = column_widths(frame, 6.5), column_widths(frame, 3.0)
    assert sum(wide) == pytest.approx(6.5) and sum(narrow) == pytest.approx(3.0)
    kept = [n / w for n, w in zip(narrow, wide, strict=True)]
    assert kept[0] < kept[2] and kept[0] < kept[1]  # the label wraps; numbers keep their room


def test_every_figure_is_also_an_svg(quick_run):
    figures = quick_run.out / "figures"
    pngs = sorted(p.stem for p in figures.glob("*.png"))
    svgs = sorted(p.stem for p in figures.glob("*.svg"))
    assert pngs and svgs == pngs
    for stem in svgs:
        root = ET.parse(figures / f"{stem}.svg").getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg", stem
        assert len(list(root.iter())) > 50, stem  # drawn, not an empty frame
    manifest = json.loads((quick_run.out / ".mbtbayes-output.json").read_text())
    assert {"paper_tables.docx", f"figures/{svgs[0]}.svg"} <= set(manifest["files"])
