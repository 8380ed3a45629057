"""The History page: the trail as a meeting reads it, filters, and undo through a confirmation."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from funnel import store
from funnel.models import Stage
from tests.conftest import APP, open_page

PAGE = "pages/history.py"


def _raise_first_stage(path: Path, to: float, who: str) -> tuple[int, list[Stage]]:
    """Another session's save: the first pipeline's first stage gets a new probability."""
    with store.opened(path) as db:
        pipeline = int(store.pipelines(db)["id"][0])
        stages = store.stage_list(db, pipeline)
        first = stages[0]
        edited = [Stage(first.name, to, first.kind, first.rot_days, first.id), *stages[1:]]
        store.save_stages(db, pipeline, edited, store.pipeline_version(db, pipeline), who=who)
    return pipeline, stages


def test_history_lists_a_probability_change_in_words(app_env: Path) -> None:
    _, stages = _raise_first_stage(app_env, 55.0, "Ben")
    at = open_page(PAGE)
    table = at.dataframe[0].value
    assert len(table) == 7  # 5 demo pipelines + the demo model + Ben's save
    newest = table.iloc[0]
    assert (newest["who"], newest["action"]) == ("Ben", "save")
    assert newest["what"] == f"'{stages[0].name}' {stages[0].probability:g} % -> 55 %"


def test_filter_by_what_and_who_narrows_the_table_and_the_export(app_env: Path) -> None:
    _raise_first_stage(app_env, 55.0, "Ben")
    at = open_page(PAGE)
    at.multiselect(key="history_entities").set_value(["stages"]).run()
    assert at.dataframe[0].value["who"].tolist() == ["Ben"]
    at.multiselect(key="history_entities").set_value([]).run()
    at.multiselect(key="history_who").set_value(["demo"]).run()
    assert len(at.dataframe[0].value) == 6
    assert not at.exception


def test_undo_on_the_page_restores_the_stages_signed_by_the_sidebar_name(app_env: Path) -> None:
    pipeline, stages = _raise_first_stage(app_env, 55.0, "Ben")
    at = open_page(PAGE, who="Anna")
    at.selectbox(key="history_undo_target").set_value(("pipeline", pipeline)).run()
    at.button(key="history_undo").click().run()
    at.button(key="history_undo_confirm").click().run()
    assert not at.exception, at.exception
    with store.opened(app_env) as db:
        assert store.stage_list(db, pipeline) == stages
        newest = store.audit_log(db).row(0, named=True)
    assert (newest["who"], newest["entity"], newest["action"]) == ("Anna", "stages", "undo")
    assert at.dataframe[0].value.iloc[0]["action"] == "undo"
    assert [t.value for t in at.toast] == [
        f"Change #{newest['id'] - 1} undone; the undo is listed above."
    ]


def test_undo_refused_when_someone_saved_after_the_dialog_opened(app_env: Path) -> None:
    pipeline, _ = _raise_first_stage(app_env, 55.0, "Ben")
    at = open_page(PAGE, who="Anna")
    at.selectbox(key="history_undo_target").set_value(("pipeline", pipeline)).run()
    at.button(key="history_undo").click().run()
    _raise_first_stage(app_env, 70.0, "Carl")
    at.button(key="history_undo_confirm").click().run()
    assert any("changed again" in e.value and "Carl" in e.value for e in at.error), at.error
    with store.opened(app_env) as db:
        assert store.stage_list(db, pipeline)[0].probability == 70.0


def test_a_link_with_filters_reopens_the_filtered_list(app_env: Path) -> None:
    _raise_first_stage(app_env, 55.0, "Ben")
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(PAGE)
    at.query_params["what"] = ["stages", "scoring_model"]
    at.query_params["who"] = "Ben"
    at.run()
    assert not at.exception, at.exception
    assert at.multiselect(key="history_entities").value == ["stages", "scoring_model"]
    assert at.dataframe[0].value["who"].tolist() == ["Ben"]
    at.multiselect(key="history_who").set_value([]).run()
    assert len(at.dataframe[0].value) == 2
    assert "who" not in at.query_params
