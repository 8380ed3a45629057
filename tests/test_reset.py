"""Reset demo data: asked with the counts it replaces, backed up first, logged, and refused on
a store holding imported data unless its name is typed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import polars as pl
import pytest

from funnel import importers, reset, store

LEADS = b"Lead ID,Create Date\nR1,2026-01-02\nR2,2026-01-03\n"


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_the_question_names_the_counts_it_replaces(demo_path: Path) -> None:
    with store.opened(demo_path) as db:
        store.record_decision(db, 60, 40, 1, "2026-11-23", "Anna, Ben")
        store.record_decision(db, 65, 40, 1, "2026-11-23", "Anna, Ben")
        plan = reset.reset_plan(db)
        expected = {t: _rows(demo_path, f"SELECT count(*) FROM {t}")[0][0] for t in store.COUNTED}
    assert plan.lost == expected
    assert (plan.lost["pipelines"], plan.lost["deals"], plan.lost["leads"]) == (5, 600, 3_000)
    assert plan.lost["decisions"] == 2
    assert "(5 pipelines, 600 deals, 3,000 leads, 2 decisions, 0 scenarios" in plan.question()
    assert not plan.outside_data


def test_a_reset_keeps_a_backup_and_is_listed_in_the_history(demo_path: Path) -> None:
    with store.opened(demo_path) as db:
        store.save_scenario(db, "Q1 push", {"leads": 1200.0}, who="Anna")
        steps: list[str] = []
        kept = reset.reset_to_demo(db, "Ben", progress=lambda fraction, text: steps.append(text))
        log = store.audit_log(db)
    # Its progress bar names each step as it starts.
    assert steps == [
        "Keeping a copy of the store as it is…",
        "Filling the store with demo data…",
        "Reset.",
    ]
    assert kept.parent == demo_path.parent and kept.name.startswith("demo.before-reset-")
    assert _rows(kept, "SELECT name FROM scenarios") == [("Q1 push",)]
    assert _rows(kept, "PRAGMA integrity_check") == [("ok",)]
    newest = log.row(0, named=True)
    assert (newest["who"], newest["entity"], newest["action"]) == ("Ben", "store", "reset")
    assert '"scenarios": 1' in newest["before"] and str(kept) in newest["after"]
    assert _rows(demo_path, "SELECT count(*) FROM scenarios") == [(0,)]


def test_a_store_with_imported_data_is_reset_only_when_its_name_is_typed(demo_path: Path) -> None:
    with store.opened(demo_path) as db:
        report = importers.import_bytes(db, LEADS, "leads", "crm.csv")
        assert report.ok
        assert reset.reset_plan(db).outside_data
        for typed in ("", "funnel.db", "demo"):
            with pytest.raises(store.StoreError, match=r"type its name, demo\.db, to replace it"):
                reset.reset_to_demo(db, "Ben", typed)
        assert store.leads(db).filter(pl.col("external_id") == "R1").height == 1
        reset.reset_to_demo(db, "Ben", "demo.db")
        assert store.leads(db).filter(pl.col("external_id") == "R1").height == 0
