"""The store: what a write promises, whichever SQLite library the next read goes through."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from funnel import store


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
