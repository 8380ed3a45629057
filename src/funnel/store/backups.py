"""The whole store at once: backup, check a backup, restore one, clear every table.

A store file is touched only through SQLite (its backup API), never copied as a file: closing
a descriptor on it outside SQLite would drop this process's locks on it (see `connection`).
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from sqlite_utils import Database

from funnel.store.connection import _ONE_LIBRARY_AT_A_TIME, audit, db_file, revision, write
from funnel.store.errors import StoreError
from funnel.store.frames import COUNTED, counts
from funnel.store.migrations import APP_ID, migrations
from funnel.store.schema import row_problems, schema_problems


def backup(db: Database, dest: Path) -> Path:
    """Copy the whole store, consistently, into `dest` (SQLite's online backup API).

    Safe while other sessions read or write: the copy is a single snapshot. Refused onto the
    store itself, which it would delete first.
    """
    if dest.resolve() == db_file(db).resolve():
        raise StoreError(f"{dest} is the store itself: name another file for the backup.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        dest.unlink()
    target = sqlite3.connect(dest)
    try:
        db.conn.backup(target)
    finally:
        target.close()
    return dest


def backup_bytes(db: Database) -> bytes:
    """The backup as bytes, for a download button: copied by the backup API into memory and
    serialised there, so no file of the store is ever read outside SQLite."""
    target = sqlite3.connect(":memory:")
    try:
        db.conn.backup(target)
        return target.serialize()
    finally:
        target.close()


def file_problems(path: Path) -> list[str]:
    """Why the SQLite file at `path` (a backup) cannot become the store: not SQLite, another
    application's, damaged, or its schema or rows (`schema_problems`, `row_problems`); empty
    when it is sound. A sentence ending in a full stop stands alone; others are listed."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "meta" not in tables:
            return ["This SQLite file is not a funnel store (it has no meta table)."]
        app = conn.execute("SELECT value FROM meta WHERE key = 'app'").fetchone()
        if not app or app[0] != APP_ID:
            return ["This SQLite file belongs to another application, not funnel."]
        result = conn.execute("PRAGMA integrity_check").fetchall()
        if result != [("ok",)]:
            return [f"The backup is damaged: {'; '.join(str(r[0]) for r in result[:3])}."]
        return schema_problems(conn) or row_problems(conn)
    except sqlite3.DatabaseError as e:
        if "not a database" in str(e):
            return ["This is not a SQLite file, so not a funnel backup."]
        return [f"The backup cannot be read: {e}."]
    finally:
        conn.close()


def replace_from(
    db: Database, source: Path, who: str = "", name: str = "", kept_as: Path | None = None
) -> None:
    """Replace every page of the store with the SQLite file `source` (a checked backup) in one
    step, its revision above the store's and the restore already in its History: signed by
    `who`, naming the file as the user knows it (`name`, else the file's own), what it brings
    and what it replaces (rows per table), and where the store as it was, with its own
    History, is kept (`kept_as`).

    The backup is first copied into a scratch file, where its revision is raised and the audit
    line added; that copy then replaces the store through the backup API in one step. Copied
    in as it is, the store would for a moment hold the backup's own revision, which a session
    that saw that revision would take for unchanged (and a kill there would leave it so).
    Migrations the backup predates are applied after, as on any open.
    """
    floor = revision(db)
    with tempfile.TemporaryDirectory(prefix="funnel-restoring-") as folder:
        staged = Database(Path(folder) / "restore.db")
        try:
            src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            try:
                src.backup(staged.conn)
            finally:
                src.close()
            with write(staged, leads=True):
                staged.conn.execute(
                    "UPDATE meta SET value = ? WHERE key = 'revision'",
                    [str(max(floor, revision(staged)))],
                )
                kept = {"kept_as": str(kept_as)} if kept_as is not None else {}
                restored = {"from": name or source.name, "counts": counts(staged, COUNTED), **kept}
                audit(staged, who, "store", None, "restore", counts(db, COUNTED), restored)
            with _ONE_LIBRARY_AT_A_TIME:
                staged.conn.backup(db.conn)
        finally:
            staged.close()
    migrations.apply(db)


DATA_TABLES = (
    "audit",
    "decisions",
    "scenarios",
    "scoring_rules",
    "scoring_models",
    "stage_history",
    "deals",
    "leads",
    "stages",
    "pipelines",
)
"""Every table that holds data, children before the parents their rows refer to."""


def clear(db: Database) -> None:
    """Delete every row of every data table, keeping the schema (the demo starts from this)."""
    with write(db, leads=True):
        _delete_rows(db)


def _delete_rows(db: Database) -> None:
    """Delete every row of every data table; call it inside `write(leads=True)`."""
    for table in DATA_TABLES:
        db.conn.execute(f"DELETE FROM {table}")
