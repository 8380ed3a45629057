"""A restore installs only a real funnel store: crafted backups are refused, with their first
problems named, before anything is replaced (issue 19 §3, issue 15 §3)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from funnel import exports, store
from tests.conftest import APP, ROOT
from tests.test_data_page import texts

# Each crafted backup: the SQL run on a good backup, and what the refusal must name.
CRAFTED = {
    "trigger deleting decisions": (
        "CREATE TRIGGER wipe AFTER INSERT ON audit BEGIN DELETE FROM decisions; END",
        "a trigger 'wipe' that funnel never creates",
    ),
    "trigger copying e-mails": (
        "CREATE TABLE loot (email TEXT);"
        "CREATE TRIGGER copy AFTER UPDATE ON leads BEGIN INSERT INTO loot VALUES (new.email); END",
        "a table 'loot' that funnel never creates; it holds a trigger 'copy'",
    ),
    "view named leads": (
        "DROP TABLE leads; CREATE VIEW leads AS SELECT 1 AS id",
        "a view 'leads' that funnel never creates",
    ),
    "newer schema": (
        "INSERT INTO _sqlite_migrations (migration_set, name, applied_at)"
        " VALUES ('funnel', 'm999_from_the_future', '2030-01-01')",
        "comes from a newer funnel (migrations m999_from_the_future): update funnel first",
    ),
    "scenarios table missing": ("DROP TABLE scenarios", "its table 'scenarios' is missing"),
    "leads without fit": ("ALTER TABLE leads DROP COLUMN fit", "its table 'leads' lacks column fit"),
    "dropped index": ("DROP INDEX leads_created", "its index 'leads_created' is missing"),
    "probability 500": (
        "PRAGMA ignore_check_constraints = ON; UPDATE stages SET probability = 500 WHERE id = 3",
        "stages row 3: probability '500.0' breaks 'a probability is 0 to 100'",
    ),
    "impossible date": (
        "UPDATE leads SET created = '2026-02-30' WHERE id = 7",
        "leads row 7: created '2026-02-30' breaks 'a date is a real YYYY-MM-DD day'",
    ),
    "malformed audit JSON": (
        "UPDATE audit SET after = '{not json' WHERE id = 1",
        "audit row 1: after '{not json' breaks 'a History entry is JSON'",
    ),
    "broken foreign key": (
        "UPDATE deals SET stage_id = 99999 WHERE id = 5",
        "deals row 5 refers to a row of stages that does not exist",
    ),
}


def _snapshot(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(path)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {n: conn.execute(f"SELECT * FROM {n} ORDER BY rowid").fetchall() for n in names}
    finally:
        conn.close()


def _craft(demo_path: Path, folder: Path, sql: str) -> Path:
    backup = folder / "crafted.db"
    with store.opened(demo_path) as db:
        store.backup(db, backup)
    conn = sqlite3.connect(backup)
    conn.executescript(sql)
    conn.commit()
    conn.close()
    return backup


@pytest.mark.parametrize("case", list(CRAFTED))
def test_a_crafted_backup_is_refused_before_anything_is_replaced(
    demo_path: Path, tmp_path: Path, case: str
) -> None:
    sql, named = CRAFTED[case]
    backup = _craft(demo_path, tmp_path, sql)
    before = _snapshot(demo_path)
    with store.opened(demo_path) as db, pytest.raises(store.StoreError) as refused:
        exports.restore(db, backup, keep_copy=tmp_path / "kept.db")
    assert str(refused.value).startswith("Restore refused, the store is unchanged: ")
    assert named in str(refused.value)
    assert _snapshot(demo_path) == before
    assert not (tmp_path / "kept.db").exists()


def test_a_truncated_backup_is_refused(demo_path: Path, tmp_path: Path) -> None:
    source = sqlite3.connect(demo_path)
    whole = source.serialize()
    source.close()
    truncated = tmp_path / "truncated.db"
    truncated.write_bytes(whole[: len(whole) // 2])
    before = _snapshot(demo_path)
    with store.opened(demo_path) as db, pytest.raises(store.StoreError, match=r"damaged|cannot be read"):
        exports.restore(db, truncated)
    assert _snapshot(demo_path) == before


def test_a_sound_backup_passes_every_check(demo_path: Path, tmp_path: Path) -> None:
    backup = _craft(demo_path, tmp_path, "SELECT 1")
    assert exports.check_backup(backup) == ""


def _data_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("pages/data.py").run()
    assert not at.exception, at.exception
    return at


def test_an_upload_refused_on_the_page_leaves_the_temp_folder(
    app_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    monkeypatch.setenv("TMPDIR", str(uploads))
    monkeypatch.setattr("tempfile.tempdir", None)
    sql, named = CRAFTED["trigger deleting decisions"]
    crafted = _craft(app_env, tmp_path, sql).read_bytes()
    at = _data_page()
    at.file_uploader(key="data_restore_upload").set_value(
        ("b.db", crafted, "application/x-sqlite3")
    ).run()
    assert named in texts(at)
    assert "Nothing was changed." in texts(at)
    assert list(uploads.glob("funnel-restore-*")) == []


def test_an_upload_restored_on_the_page_leaves_the_temp_folder(
    app_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    monkeypatch.setenv("TMPDIR", str(uploads))
    monkeypatch.setattr("tempfile.tempdir", None)
    good = _craft(app_env, tmp_path, "DELETE FROM scenarios").read_bytes()
    at = _data_page()
    at.file_uploader(key="data_restore_upload").set_value(("b.db", good, "application/x-sqlite3")).run()
    assert len(list(uploads.glob("funnel-restore-*.db"))) == 1
    at.button(key="data_restore").click().run()
    at.button(key="data_restore_confirm").click().run()
    assert not at.exception, at.exception
    assert list(uploads.glob("funnel-restore-*")) == []
    with store.opened(app_env) as db:
        assert store.audit_log(db)["action"][0] == "restore"
    assert exports.USED_UPLOAD in texts(at)


def test_a_backup_onto_the_store_itself_is_refused(demo_path: Path) -> None:
    before = _snapshot(demo_path)
    with store.opened(demo_path) as db, pytest.raises(store.StoreError, match="is the store itself"):
        store.backup(db, demo_path.parent / "." / demo_path.name)
    assert _snapshot(demo_path) == before


def test_uploads_left_by_a_stopped_server_are_swept_at_the_next_upload(
    demo_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports.tempfile, "gettempdir", lambda: str(tmp_path))
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    left = [
        tmp_path / f"funnel-restore-pid{gone.stdout.strip()}-old.db{end}" for end in ("", "-wal", "-shm")
    ]
    for path in left:
        path.write_bytes(b"left over")
    mine = tmp_path / f"funnel-restore-pid{os.getpid()}-kept.db"
    mine.write_bytes(b"another upload of this server, still on its page")
    good = _craft(demo_path, tmp_path, "SELECT 1").read_bytes()
    assert exports.checked_upload({}, "new", lambda: good) == ""
    assert not any(path.exists() for path in left)
    assert mine.exists() and exports.staged_path("new").exists()


# The child restores a backup and stalls at `point`: inside the scratch copy's write (before
# the store is touched) or right after the one-step replacement (before migrations); the test
# SIGKILLs it there.
RESTORE_CHILD = """
import sys, time
from pathlib import Path
from funnel import exports, store
from funnel.store import backups

