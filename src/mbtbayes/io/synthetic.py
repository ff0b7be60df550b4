"""The synthetic register: simulated patients calibrated to the study's published numbers.

The generating values live in the data file ``resources/simulator.toml``. Every one is either
published (paper, the 2015 paper's Table 3, counts derived from
the paper's percentages and p-values) or assumed (nothing published; see
``shared/study/published-numbers.md``, section "Assumed values"). The binary outcomes are
allocated as exact counts, so the published percentages hold at every seed; the continuous
measures follow linear growth with correlated patient random intercepts and slopes.

The register is SYNTHETIC: its ``dataset`` column says so on every row, and patient ids start
with ``SYN``.

Examples
--------
>>> from mbtbayes.io.synthetic import simulate_register
>>> df = simulate_register(seed=1)
>>> df.groupby("period", observed=True)["patient_id"].nunique().tolist()
[96, 89]
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from mbtbayes.core.defaults import SEED
from mbtbayes.core.errors import OutputError
from mbtbayes.io import schema

VALUES_FILE = "simulator.toml"
"""The generating values (in the package's ``resources``), each with its provenance."""


@dataclass(frozen=True)
class Growth:
    """Generating values of one measure's linear growth model (all assumed).

    Parameters
    ----------
    baseline : dict
        Population mean at month 0, per period.
    baseline_sd : float
        Observed baseline SD (between-patient and residual together): the paper's d denominator.
    residual_sd : float
        Within-patient residual SD.
    slope : float
        Population change per month (the same in both periods).
    slope_sd : float
        SD of patient slopes (about half the mean slope where there is one).
    """

    baseline: dict[str, float]
    baseline_sd: float
    residual_sd: float
    slope: float
    slope_sd: float

    @property
    def intercept_sd(self) -> float:
        """Between-patient SD of intercepts implied by the observed and residual SDs."""
        return float(np.sqrt(self.baseline_sd**2 - self.residual_sd**2))

    def d(self, months: float = 24) -> float:
        """Cohen's d of the change from 0 to ``months``, divided by the observed baseline SD."""
        return abs(self.slope) * months / self.baseline_sd


@dataclass(frozen=True)
class Counts:
    """Exact patient counts behind the binary outcomes, per period (derived from the paper).

    Remission is counted among start self-harmers (attempters) with end-of-treatment data, as
    the paper's small denominators imply.
    """

    dropout: int
    end_data: int
    self_harm_start_end: int  # start self-harmers among patients with end data
    self_harm_start_other: int  # start self-harmers among patients without end data
    self_harm_remitted: int
    attempt_start_end: int
    attempt_start_other: int
    attempt_remitted: int
    attempt_new_onset: int


def _values() -> dict:
    text = (resources.files("mbtbayes") / "resources" / VALUES_FILE).read_text(encoding="utf-8")
    return tomllib.loads(text)


_V = _values()
_DESIGN = _V["design"]
N_PATIENTS: dict[str, int] = dict(_DESIGN["patients"])
"""Patients per period (paper)."""
INTERVAL_MONTHS: float = _DESIGN["interval_months"]
WAI_SWITCH_DAY = pd.Timestamp(_DESIGN["wai_switch_day"])
"""Calendar date from which WAI-SR replaces WAI-S (assumed; the paper gives no date)."""
REFERRAL_WINDOWS: dict[str, list[str]] = dict(_DESIGN["referral_windows"])
"""Referral periods (paper: 2009 to June 2011, July 2011 to 2015)."""
P_ATTEND: float = _DESIGN["p_attend"]
"""Probability that a planned follow-up assessment took place (assumed)."""
P_ITEM_MISSING: dict[str, float] = dict(_DESIGN["p_item_missing"])
"""Probability that one measure is missing at an assessment that took place (assumed)."""
RE_CORRELATION: float = _DESIGN["re_correlation"]
"""Correlation of patient intercepts and slopes (assumed)."""
TREATMENT_MONTHS: dict[str, tuple[float, float]] = {
    k: tuple(v) for k, v in _DESIGN["treatment_months"].items()}
"""Mean and SD of treatment duration for completers (assumed), truncated to 1-36 months."""
GROWTH: dict[str, Growth] = {name: Growth(**values) for name, values in _V["growth"].items()}
"""Generating values per measure (assumed; see published-numbers.md)."""
COUNTS: dict[str, Counts] = {period: Counts(**values) for period, values in _V["counts"].items()}
"""Exact counts per period (derived from the paper)."""


def simulate_register(*, seed: int = SEED, scale: int = 1) -> pd.DataFrame:
    """Simulate the synthetic register in long format (one row per patient x assessment).

    Parameters
    ----------
    seed : int
        Random seed; the same seed gives the same table (and a byte-identical CSV).
    scale : int, default 1
        Multiplies the number of patients (and every exact count) by ``scale``, with the
        same design.

    Returns
    -------
    pandas.DataFrame
        Columns ``dataset`` (always ``"synthetic"``), the key columns, every measure,
        ``wai_version`` and the patient-level fields of :mod:`mbtbayes.io.schema`.

    Examples
    --------
    >>> df = simulate_register(seed=3, scale=2)
    >>> df["patient_id"].nunique()
    370
    """
    if int(scale) != scale or scale < 1:
        raise ValueError(f"scale must be a whole number >= 1, got {scale!r}")
    rng = np.random.default_rng(seed)
    patients = _patients(rng, scale)
    visits = _visits(rng, patients)
    long = visits.merge(patients, on=[schema.ID, schema.PERIOD], how="left")
    for name, growth in GROWTH.items():
        long[name] = _measure(rng, long, patients, name, growth)
    long[schema.WAI_VERSION] = np.where(long.pop("date") < WAI_SWITCH_DAY, "S", "SR")
    long.insert(0, schema.DATASET, schema.SYNTHETIC)
    ordered = [schema.DATASET, *schema.KEY_COLUMNS, *schema.MEASURES, schema.WAI_VERSION,
               *schema.PATIENT_FIELDS]
    return long[ordered].reset_index(drop=True)


def write_register(path: str | Path, *, seed: int = SEED, scale: int = 1) -> Path:
    """Simulate the register and write it as CSV (deterministic bytes for a given seed).

    An existing file is replaced only when it is a synthetic register (every row's
    ``dataset`` is ``synthetic``), so that a real register is never written over; the file is
    written beside the target and moved into place when complete.

    Parameters
    ----------
    path : str or Path
        Output file (``.csv``); parent folders are created.
    seed, scale : int
        As in :func:`simulate_register`.

    Returns
    -------
    Path

    Raises
    ------
    OutputError
        ``path`` is a folder, or a file that is not a synthetic register.
    """
    import os
    import tempfile

    path = Path(path)
    _check_target(path)
    frame = simulate_register(seed=seed, scale=scale)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            frame.to_csv(file, index=False, lineterminator="\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _check_target(path: Path) -> None:
    if path.is_dir():
        raise OutputError(f"--out {path} is a folder; name a .csv file to write")
    if not path.exists():
        return
    try:
        dataset = pd.read_csv(path, usecols=[schema.DATASET], dtype=str)[schema.DATASET]
        synthetic = bool(len(dataset)) and bool((dataset == schema.SYNTHETIC).all())
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError):
        synthetic = False
    if not synthetic:
        raise OutputError(f"refusing to write over {path}: it is not a synthetic register "
                          "mbtbayes wrote; choose another file with --out NEW")


# ---------------------------------------------------------------- patients


def _patients(rng: np.random.Generator, scale: int) -> pd.DataFrame:
    frames, start = [], 1
    for period in schema.PERIODS:
        n = N_PATIENTS[period] * scale
        frame = _period_patients(rng, period, n, scale)
        width = max(4, len(str(sum(N_PATIENTS.values()) * scale)))
        frame.insert(0, schema.ID, [f"SYN{i:0{width}d}" for i in range(start, start + n)])
        frames.append(frame)
        start += n
    return pd.concat(frames, ignore_index=True)


def _period_patients(rng: np.random.Generator, period: str, n: int, scale: int) -> pd.DataFrame:
    c = COUNTS[period]
    frame = pd.DataFrame({schema.PERIOD: [period] * n})
    dropout = _exactly(rng, np.ones(n, bool), c.dropout * scale)
    end = _exactly(rng, ~dropout, c.end_data * scale)
    frame["dropout"] = dropout.astype(float)
    frame["duration_months"] = _duration(rng, period, dropout)
    frame["referral"] = _referral_dates(rng, period, n)
    frame["has_end_data"] = end
    _behaviour(rng, frame, c, scale)
    _background(rng, frame, period)
    return frame


def _exactly(rng: np.random.Generator, eligible: np.ndarray, k: int) -> np.ndarray:
    """A mask choosing exactly ``k`` of the eligible rows at random."""
    chosen = np.zeros(eligible.size, bool)
    pool = np.flatnonzero(eligible)
    if k > pool.size:
        raise ValueError(f"cannot choose {k} of {pool.size} patients")
    chosen[rng.choice(pool, size=k, replace=False)] = True
    return chosen


def _duration(rng: np.random.Generator, period: str, dropout: np.ndarray) -> np.ndarray:
    mean, sd = TREATMENT_MONTHS[period]
    completed = np.clip(rng.normal(mean, sd, dropout.size), 1, 36)
    dropped = rng.uniform(1, 12, dropout.size)
    return np.round(np.where(dropout, dropped, completed), 1)


def _referral_dates(rng: np.random.Generator, period: str, n: int) -> pd.Series:
    first, last = (pd.Timestamp(d) for d in REFERRAL_WINDOWS[period])
    days = rng.integers(0, (last - first).days + 1, n)
    return first + pd.to_timedelta(days, unit="D")


def _behaviour(rng: np.random.Generator, frame: pd.DataFrame, c: Counts, scale: int) -> None:
    end = frame["has_end_data"].to_numpy()
    harm = _exactly(rng, end, c.self_harm_start_end * scale)
    harm |= _exactly(rng, ~end, c.self_harm_start_other * scale)
    attempt = _exactly(rng, end & harm, c.attempt_start_end * scale)
    attempt |= _exactly(rng, ~end & harm, c.attempt_start_other * scale)
    harm_end = _exactly(rng, harm & end, (c.self_harm_start_end - c.self_harm_remitted) * scale)
    persist = _exactly(rng, attempt & end, (c.attempt_start_end - c.attempt_remitted) * scale)
    onset = _exactly(rng, ~attempt & end, c.attempt_new_onset * scale)
    frame["self_harm_start"] = harm.astype(float)
    frame["suicide_attempt_start"] = attempt.astype(float)
    frame["self_harm_end"] = np.where(end, harm_end, np.nan)
    frame["suicide_attempt_end"] = np.where(end, persist | onset, np.nan)
    frame["self_harm_lifetime"] = (harm | (rng.random(len(frame)) < 0.6)).astype(float)
    frame["suicide_attempt_lifetime"] = (attempt | (rng.random(len(frame)) < 0.35)).astype(float)


def _background(rng: np.random.Generator, frame: pd.DataFrame, period: str) -> None:
    """Demographics and adherence (all assumed; Period II slightly more severe)."""
    n, severe = len(frame), period == "II"
    frame["gender"] = np.where(rng.random(n) < 0.9, "female", "male")
    frame["age"] = np.clip(np.round(rng.normal(24, 3.5, n)), 18, 30)
    frame["occupation"] = np.where(rng.random(n) < 0.6, "not_working", "working_or_studying")
    frame["substance_use"] = (rng.random(n) < (0.30 if severe else 0.25)).astype(float)
    frame["aggression"] = (rng.random(n) < (0.25 if severe else 0.20)).astype(float)
    p_criteria = [0.1, 0.2, 0.3, 0.25, 0.15] if severe else [0.2, 0.3, 0.25, 0.15, 0.1]
    frame["bpd_criteria"] = rng.choice([5, 6, 7, 8, 9], size=n, p=p_criteria).astype(float)
    frame["regular_attendance"] = (rng.random(n) < 0.8).astype(float)


# ---------------------------------------------------------------- assessments


def _visits(rng: np.random.Generator, patients: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for p in patients.itertuples(index=False):
        planned = min(int(p.duration_months // INTERVAL_MONTHS), schema.MAX_ASSESSMENTS - 1)
        attended = rng.random(planned) < P_ATTEND
        if planned:
            attended[-1] = p.has_end_data  # the end-of-treatment assessment
        k = np.concatenate([[0], 1 + np.flatnonzero(attended)])
        months = np.maximum(k * INTERVAL_MONTHS + rng.normal(0, 0.75, k.size) * (k > 0), 0)
        start = p.referral + pd.Timedelta(days=60)
        for number, month in zip(k + 1, np.round(months, 1), strict=True):
            date = start + pd.Timedelta(days=float(month) * 30.44)
            rows.append((getattr(p, schema.ID), p.period, int(number), float(month), date))
    return pd.DataFrame(rows, columns=[schema.ID, schema.PERIOD, schema.ASSESSMENT,
                                       schema.MONTHS, "date"])


def _measure(
    rng: np.random.Generator, long: pd.DataFrame, patients: pd.DataFrame, name: str, g: Growth
) -> np.ndarray:
    cov = [[g.intercept_sd**2, RE_CORRELATION * g.intercept_sd * g.slope_sd],
           [RE_CORRELATION * g.intercept_sd * g.slope_sd, g.slope_sd**2]]
    effects = rng.multivariate_normal([0, 0], cov, size=len(patients))
    index = pd.Index(patients[schema.ID]).get_indexer(long[schema.ID])
    base = long[schema.PERIOD].map(g.baseline).to_numpy(float) + effects[index, 0]
    months = long[schema.MONTHS].to_numpy(float)
    y = base + (g.slope + effects[index, 1]) * months + rng.normal(0, g.residual_sd, len(long))
    m = schema.MEASURES[name]
    y = np.clip(np.round(y / m.step) * m.step, m.low, m.high)
    missing_key = "sipp" if name.startswith("sipp") else name
    p_missing = P_ITEM_MISSING.get(missing_key, P_ITEM_MISSING["default"])
    y = np.round(y, 4) + 0.0  # + 0.0 turns -0.0 into 0.0
    return np.where(rng.random(len(long)) < p_missing, np.nan, y)
