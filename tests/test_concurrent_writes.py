"""Every write that replaces something is checked against what its user saw: of N sessions
writing from the same view at the same moment, one is saved and N - 1 are refused with the
Reload advice; none is saved and then lost (issue 19 §1).

The store tests start N threads (each its own connection, as each Streamlit rerun opens one)
behind a barrier, all based on the same version; the page tests open N AppTest sessions on one
store before any of them saves, as N browsers in a meeting would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from sqlite_utils import Database
from streamlit.testing.v1 import AppTest

from funnel import exports, store
from funnel.models import Rule, Stage
from tests.conftest import APP

PIPELINE = 1  # the demo's Traditional B2B
Write = Callable[[Database, int], None]


def _race(path: Path, n: int, write: Write) -> tuple[list[int], list[str]]:
    """Run `write(db, i)` for i in 0..n-1 on n threads released at once; the ones saved, and
    the refusals' messages (any other error fails the test)."""
    barrier = threading.Barrier(n)
    saved: list[int] = []
    refused: list[str] = []
    failed: list[BaseException] = []

    def run(i: int) -> None:
        with store.opened(path) as db:
            barrier.wait()
            try:
                write(db, i)
                saved.append(i)
            except store.StoreError as e:
                refused.append(str(e))
            except BaseException as e:  # collected so the main thread fails with it
                failed.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failed == []
    assert len(saved) + len(refused) == n
    return saved, refused


def _audit(path: Path, entity: str, action: str) -> pl.DataFrame:
    with store.opened(path) as db:
        log = store.audit_log(db)
    return log.filter((pl.col("entity") == entity) & (pl.col("action") == action))


@pytest.mark.parametrize("n", [2, 5])
def test_renames_from_one_view_save_one_and_refuse_the_rest(demo_path: Path, n: int) -> None:
    with store.opened(demo_path) as db:
        seen = store.pipeline_version(db, PIPELINE)
    saved, refused = _race(
        demo_path, n, lambda db, i: store.rename_pipeline(db, PIPELINE, f"Name {i}", seen, f"s{i}")
    )
    assert len(saved) == 1 and len(refused) == n - 1
    assert all("changed by someone else" in r and "Reload" in r for r in refused)
    with store.opened(demo_path) as db:
        names = dict(store.pipelines(db).select("id", "name").iter_rows())
    assert names[PIPELINE] == f"Name {saved[0]}"
    assert _audit(demo_path, "pipeline", "rename")["who"].to_list() == [f"s{saved[0]}"]


@pytest.mark.parametrize("n", [2, 5])
def test_stage_saves_from_one_view_save_one_and_refuse_the_rest(demo_path: Path, n: int) -> None:
    with store.opened(demo_path) as db:
        seen = store.pipeline_version(db, PIPELINE)
        first, *rest = store.stage_list(db, PIPELINE)

    def save(db: Database, i: int) -> None:
        edited = [Stage(first.name, 20.0 + i, first.kind, first.rot_days, first.id), *rest]
        store.save_stages(db, PIPELINE, edited, seen, who=f"s{i}")

    saved, refused = _race(demo_path, n, save)
    assert len(saved) == 1 and len(refused) == n - 1
    with store.opened(demo_path) as db:
        assert store.stage_list(db, PIPELINE)[0].probability == 20.0 + saved[0]


@pytest.mark.parametrize("n", [2, 5])
def test_deleting_a_pipeline_changed_since_it_was_seen_is_refused(demo_path: Path, n: int) -> None:
    with store.opened(demo_path) as db:
        empty = store.create_pipeline(db, "Spare", [Stage("Open", 10.0), Stage("Won", 100.0, "won")])
        seen = store.pipeline_version(db, empty)

    def rename_or_delete(db: Database, i: int) -> None:
        if i == 0:
            store.rename_pipeline(db, empty, "Spare (kept)", seen, "s0")
        else:
            store.delete_pipeline(db, empty, f"s{i}", seen)

    saved, refused = _race(demo_path, n, rename_or_delete)
    assert len(saved) == 1 and len(refused) == n - 1
    with store.opened(demo_path) as db:
        names = set(store.pipelines(db)["name"])
    # Whichever came first stands: the rename (every delete is then refused) or one delete.
    assert ("Spare (kept)" in names) == (saved == [0])
    assert all("someone else" in r or "another session deleted it" in r for r in refused)


@pytest.mark.parametrize("n", [2, 5])
def test_moves_of_one_deal_from_one_view_save_one_and_refuse_the_rest(demo_path: Path, n: int) -> None:
    with store.opened(demo_path) as db:
        deals = store.deals(db, PIPELINE).filter(pl.col("stage_kind") == "open")
        deal, seen = deals.row(0, named=True)["id"], deals.row(0, named=True)["stage_id"]
        targets = [s.id for s in store.stage_list(db, PIPELINE) if s.id != seen][:n]
    saved, refused = _race(
        demo_path,
        n,
        lambda db, i: store.move_deal(db, deal, targets[i], f"s{i}", expected_stage_id=seen),
    )
    assert len(saved) == 1 and len(refused) == n - 1
    assert all("was moved by someone else" in r and "Reload" in r for r in refused)
    with store.opened(demo_path) as db:
        moves = store.stage_history(db, PIPELINE).filter(pl.col("deal_id") == deal)
    assert moves["to_stage_id"][-1] == targets[saved[0]]
    assert moves.filter(pl.col("from_stage_id") == seen).height == 1


