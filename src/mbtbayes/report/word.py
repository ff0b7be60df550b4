"""``paper_tables.docx``: the tables for the journal as a Word document, in APA style.

Each table on a page of its own: its number (bold) and italic title above, a note below that
starts with *Note.*, horizontal rules only at the top, under the header and at the bottom, no
vertical rules, Times New Roman (12 pt text, 10 pt tables). A table too wide for a portrait
page gets a landscape section. The tables: who came in each period (when the run has
``intake``), the growth models in the layout of the paper's Tables 5 and 3 (ML beside Bayes;
the cells of ``paper_tables.md``), remission per period, and the existence verdicts of the
concordance with the agreement of every layer as the note. Synthetic data are flagged in the
title line and in every page header.

Examples
--------
>>> import mbtbayes as mb
>>> mb.write_paper_tables_docx(tables=tables, specs=specs,  # doctest: +SKIP
...                            path="paper_tables.docx", register=mb.load_register())
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from mbtbayes.io.register import Register
from mbtbayes.report.paper_tables import (
    CONCORDANCE_TITLE,
    INTAKE_NOTE,
    INTAKE_TITLE,
    NOTE,
    REMISSION_NOTE,
    REMISSION_TITLE,
    TITLES,
    concordance_note,
    concordance_paper_table,
    intake_paper_table,
    paper_tables,
    remission_paper_table,
)
from mbtbayes.report.sections import SYNTHETIC_FLAG

if TYPE_CHECKING:
    from docx.document import Document
    from docx.table import Table

TITLE = "Tables for the paper: Bayesian reanalysis of the MBT sustainability study"
FONT = "Times New Roman"
CELL_STYLE, CELL_STYLE_ID = "Table text", "TableText"
"""The paragraph style of table cells (an empty cell is as tall as a full one), and its id."""
TEXT_PT, TABLE_PT = 12, 10
"""Font sizes of the text and of tables, notes and headers (APA: 10-12 pt)."""
PORTRAIT_WIDTH = 6.5
"""Text width of a portrait Letter page with 1-inch margins, in inches."""
EM = 10 / 72
"""An em at the tables' 10 pt, in inches."""
PAD = 0.12
"""Left and right cell margins of a column together, in inches."""
WRAP = 36
"""Characters after which a cell may wrap (the layout counts no more per column)."""
MINUS = re.compile(r"(?<![\w)])-(?=[\d.])|(?<=\de)-(?=\d)")
"""A hyphen that is a minus sign (before a number, or in an exponent)."""
NUMBER = r"[\s\u2212+<>\u00b1\[(-]*\.?\d"
"""The start of a cell that holds a number."""
SPANNED = ("ML", "Bayes")
"""Last words of a column name that share a spanning header with its neighbours."""
SYMBOLS = ("p", "d", "Wald p")
"""Headers set in italics (statistical symbols)."""


@dataclass(frozen=True)
class WordTable:
    """One table of the document: its italic title, text cells and note."""

    title: str
    frame: pd.DataFrame
    note: str


def word_tables(tables: dict[str, pd.DataFrame], specs: dict) -> list[WordTable]:
    """The document's tables, in order, from a run's tables (those absent are left out).

    Parameters
    ----------
    tables : dict of str to DataFrame
        The run's tables by file stem (``intake``, the growth tables, ``remission``,
        ``concordance``).
    specs : dict of str to ModelSpec

    Returns
    -------
    list of WordTable
    """
    out = []
    intake = tables.get("intake")
    if intake is not None and not intake.empty:
        out.append(WordTable(INTAKE_TITLE, intake_paper_table(intake), INTAKE_NOTE))
    titles = dict(TITLES.values())
    for name, frame in paper_tables(tables, specs).items():
        title = titles.get(name, name)
        out.append(WordTable(f"{title}, in the layout of the paper's {name}"
                             if name in titles else title, frame, NOTE))
    concordance = tables.get("concordance")
    remission = tables.get("remission")
    if remission is not None and not remission.empty:
        out.append(WordTable(REMISSION_TITLE, remission_paper_table(remission, concordance),
                             REMISSION_NOTE))
    if concordance is not None and not concordance.empty:
        out.append(WordTable(CONCORDANCE_TITLE, concordance_paper_table(concordance, specs),
                             concordance_note(concordance)))
    return out


