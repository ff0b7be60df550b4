"""What the reanalysis needs of a register beyond valid values, checked before any model runs.

A register that :func:`mbtbayes.validate_register` passes must not fail later on its data. So
besides the row checks of :mod:`mbtbayes.io.validate`, a register needs both periods, repeated
assessments, and for every measure enough patients to fit its growth model. Measures with no
value at all are treated as absent (a warning), and months that look like days or weeks are
flagged (a warning).

The growth model gives each patient an intercept and a slope and compares periods I and II
(:data:`MIN_PATIENTS_PER_PERIOD`): a patient's slope needs two or more values of the measure,
and the spread of patients' intercepts and slopes (a group-level SD) cannot be estimated from
fewer than five groups (Gelman & Hill 2007, *Data Analysis Using Regression and
Multilevel/Hierarchical Models*, section 12.9). The maximum-likelihood fit beside it also needs
more observations than patient effects (lme4's check: observations > 2 x patients for a random
intercept and slope per patient).

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"patient_id": ["a", "a", "b"], "period": ["I", "I", "I"],
...                       "months": [0.0, 180.0, 0.0], "assessment": [1.0, 2.0, 1.0]})
>>> check_periods(frame)  # doctest: +ELLIPSIS
['every patient is in period I; the reanalysis compares periods I and II and needs ...']
"""

from __future__ import annotations

import math

import pandas as pd

from mbtbayes.io import schema

MIN_PATIENTS_PER_PERIOD = 5
"""Patients with two or more values of a measure needed in each period for its growth model."""

STUDY_MONTHS = 36
"""The study's follow-up: assessments about every :data:`STUDY_GAP` months, up to 36 months."""

STUDY_GAP = 6
"""Months between the study's assessments."""

UNITS: dict[str, float] = {"days": 365.25 / 12, "weeks": 365.25 / 12 / 7}
"""Days and weeks per month."""

WHY = ("the model gives each patient an intercept and a slope (a slope needs two or more values "
       "of a patient), and the spread of patients' slopes cannot be estimated from fewer than "
       f"{MIN_PATIENTS_PER_PERIOD} patients")


def check_periods(frame: pd.DataFrame) -> list[str]:
    """A problem when every patient is in one period."""
    present = [p for p in schema.PERIODS if (frame[schema.PERIOD] == p).any()]
    if len(present) != 1:
        return []
    return [f"every patient is in period {present[0]}; the reanalysis compares periods "
            f"{' and '.join(schema.PERIODS)} and needs patients in both"]


def check_growth(frame: pd.DataFrame, measures: list[str]) -> list[str]:
    """Problems when measures have too few patients with repeated values for a growth model.

    A shortfall shared by several measures is one problem listing them (the counts per period
    given once per distinct count).
    """
    if not measures or frame[schema.PERIOD].nunique() < 2:
        return []
    repeated = frame.groupby(schema.ID, observed=True)[schema.ASSESSMENT].count()
    if (repeated < 2).all():
        return ["every patient has a single assessment; the growth models need repeated "
                f"assessments: at least {MIN_PATIENTS_PER_PERIOD} patients in each period with "
                f"two or more ({WHY})"]
    few: dict[str, list[str]] = {}
    values: dict[str, list[str]] = {}
    for measure in measures:
        kind, have = _shortfall(frame, measure)
        if kind is not None:
            (few if kind == "patients" else values).setdefault(have, []).append(measure)
    failing = sum(len(v) for v in (*few.values(), *values.values()))
    remedy = ("the reanalysis needs more patients" if failing == len(measures) else
              "remove the column(s) to analyse the other measures")
    problems = []
    if few:
        counts = "; ".join(f"{have} of {', '.join(names)}" for have, names in few.items())
        problems.append(f"too few patients for a growth model: {counts}; at least "
                        f"{MIN_PATIENTS_PER_PERIOD} are needed in each period ({WHY}); {remedy}")
    if values:
        counts = "; ".join(f"{', '.join(names)} ({have})" for have, names in values.items())
        problems.append(f"too few values for a growth model: {counts}; a random intercept and "
                        "slope per patient needs more values than twice the patients (lme4's "
                        f"check); {remedy}")
    return problems


def _shortfall(frame: pd.DataFrame, measure: str) -> tuple[str | None, str]:
    """("patients", counts per period), ("values", values and patients) or (None, "")."""
    observed = frame[frame[measure].notna()]
    values = observed.groupby(schema.ID, observed=True).agg(
        n=(measure, "size"), period=(schema.PERIOD, "first"))
    with_slope = values[values["n"] >= 2].groupby("period", observed=False).size()
    counts = {p: int(with_slope.get(p, 0)) for p in schema.PERIODS}
    if min(counts.values()) < MIN_PATIENTS_PER_PERIOD:
        have = ", ".join(f"period {p} has {n}" for p, n in counts.items())
        return "patients", f"{have} patient(s) with two or more values"
    if len(observed) <= 2 * len(values):
        return "values", (f"{len(observed)} values from {len(values)} patients, "
                          f"> {2 * len(values)} needed")
    return None, ""


def empty_measures(frame: pd.DataFrame) -> list[str]:
    """Measure columns present but without a single value."""
    return [m for m in schema.MEASURES if m in frame and frame[m].isna().all()]


def months_warning(frame: pd.DataFrame) -> list[str]:
    """A warning when months look like days or weeks (the study spans about 36 months).

    Examples
    --------
    >>> frame = pd.DataFrame({"patient_id": ["a", "a"], "assessment": [1.0, 2.0],
    ...                       "months": [0.0, 182.0]})
    >>> months_warning(frame)  # doctest: +ELLIPSIS
    ["column 'months': the values look like days or weeks, not months: ... as days ..."]
    """
    months = frame[schema.MONTHS].dropna()
    if months.empty:
        return []
    top = float(months.max())
    ordered = frame.dropna(subset=[schema.MONTHS, schema.ASSESSMENT]).sort_values(
        [schema.ID, schema.ASSESSMENT], kind="stable")
    gaps = ordered.groupby(schema.ID, observed=True)[schema.MONTHS].diff()
    gap = float(gaps[gaps > 0].median()) if (gaps > 0).any() else float("nan")
    if not (top > 2 * STUDY_MONTHS or gap > 3 * STUDY_GAP):
        return []
    has_gap = not math.isnan(gap)
    typical = gap if has_gap else top / STUDY_MONTHS * STUDY_GAP
    unit = min(UNITS, key=lambda u: abs(typical / UNITS[u] - STUDY_GAP))
    factor = UNITS[unit]
    gap_text = f" and the median time between a patient's assessments {gap:.1f}" if has_gap else ""
    as_unit = f"{top / factor:.0f}" + (f" and {gap / factor:.1f}" if has_gap else "")
    return [f"column 'months': the values look like days or weeks, not months: the largest is "
            f"{top:.1f}{gap_text} (the study assesses about every {STUDY_GAP} months for up to "
            f"{STUDY_MONTHS} months); as {unit} they would be {as_unit} months. Convert the "
            "column to months (the models' slopes are per month)"]