@pytest.mark.parametrize("n", [2, 5])
def test_rule_saves_from_one_version_save_one_and_refuse_the_rest(demo_path: Path, n: int) -> None:
    with store.opened(demo_path) as db:
        seen = store.latest_model_version(db)
        assert seen is not None

    def save(db: Database, i: int) -> None:
        rule = Rule("fit", "company_size", "at_least", 50.0, float(i), f"rule {i}")
        store.save_model(db, [rule], 14.0, seen, f"s{i}")

    saved, refused = _race(demo_path, n, save)
    assert len(saved) == 1 and len(refused) == n - 1
    with store.opened(demo_path) as db:
        assert store.latest_model_version(db) == seen + 1
        assert store.rules(db, seen + 1)[0].label == f"rule {saved[0]}"


@pytest.mark.parametrize("n", [2, 5])
def test_undos_of_one_change_undo_it_once(demo_path: Path, n: int) -> None:
    with store.opened(demo_path) as db:
        store.rename_pipeline(db, PIPELINE, "Renamed once", store.pipeline_version(db, PIPELINE))
        change = store.last_change(db, "pipeline", PIPELINE)
        assert change is not None
    saved, refused = _race(
        demo_path,
        n,
        lambda db, i: store.undo_last(db, "pipeline", PIPELINE, f"s{i}", int(change["id"])),
    )
    assert len(saved) == 1 and len(refused) == n - 1
    assert _audit(demo_path, "pipeline", "rename").height == 1
    assert _audit(demo_path, "pipeline", "undo").height == 1  # one undo of it, however many tried


@pytest.mark.parametrize("n", [2, 5])
def test_restores_from_one_view_restore_once(demo_path: Path, tmp_path: Path, n: int) -> None:
    with store.opened(demo_path) as db:
        store.backup(db, tmp_path / "backup.db")
        seen = store.revision(db)
    saved, refused = _race(
        demo_path,
        n,
        lambda db, i: exports.restore(
            db, tmp_path / "backup.db", tmp_path / f"kept{i}.db", expected_revision=seen
        ),
    )
    assert len(saved) == 1 and len(refused) == n - 1
    assert all("changed by someone else" in r for r in refused)
    assert _audit(demo_path, "store", "restore").height == 1


def _stages_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("pages/stages.py").run()
    assert not at.exception, at.exception
    return at


def _outcome(at: AppTest, saved: str) -> str:
    assert not at.exception, at.exception
    if any(saved in t.value for t in at.toast):
        return "saved"
    errors = [e.value for e in at.error]
    assert any("Reload" in e for e in errors), errors
    return "refused"


@pytest.mark.parametrize("n", [2, 5])
def test_renames_from_n_pages_opened_together_save_one(app_env: Path, n: int) -> None:
    pages = [_stages_page() for _ in range(n)]
    for i, at in enumerate(pages):
        at.text_input(key=f"stages_rename_{PIPELINE}").set_value(f"Name {i}").run()
    outcomes = [
        _outcome(at.button(key="stages_rename").click().run(), "Pipeline renamed") for at in pages
    ]
    assert outcomes == ["saved"] + ["refused"] * (n - 1)
    with store.opened(app_env) as db:
        assert dict(store.pipelines(db).select("id", "name").iter_rows())[PIPELINE] == "Name 0"


@pytest.mark.parametrize("n", [2, 5])
def test_moves_of_one_deal_from_n_pages_opened_together_save_one(app_env: Path, n: int) -> None:
    pages = [_stages_page() for _ in range(n)]
    deal = pages[0].selectbox(key="stages_move_deal").value
    with store.opened(app_env) as db:
        seen = store.deals(db, PIPELINE).filter(pl.col("id") == deal)["stage_id"].item()
        targets = [s.id for s in store.stage_list(db, PIPELINE) if s.id != seen][:n]
    for at, target in zip(pages, targets, strict=True):
        at.selectbox(key="stages_move_to").set_value(target).run()
    outcomes = [_outcome(at.button(key="stages_move").click().run(), "Deal moved") for at in pages]
    assert outcomes == ["saved"] + ["refused"] * (n - 1)
    with store.opened(app_env) as db:
        moves = store.stage_history(db, PIPELINE).filter(pl.col("deal_id") == deal)
    assert moves.filter(pl.col("from_stage_id") == seen)["to_stage_id"].to_list() == [targets[0]]
