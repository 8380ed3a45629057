"""The Stages & probabilities page driven through AppTest, checked against the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import ui
from funnel import stage_moves, stages, store
from funnel.models import STAGE_KINDS
from funnel.views import stages as stages_view
from tests.conftest import APP, DEMO_TODAY, open_page

pytestmark = pytest.mark.dates

PIPELINE_ID = 1  # the demo's first pipeline, Traditional B2B; its first stage is Prospecting


PAGE = "pages/stages.py"


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def set_editor(
    at: AppTest,
    edited: dict[int, dict[str, object]] | None = None,
    added: list[dict[str, object]] | None = None,
    deleted: list[int] | None = None,
) -> None:
    """Edit the stage table as the grid reports edits (AppTest cannot type into it)."""
    at.session_state[at.data_editor[0].key] = {
        "edited_rows": edited or {},
        "added_rows": added or [],
        "deleted_rows": deleted or [],
    }
    at.run()
    assert not at.exception, at.exception


def edit_first_stage(at: AppTest, probability: float) -> None:
    set_editor(at, edited={0: {"probability": probability}})


def shown(selectbox: Any) -> str:
    """The label a selectbox shows for its current choice."""
    return str(selectbox.options[selectbox.index])


def test_saving_a_new_probability_changes_the_weighted_pipeline(app_env: Path) -> None:
    at = open_page(PAGE)
    before = metric(at, "Weighted pipeline")

    edit_first_stage(at, 90)
    at.button(key="stages_save").click().run()

    assert not at.exception, at.exception
    with store.opened(app_env) as db:
        assert store.stage_list(db, PIPELINE_ID)[0].probability == 90
        expected = stages.weighted_pipeline(store.deals(db, PIPELINE_ID))
    assert metric(at, "Weighted pipeline") == f"${expected:,.0f}"
    assert metric(at, "Weighted pipeline") != before


def test_a_probability_of_150_is_refused_and_nothing_is_saved(app_env: Path) -> None:
    at = open_page(PAGE)
    with store.opened(app_env) as db:
        saved_before = store.stage_list(db, PIPELINE_ID)

    edit_first_stage(at, 150)

    errors = [e.value for e in at.error]
    assert ui.as_text("Row 1 (Prospecting): probability 150 is outside 0 to 100.") in errors
    assert not [b for b in at.button if b.key == "stages_save"]
    with store.opened(app_env) as db:
        assert store.stage_list(db, PIPELINE_ID) == saved_before


def test_the_probability_column_passes_what_was_typed_to_the_validator() -> None:
    # A min, max or step on the grid's column makes the browser change the typed value before
    # the page sees it (150 -> 100, -5 -> 5, 12.5 -> 100): the validator's message never shows.
    column = stages_view.EDITOR_COLUMNS["probability"]
    assert isinstance(column, dict)
    assert not {"min_value", "max_value", "step"} & set(column)


def test_the_history_table_speaks_a_sales_leaders_words(app_env: Path) -> None:
    at = open_page(PAGE)
    labels = {
        name: spec["label"] if isinstance(spec, dict) else spec
        for name, spec in stages_view.TABLE_COLUMNS.items()
        if spec is not None
    }
    assert labels["n"] == "Closed deals measured"
    assert (labels["empirical"], labels["smoothed"]) == ("Won from history %", "Suggested %")
    shown = " ".join(str(label) for label in labels.values())
    assert not {"n", "Empirical", "Smoothed", "Rotting"} & set(shown.replace("%", " ").split())
    counts = ("deals", "n", "stays")
    assert all(stages_view.TABLE_COLUMNS[c]["format"] == "localized" for c in counts)  # type: ignore[index]
    caption = stages_view.smoothing_caption()
    assert "Empirical" not in caption and "Smoothed" not in caption
    assert [b.label for b in at.button if b.key == "stages_adopt"] == ["Adopt suggested"]


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (-5, "probability -5 is outside 0 to 100."),
        (12.5, "probability 12.5 is not a whole percent; enter a whole number from 0 to 100."),
    ],
)
def test_a_probability_typo_is_refused_beside_the_table_and_nothing_is_saved(
    app_env: Path, typed: float, message: str
) -> None:
    at = open_page(PAGE)
    with store.opened(app_env) as db:
        saved_before = store.stage_list(db, PIPELINE_ID)
    edit_first_stage(at, typed)
    assert ui.as_text(f"Row 1 (Prospecting): {message}") in [e.value for e in at.error]
    assert "Nothing is saved until these are fixed." in [c.value for c in at.caption]
    assert not [b for b in at.button if b.key == "stages_save"]
    with store.opened(app_env) as db:
        assert store.stage_list(db, PIPELINE_ID) == saved_before


def test_deleting_a_stage_that_holds_deals_moves_them_where_the_user_says(app_env: Path) -> None:
    with store.opened(app_env) as db:
        first, second = store.stage_list(db, PIPELINE_ID)[:2]
        held = store.deals(db, PIPELINE_ID).filter(pl.col("stage_id") == first.id)["id"].to_list()
    assert held, "the demo's first stage should hold deals"
    at = open_page(PAGE)

    set_editor(at, deleted=[0])
    at.selectbox(key=f"stages_reassign_{first.id}").set_value(second.name).run()
    at.button(key="stages_save").click().run()

    assert not at.exception, at.exception
    with store.opened(app_env) as db:
        assert store.stage_list(db, PIPELINE_ID)[0].name == second.name
        deals = store.deals(db, PIPELINE_ID).filter(pl.col("id").is_in(held))
        last_moves = (
            store.stage_history(db, PIPELINE_ID)
            .filter(pl.col("deal_id").is_in(held))
            .group_by("deal_id")
            .agg(pl.col("from_stage_id", "to_stage_id").last())
        )
    assert deals["stage_id"].to_list() == [second.id] * len(held)
    assert last_moves.select("from_stage_id", "to_stage_id").unique().rows() == [(first.id, second.id)]


def test_an_added_stage_is_saved_in_the_position_given(app_env: Path) -> None:
    at = open_page(PAGE)
    set_editor(
        at, added=[{"position": 1.5, "name": "Discovery call", "probability": 15, "kind": "open"}]
    )
    at.button(key="stages_save").click().run()

    with store.opened(app_env) as db:
        names = [s.name for s in store.stage_list(db, PIPELINE_ID)]
    assert names[:3] == ["Prospecting", "Discovery call", "Lead qualification"]


def test_adopt_all_saves_the_smoothed_history_probabilities(app_env: Path) -> None:
    with store.opened(app_env) as db:
        learned = stage_moves.history_probability(
            store.deals(db, PIPELINE_ID),
            store.stages(db, PIPELINE_ID),
            store.stage_history(db, PIPELINE_ID),
        )
    at = open_page(PAGE)

    at.button(key="stages_adopt_all").click().run()

    assert not at.exception, at.exception
    with store.opened(app_env) as db:
        saved = [s.probability for s in store.stage_list(db, PIPELINE_ID)]
    assert saved == [float(round(p)) for p in learned["smoothed"]]


def test_a_save_based_on_a_stale_version_is_refused_with_a_reload_message(app_env: Path) -> None:
    at = open_page(PAGE)
    set_editor(at, edited={0: {"probability": 12}})
    with store.opened(app_env) as db:  # another session renames the pipeline meanwhile
        store.rename_pipeline(db, PIPELINE_ID, "B2B (renamed)", None, "someone else")

    at.button(key="stages_save").click().run()

    assert any("Reload" in e.value for e in at.error)
    with store.opened(app_env) as db:
        assert store.stage_list(db, PIPELINE_ID)[0].probability == 10


def test_a_store_problem_reads_as_a_sentence_not_a_traceback(app_env: Path) -> None:
    with store.opened(app_env) as db:
        row = db.execute(
            "SELECT min(h.id) FROM stage_history h JOIN deals d ON d.id = h.deal_id"
            " WHERE d.pipeline_id = ?",
            [PIPELINE_ID],
        ).fetchone()[0]
        with store.write(db):
            db.conn.execute("UPDATE stage_history SET at = 'last Tuesday' WHERE id = ?", [row])
    at = AppTest.from_file(APP, default_timeout=60).run()  # the app opens on this page
    assert not at.exception
    said = [e.value.replace("\\", "") for e in at.error]  # shown as Markdown, escaped
    assert any(f"(history row {row}): 'last Tuesday'" in line for line in said), said


def test_deals_with_their_own_probability_are_listed_and_can_be_cleared(app_env: Path) -> None:
    with store.opened(app_env) as db:
        deals = store.deals(db, PIPELINE_ID)
    own = deals.filter((pl.col("stage_kind") == "open") & pl.col("probability").is_not_null())
    assert own.height, "the demo's first pipeline should hold deals with their own probability"
    at = open_page(PAGE)
    listed = next(d.value for d in at.dataframe if "own_probability" in d.value.columns)
    assert sorted(listed["id"].to_list()) == sorted(own["id"].to_list())
    per_stage = next(d.value for d in at.dataframe if "own_probability_deals" in d.value.columns)
    assert per_stage["own_probability_deals"].sum() == own.height
    assert any(f"except for {own.height:,} open deals" in c.value for c in at.caption)

    first = int(own.sort("stage_position", "id")["id"][0])
    at.multiselect(key="stages_clear_own").set_value([first]).run()
    at.button(key="stages_clear_own_some").click().run()
    assert not at.exception, at.exception
    with store.opened(app_env) as db:
        after = store.deals(db, PIPELINE_ID)
        log = store.audit_log(db)
    cleared = after.filter(pl.col("id") == first)
    assert cleared["probability"].item() is None
    assert (
        after.filter(pl.col("probability").is_not_null()).height
        == deals.filter(pl.col("probability").is_not_null()).height - 1
    )
    # Now weighted by its stage's probability, which the page's figure follows.
    assert metric(at, "Weighted pipeline") == f"${stages.weighted_pipeline(after):,.0f}"
    assert log["action"][0] == "clear_probability"


def test_moving_a_deal_records_the_move(app_env: Path) -> None:
    at = open_page(PAGE)
    deal_id = at.selectbox(key="stages_move_deal").value
    with store.opened(app_env) as db:
        target = store.stage_list(db, PIPELINE_ID)[0]
    at.selectbox(key="stages_move_to").set_value(target.id)
    at.button(key="stages_move").click().run()

    assert not at.exception, at.exception
    with store.opened(app_env) as db:
        history = store.stage_history(db, PIPELINE_ID)
        deals, stage_rows = store.deals(db, PIPELINE_ID), store.stages(db, PIPELINE_ID)
    last = history.filter(pl.col("deal_id") == deal_id).tail(1)
    assert last["to_stage_id"].item() == target.id
    # Moved today: 0 days in its new stage, so not stalled whatever the stage's limit.
    assert last["at"].item().date() == DEMO_TODAY
    stalled = stage_moves.stalled_deals(deals, stage_rows, history, DEMO_TODAY)
    assert deal_id not in stalled["id"].to_list()


def test_a_quarter_shows_that_quarters_figures(app_env: Path) -> None:
    at = open_page(PAGE)
    quarter = next(p for p in at.selectbox(key="stages_period").options if " Q" in p)
    at.selectbox(key="stages_period").set_value(quarter).run()

    with store.opened(app_env) as db:
        deals = stages.in_period(store.deals(db, PIPELINE_ID), quarter)
    assert metric(at, "Closed won") == f"${stages.closed_won(deals):,.0f}"
    assert metric(at, "Weighted pipeline") == f"${stages.weighted_pipeline(deals):,.0f}"
    assert at.query_params["period"] == quarter


def test_a_pipeline_created_from_a_template_opens_with_its_stages(app_env: Path) -> None:
    at = open_page(PAGE)
    at.selectbox(key="stages_new_template").set_value("Startup")
    at.text_input(key="stages_new_name").input("EMEA startups")
    at.button(key="stages_create").click().run()

    assert not at.exception, at.exception
    assert shown(at.selectbox(key="stages_pipeline")) == "EMEA startups"
    assert at.data_editor[0].value["name"].tolist()[0] == "Cold prospect"


def test_deleting_a_pipeline_that_holds_deals_is_refused(app_env: Path) -> None:
    at = open_page(PAGE)
    at.button(key="stages_delete").click().run()

    assert any("move them first" in e.value for e in at.error)
    assert not [b for b in at.button if b.key == "stages_delete_confirm"]


def test_an_empty_pipeline_asks_for_a_won_stage_before_anything_is_saved(app_env: Path) -> None:
    at = open_page(PAGE)
    at.selectbox(key="stages_new_template").set_value("Empty (add stages yourself)")
    at.text_input(key="stages_new_name").input("Blank")
    at.button(key="stages_create").click().run()

    assert not at.exception, at.exception
    assert metric(at, "Weighted pipeline") == "$0"
    assert any("No stage is of kind 'won'" in e.value for e in at.error)


def test_renaming_the_pipeline_keeps_the_page_free_of_a_stale_warning(app_env: Path) -> None:
    at = open_page(PAGE)
    at.text_input(key=f"stages_rename_{PIPELINE_ID}").input("Enterprise B2B")
    at.button(key="stages_rename").click().run()

    assert not at.exception, at.exception
    assert shown(at.selectbox(key="stages_pipeline")) == "Enterprise B2B"
    assert not at.warning


def test_a_link_reopens_the_pipeline_and_period_it_names(app_env: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=60)  # a fresh session; the app opens on this page
    at.query_params["pipeline"] = "3"
    last_quarter = f"{DEMO_TODAY.year - (DEMO_TODAY.month <= 3)} Q{(DEMO_TODAY.month - 4) % 12 // 3 + 1}"
    at.query_params["period"] = last_quarter
    at.run()

    assert not at.exception, at.exception
    assert shown(at.selectbox(key="stages_pipeline")) == "Financial services / law firm"
    assert at.selectbox(key="stages_period").value == last_quarter


def test_the_core_column_descriptions_become_streamlit_column_configs() -> None:
    configs = ui.column_config(stages_view.EDITOR_COLUMNS)
    assert configs["kind"] == st.column_config.SelectboxColumn(
        "Kind", options=STAGE_KINDS, required=True
    )
    assert configs["name"] == st.column_config.TextColumn("Stage", required=True)
    table = ui.column_config(stages_view.TABLE_COLUMNS)
    assert table["value"] == st.column_config.NumberColumn("Value ($)", format="localized")
    assert (table["id"], table["stage"]) == (None, "Stage")


def test_save_with_nothing_changed_says_so_and_writes_nothing(app_env: Path) -> None:
    # A value still being typed when Save is clicked has not reached the table yet: the save
    # must not claim "Stages saved", nor log a change that changed nothing.
    at = open_page(PAGE)
    with store.opened(app_env) as db:
        version, changes = store.pipeline_version(db, PIPELINE_ID), store.audit_log(db).height
    at.button(key="stages_save").click().run()

    assert not at.exception, at.exception
    assert any(i.value.startswith("Nothing to save") for i in at.info)
    assert not at.toast
    with store.opened(app_env) as db:
        assert store.pipeline_version(db, PIPELINE_ID) == version
        assert store.audit_log(db).height == changes


def test_a_link_naming_choices_the_page_lacks_opens_anyway_and_says_which(app_env: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["pipeline"] = "9" * 5_000
    at.query_params["period"] = "![x](http://127.0.0.1:9/p.png)"
    at.run()

    assert not at.exception, at.exception
    assert shown(at.selectbox(key="stages_pipeline")) == "Traditional B2B"
    warnings = [w.value for w in at.warning]
    assert warnings[0].startswith(ui.as_text("Link value pipeline='999"))
    assert warnings[0].endswith(
        ui.as_text("… (5,000 characters) is not one of the page's choices; ignored.")
    )
    assert (
        ui.as_text(
            "Link value period='![x](http://127.0.0.1:9/p.png)' is not one of the page's choices; "
            "ignored."
        )
        in warnings
    )


def test_a_stage_or_pipeline_name_in_a_prompt_is_shown_as_typed(app_env: Path) -> None:
    hostile = "![x](http://127.0.0.1:9/p.png) [sign in](http://evil.example)"
    with store.opened(app_env) as db:
        store.rename_pipeline(db, PIPELINE_ID, hostile, None)
        held = stages_view.pipeline_row(store.pipelines(db), PIPELINE_ID)["deals"]
    at = open_page(PAGE)
    at.button(key="stages_delete").click().run()

    assert held > 0
    assert [e.value for e in at.error] == [ui.as_text(stages_view.delete_refusal(hostile, held))]
    assert "](" not in at.error[0].value  # every bracket escaped: no image, no link


def test_history_probabilities_show_their_wilson_interval_and_the_calibration_check(
    app_env: Path,
) -> None:
    at = open_page(PAGE)
    learned = next(d.value for d in at.dataframe if "low" in d.value.columns)
    with store.opened(app_env) as db:
        deals = store.deals(db, PIPELINE_ID)
    first = learned.iloc[0]
    # Independently, the Wilson bounds of the first stage from its own n and won.
    z = 1.6448536269514722
    n, p = first["n"], first["won"] / first["n"]
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * (p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5
    assert first["low"] == pytest.approx((centre - half) * 100)
    assert first["high"] == pytest.approx((centre + half) * 100)

    closed = deals.filter(pl.col("stage_kind").is_in(["won", "lost"])).sort("closed_at")
    split = closed["closed_at"][closed.height // 2]
    assert at.date_input(key="stages_split").value == split
    sentence = next(m.value for m in at.markdown if "Brier score" in m.value)
    checked = closed.filter(pl.col("closed_at") >= split).height
    assert f"of the {checked:,} deals closed on or after {split:%d %b %Y}" in sentence
    groups = next(d.value for d in at.dataframe if "observed" in d.value.columns)
    assert set(groups["set"]) == {"Manual", "History"}
