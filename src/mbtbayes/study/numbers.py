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

import pandas as pd

from mbtbayes.core.errors import SpecError

PROVENANCES: tuple[str, ...] = ("paper", "2015", "derived", "assumed")
"""The four provenance labels of ``published-numbers.md``."""

_PERIODS = ("I", "II", "total")


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


def _v(
    key: str,
    value: float,
    provenance: str,
    quantity: str,
    unit: str,
    note: str = "",
    *,
    period: str | None = None,
) -> PublishedValue:
    """Build a value; the period defaults to a component of the key equal to I, II or total."""
    if period is None:
        period = next((part for part in key.split(".") if part in _PERIODS), None)
    return PublishedValue(key, value, provenance, quantity, unit, period, note)


def _design() -> list[PublishedValue]:
    p = "paper"
    return [
        _v("n.I", 96, p, "patients referred in Period I", "patients"),
        _v("n.II", 89, p, "patients referred in Period II", "patients"),
        _v("n.total", 185, p, "patients referred, both periods", "patients"),
        _v("design.period.I.start_year", 2009, p, "first referral year, Period I", "year"),
        _v("design.period.I.end_year", 2011, p, "last referral year, Period I", "year", "June"),
        _v(
            "design.period.I.end_month", 6, p, "last referral month, Period I", "month", "June 2011"
        ),
        _v(
            "design.period.II.start_year", 2011, p, "first referral year, Period II", "year", "July"
        ),
        _v("design.period.II.start_month", 7, p, "first referral month, Period II", "month"),
        _v("design.period.II.end_year", 2015, p, "last referral year, Period II", "year"),
        _v("design.age.min", 18, p, "youngest age of the target group", "years", "adults 18-30"),
        _v("design.age.max", 30, p, "oldest age of the target group", "years", "adults 18-30"),
        _v(
            "design.active_therapists_above",
            10,
            p,
            "active therapists, each period",
            "therapists",
            "stated as '> 10 active therapists in both periods'",
        ),
        _v(
            "design.assessment_interval_months",
            6,
            "assumed",
            "time between assessments",
            "months",
            "'every ~6 months' in published-numbers.md under Design (paper), but not in "
            "paper.txt; labelled assumed until a source is found",
        ),
        _v(
            "design.recall_window_months",
            12,
            p,
            "recall window of self-harm and suicide-attempt items at start",
            "months",
            "'within 12 months of starting MBT'",
        ),
        _v(
            "design.assessments.min",
            1,
            p,
            "fewest assessments per patient in the mixed models",
            "assessments",
        ),
        _v(
            "design.assessments.max",
            7,
            p,
            "most assessments per patient in the mixed models",
            "assessments",
        ),
        _v(
            "design.assessments.mean_above",
            3,
            p,
            "mean assessments per patient, every model",
            "assessments",
            "stated as 'mean > 3'",
        ),
        _v(
            "design.assessments.association.p_above",
            0.05,
            p,
            "p of assessment count on intercept and slope",
            "p",
            "stated as 'p > 0.05' for all models",
        ),
        _v(
            "design.models.process",
            5,
            p,
            "process mixed models",
            "models",
            "WAI Goals+Tasks, WAI Bonds, FWC-BV Confident, Inadequate, Idealized",
        ),
        _v("design.models.outcome", 4, p, "outcome mixed models", "models", "BSI, CIP, WSAS, GAF"),
        _v(
            "design.cohen_d.horizon_months",
            24,
            p,
            "horizon of Cohen's d (0 to 24 months)",
            "months",
            "from model-predicted values",
        ),
        _v("design.cohen_d.small", 0.2, p, "Cohen's d threshold, small", "SD units"),
        _v("design.cohen_d.medium", 0.5, p, "Cohen's d threshold, medium", "SD units"),
        _v("design.cohen_d.large", 0.8, p, "Cohen's d threshold, large", "SD units"),
        _v(
            "design.baseline_bonferroni.alpha",
            0.001,
            p,
            "Bonferroni significance level for baseline comparisons",
            "p",
            "'would imply ... p < 0.001'; not applied in the paper",
        ),
    ]


def _measure(name: str, items: int, low: float, high: float, note: str = "") -> list:
    p = "paper"
    return [
        _v(f"measure.{name}.items", items, p, f"{name} items", "items", note),
        _v(f"measure.{name}.min", low, p, f"{name} scale minimum", "scale points", note),
        _v(f"measure.{name}.max", high, p, f"{name} scale maximum", "scale points", note),
    ]


