"""Sections render from the tables that exist; sensitivity, joint model and PPC appear only
when their tables do (constructed here with the contract's columns, DESIGN.md)."""

from __future__ import annotations

import pandas as pd
import pytest
from PIL import Image

from mbtbayes.report import write_report
from mbtbayes.report.document import Heading, Paragraph, Table, flatten
from mbtbayes.report.document import Image as ImageBlock
from mbtbayes.report.figures import make_figures
from mbtbayes.report.sections import ReportInputs, prior_text, report_blocks


def sensitivity() -> pd.DataFrame:
    return pd.DataFrame({
        "measure": ["bsi"] * 4, "analysis": ["prior_scale"] * 3 + ["student_t"],
        "setting": ["1", "0.25", "0.1", "nu ~ Gamma(2, 0.1)"], "quantity": ["contrast_at_24"] * 4,
        "mean": [0.17, 0.12, 0.05, 0.16], "hdi_low": [-0.07, -0.05, -0.03, -0.08],
        "hdi_high": [0.41, 0.3, 0.06, 0.4],
        "decision": ["undecided", "undecided", "negligible", "undecided"],
        "conclusion_changed": [False, False, True, False], "method": ["refit"] * 4})


def joint() -> pd.DataFrame:
    return pd.DataFrame({
        "outcome": ["bsi", "cip", "pooled"], "quantity": ["at_24", "at_24", "period effect"],
        "joint_mean": [0.15, 0.05, 0.1], "joint_hdi_low": [-0.05, -0.1, -0.02],
        "joint_hdi_high": [0.35, 0.2, 0.22], "single_mean": [0.17, 0.05, None],
        "single_hdi_low": [-0.07, -0.14, None], "single_hdi_high": [0.41, 0.23, None]})


def ppc() -> pd.DataFrame:
    rows = []
    for measure in ("bsi", "gaf"):
        for model in ("linear", "period"):
            for period in ("I", "II"):
                for stat, wave, ppp in (("mean", "assessment 1", 0.41),
                                        ("sd", "assessment 1", 0.98),
                                        ("floor_share", "all", 0.5)):
                    rows.append({"measure": measure, "model": model, "statistic": stat,
                                 "period": period, "wave": wave, "observed": 1.4,
                                 "predicted_mean": 1.41, "predicted_low": 1.3,
                                 "predicted_high": 1.5, "ppp": ppp, "misfit": ppp > 0.975})
    return pd.DataFrame(rows)


def headings(blocks) -> list[str]:
    return [b.text for b in blocks if isinstance(b, Heading) and b.level == 2]


def test_optional_sections_are_absent_without_their_tables():
    blocks = flatten(report_blocks(ReportInputs(tables={}, fits=[], specs={}, figures={})))
    assert "Sensitivity" not in headings(blocks) and "Joint model" not in headings(blocks)
    assert headings(blocks) == ["Summary", "Data", "Computation", "Posterior distributions",
                                "Decisions", "Reproducibility"]


def test_sensitivity_joint_and_ppc_render_with_figures(tmp_path):
    tables = {"sensitivity": sensitivity(), "joint_model": joint(), "ppc": ppc()}
    figures = make_figures(tmp_path, tables=tables, fits=[], data=pd.DataFrame(),
                           synthetic=True)
    assert set(figures) == {"sensitivity", "joint_model", "ppc"}
    for fig in figures.values():
        with Image.open(tmp_path / fig.path) as png:
            assert png.width > 400
    blocks = flatten(report_blocks(ReportInputs(tables=tables, fits=[], specs={},
                                                figures=figures, synthetic=True)))
    assert {"Sensitivity", "Joint model"} <= set(headings(blocks))
    text = [b.text for b in blocks if isinstance(b, Paragraph)]
    assert ("The conclusion changes in 1 of 4 settings. Changed: bsi prior_scale 0.1."
            in text)
    shown = {b.path for b in blocks if isinstance(b, ImageBlock)}
    assert shown == {"figures/sensitivity.png", "figures/joint_model.png", "figures/ppc.png"}


