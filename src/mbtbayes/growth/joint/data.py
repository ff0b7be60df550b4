"""The joint model's data: outcomes standardised by their observed baseline and sign-aligned,
patients padded to a common number of visits, one missingness pattern per visit.

Each outcome is put on one scale, ``z = sign (y - m) / s``: ``m`` the observed baseline mean,
``s`` the observed pooled within-period baseline SD (the package's Cohen's d denominator,
:mod:`mbtbayes.growth.baseline`) and ``sign = -1`` where higher is worse (the schema's
``higher_is``), so that higher = better for every outcome. A change of 1 in model units is a
change of one baseline SD in the better direction.

Patients are padded to the data's largest number of visits; every (visit, outcome) cell has a
0/1 mask and the value is 0 where missing. Each visit carries its missingness pattern
``k = sum_o 2^o [o observed]`` (0: a padded visit).

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"patient_id": ["a", "a", "b", "b", "c"], "period": ["I", "I", "II",
...                    "II", "II"], "months": [0.0, 12.0, 0.0, 6.0, 0.0],
...                    "bsi": [2.0, 1.0, 3.0, None, 2.5], "gaf": [40.0, 50.0, 44.0, 48.0, 42.0]})
>>> jd = prepare(df, outcomes=("bsi", "gaf"))
>>> jd.y.shape, jd.code.tolist()
((3, 2, 2), [[3, 3], [3, 2], [3, 0]])
>>> jd.scaling.sign.tolist()
[-1.0, 1.0]
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from mbtbayes.core.errors import DataError
from mbtbayes.growth.baseline import baseline
from mbtbayes.io.schema import MEASURES

OUTCOMES: tuple[str, ...] = ("bsi", "cip", "wsas", "gaf")
"""The joint model's default outcomes: the paper's four clinical outcomes."""


@dataclass(frozen=True)
class Scaling:
    """How each outcome is standardised and sign-aligned: ``z = sign * (y - mean) / sd``.

    Attributes
    ----------
    outcomes : tuple of str
    mean, sd, sign : (O,) arrays
        Observed baseline mean, observed pooled within-period baseline SD, and -1 where higher
        is worse (else 1).
    """

    outcomes: tuple[str, ...]
    mean: np.ndarray
    sd: np.ndarray
    sign: np.ndarray

    def standardise(self, values: np.ndarray) -> np.ndarray:
        """Outcome units -> model units; ``values`` has the outcomes on its last axis."""
        return self.sign * (values - self.mean) / self.sd

    def to_units(self, difference: np.ndarray) -> np.ndarray:
        """A *difference* in model units -> each outcome's own units and direction."""
        return self.sign * self.sd * difference

    def direction(self, outcome: str) -> str:
        """``"higher = worse"`` or ``"higher = better"`` on the outcome's own scale."""
        return "higher = worse" if self.sign[self.outcomes.index(outcome)] < 0 else (
            "higher = better")


def higher_is_worse(outcome: str) -> bool:
    """Whether higher is worse on ``outcome`` (the schema's ``higher_is``; unknown: False)."""
    measure = MEASURES.get(outcome)
    return measure is not None and measure.higher_is == "worse"


def make_scaling(data: pd.DataFrame, outcomes: tuple[str, ...] = OUTCOMES, *,
                 time: str = "months", group: str = "patient_id",
                 period: str = "period") -> Scaling:
    """Observed baseline mean and pooled within-period baseline SD of each outcome.

    Raises
    ------
    DataError
        If an outcome has fewer than two baseline values per period (no SD).
    """
    means, sds = [], []
    for outcome in outcomes:
        base = baseline(data, outcome=outcome, time=time, group=group, period=period)
        if not np.isfinite(base.sd) or base.sd <= 0:
            raise DataError(f"'{outcome}': no usable baseline SD ({base.note}); the joint "
                            "model standardises each outcome by it")
        means.append(float(base.values["value"].mean()))
        sds.append(base.sd)
    sign = np.array([-1.0 if higher_is_worse(o) else 1.0 for o in outcomes])
    return Scaling(tuple(outcomes), np.array(means), np.array(sds), sign)


