"""The margin of practical equivalence (ROPE) of a measure, and the SD it is read against.

The bundled specs fix the margin before the data (``[rope] half_width`` in the measure's units,
with its ``source`` and ``label``, e.g. "small effect (0.2 SD)": 0.2 x a reference SD derived
from published numbers) and state the reference SD with its provenance (``reference_sd``,
``reference_sd_source``). Nothing of it is recomputed from the extract. A spec without a
margin falls back on ``sd_units`` x the observed pooled baseline SD of the data analysed (the
old default, 0.1 SD), and its basis says that it is not pre-specified.

From the one margin: a per-month ROPE for a slope contrast (the margin divided by the later d
time point: a slope difference that accumulates to the margin by then), and a ROPE in SD
units for a difference of Cohen's d (the margin divided by the reference SD).

Examples
--------
>>> import mbtbayes as mb
>>> rope = rope_for(mb.load_specs()["bsi"], mb.load_register().data)
>>> rope.half_width, rope.reference_sd, rope.prespecified
(0.16, 0.8, True)
>>> round(rope.per_month(24).half_width, 5), round(rope.in_sd().half_width, 5)
(0.00667, 0.2)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from mbtbayes.growth.baseline import baseline
from mbtbayes.growth.modelspec import ModelSpec


@dataclass(frozen=True)
class Rope:
    """An absolute ROPE half-width, where it comes from, and the SD it is read against.

    Attributes
    ----------
    half_width : float
        In the measure's units (or per month, or in SD units, as derived).
    basis : str
        Where the half-width comes from.
    reference_sd : float
        The reference SD in the measure's units.
    reference_basis : str
        Where the reference SD comes from.
    prespecified : bool
        Whether the margin is fixed in the spec (not computed from the data analysed).
    """

    half_width: float
    basis: str
    reference_sd: float = float("nan")
    reference_basis: str = ""
    prespecified: bool = False

    def per_month(self, months: float) -> Rope:
        """The ROPE of a per-month slope contrast: the half-width reached after ``months``."""
        return replace(self, half_width=self.half_width / months,
                       basis=f"{self.basis}, / {months:g} months")

    def in_sd(self) -> Rope:
        """The ROPE of a difference in SD units (e.g. d_II - d_I): half-width / reference SD."""
        return replace(self, half_width=self.half_width / self.reference_sd,
                       basis=f"{self.basis}, / reference SD {self.reference_sd:.3g}")


def rope_for(spec: ModelSpec, data: pd.DataFrame) -> Rope:
    """The spec's margin as an absolute half-width, with its reference SD.

    Parameters
    ----------
    spec : ModelSpec
    data : pandas.DataFrame
        The data analysed: used only when the spec fixes no margin (``sd_units`` x its
        observed pooled baseline SD) or no reference SD (its observed pooled baseline SD).

    Returns
    -------
    Rope
    """
    observed = None
    if spec.rope_half_width is None or (spec.rope_reference_sd is None and spec.measure in data):
        observed = baseline(data, outcome=spec.measure, time=spec.time, group=spec.group,
                            period=spec.period if spec.period in data else None,
                            start=spec.d_months[0])
    if spec.rope_reference_sd is not None:
        sd, sd_basis = float(spec.rope_reference_sd), spec.rope_reference_sd_source
    elif observed is not None:
        sd, sd_basis = observed.sd, (f"observed pooled baseline SD of the data analysed "
                                     f"({observed.n_used} patients); the spec states none")
    else:
        sd, sd_basis = float("nan"), "none: the spec states none and the data lack the measure"
    if spec.rope_half_width is not None:
        label = spec.rope_label or "margin"
        return Rope(float(spec.rope_half_width),
                    f"{label} {spec.rope_half_width:g}, fixed in the spec ({spec.rope_source})",
                    sd, sd_basis, prespecified=True)
    units = spec.rope_sd_units
    return Rope(units * observed.sd,
                f"{units:g} x observed pooled baseline SD ({observed.sd:.3g}; "
                f"{observed.n_used} patients): from the data analysed, not pre-specified",
                sd, sd_basis)
