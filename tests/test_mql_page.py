"""The MQL threshold page, driven through AppTest from the entry point."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from sqlite_utils import Database
from streamlit.testing.v1 import AppTest

import ui
from funnel import audit, charts, cutoffs, importers, points, scoring, store
from funnel.models import Rule
from tests.conftest import DEMO_TODAY, ROOT, open_page
from tests.test_scoring import hand_table

pytestmark = pytest.mark.dates

SCORED_SCRIPT = """
import ui
scored = ui.scored_leads()
again = ui.scored_leads()
import streamlit as st
nulls = scored["fit"].null_count() + scored["interest"].null_count()
st.text(f"{scored.height} {nulls} {scored is again}")
"""


def test_scored_leads_scores_every_lead_once_per_model_version(app_env: Path) -> None:
    at = AppTest.from_string(SCORED_SCRIPT, default_timeout=60).run()
    assert not at.exception, at.exception
    with store.opened(app_env) as db:
        n = store.lead_count(db)
    assert at.text[0].value == f"{n} 0 True"


def hand_grid() -> tuple[pl.DataFrame, pl.DataFrame]:
    leads = hand_table()
    return leads, cutoffs.cutoff_grid(leads)


def test_quadrant_chart_labels_each_quadrant_with_its_count_and_says_what_it_shows() -> None:
    leads, grid = hand_grid()
    sample = cutoffs.scatter_sample(leads, limit=4)
    spec = (
        charts.mql_quadrant_chart(sample, cutoffs.quadrant_counts(grid, 60, 40), 60, 40, leads.height)
        .chart()
        .to_dict()
    )
    assert spec["title"]["subtitle"] == [
        "Random sample of 4 of 10 scored leads shown; every count uses all of them",
        charts.SCORED_AS_DECIDED,
    ]
    datasets = list(spec["datasets"].values())
    labels = sorted(row["label"] for d in datasets for row in d if "label" in row)
    assert labels == sorted(
        [
            "MQL: 5 leads",
            "Good fit, not yet engaged: 1 leads",
            "Engaged, poor fit: 2 leads",
            "Cold: 2 leads",
        ]
    )
    points = [d for d in datasets if d and "outcome" in d[0]]
    assert len(points) == 1 and len(points[0]) == 4
    cut = [d for d in datasets if d == [{"fit": 60.0, "interest": 40.0}]]
    assert cut


def test_curve_chart_has_one_panel_per_slider_and_marks_the_current_cutoff() -> None:
    _, grid = hand_grid()
    spec = charts.mql_curve_chart(cutoffs.backtest_curve(grid, 60, 40)).chart().to_dict()
    assert spec["facet"]["column"]["field"] == "axis"
    layers = spec["spec"]["layer"]
    assert layers[0]["mark"]["type"] == "line"
    assert layers[1]["mark"]["type"] == "rule"
    assert layers[1]["transform"] == [{"filter": "datum.current"}]


def test_capacity_chart_draws_capacity_as_a_line_over_weekly_bars() -> None:
    _, grid = hand_grid()
    weekly = cutoffs.mql_per_week(grid, 60, 40, reps=1, leads_per_rep=2)
    spec = charts.mql_capacity_chart(weekly).chart().to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["bar", "rule"]
    assert spec["layer"][0]["encoding"]["x"]["type"] == "temporal"


PAGE = "pages/mql.py"


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_moving_a_slider_changes_the_counts(app_env: Path) -> None:
    at = open_page(PAGE, {"F": "50", "I": "40"})
    before = (metric(at, "MQLs"), metric(at, "Conversions kept"))
    at.slider(key="mql_fit_cutoff").set_value(75).run()
    assert not at.exception, at.exception
    after = (metric(at, "MQLs"), metric(at, "Conversions kept"))
    assert int(after[0].replace(",", "")) < int(before[0].replace(",", ""))
    assert after[1] != before[1]
    assert at.query_params["F"] == "75"


def _interest_as_decided(leads: pl.DataFrame, rules: list[Rule], half_life: float) -> pl.Expr:
    """Interest worked out plainly: points decayed from the last activity to the conversion
    date (converted leads) or not at all (lost and open leads, scored at their last activity)."""
    points = pl.sum_horizontal(
        pl.when(scoring.rule_fires(r)).then(r.points).otherwise(0.0)
        for r in rules
        if r.axis == "interest"
    )
    seen = pl.coalesce("last_activity", "created")
    converted = pl.col("outcome").is_in(["converted", "won"]) & pl.col("converted_at").is_not_null()
    days = pl.when(converted).then((pl.col("converted_at") - seen).dt.total_days().clip(0)).otherwise(0)
    low, high = scoring.axis_bounds(rules, "interest")
    rescaled = ((points * 0.5 ** (days / half_life) - low) / (high - low) * 100).clip(0, 100)
    return pl.coalesce(pl.col("interest"), rescaled)


def test_the_backtest_keeps_the_conversions_a_cutoff_kept_when_they_were_decided(
    app_env: Path,
) -> None:
    at = open_page(PAGE, {"F": "60", "I": "40"})
    with store.opened(app_env) as db:
        rules, half_life, leads = store.rules(db, 1), store.half_life(db, 1), store.leads(db)
    fit = scoring.score_leads(leads, rules, half_life, DEMO_TODAY)["fit"]
    known = leads.with_columns(fit, _interest_as_decided(leads, rules, half_life).alias("interest"))
    known = known.filter(pl.col("outcome").is_in(["converted", "won", "lost"]))
    converted = known.filter(pl.col("outcome") != "lost")
    kept = converted.filter((pl.col("fit") >= 60) & (pl.col("interest") >= 40)).height
    assert metric(at, "Conversions kept") == f"{kept / converted.height:.1%}"
    note = next(m.delta for m in at.metric if m.label == "Conversions kept")
    assert note == f"{kept:,} of {converted.height:,}"
    # Today's decay would have kept far fewer: the figure the meeting must not see.
    today = scoring.score_leads(leads, rules, half_life, DEMO_TODAY).filter(
        pl.col("outcome").is_in(["converted", "won"])
    )
    assert today.filter((pl.col("fit") >= 60) & (pl.col("interest") >= 40)).height < kept * 0.8
    assert any("scored as it stood when its outcome was decided" in c.value for c in at.caption)


def test_every_figure_slider_and_capacity_input_says_what_it_counts(app_env: Path) -> None:
    at = open_page(PAGE)
    assert [m.label for m in at.metric] == [
        "MQLs",
        "Conversion in MQLs",
        "Conversions kept",
        "Lift",
        "Conversions lost",
        "SALs",
    ]
    assert all(m.help for m in at.metric)
    assert all(s.help for s in at.slider) and len(at.slider) == 2
    assert at.number_input(key="mql_reps").help and at.number_input(key="mql_leads_per_rep").help


def test_a_lead_is_found_by_its_company_and_its_score_explained_to_the_total(
    app_env: Path,
) -> None:
    with store.opened(app_env) as db:
        lead = store.leads(db).filter(pl.col("company").is_not_null()).row(0, named=True)
    at = open_page(PAGE)
    at.text_input(key="mql_explain_find").input(lead["company"].upper()).run()
    assert not at.exception, at.exception
    picked = at.selectbox(key="mql_explain_pick")
    assert lead["id"] in picked.options or any(f"#{lead['id']} " in o for o in picked.options)
    at.selectbox(key="mql_explain_pick").set_value(lead["id"]).run()
    totals = next(d.value for d in at.dataframe if "fewest" in d.value.columns)
    assert totals["axis"].tolist() == ["fit", "interest"]
    assert any("Score = (points counted − fewest)" in c.value for c in at.caption)


def test_query_parameters_set_the_sliders_and_the_version(app_env: Path) -> None:
    at = open_page(PAGE, {"F": "72", "I": "33", "v": "1"})
    assert at.slider(key="mql_fit_cutoff").value == 72
    assert at.slider(key="mql_interest_cutoff").value == 33
    assert at.selectbox(key="mql_version").value == 1


def test_a_recorded_decision_round_trips_to_the_sliders(app_env: Path) -> None:
    at = open_page(PAGE, {"F": "65", "I": "45"})
    at.text_input(key="mql_agreed_by").input("Anna (marketing), Ben (sales)")
    at.text_input(key="mql_note").input("Q1 cutoff")
    at.button(key="FormSubmitter:mql_decision_form-Record F = 65, I = 45, model v1").click().run()
    assert not at.exception, at.exception
    with store.opened(app_env) as db:
        decision = store.decisions(db).row(0, named=True)
    assert (decision["fit_cutoff"], decision["interest_cutoff"], decision["model_version"]) == (
        65,
        45,
        1,
    )
    assert decision["agreed_by"] == "Anna (marketing), Ben (sales)"
    assert any("Q1 cutoff" in t.value for t in at.text)
    at.slider(key="mql_fit_cutoff").set_value(20).run()
    at.slider(key="mql_interest_cutoff").set_value(90).run()
    at.button(key=f"mql_restore_{decision['id']}").click().run()
    assert not at.exception, at.exception
    assert at.slider(key="mql_fit_cutoff").value == 65
    assert at.slider(key="mql_interest_cutoff").value == 45


def test_a_model_edit_shows_crossings_and_saves_a_new_version(app_env: Path) -> None:
    at = open_page(PAGE, {"F": "60", "I": "40"})
    at.number_input(key="mql_half_life_1").set_value(7.0).run()
    assert not at.exception, at.exception
    crossing = [i.value for i in at.info if "would enter the MQL" in i.value]
    assert crossing, [i.value for i in at.info]
    at.button(key="mql_save_model").click().run()
    assert not at.exception, at.exception
    with store.opened(app_env) as db:
        assert store.latest_model_version(db) == 2
        assert store.half_life(db, 2) == 7.0
        assert store.rules(db, 2) == store.rules(db, 1)
    assert at.selectbox(key="mql_version").value == 2


def test_quadrant_labels_group_thousands() -> None:
    quadrants = pl.DataFrame(
        {"quadrant": list(scoring.QUADRANTS), "leads": [150_485, 683_271, 43_983, 122_261]}
    )
    sample = cutoffs.scatter_sample(hand_table())
    spec = charts.mql_quadrant_chart(sample, quadrants, 61, 40, 1_000_000).chart().to_dict()
    labels = {row["label"] for d in spec["datasets"].values() for row in d if "label" in row}
    assert "MQL: 150,485 leads" in labels and "Cold: 122,261 leads" in labels
    assert spec["title"]["subtitle"][0].startswith("Random sample of 10 of 1,000,000 scored leads shown")


def edit_rules(at: AppTest, edited: dict[int, dict[str, object]]) -> None:
    """Edit the rules table as the grid reports edits (AppTest cannot type into it)."""
    at.session_state["mql_rules_1"] = {"edited_rows": edited, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception, at.exception


def test_a_rule_edit_shows_crossings_and_saves_a_new_version(app_env: Path) -> None:
    at = open_page(PAGE, {"F": "60", "I": "40"})
    edit_rules(at, {0: {"points": 60.0}})  # C-level: 30 -> 60 points of fit
    crossing = [i.value for i in at.info if "would enter the MQL" in i.value]
    assert crossing and "at F = 60, I = 40" in crossing[0]
    at.button(key="mql_save_model").click().run()
    assert not at.exception, at.exception
    with store.opened(app_env) as db:
        assert store.latest_model_version(db) == 2
        new_rules = store.rules(db, 2)
    assert new_rules[0].points == 60
    assert new_rules[1:] == list(scoring.DEFAULT_RULES[1:])
    assert at.selectbox(key="mql_version").value == 2


def test_a_bad_rule_is_explained_beside_the_table_and_nothing_is_saved(app_env: Path) -> None:
    at = open_page(PAGE)
    edit_rules(at, {3: {"value": "199..50"}})
    assert [e.value for e in at.error] == [
        ui.as_text("Rule row 4: in '199..50' the low end comes first, e.g. 50..199.")
    ]
    assert not [b for b in at.button if b.key == "mql_save_model"]
    with store.opened(app_env) as db:
        assert store.latest_model_version(db) == 1


def test_sales_accepts_an_mql_with_bant_and_the_sal_count_moves(app_env: Path) -> None:
    at = open_page(PAGE, {"F": "60", "I": "40"})
    before = int(metric(at, "SALs").replace(",", ""))
    lead_id = at.selectbox(key="mql_sal_lead").value
    for criterion in ("budget", "authority", "need"):
        at.checkbox(key=f"mql_bant_{criterion}").check()
    at.button(key="FormSubmitter:mql_sal_form-Accept (SAL)").click().run()
    assert not at.exception, at.exception
    with store.opened(app_env) as db:
        row = db.execute(
            "SELECT sal_status, bant_budget, bant_authority, bant_need, bant_timeline"
            " FROM leads WHERE id = ?",
            [lead_id],
        ).fetchone()
    assert row == ("accepted", 1, 1, 1, 0)
    assert int(metric(at, "SALs").replace(",", "")) == before + 1
    # The next answer starts from no tick: the form does not carry this lead's BANT over.
    assert [at.checkbox(key=f"mql_bant_{c}").value for c in store.BANT] == [False] * 4
    following = at.selectbox(key="mql_sal_lead").value
    assert following != lead_id
    at.button(key="FormSubmitter:mql_sal_form-Reject").click().run()
    assert not at.exception, at.exception
    with store.opened(app_env) as db:
        row = db.execute(
            "SELECT sal_status, bant_budget, bant_authority, bant_need, bant_timeline"
            " FROM leads WHERE id = ?",
            [following],
        ).fetchone()
        log = audit.readable(store.audit_log(db))
    assert row == ("rejected", 0, 0, 0, 0)
    # History says what was stored, lead by lead.
    said = dict(log.filter(pl.col("entity") == "lead").select("entity_id", "what").iter_rows())
    assert said[lead_id] == "accepted by sales (BANT met: budget, authority, need)"
    assert said[following] == "rejected by sales (BANT met: none)"


def test_a_sal_answer_moves_the_count_without_reloading_or_rescoring_leads(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = open_page(PAGE, {"F": "60", "I": "40"})
    before = int(metric(at, "SALs").replace(",", ""))
    reads: list[str] = []

    def counted(name: str) -> Callable[..., pl.DataFrame]:
        real = getattr(store, name)

        def read(db: Database, *one: int) -> pl.DataFrame:
            reads.append(name if not one else "one lead")  # the explainer reads its lead alone
            return real(db, *one)

        return read

    for name in ("leads", "sal_answers"):
        monkeypatch.setattr(store, name, counted(name))
    monkeypatch.setattr(scoring, "score_leads", lambda *a: pytest.fail("rescored every lead"))
    at.button(key="FormSubmitter:mql_sal_form-Accept (SAL)").click().run()
    assert not at.exception, at.exception
    assert int(metric(at, "SALs").replace(",", "")) == before + 1
    assert sorted(reads) == ["one lead", "sal_answers"]


def test_a_filter_that_keeps_no_lead_shows_empty_figures_not_an_error(app_env: Path) -> None:
    at = open_page(PAGE)
    after_every_lead = (DEMO_TODAY + timedelta(days=40), DEMO_TODAY + timedelta(days=70))
    at.date_input(key="mql_period").set_value(after_every_lead).run()
    assert not at.exception, at.exception
    assert metric(at, "MQLs") == "0"
    assert metric(at, "Conversion in MQLs") == "–"
    assert any("No MQL at this cutoff" in i.value for i in at.info)


def test_saving_over_a_version_someone_replaced_says_so_and_keeps_the_edit(app_env: Path) -> None:
    at = open_page(PAGE)
    with store.opened(app_env) as db:  # a colleague saves v2 meanwhile
        store.save_model(db, scoring.DEFAULT_RULES, 14.0, based_on=1, who="Ben")
    at.number_input(key="mql_half_life_1").set_value(7.0).run()
    at.button(key="mql_save_model").click().run()
    assert not at.exception, at.exception
    assert any("since you opened version 1" in e.value for e in at.error)
    assert at.number_input(key="mql_half_life_1").value == 7.0
    with store.opened(app_env) as db:
        assert store.latest_model_version(db) == 2


def test_a_store_without_leads_says_so(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with store.opened(db_path) as db:
        store.save_model(db, scoring.DEFAULT_RULES, 30.0, based_on=None, who="test")
    monkeypatch.setenv("FUNNEL_DB", str(db_path))
    monkeypatch.chdir(ROOT)
    at = open_page(PAGE)
    assert any("No leads yet" in i.value for i in at.info)


def test_a_decision_on_an_older_model_reopens_that_version(app_env: Path) -> None:
    with store.opened(app_env) as db:
        decision_id = store.record_decision(db, 55, 35, 1, "2026-11-20", "Anna, Ben")
        store.save_model(db, scoring.DEFAULT_RULES, 14.0, based_on=1, who="Ben")
    at = open_page(PAGE)
    assert at.selectbox(key="mql_version").value == 2
    at.slider(key="mql_fit_cutoff").set_value(80).run()
    at.button(key=f"mql_restore_{decision_id}").click().run()
    assert not at.exception, at.exception
    assert at.selectbox(key="mql_version").value == 1
    assert (at.slider(key="mql_fit_cutoff").value, at.slider(key="mql_interest_cutoff").value) == (
        55,
        35,
    )
    assert at.query_params["v"] == "1"


def test_a_store_made_empty_then_imported_into_starts_from_the_default_rules(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An empty store, then the user's own leads: no scoring model yet.
    csv = (
        b"external_id,created,job_title,company_size,page_views\n"
        b"L1,2026-11-02,CEO,250,3\nL2,2026-11-03,Student,3,0\n"
    )
    with store.opened(db_path) as db:
        assert importers.import_bytes(db, csv, "leads", "crm.csv").committed
    monkeypatch.setenv("FUNNEL_DB", str(db_path))
    monkeypatch.chdir(ROOT)
    at = open_page(PAGE)
    assert any("no scoring model yet" in i.value for i in at.info)
    at.button(key="mql_start_default").click().run()
    assert not at.exception, at.exception
    with store.opened(db_path) as db:
        assert store.rules(db, 1) == list(scoring.DEFAULT_RULES)
        assert store.half_life(db, 1) == 30.0
    # CEO (30) at a large company (25) on the fit scale the rules span, -90 to 90 points:
    # (55 + 90) / (90 + 90) = 80.6.
    at.number_input(key="mql_explain_lead").set_value(1).run()
    assert at.text[0].value.startswith("Fit 80.6 "), at.text[0].value


def test_a_link_with_cutoffs_the_page_cannot_show_opens_on_the_agreed_view_and_says_why(
    app_env: Path,
) -> None:
    at = open_page(PAGE, {"F": "9" * 5_000, "I": "1e309", "v": "99"})

    # No decision recorded: the one default cutoff (`scoring.agreed_cutoff`).
    sliders = (at.slider(key="mql_fit_cutoff").value, at.slider(key="mql_interest_cutoff").value)
    assert sliders == (50, 50)
    assert [w.value for w in at.warning] == [
        ui.as_text(
            f"Link value F='{'9' * 200}'… (5,000 characters) is not a number from 0 to 100; ignored."
        ),
        ui.as_text("Link value I='1e309' is not a number from 0 to 100; ignored."),
        ui.as_text("Link value v='99' is not one of the model versions (1); ignored."),
    ]


def test_the_suggested_cutoff_button_moves_the_sliders_to_the_capacity_cutoff(app_env: Path) -> None:
    at = open_page(PAGE)
    with store.opened(app_env) as db:
        version = store.latest_model_version(db)
        assert version is not None
        rules, half_life = store.rules(db, version), store.half_life(db, version)
        leads = store.leads(db)
    # The page's grid scores each lead as it stood when its outcome was decided (the back-test).
    grid = cutoffs.cutoff_grid(scoring.score_leads(leads, rules, half_life, scoring.decided_on()))
    expected = points.capacity_cutoff(grid, 4, 10)
    assert expected is not None
    assert any(f"Suggested cutoff F {expected[0]}, I {expected[1]}" in c.value for c in at.caption)

    at.button(key="mql_use_suggested").click().run()

    assert not at.exception, at.exception
    assert (
        at.slider(key="mql_fit_cutoff").value,
        at.slider(key="mql_interest_cutoff").value,
    ) == expected


def test_suggested_points_sit_beside_the_current_ones_and_save_as_a_signed_new_version(
    app_env: Path,
) -> None:
    at = open_page(PAGE)
    # Nothing is learned until the box is opened: a first open of the page does not wait for it.
    assert not [d for d in at.dataframe if "suggested" in d.value.columns]
    at.session_state["mql_points_open"] = True
    at.run()
    with store.opened(app_env) as db:
        before = store.latest_model_version(db)
        assert before is not None
        current = store.rules(db, before)
    table = next(d.value for d in at.dataframe if "suggested" in d.value.columns)
    assert table["current"].tolist() == [r.points for r in current]
    compared = next(d.value for d in at.dataframe if "auc" in d.value.columns)
    assert compared["model"].tolist() == ["Current", "Current", "Suggested", "Suggested"]

    at.session_state["who"] = "Ana"
    at.button(key="mql_points_save").click().run()

    assert not at.exception, at.exception
    with store.opened(app_env) as db:
        assert store.latest_model_version(db) == before + 1
        saved = store.rules(db, before + 1)
        model = store.model_versions(db).row(0, named=True)
    assert [r.points for r in saved] == table["suggested"].tolist()
    assert [(r.axis, r.field, r.label) for r in saved] == [(r.axis, r.field, r.label) for r in current]
    assert model["created_by"] == "Ana"
    assert model["note"].startswith("Suggested points: logistic regression")
