"""An ML fit as a JSON record and back, so that the fit cache can keep it (a rerun that
changes only the report does not refit the 18 ML models).

Floats are written by ``json`` at full precision (``repr``), so a fit read back equals the
fit written, value for value.

Examples
--------
>>> frame = pd.DataFrame({"term": ["a"], "estimate": [0.1]})
>>> _frame(_frame_record(frame)).equals(frame)
True
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from mbtbayes.frequentist.mixed import MixedResult

FRAMES = ("fixed", "variance", "fixed_cov")


def to_record(result: MixedResult) -> dict:
    """A JSON-able record of ``result`` (:func:`from_record` reads it back)."""
    record = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
    record |= {name: _frame_record(record[name]) for name in FRAMES}
    means = result.covariate_means
    record["covariate_means"] = {"index": list(means.index), "values": means.tolist()}
    record["period_levels"] = list(result.period_levels)
    return record


def from_record(record: dict) -> MixedResult:
    """The :class:`MixedResult` of a record written by :func:`to_record`."""
    values = dict(record)
    values |= {name: _frame(record[name]) for name in FRAMES}
    means = record["covariate_means"]
    index = pd.Index(means["index"], dtype=str)
    values["covariate_means"] = pd.Series(means["values"], index=index, dtype=float)
    values["period_levels"] = tuple(record["period_levels"])
    return MixedResult(**values)


def _frame_record(frame: pd.DataFrame) -> dict:
    return {"index": frame.index.tolist(), "columns": [str(c) for c in frame.columns],
            "data": {str(c): frame[c].tolist() for c in frame.columns}}


def _frame(record: dict) -> pd.DataFrame:
    frame = pd.DataFrame(record["data"], columns=record["columns"])
    index = record["index"]
    if index != list(range(len(index))):
        frame.index = pd.Index(index)
    return frame
