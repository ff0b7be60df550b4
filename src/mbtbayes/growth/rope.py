"""The ROPE of a measure, computed from the data it analyses.

A spec gives the ROPE either in baseline-SD units (``[rope] sd_units``, default 0.1, the
bayestestR convention: 0.1 x the observed pooled baseline SD) or as an absolute minimal
important difference with its source (``[rope] half_width`` and ``source``). The run turns it
into an absolute half-width on the data it analyses; every table with a ROPE shows the
half-width and its basis. A per-month ROPE (for slope contrasts) is the half-width divided by
the later d time point: a slope difference that would accumulate to the ROPE by then.

Examples
--------
>>> import mbtbayes as mb
>>> rope = rope_for(mb.load_specs()["bsi"], mb.load_register().data)
>>> round(rope.half_width, 4), rope.basis[:21]
(0.0687, '0.1 x observed pooled')
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from mbtbayes.growth.baseline import baseline
from mbtbayes.growth.specs import ModelSpec


@dataclass(frozen=True)
class Rope:
    """An absolute ROPE half-width and where it comes from."""

    half_width: float
    basis: str

    def per_month(self, months: float) -> Rope:
        """The ROPE of a per-month slope contrast: the half-width reached after ``months``."""
        return Rope(self.half_width / months, f"{self.basis}, / {months:g} months")


def rope_for(spec: ModelSpec, data: pd.DataFrame) -> Rope:
    """The spec's ROPE as an absolute half-width on ``data``.

    Parameters
    ----------
    spec : ModelSpec
    data : pandas.DataFrame
        The data analysed (its observed pooled baseline SD sets an SD-unit ROPE).

    Returns
    -------
    Rope
    """
    if spec.rope_half_width is not None:
        return Rope(float(spec.rope_half_width),
                    f"minimal important difference {spec.rope_half_width:g} "
                    f"({spec.rope_source})")
    base = baseline(data, outcome=spec.measure, time=spec.time, group=spec.group,
                    period=spec.period if spec.period in data else None,
                    start=spec.d_months[0])
    units = spec.rope_sd_units
    return Rope(units * base.sd, f"{units:g} x observed pooled baseline SD ({base.sd:.3g}; "
                                 f"{base.n_used} patients)")
