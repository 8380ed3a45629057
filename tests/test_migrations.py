"""Opening a store: older schemas migrate on open; a file that is not a funnel store is refused."""

from __future__ import annotations

import sqlite3
from datetime import datetime
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


def test_stage_move_times_written_by_older_versions_are_normalised_on_open(db_path: Path) -> None:
    db = Database(sqlite3.connect(db_path))
    store.migrations.apply(db, stop_before=["m004_history_timestamps"])
    db.conn.execute("INSERT INTO pipelines (name, created_at) VALUES ('Old', '2025-01-01')")
    db.conn.execute(
        "INSERT INTO stages (pipeline_id, position, name, probability, kind)"
        " VALUES (1, 1, 'Demo', 40, 'open')"
    )
    db.conn.execute("INSERT INTO deals (pipeline_id, stage_id, name) VALUES (1, 1, 'Acme')")
    written = [
        "2026-08-19T01:37:41",  # the demo's, already right
        "2026-12-01T07:08:50+00:00",  # a move made in the app before this fix
        "2026-12-01T09:08:50+02:00",  # the same moment with another zone: 07:08:50 UTC
        "2026-03-02",  # an imported deal's first move
        "2026-03-02 10:11:12.345",
    ]
    db.conn.executemany(
        "INSERT INTO stage_history (deal_id, from_stage_id, to_stage_id, at) VALUES (1, NULL, 1, ?)",
        [(at,) for at in written],
    )
    db.conn.commit()
    db.close()
    with store.opened(db_path) as db:
        stored = [r[0] for r in db.execute("SELECT at FROM stage_history ORDER BY id").fetchall()]
        history = store.stage_history(db)
    assert stored == [
        "2026-08-19T01:37:41",
        "2026-12-01T07:08:50",
        "2026-12-01T07:08:50",
        "2026-03-02T00:00:00",
        "2026-03-02T10:11:12",
    ]
    assert history["at"].null_count() == 0
    assert history["at"].to_list() == sorted(datetime.fromisoformat(at) for at in stored)


def test_a_stage_move_time_the_store_cannot_read_is_named_not_dropped(db_path: Path) -> None:
    with store.opened(db_path) as db:
        store.create_pipeline(db, "New", [Stage("Demo", 40.0)])
        db.conn.execute("INSERT INTO deals (pipeline_id, stage_id, name) VALUES (1, 1, 'Acme')")
        db.conn.execute(
            "INSERT INTO stage_history (deal_id, to_stage_id, at) VALUES (1, 1, 'last Tuesday')"
        )
        db.conn.commit()
        with pytest.raises(store.StoreError, match=r"deal 1 \(history row 1\): 'last Tuesday'"):
            store.stage_history(db)


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
