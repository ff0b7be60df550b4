"""A report as a list of blocks, rendered to Markdown and to one self-contained HTML file.

The HTML embeds every image as a ``data:`` URL, carries its own style sheet, has no script,
and forbids every network request by its Content-Security-Policy. When the data are
synthetic, a banner stays at the top of the screen and of every printed page, and
:class:`Banner` blocks repeat the flag where the sections put them.

Examples
--------
>>> blocks = [Heading("Data", 2), Paragraph("Counts are **integers**."),
...           Bullets(["one", "`two`"])]
>>> print(to_markdown(blocks, title="Report"))
# Report
<BLANKLINE>
## Data
<BLANKLINE>
Counts are **integers**.
<BLANKLINE>
- one
- `two`
<BLANKLINE>
>>> "<strong>integers</strong>" in to_html(blocks, title="Report", folder=".")
True
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mbtbayes.core.formatting import format_table, markdown_table


@dataclass(frozen=True)
class Heading:
    """A section (level 2) or subsection (level 3) heading."""

    text: str
    level: int = 2

    @property
    def anchor(self) -> str:
        """The id of the heading in the HTML (lower case, dashes)."""
        return re.sub(r"[^a-z0-9]+", "-", self.text.lower()).strip("-")


@dataclass(frozen=True)
class Paragraph:
    """Text with ``**bold**`` and ```code``` inline."""

    text: str


@dataclass(frozen=True)
class Bullets:
    """A list of short items (inline markup as in :class:`Paragraph`)."""

    items: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Table:
    """A table, rounded for reading (:func:`mbtbayes.core.formatting.format_table`)."""

    table: pd.DataFrame
    caption: str = ""


@dataclass(frozen=True)
class Image:
    """A figure file (relative to the output folder) with its caption."""

    path: str
    alt: str
    caption: str = ""


@dataclass(frozen=True)
class Banner:
    """A warning that must not be missed (e.g. synthetic data)."""

    text: str


@dataclass(frozen=True)
class Details:
    """Blocks folded away under a one-line summary (a long table, a figure per measure):
    closed ``<details>`` in HTML, the same element in Markdown (GitHub and pandoc render it).
    The summary says what is inside and which CSV holds all of it."""

    summary: str
    blocks: list = field(default_factory=list)


Block = Heading | Paragraph | Bullets | Table | Image | Banner | Details


def flatten(blocks: list[Block]) -> list[Block]:
    """Every block, those folded in :class:`Details` included, in reading order.

    Examples
    --------
    >>> [type(b).__name__ for b in flatten([Heading("A"), Details("more", [Paragraph("x")])])]
    ['Heading', 'Details', 'Paragraph']
    """
    out = []
    for block in blocks:
        out.append(block)
        if isinstance(block, Details):
            out += flatten(block.blocks)
    return out


# ---------------------------------------------------------------- Markdown


def to_markdown(blocks: list[Block], *, title: str) -> str:
    """The report as Markdown; images are linked by their relative paths."""
    return "\n\n".join([f"# {title}", *_markdown_parts(blocks)]) + "\n"


def _markdown_parts(blocks: list[Block]) -> list[str]:
    parts = []
    for block in blocks:
        if isinstance(block, Heading):
            parts.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Paragraph):
            parts.append(block.text)
        elif isinstance(block, Bullets):
            parts.append("\n".join(f"- {item}" for item in block.items))
        elif isinstance(block, Table):
            caption = f"*{block.caption}*\n\n" if block.caption else ""
            parts.append(caption + markdown_table(block.table))
        elif isinstance(block, Image):
            caption = f"\n\n*{block.caption}*" if block.caption else ""
            parts.append(f"![{block.alt}]({block.path}){caption}")
        elif isinstance(block, Banner):
            parts.append(f"> **{block.text}**")
        elif isinstance(block, Details):
            parts += [f"<details><summary>{inline_html(block.summary)}</summary>",
                      *_markdown_parts(block.blocks), "</details>"]
    return parts


# ---------------------------------------------------------------- HTML


def inline_html(text: str) -> str:
    """Escape text and turn ``**bold**`` and ```code``` into HTML.

    Examples
    --------
    >>> inline_html("P(II < I) is **0.89** in `remission.csv`")
    'P(II &lt; I) is <strong>0.89</strong> in <code>remission.csv</code>'
    """
    out = html.escape(text, quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)


SHORT = 28
"""Text cells up to this many characters in every row never wrap (e.g. "too imprecise")."""


def _cell_class(values: pd.Series, text: pd.Series) -> str:
    """``num`` (right-aligned), ``txt short`` (kept on one line) or ``txt`` (wraps)."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return "num"
    return "txt short" if text.astype(str).str.len().max() <= SHORT else "txt"


def shared_text(table: pd.DataFrame) -> dict[str, str]:
    """Text columns longer than :data:`SHORT` with one value in every row (of two or more):
    said once under the table in HTML instead of wrapped in every row.

    Examples
    --------
    >>> method = "10-fold cross-validation leaving patients out, patient effects integrated out"
    >>> shared_text(pd.DataFrame({"model": ["a", "b"], "method": [method] * 2}))
    {'method': '10-fold cross-validation leaving patients out, patient effects integrated out'}
    """
    if len(table) < 2:
        return {}
    out = {}
    for column in table.columns:
        values = table[column]
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            first = values.iloc[0]
            if isinstance(first, str) and len(first) > SHORT and (values == first).all():
                out[str(column)] = first
    return out