def test_a_joint_table_without_the_figure_columns_is_still_shown(tmp_path):
    table = joint().drop(columns=["joint_mean"])
    figures = make_figures(tmp_path, tables={"joint_model": table}, fits=[],
                           data=pd.DataFrame(), synthetic=False)
    assert figures == {}
    blocks = flatten(report_blocks(ReportInputs(tables={"joint_model": table}, fits=[],
                                                specs={}, figures=figures)))
    assert "Joint model" in headings(blocks)


@pytest.mark.parametrize("synthetic", [True, False])
def test_write_report_from_tables_alone(tmp_path, synthetic):
    from mbtbayes.io.register import Register, load_register

    bundled = load_register()
    register = Register(bundled.data, "test data", synthetic, bundled.measures)
    written = write_report(tmp_path, tables={"sensitivity": sensitivity()}, fits=[], specs={},
                           register=register)
    page = written["report.html"].read_text()
    markdown = written["report.md"].read_text()
    assert "<h2 id=\"sensitivity\">Sensitivity</h2>" in page
    assert page.count("data:image/png;base64,") == 1
    sections = markdown.count("\n## ")
    if synthetic:  # the flag on every page and in every section
        assert '<div class="banner" role="alert">SYNTHETIC DATA' in page
        assert markdown.count("> **SYNTHETIC DATA") == sections
        assert page.count('<p class="flag">SYNTHETIC DATA') == sections
    else:
        assert "SYNTHETIC" not in page and "SYNTHETIC" not in markdown


@pytest.mark.parametrize(("prior", "text"), [
    ({"dist": "Normal", "mu": 0, "sigma": 1.0}, "Normal(0, 1)"),
    ({"dist": "HalfNormal", "sigma": 0.0556}, "HalfNormal(0.0556)"),
    ({"dist": "Normal", "mu": 0, "sigma": {"dist": "HalfNormal", "sigma": 1.0}},
     "Normal(0, SD), SD ~ HalfNormal(1)"),
])
def test_priors_are_written_out(prior, text):
    assert prior_text(prior) == text


def rope_curve() -> pd.DataFrame:
    """Two measures on a 3-point grid; the margin (0.2 SD) marked; decisions by hand from
    HDIs [0.3, 0.5] (bsi: difference below 0.3) and [-0.1, 0.1] (gaf: negligible from 0.1)."""
    rows = []
    for measure, better, decisions in (
            ("bsi", "lower", ["difference", "difference", "undecided"]),
            ("gaf", "higher", ["undecided: too imprecise", "undecided", "negligible"])):
        for units, decision in zip((0.0, 0.2, 0.5), decisions, strict=True):
            rows.append({"measure": measure, "better_if": better, "sd_units": units,
                         "half_width": units, "p_rope": units, "decision": decision,
                         "margin": units == 0.2, "hdi_low": 0.0, "hdi_high": 1.0,
                         "difference_below_sd": 0.3, "negligible_from_sd": 0.5,
                         "reference_sd": 1.0, "passed": True})
    return pd.DataFrame(rows)


def test_the_rope_curve_gets_its_figure_and_the_decision_at_the_margin(tmp_path):
    tables = {"rope_curve": rope_curve()}
    figures = make_figures(tmp_path, tables=tables, fits=[], data=pd.DataFrame(),
                           synthetic=True)
    assert set(figures) == {"rope_curve"}
    blocks = flatten(report_blocks(ReportInputs(tables=tables, fits=[], specs={}, figures=figures)))
    shown = [b for b in blocks if getattr(b, "caption", "").startswith(
        "The difference in change 0-24 months at the pre-specified margin")]
    assert len(shown) == 1
    at = shown[0].table.set_index("measure")
    assert at.loc["bsi", "decision"] == "difference" and at.loc["gaf", "decision"] == "undecided"
    assert {b.path for b in blocks if isinstance(b, ImageBlock)} == {"figures/rope_curve.png"}


