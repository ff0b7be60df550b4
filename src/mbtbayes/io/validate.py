"""Validation of a register in the schema: every problem at once, each with its column and rows.

Rows are numbered from 1 at the first data row, as a spreadsheet shows them below the header.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"patient_id": ["a", "a"], "period": ["I", "I"], "months": [0.0, -1.0],
...                       "assessment": [1.0, 2.0], "bsi": [1.0, 2.0]}, index=[1, 2])
>>> check_rows(frame)
["column 'months': negative value(s) '-1' at row 2"]
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from mbtbayes.io import schema
from mbtbayes.io.codes import MAX_ROWS_SHOWN, as_text, rows_text


def missing_keys(frame: pd.DataFrame) -> list[str]:
    return [f"column '{c}': missing value(s) at row(s) {_listing(frame.index[frame[c].isna()])}"
            for c in schema.KEY_COLUMNS if c in frame and frame[c].isna().any()]


def _listing(rows: Iterable) -> str:
    rows = list(rows)
    more = len(rows) - MAX_ROWS_SHOWN
    return ", ".join(map(str, rows[:MAX_ROWS_SHOWN])) + (f" and {more} more" if more > 0 else "")


def check_rows(frame: pd.DataFrame) -> list[str]:
    problems = []
    for name, measure in schema.MEASURES.items():
        if name in frame:
            out = (frame[name] < measure.low) | (frame[name] > measure.high)
            if out.any():
                problems.append(f"column '{name}': value(s) outside {measure.low:g}-"
                                f"{measure.high:g} ({measure.label}) "
                                + rows_text(_where(frame, out, name)))
    problems += check_key_values(frame)
    problems += check_patient_field_values(frame)
    return problems


def _where(frame: pd.DataFrame, mask: pd.Series, column: str) -> dict:
    return {row: as_text(v) if not pd.isna(v) else "missing"
            for row, v in frame.loc[mask, column].items()}


def check_key_values(frame: pd.DataFrame) -> list[str]:
    problems = []
    if schema.MONTHS in frame and (frame[schema.MONTHS] < 0).any():
        bad = _where(frame, frame[schema.MONTHS] < 0, schema.MONTHS)
        problems.append(f"column 'months': negative value(s) {rows_text(bad)}")
    if schema.ASSESSMENT in frame:
        a = frame[schema.ASSESSMENT]
        out = a.notna() & ((a % 1 != 0) | (a < 1) | (a > schema.MAX_ASSESSMENTS))
        if out.any():
            problems.append(f"column 'assessment': not a whole number 1-{schema.MAX_ASSESSMENTS} "
                            + rows_text(_where(frame, out, schema.ASSESSMENT)))
    return problems


def check_patient_field_values(frame: pd.DataFrame) -> list[str]:
    problems = []
    for field in schema.PATIENT_FIELDS.values():
        if field.name not in frame or field.kind == "category":
            continue
        v = frame[field.name]
        if field.kind == "binary":
            out, allowed = v.notna() & ~v.isin([0, 1]), "0 or 1"
        else:
            out, allowed = (v < field.low) | (v > field.high), f"{field.low:g}-{field.high:g}"
        if out.any():
            problems.append(f"column '{field.name}': value(s) not {allowed} "
                            + rows_text(_where(frame, out, field.name)))
    return problems


def check_patients(frame: pd.DataFrame) -> list[str]:
    if any(c not in frame for c in schema.KEY_COLUMNS):
        return []
    problems = _duplicates(frame) + _mixed_periods(frame) + _decreasing_months(frame)
    problems += _empty_patients(frame) + _varying_patient_fields(frame)
    return problems


def _duplicates(frame: pd.DataFrame) -> list[str]:
    dup = frame.duplicated([schema.ID, schema.ASSESSMENT], keep=False)
    dup &= frame[schema.ASSESSMENT].notna()
    if not dup.any():
        return []
    rows = {row: f"{frame.at[row, schema.ID]}/{as_text(frame.at[row, schema.ASSESSMENT])}"
            for row in frame.index[dup]}
    return [f"duplicate (patient_id, assessment) rows: {rows_text(rows)}"]


def _mixed_periods(frame: pd.DataFrame) -> list[str]:
    n_periods = frame.groupby(schema.ID, observed=True)[schema.PERIOD].nunique()
    both = n_periods.index[n_periods > 1]
    return [f"patient(s) in both periods: {_listing(both)}"] if len(both) else []


def _decreasing_months(frame: pd.DataFrame) -> list[str]:
    ordered = frame.dropna(subset=[schema.ASSESSMENT, schema.MONTHS]).sort_values(
        [schema.ID, schema.ASSESSMENT], kind="stable")
    step = ordered.groupby(schema.ID, observed=True)[schema.MONTHS].diff()
    bad = step.index[step <= 0]
    if not len(bad):
        return []
    rows = {row: f"{frame.at[row, schema.ID]} months {frame.at[row, schema.MONTHS]:g}"
            for row in bad}
    return [f"months not increasing with assessment number: {rows_text(rows)}"]


def _empty_patients(frame: pd.DataFrame) -> list[str]:
    measures = [m for m in schema.MEASURES if m in frame]
    if not measures:
        return []
    observed = frame[measures].notna().any(axis=1).groupby(frame[schema.ID]).any()
    empty = observed.index[~observed]
    if not len(empty):
        return []
    return [f"patient(s) with no assessment (every measure missing): {_listing(empty)}"]


def _varying_patient_fields(frame: pd.DataFrame) -> list[str]:
    problems = []
    for name in schema.PATIENT_FIELDS:
        if name in frame:
            n = frame.groupby(schema.ID, observed=True)[name].nunique(dropna=False)
            varying = n.index[n > 1]
            if len(varying):
                problems.append(f"column '{name}' differs within patient(s) "
                                f"{_listing(varying)} (it must be constant per patient)")
    return problems


