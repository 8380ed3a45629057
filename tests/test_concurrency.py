"""Two or three people on one store at once: no save is silently lost, each sees the others'.

Each session is its own connection (as each Streamlit rerun opens one); the AppTest cases run two
app sessions on one store file, as two browsers in a meeting would.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from funnel import store
from funnel.models import Rule, Stage
from tests.conftest import APP

STAGES = [Stage("Demo", 30.0), Stage("Proposal", 60.0), Stage("Won", 100.0, "won")]
RULES = [Rule("fit", "company_size", "at_least", 50.0, 20.0, "50+ staff")]


def _with_probability(stages: list[Stage], index: int, probability: float) -> list[Stage]:
    s = stages[index]
    return [
        *stages[:index],
        Stage(s.name, probability, s.kind, s.rot_days, s.id),
        *stages[index + 1 :],
    ]


def test_stale_pipeline_save_is_refused_and_the_first_save_survives(db_path: Path) -> None:
    with store.opened(db_path) as setup:
        pipeline = store.create_pipeline(setup, "Direct sales", STAGES)
    with store.opened(db_path) as anna, store.opened(db_path) as ben:
        anna_opened = store.pipeline_version(anna, pipeline)
        ben_opened = store.pipeline_version(ben, pipeline)
        stages = store.stage_list(anna, pipeline)
        store.save_stages(anna, pipeline, _with_probability(stages, 0, 40.0), anna_opened, who="Anna")
        with pytest.raises(
            store.StaleVersionError,
            match=r"'Direct sales' was changed by someone else .* Reload to see their change",
        ):
            store.save_stages(ben, pipeline, _with_probability(stages, 1, 70.0), ben_opened, who="Ben")
        assert [s.probability for s in store.stage_list(ben, pipeline)] == [40.0, 60.0, 100.0]
        assert store.audit_log(ben)["who"].to_list() == ["Anna", "anonymous"]


def test_stale_model_save_is_refused_and_names_the_version_to_reload(db_path: Path) -> None:
    with store.opened(db_path) as setup:
        store.save_model(setup, RULES, 0.0, based_on=None)
    anna_rules = [Rule("fit", "company_size", "at_least", 100.0, 25.0, "100+ staff")]
    ben_rules = [Rule("interest", "page_views", "at_least", 10.0, 15.0, "10+ pages")]
    with store.opened(db_path) as anna, store.opened(db_path) as ben:
        assert store.save_model(anna, anna_rules, 14.0, based_on=1, who="Anna") == 2
        with pytest.raises(store.StaleVersionError, match="Reload version 2, then reapply"):
            store.save_model(ben, ben_rules, 14.0, based_on=1, who="Ben")
        assert store.latest_model_version(ben) == 2
        assert store.rules(ben, 2) == anna_rules


def test_decisions_and_scenarios_from_two_sessions_are_both_kept(db_path: Path) -> None:
    with store.opened(db_path) as setup:
        store.save_model(setup, RULES, 0.0, based_on=None)
    with store.opened(db_path) as anna, store.opened(db_path) as ben:
        store.record_decision(anna, 60, 50, 1, "2026-11-23", "Anna, Ben", "first take", who="Anna")
        store.record_decision(ben, 65, 45, 1, "2026-11-23", "Anna, Ben", "after the debate", who="Ben")
        store.save_scenario(anna, "Q1 push", {"leads": 1200.0}, who="Anna")
        store.save_scenario(ben, "Q1 push", {"leads": 1500.0}, who="Ben")
        decisions = store.decisions(anna)
        scenarios = store.scenarios(anna)
    assert decisions.select("fit_cutoff", "interest_cutoff", "note").rows() == [
        (65.0, 45.0, "after the debate"),
        (60.0, 50.0, "first take"),
    ]
    assert scenarios.select("name", "params", "created_by").rows() == [
        ("Q1 push (2)", '{"leads": 1500.0}', "Ben"),  # numbered: never two alike in a list
        ("Q1 push", '{"leads": 1200.0}', "Anna"),
    ]


def test_simultaneous_writers_wait_for_each_other_and_every_write_lands(db_path: Path) -> None:
    with store.opened(db_path) as setup:
        store.save_model(setup, RULES, 0.0, based_on=None)
        start = store.revision(setup)
    errors: list[BaseException] = []

    def record(who: str) -> None:
        try:
            with store.opened(db_path) as db:
                for i in range(25):
                    store.record_decision(db, 50 + i % 10, 50, 1, "2026-11-23", who, who=who)
        except BaseException as e:  # collected so the main thread can fail with it
            errors.append(e)

    threads = [threading.Thread(target=record, args=(name,)) for name in ("Anna", "Ben", "Carl")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with store.opened(db_path) as db:
        assert store.decisions(db)["agreed_by"].value_counts().sort("agreed_by").rows() == [
            ("Anna", 25),
            ("Ben", 25),
            ("Carl", 25),
        ]
        assert store.revision(db) == start + 75


def _stages_page(who: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["who"] = who
    at.run()
    at.switch_page("pages/stages.py").run()
    assert not at.exception, at.exception
    return at


def _weighted(at: AppTest) -> str:
    return next(m.value for m in at.metric if m.label == "Weighted pipeline")


def test_a_save_in_one_app_session_is_seen_on_the_others_next_run(app_env: Path) -> None:
    anna, ben = _stages_page("Anna"), _stages_page("Ben")
    before = _weighted(ben)
    anna.button(key="stages_adopt_all").click().run()
    assert not anna.exception, anna.exception
    after = _weighted(anna)
    assert after != before
    ben.run()
    assert _weighted(ben) == after
    assert any("Someone else saved this pipeline" in w.value for w in ben.warning)


def test_an_edit_typed_before_anothers_save_stays_on_the_version_it_was_typed_on(
    app_env: Path,
) -> None:
    anna, ben = _stages_page("Anna"), _stages_page("Ben")
    editor = f"stages_editor_1_{ben.session_state['stages_base_1']}"
    opened = next(d.value for d in ben.dataframe if "probability" in d.value.columns)
    ben.session_state[editor] = {
        "edited_rows": {0: {"probability": 12.0}},
        "added_rows": [],
        "deleted_rows": [],
    }
    ben.run()
    anna.button(key="stages_adopt_all").click().run()  # Anna saves: the stages move on
    assert not anna.exception, anna.exception
    with store.opened(app_env) as db:
        saved = [s.probability for s in store.stage_list(db, 1)]
    assert saved != opened["probability"].to_list()
    ben.run()
    assert not ben.exception, ben.exception
    # Ben's grid still holds the version he typed on (new data would make the browser drop his
    # 12), his edit is still there, and the page says what happened and what a save will do.
    shown = next(d.value for d in ben.dataframe if "probability" in d.value.columns)
    assert shown["probability"].to_list() == opened["probability"].to_list()
    assert ben.session_state[editor]["edited_rows"] == {0: {"probability": 12.0}}
    warning = next(w.value for w in ben.warning if "Someone else saved this pipeline" in w.value)
    assert "Your edits stay in the table" in warning and "refused until you reload" in warning
    ben.button(key="stages_save").click().run()
    assert any("changed by someone else" in e.value for e in ben.error), ben.error
    with store.opened(app_env) as db:
        assert [s.probability for s in store.stage_list(db, 1)] == saved


def test_a_stale_save_from_the_page_is_refused_with_the_reload_advice(app_env: Path) -> None:
    anna, ben = _stages_page("Anna"), _stages_page("Ben")
    anna.button(key="stages_adopt_all").click().run()
    with store.opened(app_env) as db:
        version = store.pipeline_version(db, 1)
    ben.button(key="stages_adopt_all").click().run()
    assert any("changed by someone else" in e.value for e in ben.error), ben.error
    with store.opened(app_env) as db:
        assert store.pipeline_version(db, 1) == version
        assert store.audit_log(db)["who"][0] == "Anna"
