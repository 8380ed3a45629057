"""The Stages & probabilities page driven through AppTest, checked against the store."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from funnel import stages, store
from tests.conftest import APP

PIPELINE_ID = 1  # the demo's first pipeline, Traditional B2B; its first stage is Prospecting


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("pages/stages.py").run()
    assert not at.exception, at.exception
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def edit_first_stage(at: AppTest, probability: float) -> None:
    """Type a probability into the editor's first row, as the grid would report it."""
    key = at.data_editor[0].key
    at.session_state[key] = {
        "edited_rows": {0: {"probability": probability}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert not at.exception, at.exception


def test_saving_a_new_probability_changes_the_weighted_pipeline(app_env: Path) -> None:
    at = open_page()
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
    at = open_page()
    with store.opened(app_env) as db:
        saved_before = store.stage_list(db, PIPELINE_ID)

    edit_first_stage(at, 150)

    errors = [e.value for e in at.error]
    assert "Row 1 (Prospecting): probability 150 is outside 0 to 100." in errors
    assert not [b for b in at.button if b.key == "stages_save"]
    with store.opened(app_env) as db:
        assert store.stage_list(db, PIPELINE_ID) == saved_before