def _measures() -> list[PublishedValue]:
    p = "paper"
    wai_note = "WAI-S and WAI-SR, 3 subscales x 4 items, rated 1-7 as the paper states"
    t_note = (
        "the paper reports norm-referenced T-scores (low = more dysfunction) without printing "
        "50 and 10; they follow from the definition of a T-score"
    )
    return [
        *_measure("bsi", 18, 0, 4, "BSI-18 global mean; high = more distress"),
        *_measure("cip", 48, 0, 4, "CIP total mean (Norwegian IIP-C); high = more problems"),
        *_measure("wsas", 5, 0, 40, "WSAS sum; high = more impairment"),
        *_measure("gaf", 1, 1, 100, "GAF; clinician-rated"),
        _v(
            "measure.gaf.impairment_below",
            60,
            p,
            "GAF below which impairment is clinically relevant",
            "scale points",
            "'GAF-scores < 60'",
        ),
        _v("measure.wai.subscales", 3, p, "WAI subscales (Goals, Bonds, Tasks)", "subscales"),
        _v("measure.wai.items_per_subscale", 4, p, "WAI items per subscale", "items"),
        _v("measure.wai.min", 1, p, "WAI rating minimum", "scale points", wai_note),
        _v("measure.wai.max", 7, p, "WAI rating maximum", "scale points", wai_note),
        _v(
            "measure.wai.satisfactory_above",
            4,
            p,
            "WAI score above which alliance is satisfactory",
            "scale points",
            "'scores > 4 signify satisfactory alliance'",
        ),
        _v(
            "measure.wai_sr.published_min",
            1,
            "assumed",
            "WAI-SR rating minimum as its authors publish it",
            "scale points",
            "annotation in published-numbers.md, not in paper.txt",
        ),
        _v(
            "measure.wai_sr.published_max",
            5,
            "assumed",
            "WAI-SR rating maximum as its authors publish it",
            "scale points",
            "annotation in published-numbers.md, not in paper.txt (which says 7-point)",
        ),
        *_measure("fwc", 10, 0, 4, "FWC-BV Confident, Inadequate, Idealized; therapist-rated"),
        _v("measure.sipp.items", 118, p, "SIPP-118 items", "items"),
        _v("measure.sipp.t_norm_mean", 50, "derived", "SIPP T-score norm mean", "T-score", t_note),
        _v("measure.sipp.t_norm_sd", 10, "derived", "SIPP T-score norm SD", "T-score", t_note),
        *_measure("eq_vas", 1, 0, 100, "EQ-5D-3L visual analogue scale"),
        _v(
            "measure.eq_vas.population_mean.min",
            80,
            p,
            "EQ-VAS mean in general-population studies, low end",
            "scale points",
            "'range 80-89'",
        ),
        _v(
            "measure.eq_vas.population_mean.max",
            89,
            p,
            "EQ-VAS mean in general-population studies, high end",
            "scale points",
            "'range 80-89'",
        ),
        _v(
            "measure.eq_vas.pd_sample_mean",
            56,
            p,
            "EQ-VAS mean in a PD population",
            "scale points",
            "'in a PD population, 56'",
        ),
    ]


