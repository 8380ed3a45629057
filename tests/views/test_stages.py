"""The stages page as plain data: link choices, editor keys and versions, labels."""

from __future__ import annotations

from typing import Any

import polars as pl

from funnel import stage_moves
from funnel.models import Stage
from funnel.views import stages as stages_view
from tests.test_stage_moves import IMPORTED, IMPORTED_HISTORY
from tests.test_stages import PIPELINE, deal, deals_frame


def test_without_history_no_open_stage_claims_a_rate_and_the_overall_win_rate_is_given() -> None:
    result = stage_moves.history_probability(IMPORTED, PIPELINE, IMPORTED_HISTORY, pseudo_deals=0)
    # Counting the won deals alone would read 100 % on every open stage.
    assert result["n"].to_list() == [0] * 5
    assert result["empirical"].null_count() == 5
    assert stages_view.measured_labels(result) == {}
    coverage = stage_moves.history_coverage(IMPORTED, IMPORTED_HISTORY)
    assert (coverage.closed, coverage.won, coverage.with_history) == (5, 3, 0)
    assert coverage.line().startswith(
        "Overall win rate 60.0% (3 won of 5 closed deals). No closed deal has stage history"
    )
    assert "not measurable" in coverage.line()


def test_pick_from_link_keeps_current_else_link_else_first() -> None:
    assert stages_view.pick_from_link(2, [1, 2], "1") is None
    assert stages_view.pick_from_link(None, [1, 2], "2") == 2
    assert stages_view.pick_from_link(None, [1, 2], "x") == 1
    assert stages_view.pick_from_link(None, [], "1") is None


def test_open_deal_labels_and_unsaved_edits() -> None:
    deals = pl.DataFrame(
        {"id": [1, 2], "name": [None, "A"], "stage": ["Lead", "Won"], "stage_kind": ["open", "won"]}
    )
    assert stages_view.open_deal_labels(deals) == {1: "(no name) · Lead"}
    assert stages_view.labels(deals, "id", "stage") == {1: "Lead", 2: "Won"}
    assert not stages_view.has_unsaved_edits({"edited_rows": {}, "added_rows": []})
    assert stages_view.has_unsaved_edits({"deleted_rows": [0]})


def test_deals_with_their_own_probability_are_named_or_numbered() -> None:
    own = pl.DataFrame({"id": [7, 8, 9], "name": ["Acme renewal", None, ""]})
    assert stages_view.own_probability_labels(own) == {7: "Acme renewal", 8: "Deal 8", 9: "Deal 9"}


def test_reassign_prompts_ask_where_a_removed_stages_deals_go() -> None:
    deals = deals_frame([deal(1, 2), deal(2, 2), deal(3, 3)])
    kept = [Stage("Qualify", 20, id=1), Stage("Won", 100, "won", id=4)]
    assert stages_view.reassign_prompts(PIPELINE, kept, deals) == {
        2: "'Demo' holds 2 deals: move them to",
        3: "'Proposal' holds 1 deals: move them to",
    }


def test_pipeline_row_templates_and_messages() -> None:
    pipelines = pl.DataFrame({"id": [1, 2], "name": ["A", "B"], "version": [3, 7], "deals": [0, 1200]})
    assert stages_view.pipeline_row(pipelines, 2) == {"id": 2, "name": "B", "version": 7, "deals": 1200}
    assert stages_view.template_choices()[-1] == stages_view.EMPTY_TEMPLATE
    assert stages_view.template_stages(stages_view.EMPTY_TEMPLATE) == ()
    assert stages_view.template_stages("Traditional B2B")[0].name == "Prospecting"
    assert stages_view.delete_refusal("B", 1200) == (
        "'B' still holds 1,200 deals, so it cannot be deleted: move them first."
    )
    assert "'A'" in stages_view.delete_question("A")
    assert stages_view.stalled_caption(1234).startswith("1,234 open deals stalled")


def test_session_bookkeeping_after_a_write_and_a_creation() -> None:
    state: dict[str, Any] = {"stages_base_1": 4, "stages_base_2": 9}
    stages_view.restart_editor(state, 1)
    assert state == {"stages_base_2": 9}
    assert stages_view.editor_key(2, 9) == "stages_editor_2_9"

    state = {stages_view.CREATED_KEY: 5, "pipeline": 1}
    stages_view.follow_created(state, "pipeline")
    assert state == {"pipeline": 5}
    stages_view.follow_created(state, "pipeline")
    assert state == {"pipeline": 5}


def test_start_from_link_opens_on_the_linked_choice_once() -> None:
    state: dict[str, Any] = {}
    stages_view.start_from_link(state, {"pipeline": "2"}, "choice", [1, 2, 3], "pipeline")
    assert state == {"choice": 2}
    stages_view.start_from_link(state, {"pipeline": "3"}, "choice", [1, 2, 3], "pipeline")
    assert state == {"choice": 2}  # the choice made stands
    stages_view.start_from_link(state, {}, "choice", [1, 3], "pipeline")
    assert state == {"choice": 1}  # no longer offered, no link: the first option


def test_column_descriptions_name_known_kinds_and_the_editor_order() -> None:
    described = [*stages_view.TABLE_COLUMNS.values(), *stages_view.EDITOR_COLUMNS.values()]
    kinds = {c["kind"] for c in described if isinstance(c, dict)}
    assert kinds == {"number", "text", "select"}
    assert list(stages_view.EDITOR_COLUMNS) == ["position", "name", "probability", "kind", "rot_days"]