def _table_html(block: Table) -> str:
    shared = shared_text(block.table)
    table = block.table.drop(columns=list(shared))
    text = format_table(table)
    kinds = [_cell_class(table[c], text[c]) for c in table.columns]
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in text.columns)
    body = "".join(
        "<tr>" + "".join(f'<td class="{k}">{html.escape(v)}</td>'
                         for v, k in zip(row, kinds, strict=True)) + "</tr>"
        for row in text.itertuples(index=False))
    caption = f'<p class="caption">{inline_html(block.caption)}</p>' if block.caption else ""
    note = "".join(f'<p class="note">{html.escape(c)} (every row): {inline_html(v)}</p>'
                   for c, v in shared.items())
    return (f'{caption}<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>{note}")


def _image_html(block: Image, folder: Path) -> str:
    data = base64.b64encode((folder / block.path).read_bytes()).decode("ascii")
    caption = f"<figcaption>{inline_html(block.caption)}</figcaption>" if block.caption else ""
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(block.alt)}">'
            f"{caption}</figure>")


def _block_html(block: Block, folder: Path) -> str:
    if isinstance(block, Heading):
        tag = f"h{block.level}"
        return f'<{tag} id="{block.anchor}">{html.escape(block.text)}</{tag}>'
    if isinstance(block, Paragraph):
        return f"<p>{inline_html(block.text)}</p>"
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{inline_html(i)}</li>" for i in block.items) + "</ul>"
    if isinstance(block, Table):
        return _table_html(block)
    if isinstance(block, Image):
        return _image_html(block, folder)
    if isinstance(block, Details):
        inner = "\n".join(_block_html(b, folder) for b in block.blocks)
        return f"<details><summary>{inline_html(block.summary)}</summary>\n{inner}\n</details>"
    return f'<p class="flag">{inline_html(block.text)}</p>'


CSS = """
body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;font-size:15px;line-height:1.45;
color:#222;max-width:72rem;margin:0 auto;padding:3.2rem 1.2rem 3rem}
h1{font-size:1.6rem;margin:.4rem 0}h2{font-size:1.3rem;margin-top:2.2rem;
border-bottom:2px solid #1b2a49;padding-bottom:.2rem}h3{font-size:1.05rem;margin-top:1.4rem}
.banner{position:fixed;top:0;left:0;right:0;background:#b00020;color:#fff;font-weight:bold;
text-align:center;padding:.45rem;z-index:10;font-size:14px}
.flag{color:#b00020;font-size:.8rem;font-weight:bold;margin:.1rem 0 .6rem}
nav ol{columns:4;font-size:.85rem;margin:.4rem 0}
.table-wrap{overflow-x:auto;max-width:100%;margin:.2rem 0 1rem}
table{border-collapse:collapse;font-size:.8rem}
.caption{font-style:italic;font-size:.85rem;color:#333;margin:.8rem 0 .2rem}
th,td{border-bottom:1px solid #ccc;padding:.15rem .5rem;white-space:nowrap}
th{background:#eef0f4;text-align:left;white-space:normal;vertical-align:bottom}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.txt{white-space:normal;min-width:16rem;max-width:30rem}td.short{white-space:nowrap;min-width:0}
.note{font-size:.8rem;color:#444;margin:-.6rem 0 1rem}
figure{margin:1rem 0}figure img{max-width:100%;height:auto;display:block}
figcaption{font-size:.85rem;color:#444;margin-top:.3rem}
code{background:#f2f2f2;padding:0 .2rem;font-size:.85em}
details{margin:.6rem 0;padding:.2rem .6rem;border-left:3px solid #c8ccd6}
summary{cursor:pointer;color:#1b2a49;font-size:.9rem}
@media print{body{padding-top:2.6rem}.banner{position:fixed}h2{break-after:avoid}
figure,table{break-inside:avoid}}
"""

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
"""The report may load nothing: images are data URLs, the style sheet is inline."""


def to_html(blocks: list[Block], *, title: str, folder: str | Path,
            banner: str | None = None) -> str:
    """The report as one self-contained HTML page.

    Parameters
    ----------
    blocks : list of Block
    title : str
    folder : path
        Folder the image paths are relative to (their bytes are embedded).
    banner : str, optional
        Shown fixed at the top of the screen and of every printed page (the synthetic-data
        flag; :class:`Banner` blocks repeat it in the sections).
    """
    folder = Path(folder)
    headings = [b for b in blocks if isinstance(b, Heading) and b.level == 2]
    nav = "<nav><ol>" + "".join(f'<li><a href="#{h.anchor}">{html.escape(h.text)}</a></li>'
                                for h in headings) + "</ol></nav>"
    top = f'<div class="banner" role="alert">{html.escape(banner)}</div>' if banner else ""
    body = "\n".join(_block_html(b, folder) for b in blocks)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head>\n<body>{top}"
            f"<h1>{html.escape(title)}</h1>{nav}\n{body}\n</body></html>\n")
