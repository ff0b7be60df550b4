"""Every number of ``published-numbers.md`` as data, each with its provenance.

Provenance labels, exactly as the document defines them:

- ``"paper"``: stated in the paper (Kvarstein et al. 2025, *Personality and Mental Health*
  19(4):e70036), i.e. in ``paper.txt``;
- ``"2015"``: read in Table 3 of the unit's earlier paper (Kvarstein et al. 2015, *Psychol
  Psychother* 88:71-86; first MBT cohort, n = 64);
- ``"derived"``: computed from those (reconstructed cell counts and their p-values);
- ``"assumed"``: nothing published; a defensible value for the synthetic register only. An
  assumed value is never presented as published.

A few numbers the document lists under a "paper" heading are *not* printed in ``paper.txt``; they
carry a stricter label here, with a note saying why: the ~6-month assessment interval and the
WAI-SR's published 1-5 range are ``"assumed"``; the SIPP T-score norm (mean 50, SD 10), which
follows from the paper's "T-scores", is ``"derived"``. Bibliographic numbers (volume, issue,
pages, DOI) are not data and are left out.

Key scheme
----------
Plain dotted keys, lower-case snake_case components, most general first::

    <section>.<subject>[.<detail>...].<quantity>[.<period>]

- sections: ``n`` (sample sizes), ``design``, ``measure`` (instrument items and ranges),
  ``org``, ``self_harm``, ``suicide_attempt``, ``outcome``, ``treatment`` (results stated in the
  paper), ``table3_2015`` (the 2015 paper), ``derived``, ``assumed``;
- a trailing period component ``I`` / ``II`` / ``total`` appears when the document gives the
  quantity per period (``self_harm.remission.pct.I``, ``self_harm.remission.pct.total``);
  whole-sample quantities the document gives only once carry no suffix
  (``self_harm.start.pct``) but have ``period="total"``;
- ``pct`` is a percentage, ``p`` a p-value, ``count`` a number of patients with the event, ``n``
  its denominator, ``sd`` / ``se`` a standard deviation / error, ``slope`` a change per month;
- ``min`` / ``max`` are the two ends of a stated range (``measure.bsi.min``);
  ``_above`` / ``_below`` mark a value the document states only as a strict bound
  (``self_harm.change.p_below`` = 0.001 for "p < 0.001");
- in ``derived`` the reconstructed pair is ``derived.<behaviour>.remission.{count,n}.{I,II}``,
  the other solutions ``derived.self_harm.remission.alt.<k>.{count,n}.{I,II}`` (k = 1..5, in
  the document's order) and the p-values ``derived.<behaviour>.remission.p.<test variant>``.

The numbers live in the data file ``resources/published_numbers.csv`` (one row per number:
key, value, provenance, quantity, unit, period, note); this module reads and checks it.

Examples
--------
>>> published_value("self_harm.remission.p").value
0.212
>>> published_value("assumed.bsi.slope").provenance
'assumed'
>>> published_table().query("provenance == '2015'").shape[0] > 0
True
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass
from importlib import resources

import pandas as pd

from mbtbayes.core.errors import SpecError

PROVENANCES: tuple[str, ...] = ("paper", "2015", "derived", "assumed")
"""The four provenance labels of ``published-numbers.md``."""

_PERIODS = ("I", "II", "total")
DATA_FILE = "published_numbers.csv"
"""The data file (in the package's ``resources``) holding every number."""


@dataclass(frozen=True)
class PublishedValue:
    """One number of the study documentation with where it comes from.

    Attributes
    ----------
    key : str
        Dotted key (see the module docstring).
    value : float
        The number, as printed (percentages in percent, not fractions).
    provenance : str
        One of ``"paper"``, ``"2015"``, ``"derived"``, ``"assumed"``.
    quantity : str
        What the number is, in words.
    unit : str
        Unit of ``value``.
    period : str or None
        ``"I"``, ``"II"``, ``"total"`` (whole sample) or None (not a sample quantity).
    note : str
        Wording of the source, qualifiers (approximate, bound) and caveats.

    Examples
    --------
    >>> PublishedValue("n.I", 96, "paper", "patients", "patients", "I", "").value
    96.0
    """

    key: str
    value: float
    provenance: str
    quantity: str
    unit: str
    period: str | None
    note: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", float(self.value))
        if self.provenance not in PROVENANCES:
            raise SpecError(f"{self.key}: provenance {self.provenance!r} not in {PROVENANCES}.")
        if self.period not in (*_PERIODS, None):
            raise SpecError(f"{self.key}: period {self.period!r} not in {_PERIODS} or None.")


def _load() -> tuple[PublishedValue, ...]:
    path = resources.files("mbtbayes") / "resources" / DATA_FILE
    with path.open(encoding="utf-8") as handle:
        table = pd.read_csv(handle, dtype={"key": str, "provenance": str, "period": str},
                            keep_default_na=False, na_values={"value": [""]})
    return tuple(PublishedValue(r.key, r.value, r.provenance, r.quantity, r.unit,
                                r.period or None, r.note) for r in table.itertuples(index=False))


PUBLISHED_VALUES: tuple[PublishedValue, ...] = _load()
"""Every number of ``published-numbers.md``, in the document's order."""

_BY_KEY: dict[str, PublishedValue] = {v.key: v for v in PUBLISHED_VALUES}


def published_table(*, provenance: str | None = None) -> pd.DataFrame:
    """All values as a tidy DataFrame, one row per value.

    Parameters
    ----------
    provenance : str, optional
        Keep only this provenance (``"paper"``, ``"2015"``, ``"derived"``, ``"assumed"``).

    Returns
    -------
    pandas.DataFrame
        Columns ``key``, ``value``, ``provenance``, ``quantity``, ``unit``, ``period``, ``note``;
        ``period`` is missing (None/NaN) for values that are not sample quantities.

    Examples
    --------
    >>> t2015 = published_table(provenance="2015").set_index("key")
    >>> float(t2015.at["table3_2015.bsi.slope", "value"])
    -0.03
    """
    if provenance is not None and provenance not in PROVENANCES:
        raise SpecError(f"provenance must be one of {PROVENANCES}, got {provenance!r}.")
    table = pd.DataFrame([asdict(v) for v in PUBLISHED_VALUES])
    table["value"] = table["value"].astype(float)
    if provenance is not None:
        table = table[table["provenance"] == provenance].reset_index(drop=True)
    return table


def published_value(key: str) -> PublishedValue:
    """Look one value up by its key.

    Parameters
    ----------
    key : str
        Dotted key, e.g. ``"self_harm.remission.pct.I"``.

    Returns
    -------
    PublishedValue

    Raises
    ------
    KeyError
        Unknown key; the message suggests the closest keys.

    Examples
    --------
    >>> published_value("n.total").value
    185.0
    """
    try:
        return _BY_KEY[key]
    except KeyError:
        close = difflib.get_close_matches(key, _BY_KEY, n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise KeyError(f"Unknown published key {key!r}.{hint}") from None