def test_predictive_checks_section_renders_its_tables(tmp_path):
    """Prior predictive, PPC (in-sample and new patients), LOO-PIT and likelihood tables in
    one section, after the posteriors; absent without them (see above)."""
    prior = pd.DataFrame({
        "measure": ["bsi"] * 4, "model": ["period"] * 4,
        "quantity": ["population_mean_in_range", "observation_in_range", "change_I",
                     "difference_in_change"],
        "scale": ["share", "share", "baseline_sd", "baseline_sd"],
        "value": [0.965, 0.907, None, None], "q_low": [None, None, -1.2, -0.6],
        "q_high": [None, None, 1.2, 0.6]})
    pit = pd.DataFrame({"measure": ["bsi"], "model": ["period"], "period": ["all"],
                        "pit_mean": [0.49], "ks_p": [0.92], "uniform": [True]})
    likelihoods = pd.DataFrame({"measure": ["bsi", "bsi"], "spec": ["bsi", "bsi_censored"],
                                "likelihood": ["gaussian", "gaussian, censored"],
                                "elpd_diff": [-0.6, 0.0]})
    table = ppc().assign(predictive="new patients")
    tables = {"prior_predictive": prior, "loo_pit": pit, "ppc": table,
              "likelihood_comparison": likelihoods}
    figures = make_figures(tmp_path, tables=tables, fits=[], data=pd.DataFrame(),
                           synthetic=False)
    blocks = flatten(report_blocks(ReportInputs(tables=tables, fits=[], specs={}, figures=figures)))
    names = headings(blocks)
    assert names.index("Predictive checks") == names.index("Posterior distributions") + 1
    from mbtbayes.report.document import Table

    captions = [b.caption for b in blocks if isinstance(b, Table)]
    assert any(c.startswith("Prior predictive checks") for c in captions)
    assert any(c.startswith("New-patient LOO-PIT") for c in captions)
    assert any("recorded scores" in c for c in captions)
    shares = next(b.table for b in blocks if isinstance(b, Table)
                  and b.caption.startswith("Prior predictive checks"))
    assert shares.loc[0, "population_mean_in_range"] == 0.965
    assert shares.loc[0, "difference_in_change"] == "-0.60 to 0.60"


def test_long_tables_are_folded_with_their_csv_and_nothing_is_lost(tmp_path):
    """The PPC shows its misfits counted per measure; every misfit and every share row is
    still in the report, folded under a summary naming ppc.csv."""
    from mbtbayes.report.document import Details, Table

    table = ppc()
    blocks = report_blocks(ReportInputs(tables={"ppc": table}, fits=[], specs={}, figures={}))
    folds = [b for b in blocks if isinstance(b, Details)]
    assert folds and all("`ppc.csv` holds all of it" in b.summary for b in folds)
    shown = [b for b in blocks if isinstance(b, Table)]  # outside the folds
    assert len(shown) == 1 and shown[0].caption.startswith("Misfits per measure")
    counts = shown[0].table.set_index("measure")
    # by hand: per measure 2 models x 2 periods x 3 statistics, the sd (ppp 0.98) a misfit
    assert counts.loc["bsi", "checks"] == 12 and counts.loc["bsi", "misfits"] == 4
    assert counts.loc["gaf", "by statistic"] == "sd 4"
    folded_rows = sum(len(b.table) for b in flatten(folds) if isinstance(b, Table))
    assert folded_rows == 8 + 16  # every misfit, and the shares with every flagged sd


def test_concordance_shows_its_disagreements_with_the_better_sign():
    from mbtbayes.compare import assemble
    from mbtbayes.report.document import Table

    rows = [{"question": "difference in change 0-24 months (II - I)", "subject": m,
             "role": "primary", "agree_existence": agree, "passed": True}
            for m, agree in (("bsi", True), ("gaf", False))]
    effects = pd.DataFrame({"measure": ["bsi", "gaf"], "contrast": ["change"] * 2,
                            "better_if": ["lower", "higher"], "mean": [0.1, -2.0],
                            "hdi_low": [-0.1, -4.0], "hdi_high": [0.3, -0.1],
                            "rope_low": [-0.16, -1.1], "rope_high": [0.16, 1.1]})
    blocks = report_blocks(ReportInputs(
        tables={"concordance": assemble(rows), "period_effects": effects}, fits=[], specs={},
        figures={}))
    apart = next(b for b in blocks if isinstance(b, Table)
                 and b.caption.startswith("The 1 questions (of 2)"))
    assert apart.table["subject"].tolist() == ["gaf"]
    assert apart.table["better_if"].tolist() == ["higher"]
    full = next(b for b in flatten(blocks) if isinstance(b, Table)
                and b.caption.startswith("Each research question"))
    assert len(full.table) == 2


