"""The store: what a write promises, whichever SQLite library the next read goes through."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

from funnel import demo, exports, store
from tests.conftest import ROOT


def _names(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return [row[0] for row in conn.execute("SELECT name FROM pipelines ORDER BY id")]
    finally:
        conn.close()


def test_an_arrow_read_sees_the_write_made_after_it_on_the_same_connection(db_path: Path) -> None:
    with store.opened(db_path) as db:
        store.create_pipeline(db, "First", [])
        assert store.pipelines(db)["name"].to_list() == ["First"]
        store.create_pipeline(db, "Second", [])
        assert store.pipelines(db)["name"].to_list() == ["First", "Second"]
    assert _names(db_path) == ["First", "Second"]


def test_a_write_from_another_process_between_arrow_reads_loses_nothing(db_path: Path) -> None:
    other_process = (
        "import sys; from funnel import store\n"
        "with store.opened(sys.argv[1]) as db: store.create_pipeline(db, 'From the CLI', [])\n"
    )
    with store.opened(db_path) as db:
        store.create_pipeline(db, "In the app", [])
        store.pipelines(db)
        subprocess.run([sys.executable, "-c", other_process, str(db_path)], check=True)
        store.create_pipeline(db, "In the app again", [])
        assert store.pipelines(db)["name"].to_list() == [
            "In the app",
            "From the CLI",
            "In the app again",
        ]
    assert _names(db_path) == ["In the app", "From the CLI", "In the app again"]


def test_leads_revision_moves_with_lead_writes_and_answers_revision_with_sal_answers(
    db_path: Path, tmp_path: Path
) -> None:
    with store.opened(db_path) as db:
        demo.seed_store(db, leads=50, deals=10, today=date(2026, 11, 23))
        seeded = store.leads_revision(db)
        assert seeded == store.revision(db)

        store.record_decision(db, 60, 40, 1, "2026-11-23", "Anna, Ben")
        store.save_scenario(db, "Plan", {"leads": 100.0})
        assert store.leads_revision(db) == seeded < store.revision(db)

        # A SAL answer moves the answers' revision only: the cached leads stay.
        lead_id = db.execute("SELECT min(id) FROM leads").fetchone()[0]
        store.record_sal(db, lead_id, "accepted", dict.fromkeys(store.BANT, True))
        assert store.leads_revision(db) == seeded
        assert store.answers_revision(db) == store.revision(db) > seeded

        store.backup(db, tmp_path / "backup.db")
        store.record_decision(db, 70, 50, 1, "2026-11-23", "Anna, Ben")
        before_restore = store.revision(db)
        exports.restore(db, tmp_path / "backup.db")
        assert store.leads_revision(db) == store.revision(db) > before_restore


def test_a_test_that_names_no_store_never_reaches_the_users() -> None:
    # conftest points FUNNEL_DB at a scratch file before any test runs (see its comment).
    unnamed = store.default_path()
    assert unnamed.name == "unnamed.db" and unnamed.parent.name.startswith("funnel-tests-")
    assert unnamed.resolve() != (ROOT / "data" / "funnel.db").resolve()