def write_paper_tables_docx(*, tables: dict[str, pd.DataFrame], specs: dict,
                            path: str | Path, register: Register) -> Path:
    """Write ``paper_tables.docx``: the tables of :func:`word_tables` in APA style.

    Parameters
    ----------
    tables : dict of str to DataFrame
        The run's tables by file stem.
    specs : dict of str to ModelSpec
    path : path
        The file to write (``.docx``).
    register : Register
        The data: its label goes in the title line, and synthetic data are flagged there and
        in every page header.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import mbtbayes as mb
    >>> register = mb.load_register()
    >>> tables = mb.growth_tables(fits, register.data)  # doctest: +SKIP
    >>> mb.write_paper_tables_docx(tables=tables, specs=mb.load_specs(),  # doctest: +SKIP
    ...                            path="paper_tables.docx", register=register)
    """
    from docx import Document

    doc = Document()
    _fonts(doc)
    parts = word_tables(tables, specs)
    _title_page(doc, register, parts)
    for number, part in enumerate(parts, start=1):
        _add_table(doc, number, part)
    path = Path(path)
    doc.save(str(path))
    return path


# ---------------------------------------------------------------- page and text


def _fonts(doc: Document) -> None:
    from docx.enum.style import WD_STYLE_TYPE
    from docx.oxml.ns import qn
    from docx.shared import Pt

    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = FONT, Pt(TEXT_PT)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    normal.paragraph_format.space_after = Pt(0)
    cells = doc.styles.add_style(CELL_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    cells.base_style, cells.font.size = normal, Pt(TABLE_PT)
    cells.style_id = CELL_STYLE_ID
    for section in doc.sections:
        section.left_margin = section.right_margin = _inches(1)
        section.top_margin = section.bottom_margin = _inches(1)


def _inches(x: float) -> int:
    from docx.shared import Inches

    return Inches(x)


def _title_page(doc: Document, register: Register, parts: list[WordTable]) -> None:
    from docx.shared import Pt, RGBColor

    head = doc.add_paragraph()
    head.add_run(TITLE + (" (SYNTHETIC data)" if register.synthetic else "")).bold = True
    doc.add_paragraph(f"Data: {register.label}")
    if register.synthetic:
        flag = doc.add_paragraph().add_run(SYNTHETIC_FLAG)
        flag.bold, flag.font.color.rgb = True, RGBColor(0xB0, 0x00, 0x20)
        header = doc.sections[0].header.paragraphs[0]
        run = header.add_run("SYNTHETIC DATA")
        run.font.size, run.font.color.rgb = Pt(TABLE_PT), RGBColor(0xB0, 0x00, 0x20)
    doc.add_paragraph()
    for number, part in enumerate(parts, start=1):
        line = doc.add_paragraph()
        line.add_run(f"Table {number}. ").bold = True
        line.add_run(part.title).italic = True


def _section(doc: Document, *, landscape: bool) -> None:
    """A new page of the given orientation (each table starts on a page of its own)."""
    from docx.enum.section import WD_ORIENT, WD_SECTION

    section = doc.add_section(WD_SECTION.NEW_PAGE)
    width, height = sorted((section.page_width, section.page_height))
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = (height, width) if landscape else (width, height)


def _text_width(doc: Document) -> float:
    section = doc.sections[-1]
    return (section.page_width - section.left_margin - section.right_margin) / 914400


# ---------------------------------------------------------------- tables


def typeset(text: str) -> str:
    """A cell as print sets it: minus signs (U+2212, never parted from their number at a line
    break), plus-minus signs, and ``II - I`` kept on one line (no-break spaces).

    Examples
    --------
    >>> typeset("-0.0315 [-0.0363, -0.0268]") == "\u22120.0315 [\u22120.0363, \u22120.0268]"
    True
    >>> typeset("BSI-18, 0-9, +-0.5 SD, 4.2e-05")
    'BSI-18, 0-9, \xb10.5 SD, 4.2e\u221205'
    """
    return MINUS.sub("\u2212", text.replace("+-", "\u00b1").replace("II - I", "II\u00a0-\u00a0I"))


def text_inches(text: str) -> float:
    """About how wide ``text`` is set in Times New Roman at 10 pt, in inches: digits half an
    em, capitals 0.7, small letters 0.45, spaces 0.25, minus and plus-minus 0.56, other signs
    0.35; 5% to spare."""
    widths = {" ": 0.25, "\u2212": 0.56, "\u00b1": 0.56}
    return 1.05 * EM * sum(widths.get(c, 0.5 if c.isdigit() else 0.7 if c.isupper()
                                      else 0.45 if c.islower() else 0.35) for c in text)


def _column_needs(frame: pd.DataFrame) -> tuple[list[float], list[float]]:
    """Per column, in inches: its longest cell on one line (at most :data:`WRAP` characters),
    and its longest word, header included (no narrower, or a word would break)."""
    need, least = [], []
    for column in frame.columns:
        cells = [str(v) for v in frame[column]]
        words = [w for c in [*cells, _header(_split(column)[1]), "abc"] for w in c.split()]
        least.append(max(text_inches(w) for w in words))
        need.append(max([least[-1], *(text_inches(c[:WRAP]) for c in cells)]))
    return need, least


def is_wide(frame: pd.DataFrame) -> bool:
    """Whether a table needs more than a portrait page's width (then it goes landscape)."""
    return sum(_column_needs(frame)[0]) + PAD * len(frame.columns) > PORTRAIT_WIDTH


def column_widths(frame: pd.DataFrame, width: float) -> list[float]:
    """Column widths in inches that fill ``width``: where the columns need more, the widest
    are cut back to a common width (never below their longest word), so that short columns
    keep their cells on one line; where they need less, each grows in proportion."""
    need, least = _column_needs(frame)
    room = width - PAD * len(need)
    if sum(need) <= room:
        text = [n * room / sum(need) for n in need]
    elif sum(least) >= room:
        text = [w * room / sum(least) for w in least]
    else:
        low, high = 0.0, max(need)
        for _ in range(50):
            cap = (low + high) / 2
            fits = sum(max(w, min(n, cap)) for n, w in zip(need, least, strict=True)) <= room
            low, high = (cap, high) if fits else (low, cap)
        text = [max(w, min(n, low)) for n, w in zip(need, least, strict=True)]
    return [t + PAD for t in text]


def _split(column: str) -> tuple[str, str]:
    """``(spanning header, column header)``; the spanning header is empty when none."""
    if ": " in column:
        group, name = column.split(": ", 1)
        return group, name
    words = column.rsplit(" ", 1)
    if len(words) == 2 and words[1] in SPANNED:
        return words[0], words[1]
    return "", column


def header_rows(columns: list[str]) -> list[list[str]]:
    """The header as rows of text: one row, or two with spanning headers above their columns
    (a column without one repeats its header in both rows; they are merged).

    Examples
    --------
    >>> header_rows(["measure", "slope ML", "slope Bayes"])
    [['Measure', 'Slope', 'Slope'], ['Measure', 'ML', 'Bayes']]
    """
    split = [_split(c) for c in columns]
    if not any(group for group, _ in split):
        return [[_header(c) for c in columns]]
    top = [_header(group or name) for group, name in split]
    return [top, [_header(name) for _, name in split]]


def _header(text: str) -> str:
    """Sentence case, statistical symbols kept; ``delta`` as the paper's Delta(II-I)."""
    if text.startswith("delta "):
        return f"\u0394 {text[6:]} (II - I)"
    symbol = text in SYMBOLS or len(text.split(" ", 1)[0]) == 1
    return text if symbol or not text else text[0].upper() + text[1:]


def label_columns(frame: pd.DataFrame) -> int:
    """How many leading columns label the rows (text, set flush left; the rest centred): the
    first, and those after it where no cell starts with a number.

    Examples
    --------
    >>> label_columns(pd.DataFrame({"measure": ["BSI-18"], "model": ["linear"], "AIC": ["1.0"]}))
    2
    """
    count = 1
    for column in list(frame.columns)[1:]:
        if frame[column].astype(str).str.match(NUMBER).any():
            break
        count += 1
    return count


def _add_table(doc: Document, number: int, part: WordTable) -> None:
    from docx.enum.table import WD_TABLE_ALIGNMENT

    frame = part.frame.fillna("").astype(str).map(typeset)
    _section(doc, landscape=is_wide(frame))
    doc.add_paragraph().add_run(f"Table {number}").bold = True
    title = doc.add_paragraph()
    title.add_run(part.title).italic = True
    title.paragraph_format.space_after = _points(6)
    header = header_rows(list(frame.columns))
    table = doc.add_table(rows=len(header) + len(frame), cols=len(frame.columns))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _fill_header(table, header, labels=label_columns(frame))
    labels = label_columns(frame)
    for i, row in enumerate(frame.itertuples(index=False), start=len(header)):
        for j, (cell, value) in enumerate(zip(table.rows[i].cells, row, strict=True)):
            _set_text(cell, value, left=j < labels)
        _keep_together(table.rows[i])
    for cell in table.rows[-1].cells:
        cell.paragraphs[0].paragraph_format.keep_with_next = True
    _widths(table, column_widths(frame, _text_width(doc)))
    _rules(table, len(header), spans=len(header) > 1)
    note = doc.add_paragraph()
    note.paragraph_format.space_before = _points(6)
    for text, italic in (("Note.", True), (" " + part.note, False)):
        run = note.add_run(text)
        run.italic, run.font.size = italic, _points(TABLE_PT)


def _points(x: float) -> int:
    from docx.shared import Pt

    return Pt(x)


def _set_text(cell: object, text: str, *, left: bool, italic: bool = False) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    paragraph = cell.paragraphs[0]
    paragraph._p.style = CELL_STYLE_ID  # by id: python-docx looks a name up at every cell
    paragraph.alignment = WD_ALIGN_PARAGRAPH.LEFT if left else WD_ALIGN_PARAGRAPH.CENTER
    paragraph.add_run(text).italic = italic


def _fill_header(table: Table, header: list[list[str]], *, labels: int) -> None:
    """Header text, spanning headers merged across their columns, single ones down both rows;
    the header rows repeat on every page."""
    for i, row in enumerate(header):
        for j, (cell, text) in enumerate(zip(table.rows[i].cells, row, strict=True)):
            if _holds_text(header, i, j):
                _set_text(cell, text, left=j < labels, italic=text in SYMBOLS)
        _repeat_header(table.rows[i])
    if len(header) == 2:
        _merge(table, *header)


def _single(top: list[str], bottom: list[str], j: int) -> bool:
    """Whether column ``j`` has no spanning header (one header down both rows)."""
    return top[j] == bottom[j]


def _holds_text(header: list[list[str]], i: int, j: int) -> bool:
    """Whether header cell (i, j) holds text; the others are merged into one that does."""
    if len(header) == 1:
        return True
    top, bottom = header
    if i == 1:
        return not _single(top, bottom, j)
    return j == 0 or _single(top, bottom, j) or top[j - 1] != top[j] or _single(top, bottom,
                                                                                j - 1)


def _merge(table: Table, top: list[str], bottom: list[str]) -> None:
    j = 0
    while j < len(top):
        end = j
        if _single(top, bottom, j):
            table.cell(0, j).merge(table.cell(1, j))
        else:
            while (end + 1 < len(top) and top[end + 1] == top[j]
                   and not _single(top, bottom, end + 1)):
                end += 1
            if end > j:
                table.cell(0, j).merge(table.cell(0, end))
        j = end + 1


def _repeat_header(row: object) -> None:
    _row_flag(row, "w:tblHeader")


def _keep_together(row: object) -> None:
    """A row is never split across pages."""
    _row_flag(row, "w:cantSplit")


def _row_flag(row: object, tag: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    flag = OxmlElement(tag)
    flag.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(flag)


def _widths(table: Table, widths: list[float]) -> None:
    """Fixed column widths and narrow cell margins (half of :data:`PAD` a side)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    table.autofit = False
    for column, inches in zip(table.columns, widths, strict=True):
        column.width = _inches(inches)
        for cell in column.cells:
            cell.width = _inches(inches)
    margins = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        element = OxmlElement(f"w:{side}")
        element.set(qn("w:w"), str(round(PAD / 2 * 1440)))
        element.set(qn("w:type"), "dxa")
        margins.append(element)
    table._tbl.tblPr.insert_element_before(margins, *AFTER["w:tblCellMar"])


def _rules(table: Table, header_rows: int, *, spans: bool) -> None:
    """APA rules: top and bottom of the table, under the header, under spanning headers."""
    _borders(table._tbl.tblPr, "w:tblBorders", {"top": "single", "bottom": "single",
                                                "left": "nil", "right": "nil",
                                                "insideH": "nil", "insideV": "nil"})
    for tc in table.rows[header_rows - 1]._tr.tc_lst:
        _borders(tc.get_or_add_tcPr(), "w:tcBorders", {"bottom": "single"})
    if spans:
        for tc in table.rows[0]._tr.tc_lst:
            if tc.grid_span > 1:
                _borders(tc.get_or_add_tcPr(), "w:tcBorders", {"bottom": "single"})


def _borders(parent: object, tag: str, edges: dict[str, str]) -> None:
    """Borders of a table (``w:tblBorders``) or a cell (``w:tcBorders``), put where the
    schema wants them (Word refuses elements out of order)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    borders = parent.find(qn(tag))
    if borders is None:
        borders = OxmlElement(tag)
        parent.insert_element_before(borders, *AFTER[tag])
    for edge in EDGES:
        if edge in edges:
            element = OxmlElement(f"w:{edge}")
            element.set(qn("w:val"), edges[edge])
            if edges[edge] != "nil":
                element.set(qn("w:sz"), "6")
                element.set(qn("w:space"), "0")
                element.set(qn("w:color"), "000000")
            borders.append(element)


EDGES = ("top", "left", "bottom", "right", "insideH", "insideV")
"""Border edges in the schema's order."""
AFTER = {
    "w:tblBorders": ("w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook", "w:tblCaption",
                     "w:tblDescription", "w:tblPrChange"),
    "w:tblCellMar": ("w:tblLook", "w:tblCaption", "w:tblDescription", "w:tblPrChange"),
    "w:tcBorders": ("w:shd", "w:noWrap", "w:tcMar", "w:textDirection", "w:tcFitText",
                    "w:vAlign", "w:hideMark", "w:headers", "w:cellIns", "w:cellDel",
                    "w:cellMerge", "w:tcPrChange"),
}
"""What follows an element in the schema (WordprocessingML, ECMA-376 part 1)."""