def test_the_joint_table_says_each_estimand_once_below_it():
    from mbtbayes.report.document import Bullets, Table
    from mbtbayes.report.sections import joint_table

    long = "Period II - I difference at 24 months / observed pooled baseline SD; > 0 favours II"
    table = joint().assign(estimand=[long, long, "pooled period effect"],
                           scale=["sd", "sd", "sd"])
    corr = table.iloc[:1].assign(outcome="bsi~cip", quantity="slope_corr", scale="correlation",
                                 estimand="correlation of patient slopes across outcomes")
    blocks = joint_table(pd.concat([table, corr], ignore_index=True))
    shown = blocks[0]
    assert isinstance(shown, Table) and "estimand" not in shown.table
    assert len(shown.table) == 3  # the correlation folded
    notes = next(b for b in blocks if isinstance(b, Bullets)).items
    assert notes == [f"`at_24`: {long}", "`period effect`: pooled period effect"]


def test_sensitivity_panels_name_the_better_sign():
    from mbtbayes.report.figures_more import sensitivity_figure
    from mbtbayes.report.style import figure_style

    table = pd.concat([sensitivity(), sensitivity().assign(measure="gaf"),
                       sensitivity().assign(measure="my_score")], ignore_index=True)
    with figure_style():
        fig = sensitivity_figure(table, prefix="contrast_at_")
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles == ["bsi (lower is better): contrast_at_24",
                      "gaf (higher is better): contrast_at_24",
                      "my_score: contrast_at_24"]  # unknown to the schema: no sign claimed


def test_change_and_adjusted_sections_show_their_tables() -> None:
    from mbtbayes.report.sections import adjusted_section, change_section

    change = pd.DataFrame({
        "measure": ["bsi"] * 3, "label": ["BSI"] * 3, "period": ["I", "II", "II - I"],
        "category": ["recovered"] * 3, "share_mean": [0.12, 0.07, -0.05],
        "share_hdi_low": [0.08, 0.01, -0.11], "share_hdi_high": [0.17, 0.10, 0.02],
        "share_observed": [0.16, 0.11, -0.06], "n_patients": [90, 85, pd.NA],
        "cutoff_basis": ["criterion a"] * 3})
    blocks = flatten(change_section(ReportInputs(tables={"reliable_change": change}, fits=[],
                                                 specs={}, figures={})))
    shown = [b.table for b in blocks if isinstance(b, Table)][0]
    assert shown["Bayes share [95% HDI]"].tolist()[2] == "-0.05 [-0.11, 0.02]"
    adjusted = pd.DataFrame({
        "measure": ["bsi"], "contrast": ["change"], "better_if": ["lower"],
        "unadjusted_mean": [-0.01], "unadjusted_hdi_low": [-0.2], "unadjusted_hdi_high": [0.2],
        "unadjusted_decision": ["too imprecise"], "adjusted_mean": [0.02],
        "adjusted_hdi_low": [-0.21], "adjusted_hdi_high": [0.24],
        "adjusted_decision": ["too imprecise"], "shift": [0.03], "n_left_out_I": [2],
        "n_left_out_II": [0]})
    blocks = adjusted_section(ReportInputs(tables={"adjusted_effects": adjusted}, fits=[],
                                           specs={}, figures={}))
    shown = [b.table for b in blocks if isinstance(b, Table)][0]
    assert shown.loc[0, "adjusted"] == "0.02 [-0.21, 0.24] too imprecise"
    assert shown.loc[0, "left out I / II"] == "2 / 0"
    assert change_section(ReportInputs(tables={}, fits=[], specs={}, figures={})) == []


