"""The register's schema: column roles, measures, their ranges and resolution.

This is the one place that says what a measure is. ``models/*.toml`` refer to measures by name and
take their ranges from here; the loader validates against it; the simulator rounds to it.
"""

from __future__ import annotations

from dataclasses import dataclass

PERIODS: tuple[str, ...] = ("I", "II")
"""Period labels, in order (I is the reference level)."""

ID, PERIOD, MONTHS, ASSESSMENT = "patient_id", "period", "months", "assessment"
KEY_COLUMNS: tuple[str, ...] = (ID, PERIOD, MONTHS, ASSESSMENT)
"""Columns every register must have."""

MAX_ASSESSMENTS = 7


@dataclass(frozen=True)
class Measure:
    """A repeated measure: its column, label, valid range and the step its scores move in.

    Parameters
    ----------
    name : str
        Column name in the register.
    label : str
        Name for tables and figures.
    low, high : float
        Inclusive valid range on the instrument's own scale.
    step : float
        Resolution of a score (1 for integer sums; 1/k for a mean of k items).
    higher_is : str
        ``"worse"`` or ``"better"``, for the sign of improvement.
    kind : str
        ``"outcome"``, ``"process"`` or ``"other"`` (the paper's grouping).
    """

    name: str
    label: str
    low: float
    high: float
    step: float
    higher_is: str
    kind: str


MEASURES: dict[str, Measure] = {
    m.name: m
    for m in (
        Measure("bsi", "BSI-18 global mean", 0, 4, 1 / 18, "worse", "outcome"),
        Measure("cip", "CIP total mean", 0, 4, 1 / 48, "worse", "outcome"),
        Measure("wsas", "WSAS sum", 0, 40, 1, "worse", "outcome"),
        Measure("gaf", "GAF", 1, 100, 1, "better", "outcome"),
        Measure("wai_goals_tasks", "WAI Goals+Tasks", 1, 7, 1 / 8, "better", "process"),
        Measure("wai_bonds", "WAI Bonds", 1, 7, 1 / 4, "better", "process"),
        Measure("fwc_confident", "FWC-BV Confident", 0, 4, 1 / 4, "better", "process"),
        Measure("fwc_inadequate", "FWC-BV Inadequate", 0, 4, 1 / 3, "worse", "process"),
        Measure("fwc_idealized", "FWC-BV Idealized", 0, 4, 1 / 3, "worse", "process"),
        Measure("sipp_self_control", "SIPP-118 Self-control (T)", 0, 100, 1, "better", "other"),
        Measure("sipp_identity", "SIPP-118 Identity integration (T)", 0, 100, 1, "better", "other"),
        Measure("sipp_responsibility", "SIPP-118 Responsibility (T)", 0, 100, 1, "better", "other"),
        Measure("sipp_relational", "SIPP-118 Relational capacities (T)", 0, 100, 1, "better",
                "other"),
        Measure("sipp_social_concordance", "SIPP-118 Social concordance (T)", 0, 100, 1, "better",
                "other"),
        Measure("eq_vas", "EQ-5D VAS", 0, 100, 1, "better", "other"),
    )
}
"""Repeated measures, by column name. Ranges are the instruments' (see the study notes)."""

WAI_VERSION = "wai_version"
WAI_VERSIONS: tuple[str, ...] = ("S", "SR")


@dataclass(frozen=True)
class PatientField:
    """A patient-level column: constant within patient.

    Parameters
    ----------
    name : str
        Column name.
    kind : str
        ``"binary"`` (0/1), ``"category"`` (one of ``levels``) or ``"number"`` (in ``low..high``).
    levels : tuple of str
        Allowed labels for a category.
    low, high : float
        Valid range for a number.
    intake : bool
        True for a characteristic of the patient at intake (compared between periods in the
        intake table); False for the course of treatment (end-of-treatment self-harm, duration,
        drop-out, attendance: outcomes, in the remission and adherence tables).
    more_severe : str
        Which value marks the more severe patient: ``"higher"`` (a larger number, or 1 of a
        binary), a level of a category (``"not_working"``), or ``""`` where severity has no
        direction (age, gender).
    label : str
        Name for tables and figures (the column name when empty).
    """

    name: str
    kind: str
    levels: tuple[str, ...] = ()
    low: float = float("-inf")
    high: float = float("inf")
    intake: bool = True
    more_severe: str = ""
    label: str = ""


PATIENT_FIELDS: dict[str, PatientField] = {
    f.name: f
    for f in (
        PatientField("gender", "category", ("female", "male", "other"),
                     label="Gender"),
        PatientField("age", "number", low=16, high=70,
                     label="Age (years)"),
        PatientField("occupation", "category", ("working_or_studying", "not_working"),
                     more_severe="not_working",
                     label="Occupation"),
        PatientField("substance_use", "binary", more_severe="higher",
                     label="Substance use"),
        PatientField("aggression", "binary", more_severe="higher",
                     label="Aggression"),
        PatientField("bpd_criteria", "number", low=0, high=9, more_severe="higher",
                     label="BPD criteria met (0-9)"),
        PatientField("self_harm_start", "binary", more_severe="higher",
                     label="Self-harm, 12 months before start"),
        PatientField("suicide_attempt_start", "binary", more_severe="higher",
                     label="Suicide attempt, 12 months before start"),
        PatientField("self_harm_end", "binary", intake=False),
        PatientField("suicide_attempt_end", "binary", intake=False),
        PatientField("self_harm_lifetime", "binary", more_severe="higher",
                     label="Self-harm, lifetime"),
        PatientField("suicide_attempt_lifetime", "binary", more_severe="higher",
                     label="Suicide attempt, lifetime"),
        PatientField("duration_months", "number", low=0, high=120, intake=False),
        PatientField("dropout", "binary", intake=False),
        PatientField("regular_attendance", "binary", intake=False),
    )
}
"""Patient-level columns. ``*_start``: 12 months before start; ``*_end``: last year of treatment
(missing when there are no end-of-treatment data)."""

DATASET = "dataset"
"""Optional column naming the data's origin; ``"synthetic"`` marks the bundled register."""

SYNTHETIC = "synthetic"
