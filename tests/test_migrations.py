"""Opening a store: older schemas migrate on open; a file that is not a funnel store is refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

from funnel import store
from funnel.models import Stage

FIRST = "m001_initial"


def _store_at_first_version(path: Path) -> None:
    """A store as the first release wrote it: only m001 applied, with one pipeline in it."""
    db = Database(sqlite3.connect(path))
    store.migrations.apply(db, stop_before=[m.name for m in store.migrations.pending(db)][1:])
    db.conn.execute("INSERT INTO pipelines (name, created_at) VALUES ('Old', '2025-01-01')")
    db.conn.execute(
        "INSERT INTO stages (pipeline_id, position, name, probability, kind)"
        " VALUES (1, 1, 'Won', 100, 'won')"
    )
    db.conn.commit()
    db.close()


def test_store_written_by_first_schema_version_opens_and_migrates(db_path: Path) -> None:
    _store_at_first_version(db_path)
    probe = Database(sqlite3.connect(db_path))
    assert [m.name for m in store.migrations.applied(probe)] == [FIRST]
    probe.close()

    with store.opened(db_path) as db:
        assert store.schema_version(db) == len(store.migrations.pending(Database(memory=True)))
        assert store.migrations.pending(db) == []
        assert "audit_entity" in {i.name for i in db["audit"].indexes}
        assert store.stage_list(db, 1) == [Stage("Won", 100.0, "won", None, 1)]


def test_migrated_store_takes_writes_and_reopens(db_path: Path) -> None:
    _store_at_first_version(db_path)
    with store.opened(db_path) as db:
        store.save_stages(db, 1, [Stage("Won", 90.0, "won", None, 1)], expected_version=1)
    with store.opened(db_path) as db:
        assert store.stage_list(db, 1)[0].probability == 90.0
        assert store.revision(db) == 1


def test_text_file_is_refused_and_left_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"meeting notes, not a database\n")
    with pytest.raises(store.NotAFunnelStoreError, match="not a SQLite file"):
        store.connect(path)
    assert path.read_bytes() == b"meeting notes, not a database\n"


def test_other_applications_sqlite_is_refused_and_left_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "crm.db"
    other = sqlite3.connect(path)
    other.execute("CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT)")
    other.execute("INSERT INTO contacts (name) VALUES ('Ada')")
    other.commit()
    other.close()
    before = path.read_bytes()
    with pytest.raises(store.NotAFunnelStoreError, match="another application"):
        store.connect(path)
    assert path.read_bytes() == before
    assert not Path(f"{path}-wal").exists()