def _results() -> list[PublishedValue]:
    p = "paper"
    tot = "total"
    return [
        _v("org.standards_count", 33, p, "MBT quality standards assessed", "standards"),
        _v("org.standards_met.I", 24, p, "quality standards met, Period I", "standards"),
        _v("org.standards_met.II", 28, p, "quality standards met, Period II", "standards"),
        _v(
            "treatment.short_below_months",
            6,
            p,
            "duration defining a short treatment",
            "months",
            "more treatments shorter than 6 months in Period II",
        ),
        _v(
            "outcome.d24_above",
            1,
            p,
            "24-month Cohen's d of BSI, CIP, WSAS and GAF",
            "SD units",
            "stated as 'd > 1' for all four",
        ),
        _v(
            "outcome.period_intercept_variance_pct.min",
            0,
            p,
            "intercept variance explained by period, low end",
            "%",
            "'0%-5%'; no additional slope variance",
        ),
        _v(
            "outcome.period_intercept_variance_pct.max",
            5,
            p,
            "intercept variance explained by period, high end",
            "%",
            "'0%-5%'; no additional slope variance",
        ),
        _v(
            "self_harm.start.pct", 85, p, "self-harm in the 12 months before start", "%", period=tot
        ),
        _v("self_harm.last_year.pct.I", 23, p, "self-harm in the last year of MBT", "%"),
        _v("self_harm.last_year.pct.II", 34, p, "self-harm in the last year of MBT", "%"),
        _v(
            "self_harm.change.p_below",
            0.001,
            p,
            "McNemar p, start-end change in self-harm",
            "p",
            "stated as 'p < 0.001'",
            period=tot,
        ),
        _v("self_harm.remission.pct.total", 70, p, "self-harm remission", "%"),
        _v("self_harm.remission.pct.I", 75, p, "self-harm remission", "%"),
        _v("self_harm.remission.pct.II", 63, p, "self-harm remission", "%"),
        _v(
            "self_harm.remission.p",
            0.212,
            p,
            "p of the period difference in self-harm remission",
            "p",
            "'Wald's test for independent samples'; variant not stated",
        ),
        _v(
            "suicide_attempt.start.pct",
            30,
            p,
            "suicide attempts in the 12 months before start",
            "%",
            "'Thirty percent'",
            period=tot,
        ),
        _v(
            "suicide_attempt.last_year.pct",
            9,
            p,
            "suicide attempts in the last year of MBT",
            "%",
            period=tot,
        ),
        _v(
            "suicide_attempt.change.p_below",
            0.001,
            p,
            "McNemar p, start-end change in suicide attempts",
            "p",
            "stated as 'p < 0.001'",
            period=tot,
        ),
        _v("suicide_attempt.remission.pct.total", 88, p, "suicide-attempt remission", "%"),
        _v("suicide_attempt.remission.pct.I", 89, p, "suicide-attempt remission", "%"),
        _v("suicide_attempt.remission.pct.II", 87, p, "suicide-attempt remission", "%"),
        _v(
            "suicide_attempt.remission.p",
            0.801,
            p,
            "p of the period difference in suicide-attempt remission",
            "p",
            "variant not stated",
        ),
    ]


def _table3_2015() -> list[PublishedValue]:
    rows = {  # baseline (SE), change per month (SE), 3-year effect size
        "bsi": (2.1, 0.1, -0.03, 0.005, 1.79),
        "cip": (1.7, 0.08, -0.02, 0.002, 1.41),
        "gaf": (48, 0.7, 0.49, 0.09, 4.60),
    }
    out = [
        _v("table3_2015.n", 64, "2015", "patients in the first MBT cohort", "patients"),
        _v("table3_2015.dropout.pct", 2, "2015", "drop-out in the first MBT cohort", "%"),
    ]
    for m, (base, base_se, slope, slope_se, es) in rows.items():
        note = "2015 paper, Table 3, mixed-model estimate"
        out += [
            _v(f"table3_2015.{m}.baseline", base, "2015", f"{m} baseline", "scale points", note),
            _v(
                f"table3_2015.{m}.baseline_se",
                base_se,
                "2015",
                f"{m} baseline SE",
                "scale points",
                note,
            ),
            _v(
                f"table3_2015.{m}.slope",
                slope,
                "2015",
                f"{m} change per month",
                "scale points per month",
                note,
            ),
            _v(
                f"table3_2015.{m}.slope_se",
                slope_se,
                "2015",
                f"{m} change per month SE",
                "scale points per month",
                note,
            ),
            _v(
                f"table3_2015.{m}.effect_size_3y",
                es,
                "2015",
                f"{m} 3-year effect size",
                "SD units",
                note,
            ),
        ]
    return out


_SELF_HARM_ALT = (
    (24, 32, 35, 56),
    (24, 32, 50, 79),
    (40, 53, 20, 32),
    (41, 55, 25, 40),
    (59, 79, 24, 38),
)


def _pair(prefix: str, counts: tuple[int, int, int, int], what: str, note: str) -> list:
    x1, n1, x2, n2 = counts
    d = "derived"
    return [
        _v(f"{prefix}.count.I", x1, d, f"{what}: events", "patients", note),
        _v(f"{prefix}.n.I", n1, d, f"{what}: denominator", "patients", note),
        _v(f"{prefix}.count.II", x2, d, f"{what}: events", "patients", note),
        _v(f"{prefix}.n.II", n2, d, f"{what}: denominator", "patients", note),
    ]