def test_stacking_section_shows_weights_and_the_stacked_change() -> None:
    from mbtbayes.report.sections import stacking_section

    weights = pd.DataFrame({"measure": ["bsi", "bsi"], "kind": ["weight"] * 2,
                            "model": ["as specified (correlated)", "Student-t residuals"],
                            "analysis": ["baseline", "robust likelihood"],
                            "weight": [0.75, 0.25]})
    stacked = pd.DataFrame({
        "measure": ["bsi"], "kind": ["stacked"], "model": ["stacked"],
        "quantity": ["change_difference"], "mean": [-0.05], "hdi_low": [-0.3],
        "hdi_high": [0.2], "decision": ["undecided"], "baseline_mean": [-0.01],
        "baseline_hdi_low": [-0.25], "baseline_hdi_high": [0.22],
        "baseline_decision": ["too imprecise"], "conclusion_changed": [True],
        "n_patients": [185], "passed": [True], "note": [""]})
    table = pd.concat([weights, stacked], ignore_index=True)
    blocks = flatten(stacking_section(ReportInputs(tables={"stacking": table}, fits=[],
                                                   specs={}, figures={})))
    shown = [b.table for b in blocks if isinstance(b, Table)]
    assert shown[0].loc[0, "Student-t"] == 0.25
    assert shown[1].loc[0, "stacked"] == "-0.05 [-0.3, 0.2] undecided"
    assert shown[1].loc[0, "as specified"] == "-0.01 [-0.25, 0.22] too imprecise"
    text = " ".join(b.text for b in blocks if isinstance(b, Paragraph))
    assert "changed by stacking: 1 of 1" in text


def test_patients_section_measures_the_pull() -> None:
    from mbtbayes.report.sections import patients_section

    table = pd.DataFrame({  # own slopes 0.1 and 0.3 toward a population 0.0: pulls 0.5, 0.9
        "measure": ["bsi"] * 3, "n_months": [2, 5, 3], "ls_slope": [0.1, 0.3, float("nan")],
        "slope_mean": [0.05, 0.03, 0.0], "population_slope": [0.0, 0.0, 0.0],
        "toward_population": [True, True, None]})
    blocks = flatten(patients_section(ReportInputs(tables={"shrinkage": table}, fits=[],
                                                   specs={}, figures={})))
    shown = [b.table for b in blocks if isinstance(b, Table)][0]
    assert shown.loc[0, "median pull, 2-3 months"] == pytest.approx(0.5)
    assert shown.loc[0, "median pull, 4+ months"] == pytest.approx(0.9)
    assert shown.loc[0, "pulled toward the population"] == 1.0


def test_joint_pooling_blocks_show_each_setting_and_count_changes() -> None:
    from mbtbayes.report.sections import pooling_blocks

    rows = [{"setting": s, "outcome": "bsi", "quantity": "change_difference_std",
             "mean": m, "hdi_low": m - 0.2, "hdi_high": m + 0.2, "rope_decision": d,
             "passed": ok, "conclusion_changed": c}
            for s, m, d, ok, c in (("default", 0.0, "negligible", True, False),
                                   ("unpooled", 0.1, "too imprecise", False, True))]
    rows.append({"setting": "default", "outcome": "pooled", "mean": 0.1,
                 "quantity": "between_outcome_sd_int", "conclusion_changed": None})
    rows.append({"setting": "unpooled", "outcome": "bsi", "quantity": "contrast_24_std",
                 "conclusion_changed": True})  # not in the table: not counted under it
    blocks = pooling_blocks(pd.DataFrame(rows))
    shown = [b.table for b in blocks if isinstance(b, Table)][0]
    assert shown.loc[0, "unpooled"] == "0.10 [-0.10, 0.30] too imprecise (gate FAILED)"
    assert shown.loc[0, "default"] == "0.00 [-0.20, 0.20] negligible"
    assert "from the default's: 1 " in blocks[0].text
    assert pooling_blocks(None) == []