@dataclass(frozen=True)
class JointData:
    """Patients padded to a common number of visits, outcomes in model units.

    Attributes
    ----------
    patients : tuple of str
        Patients with at least one observed outcome, in data order.
    y : (N, V, O) array
        Standardised, sign-aligned outcomes; 0 where missing or padded.
    mask : (N, V, O) array
        1 where observed, else 0.
    time : (N, V) array
        Months of each visit; 0 on padded visits.
    period : (N,) array
        1 for the second period level, else 0.
    levels : tuple of str
        The two period levels (reference first).
    scaling : Scaling
    n_rows_dropped : int
        Rows with every outcome missing (they carry no information).
    """

    patients: tuple[str, ...]
    y: np.ndarray
    mask: np.ndarray
    time: np.ndarray
    period: np.ndarray
    levels: tuple[str, str]
    scaling: Scaling
    n_rows_dropped: int = 0

    @property
    def outcomes(self) -> tuple[str, ...]:
        """The outcomes, in model order."""
        return self.scaling.outcomes

    @property
    def code(self) -> np.ndarray:
        """Missingness pattern of each visit, ``sum_o 2^o [o observed]`` (0: padded), (N, V)."""
        return (self.mask * 2 ** np.arange(len(self.outcomes))).sum(-1).astype(np.int64)

    @property
    def n_values(self) -> int:
        """Observed values in all."""
        return int(self.mask.sum())

    def without_period(self) -> JointData:
        """The same data with every patient in the reference period (the no-period model)."""
        return replace(self, period=np.zeros_like(self.period))

    def subset(self, keep: np.ndarray) -> JointData:
        """The same data for the patients where ``keep`` is True (scaling unchanged, so a
        fit on the subset is in the same units)."""
        keep = np.asarray(keep, bool)
        return replace(self, patients=tuple(np.asarray(self.patients)[keep]), y=self.y[keep],
                       mask=self.mask[keep], time=self.time[keep], period=self.period[keep])

    def arrays(self) -> dict[str, np.ndarray]:
        """The data arrays of the graph, by container name."""
        return {"y": self.y, "mask": self.mask, "time": self.time, "period": self.period,
                "code": self.code}


def prepare(data: pd.DataFrame, *, outcomes: tuple[str, ...] = OUTCOMES, time: str = "months",
            group: str = "patient_id", period: str = "period",
            scaling: Scaling | None = None) -> JointData:
    """Long-format data (one row per patient x visit) -> the joint model's padded arrays.

    Parameters
    ----------
    data : pandas.DataFrame
        Columns ``group``, ``period``, ``time`` and the outcomes (NaN where missing).
    outcomes : tuple of str
    time, group, period : str
    scaling : Scaling, optional
        Default: :func:`make_scaling` on ``data``.

    Returns
    -------
    JointData

    Raises
    ------
    DataError
        If a column is missing, an outcome is repeated, a patient is in both periods, the
        period does not have two levels, or a time is missing.
    """
    outcomes = tuple(outcomes)
    _check_columns(data, outcomes, time=time, group=group, period=period)
    scaling = scaling or make_scaling(data, outcomes, time=time, group=group, period=period)
    used = data.dropna(subset=list(outcomes), how="all").sort_values([group, time],
                                                                       kind="stable")
    if used[time].isna().any():
        raise DataError(f"'{time}' is missing in {int(used[time].isna().sum())} rows with an "
                        "outcome value; give every assessment its time")
    mixed = used.groupby(group)[period].nunique()
    if (mixed > 1).any():
        both = ", ".join(map(str, mixed[mixed > 1].index[:5]))
        raise DataError(f"patients in both periods: {both}; each patient must belong to one "
                        "period")
    kept = set(used[group].astype(str))
    patients = tuple(p for p in pd.unique(data[group].astype(str)) if p in kept)
    index = pd.Index(patients).get_indexer(used[group].astype(str))
    visit = used.groupby(group, sort=False).cumcount().to_numpy()
    values = used[list(outcomes)].to_numpy(float)
    observed = ~np.isnan(values)
    shape = (len(patients), int(visit.max()) + 1, len(outcomes))
    y, mask, months = np.zeros(shape), np.zeros(shape), np.zeros(shape[:2])
    y[index, visit] = np.where(observed, scaling.standardise(np.nan_to_num(values)), 0.0)
    mask[index, visit] = observed
    months[index, visit] = used[time].to_numpy(float)
    levels = period_levels(data[period])
    first = used.groupby(group, sort=False)[period].first().astype(str)
    first.index = first.index.astype(str)
    second = (first.reindex(list(patients)).to_numpy() == levels[1]).astype(float)
    return JointData(patients, y, mask, months, second, levels, scaling,
                     n_rows_dropped=len(data) - len(used))


def _check_columns(data: pd.DataFrame, outcomes: tuple[str, ...], **roles: str) -> None:
    if not outcomes:
        raise DataError("the joint model needs at least one outcome")
    if len(set(outcomes)) != len(outcomes):
        raise DataError(f"an outcome is listed twice: {list(outcomes)}")
    missing = [c for c in (*roles.values(), *outcomes) if c not in data.columns]
    if missing:
        raise DataError(f"column(s) not in the data: {', '.join(missing)}")
    for outcome in outcomes:
        if not pd.api.types.is_numeric_dtype(data[outcome]):
            raise DataError(f"outcome '{outcome}' is not numeric")


def period_levels(column: pd.Series) -> tuple[str, str]:
    """The two period levels, reference first (categories in order, else sorted).

    Raises
    ------
    DataError
        Unless there are exactly two levels.
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        levels = [str(c) for c in column.cat.categories]
    else:
        levels = sorted(column.dropna().astype(str).unique())
    if len(levels) != 2:
        raise DataError(f"the period needs exactly two levels, found {levels}")
    return levels[0], levels[1]