path, backup, point = sys.argv[1], Path(sys.argv[2]), sys.argv[3]


def stall(*_args, **_kwargs):
    print("inside", flush=True)
    time.sleep(120)


db = store.connect(path)
if point == "before":
    real_audit = backups.audit
    backups.audit = lambda *a, **k: (real_audit(*a, **k), stall())
else:
    # Migrations of the store itself come right after the replacement; the checks' own
    # reference store migrates as usual.
    real_apply = store.migrations.apply
    store.migrations.apply = lambda d, **k: stall() if d is db else real_apply(d, **k)
exports.restore(db, backup)
print("finished without being killed", flush=True)
"""


def _kill_restore(demo_path: Path, backup: Path, point: str) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", RESTORE_CHILD, str(demo_path), str(backup), point],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "inside\n"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()


@pytest.mark.parametrize("point", ["before", "after"])
def test_a_restore_killed_midway_leaves_the_old_store_or_the_whole_backup(
    demo_path: Path, tmp_path: Path, point: str
) -> None:
    backup = _craft(demo_path, tmp_path, "DELETE FROM scenarios; DELETE FROM decisions")
    with store.opened(demo_path) as db:
        store.save_scenario(db, "Only in the store", {"leads": 1.0})
        seen = store.revision(db)
    before, restored = _snapshot(demo_path), _snapshot(backup)
    _kill_restore(demo_path, backup, point)
    after = _snapshot(demo_path)
    assert _rows(demo_path, "PRAGMA integrity_check") == [("ok",)]
    revision = int(_rows(demo_path, "SELECT value FROM meta WHERE key = 'revision'")[0][0])
    assert revision > seen  # sessions keyed on the revision they saw all see a change
    expected = before if point == "before" else restored
    assert {t: rows for t, rows in after.items() if t not in ("meta", "audit")} == {
        t: rows for t, rows in expected.items() if t not in ("meta", "audit")
    }
    restores = _rows(demo_path, "SELECT count(*) FROM audit WHERE action = 'restore'")
    assert restores == [(0 if point == "before" else 1,)]


def _rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()