def _derived() -> list[PublishedValue]:
    d = "derived"
    sh = "derived.self_harm"
    sa = "derived.suicide_attempt"
    out = [
        *_pair(
            f"{sh}.remission",
            (41, 55, 27, 43),
            "self-harm remission",
            "the one pair exact under both the unpooled Wald and the logistic Wald test",
        ),
        _v(f"{sh}.remission.p.wald_unpooled", 0.2123, d, "unpooled Wald p of 41/55 vs 27/43", "p"),
        _v(f"{sh}.remission.p.logistic_wald", 0.2123, d, "logistic Wald p of 41/55 vs 27/43", "p"),
        _v(
            f"{sh}.remission.pooled_pct",
            69.4,
            d,
            "pooled remission of 41/55 and 27/43",
            "%",
            period="total",
        ),
        _v(
            f"{sh}.start.count",
            157,
            d,
            "start self-harmers (85% of 185)",
            "patients",
            "remission was computed among those with end data, not among all 157",
            period="total",
        ),
    ]
    for k, counts in enumerate(_SELF_HARM_ALT, start=1):
        out += _pair(
            f"{sh}.remission.alt.{k}",
            counts,
            "self-harm remission, other solution",
            "another pair consistent with 75% vs 63%, p = 0.212 under unpooled Wald",
        )
    out += [
        *_pair(
            f"{sa}.remission",
            (17, 19, 13, 15),
            "suicide-attempt remission",
            "exact under pooled chi-square and logistic Wald",
        ),
        _v(
            f"{sa}.remission.p.wald_pooled",
            0.8009,
            d,
            "pooled z (= Pearson chi-square) p of 17/19 vs 13/15",
            "p",
        ),
        _v(f"{sa}.remission.p.logistic_wald", 0.8013, d, "logistic Wald p of 17/19 vs 13/15", "p"),
        *_pair(
            f"{sa}.remission.near_miss",
            (17, 19, 20, 23),
            "suicide-attempt remission, unpooled-Wald near miss",
            "unpooled Wald p = 0.8002 rounds to 0.800, not 0.801",
        ),
        _v(
            f"{sa}.remission.near_miss.p.wald_unpooled",
            0.8002,
            d,
            "unpooled Wald p of 17/19 vs 20/23",
            "p",
        ),
        *_pair(
            f"{sh}.last_year.full",
            (22, 96, 30, 89),
            "self-harm in the last year, full n",
            "23% vs 34% on all patients",
        ),
        _v(f"{sh}.last_year.full.p.wald_unpooled", 0.102, d, "Wald p of 22/96 vs 30/89", "p"),
        *_pair(
            f"{sh}.last_year.end_data",
            (14, 61, 16, 47),
            "self-harm in the last year, patients with end data",
            "consistent with the remission pair 41/55 vs 27/43",
        ),
        _v(
            f"{sa}.still_attempting.pct.min",
            3,
            d,
            "patients still attempting after 88% remission of 30%, low end",
            "%",
            "'about 3-4%'",
            period="total",
        ),
        _v(
            f"{sa}.still_attempting.pct.max",
            4,
            d,
            "patients still attempting after 88% remission of 30%, high end",
            "%",
            "'about 3-4%'",
            period="total",
        ),
        _v(
            f"{sa}.new_onset.count",
            10,
            d,
            "new-onset attempters implied by 9% in the last year",
            "patients",
            "'about 10'; or the 9% has a smaller denominator",
            period="total",
        ),
    ]
    return out


def _growth(m: str, base: tuple[float, float], sd: float, slope: float, d24: float) -> list:
    a = "assumed"
    return [
        _v(f"assumed.{m}.baseline.I", base[0], a, f"{m} baseline mean", "scale points"),
        _v(f"assumed.{m}.baseline.II", base[1], a, f"{m} baseline mean", "scale points"),
        _v(
            f"assumed.{m}.baseline_sd",
            sd,
            a,
            f"{m} observed baseline SD (between + residual)",
            "scale points",
            "the denominator of the paper's d; both periods",
        ),
        _v(
            f"assumed.{m}.slope",
            slope,
            a,
            f"{m} change per month, both periods",
            "scale points per month",
        ),
        _v(
            f"assumed.{m}.d24",
            d24,
            a,
            f"{m} 24-month Cohen's d the values give",
            "SD units",
            "approximate ('d24 ~')",
        ),
    ]


