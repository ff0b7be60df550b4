"""What researchers see: figures, a self-contained report, a terminal with progress and the
answer, and ``run.json``.

:func:`write_report` turns a run's tables and fits into ``figures/*.png`` (and ``.svg``),
``paper_tables.md`` and ``.docx``, ``report.md`` and ``report.html`` (self-contained: images
embedded, no script, no network); :mod:`mbtbayes.report.runinfo` writes ``run.json``;
:mod:`mbtbayes.report.terminal` shows progress and the headline.

Examples
--------
>>> from mbtbayes.report import write_report
>>> write_report(folder, tables=tables, fits=fits, specs=specs,  # doctest: +SKIP
...              register=register, run=record)
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mbtbayes.io.register import Register
from mbtbayes.report.document import to_html, to_markdown
from mbtbayes.report.figures import make_figures
from mbtbayes.report.headline import headline, headline_text
from mbtbayes.report.paper_tables import paper_tables, paper_tables_markdown
from mbtbayes.report.runinfo import run_record, write_run_json
from mbtbayes.report.sections import SYNTHETIC_FLAG, ReportInputs, report_blocks
from mbtbayes.report.word import write_paper_tables_docx

TITLE = "Bayesian reanalysis of the MBT sustainability study"

__all__ = ["ReportInputs", "headline", "headline_text", "paper_tables", "report_title",
           "run_record", "write_report", "write_run_json"]


def report_title(synthetic: bool) -> str:
    """The report's title; it says SYNTHETIC when the data are."""
    return TITLE + (" (SYNTHETIC data)" if synthetic else "")


def write_report(
    folder: str | Path,
    *,
    tables: dict[str, pd.DataFrame],
    fits: list,
    specs: dict,
    register: Register,
    run: dict | None = None,
) -> dict[str, Path]:
    """Write the figures, ``paper_tables.md`` and ``.docx``, ``report.md`` and ``report.html``
    of a run.

    Parameters
    ----------
    folder : path
        The output folder being written.
    tables : dict of str to DataFrame
        The run's tables by file stem; sections and figures whose tables are absent are
        left out.
    fits : list of GrowthFit
    specs : dict of str to ModelSpec
    register : Register
        The data (observed means per wave; what they are; synthetic or not).
    run : dict, optional
        The ``run.json`` record (software, sampler, seeds, hashes) for the computation and
        reproducibility sections.

    Returns
    -------
    dict of str to Path
        ``report.html``, ``report.md``, ``paper_tables.md``, ``paper_tables.docx`` and every
        figure, by name.
    """
    folder = Path(folder)
    figures = make_figures(folder, tables=tables, fits=fits, data=register.data,
                           synthetic=register.synthetic)
    written = {name: folder / fig.path for name, fig in figures.items()}
    inputs = ReportInputs(tables=tables, fits=fits, specs=specs, figures=figures,
                          run=run or {}, label=register.label, synthetic=register.synthetic)
    paper = folder / "paper_tables.md"
    paper.write_text(paper_tables_markdown(tables, specs, label=register.label),
                     encoding="utf-8")
    word = write_paper_tables_docx(tables=tables, specs=specs,
                                   path=folder / "paper_tables.docx", register=register)
    blocks = report_blocks(inputs)
    title = report_title(register.synthetic)
    md, page = folder / "report.md", folder / "report.html"
    md.write_text(to_markdown(blocks, title=title), encoding="utf-8")
    page.write_text(to_html(blocks, title=title, folder=folder,
                            banner=SYNTHETIC_FLAG if register.synthetic else None),
                    encoding="utf-8")
    return {"report.html": page, "report.md": md, "paper_tables.md": paper,
            "paper_tables.docx": word, **written}