def _assumed() -> list[PublishedValue]:
    a = "assumed"
    return [
        _v(
            "assumed.d24.min",
            1.1,
            a,
            "lowest 24-month d the generating values may give",
            "SD units",
            "paper says d > 1; 'between about 1.1 and 1.5'",
        ),
        _v(
            "assumed.d24.max",
            1.5,
            a,
            "highest 24-month d the generating values may give",
            "SD units",
            "'between about 1.1 and 1.5'",
        ),
        *_growth("bsi", (2.0, 2.1), 0.65, -0.032, 1.2),
        _v("assumed.bsi.residual_sd", 0.35, a, "bsi residual SD", "scale points", "'~0.35'"),
        *_growth("cip", (1.75, 1.8), 0.50, -0.025, 1.2),
        _v("assumed.cip.residual_sd", 0.25, a, "cip residual SD", "scale points", "'~0.25'"),
        *_growth("gaf", (47, 45), 5.5, 0.35, 1.5),
        _v(
            "assumed.gaf.ceiling",
            70,
            a,
            "gaf ceiling",
            "scale points",
            "'~70'; the 2015 slope +0.49 would give d far above the others",
        ),
        *_growth("wsas", (26, 27), 7, -0.35, 1.2),
        _v(
            "assumed.wai.goals_tasks.baseline.I",
            5.0,
            a,
            "WAI Goals+Tasks baseline, 1-7",
            "scale points",
        ),
        _v(
            "assumed.wai.goals_tasks.baseline.II",
            5.0,
            a,
            "WAI Goals+Tasks baseline, 1-7",
            "scale points",
        ),
        _v(
            "assumed.wai.goals_tasks.baseline_sd",
            1.0,
            a,
            "WAI Goals+Tasks baseline SD",
            "scale points",
        ),
        _v(
            "assumed.wai.goals_tasks.slope",
            0.01,
            a,
            "WAI Goals+Tasks change per month",
            "scale points per month",
        ),
        _v(
            "assumed.wai.bonds.baseline", 5.3, a, "WAI Bonds baseline, both periods", "scale points"
        ),
        _v("assumed.wai.bonds.baseline_sd", 1.0, a, "WAI Bonds baseline SD", "scale points"),
        _v(
            "assumed.wai.bonds.slope",
            0.005,
            a,
            "WAI Bonds change per month",
            "scale points per month",
        ),
        _v(
            "assumed.fwc.confident.baseline",
            2.4,
            a,
            "FWC-BV Confident, both periods",
            "scale points",
            "near-flat",
        ),
        _v(
            "assumed.fwc.inadequate.baseline",
            0.8,
            a,
            "FWC-BV Inadequate, both periods",
            "scale points",
            "near-flat",
        ),
        _v(
            "assumed.fwc.idealized.baseline",
            0.7,
            a,
            "FWC-BV Idealized, both periods",
            "scale points",
            "near-flat",
        ),
        _v("assumed.fwc.baseline_sd", 0.6, a, "FWC-BV baseline SD", "scale points"),
        _v(
            "assumed.sipp.baseline.I.min",
            30,
            a,
            "SIPP domain T-score baseline, low end",
            "T-score",
            "Period II slightly lower",
        ),
        _v(
            "assumed.sipp.baseline.I.max",
            40,
            a,
            "SIPP domain T-score baseline, high end",
            "T-score",
            "Period II slightly lower",
        ),
        _v("assumed.sipp.baseline_sd", 10, a, "SIPP domain T-score baseline SD", "T-score"),
        _v("assumed.sipp.slope.min", 0.2, a, "SIPP change per month, low end", "T per month"),
        _v("assumed.sipp.slope.max", 0.3, a, "SIPP change per month, high end", "T per month"),
        _v("assumed.eq_vas.baseline.I", 45, a, "EQ-VAS baseline mean", "scale points"),
        _v("assumed.eq_vas.baseline.II", 43, a, "EQ-VAS baseline mean", "scale points"),
        _v("assumed.eq_vas.baseline_sd", 20, a, "EQ-VAS baseline SD", "scale points"),
        _v("assumed.eq_vas.slope", 0.6, a, "EQ-VAS change per month", "scale points per month"),
        _v("assumed.duration.mean.I", 30, a, "mean treatment duration", "months", "'~30'"),
        _v("assumed.duration.sd.I", 9, a, "SD of treatment duration", "months"),
        _v(
            "assumed.duration.max.I",
            36,
            a,
            "longest treatment duration",
            "months",
            "given in the Period I column",
        ),
        _v(
            "assumed.duration.mean.II",
            26,
            a,
            "mean treatment duration",
            "months",
            "'shorter, ~26 months'",
        ),
        _v("assumed.dropout.pct.I", 5, a, "drop-out", "%", "'~5%'; the paper says only 'low'"),
        _v("assumed.dropout.pct.II", 10, a, "drop-out", "%", "'~10%'; paper: higher in II"),
        _v(
            "assumed.random_effects.slope_sd_pct_of_slope",
            50,
            a,
            "random-slope SD as a share of the mean slope",
            "%",
            "'~50%'",
        ),
        _v(
            "assumed.random_effects.intercept_slope_corr",
            -0.3,
            a,
            "intercept-slope correlation",
            "correlation",
            "'~ -0.3'",
        ),
    ]


PUBLISHED_VALUES: tuple[PublishedValue, ...] = (
    *_design(),
    *_measures(),
    *_results(),
    *_table3_2015(),
    *_derived(),
    *_assumed(),
)
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
