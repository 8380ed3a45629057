"""Opening a store, the one write transaction, and the revisions every UI cache is keyed on.

`connect` refuses (without writing) a file that is not a funnel store, then migrates it.
Every write goes through `write()`: one `BEGIN IMMEDIATE` transaction that either lands whole
or not at all, bumps the store's revision (the key every UI cache is built on, so each session
sees each saved change on its next interaction) and lets the writer append to the audit trail
(`audit`). The process holds two SQLite libraries (Python's and ADBC's); the lock and the
connections kept open below keep them from corrupting each other.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import adbc_driver_sqlite.dbapi as adbc
from sqlite_utils import Database

from funnel.store.errors import NotAFunnelStoreError
from funnel.store.migrations import APP_ID, DIRTY, migrations
from funnel.store.schema import MAX_PROBLEMS, schema_problems

DEFAULT_DB = Path("data/funnel.db")
BUSY_TIMEOUT_MS = 10_000


def default_path() -> Path:
    """The store to open: `FUNNEL_DB` if set, else `data/funnel.db`."""
    return Path(os.environ.get("FUNNEL_DB") or DEFAULT_DB)


def _check_is_funnel_store(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse a file that is not a funnel store, read through the connection about to use it.

    Only through SQLite, never as a plain file: closing any descriptor on the file outside
    SQLite drops every POSIX lock this process holds on it, and another client closing its
    connection then deletes the WAL under the app (sqlite.org/howtocorrupt.html 2.2). Reading
    `sqlite_master` writes nothing, so a file of another application is left as it was.
    """
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        app = None
        if "meta" in tables:
            row = conn.execute("SELECT value FROM meta WHERE key = 'app'").fetchone()
            app = row[0] if row else None
    except sqlite3.DatabaseError as e:
        if "not a database" in str(e):
            raise NotAFunnelStoreError(
                f"{path} is not a SQLite file, so not a funnel store; left untouched."
            ) from e
        raise NotAFunnelStoreError(f"{path} cannot be read as SQLite ({e}); left untouched.") from e
    if tables and app != APP_ID:
        raise NotAFunnelStoreError(
            f"{path} is a SQLite database of another application (tables: "
            f"{', '.join(sorted(tables)[:5])}); funnel leaves it untouched."
        )
    key = path.resolve()
    if tables and key not in _schema_checked:
        # Once per process and file: a store copied in, or changed by another program while
        # the app was stopped, may carry a trigger or a view, or lack a table or an index.
        if problems := schema_problems(conn):
            raise NotAFunnelStoreError(
                f"{path} is not a sound funnel store: {'; '.join(problems[:MAX_PROBLEMS])}. "
                "funnel leaves it untouched: restore a backup, or remove what another program "
                "added."
            )
        _schema_checked.add(key)


_schema_checked: set[Path] = set()


def connect(path: Path | str) -> Database:
    """Open (creating and migrating if needed) the store at `path`.

    Refuses, without writing, a file that is not a funnel store. Connections are per call site
    and never cached across Streamlit reruns, which may run on other threads.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    # A store that cannot be opened (refused, read-only, locked by a long migration elsewhere)
    # leaves no connection behind.
    try:
        _check_is_funnel_store(conn, path)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        db = Database(conn)
        if migrations.pending(db):
            migrations.apply(db)
        _keep_open(path)
    except BaseException:
        conn.close()
        raise
    return db


# --- two SQLite libraries in one process ---------------------------------------------------------
# ADBC's driver carries its own copy of SQLite beside the one Python's sqlite3 links. POSIX locks
# belong to the process, so neither copy sees the other's locks, and closing a file in one copy
# drops the locks the other holds: a closing connection then believes it is the last one and
# checkpoints and deletes the WAL under the other's feet (a later commit lands in a deleted
# file, see sqlite.org/howtocorrupt.html 2.2). So, per store and per process, one connection of
# each copy stays open for the life of the process (no file is ever closed while the other copy
# uses it), the Arrow reader is read-only (it never checkpoints), and an Arrow read never runs
# while this process writes (the writer cannot see the reader's WAL read mark).
_ONE_LIBRARY_AT_A_TIME = threading.RLock()
_kept: dict[Path, sqlite3.Connection] = {}
_readers: dict[Path, adbc.Connection] = {}


def held(path: Path) -> bool:
    """Whether this process holds `path` open through SQLite (a store it connected to): such a
    file must never be opened outside SQLite here, since closing that descriptor would drop
    the process's locks on it."""
    with _ONE_LIBRARY_AT_A_TIME:
        return path.resolve() in _kept


def _keep_open(path: Path) -> None:
    key = path.resolve()
    with _ONE_LIBRARY_AT_A_TIME:
        if key not in _kept:
            keeper = sqlite3.connect(key, check_same_thread=False)
            keeper.execute("SELECT count(*) FROM sqlite_master").fetchone()
            _kept[key] = keeper


def _arrow_reader(path: Path) -> adbc.Connection:
    """The process's read-only Arrow connection to `path`; call it under the library lock."""
    key = path.resolve()
    _keep_open(key)
    if key not in _readers:
        _readers[key] = adbc.connect(f"file:{key}?mode=ro", autocommit=True)
    return _readers[key]


@contextmanager
def opened(path: Path | str) -> Iterator[Database]:
    """`connect` for a `with` block: the connection closes at its end."""
    db = connect(path)
    try:
        yield db
    finally:
        db.close()


def db_file(db: Database) -> Path:
    """The file behind a connection (the Arrow reader opens its own connection to it)."""
    row = db.execute("PRAGMA database_list").fetchone()
    return Path(row[2])


def schema_version(db: Database) -> int:
    """How many migrations this store has applied."""
    return len(migrations.applied(db))


def revision(db: Database) -> int:
    """A counter bumped by every write: the cache key that makes sessions see each other's saves."""
    return int(db.execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()[0])


NEW_TOKEN = "lower(hex(randomblob(8)))"
"""SQL for a fresh leads token."""


def leads_revision(db: Database) -> int:
    """The `revision` of the last write that changed leads (0 before any): their cache key.

    Leads changed by another program since (a dirty `leads_token`) count as a new write.
    """
    leads_token(db)
    return _marked_revision(db, "leads_revision")


def leads_token(db: Database) -> str:
    """A random value that names the leads as they are: replaced by every write that changes
    them, so a copy made under one token is a copy of these leads (see `snapshot`).

    When another program has changed a lead (`m005_leads_token`'s triggers made it `DIRTY`),
    the change is taken in as a write of leads: a new token and leads revision, so every cache
    rebuilds. On a store that cannot be written (read-only media) it stays `DIRTY`, and nothing
    is cached under it.
    """
    for _ in range(2):
        row = db.execute("SELECT value FROM meta WHERE key = 'leads_token'").fetchone()
        token = DIRTY if row is None else str(row[0])
        if token != DIRTY:
            return token
        try:
            with write(db, leads=True):
                pass
        except sqlite3.OperationalError:
            return DIRTY
    return DIRTY


def answers_revision(db: Database) -> int:
    """The `revision` of sales' last answer to an MQL (0 before any): the cache key of
    `sal_answers`, so an answer costs reading the answers, not every lead."""
    return _marked_revision(db, "answers_revision")


def _marked_revision(db: Database, key: str) -> int:
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return 0 if row is None else int(row[0])


# --- writing ---------------------------------------------------------------------------------


def now() -> str:
    """When a row is written: UTC, to the second, in ISO format."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@contextmanager
def write(db: Database, *, leads: bool = False, answers: bool = False) -> Iterator[Database]:
    """One write transaction: all of it lands, or none of it does.

    `BEGIN IMMEDIATE` takes the write lock up front, so two sessions saving at once wait for
    each other (busy timeout) instead of failing half-way. A write that changes leads says so
    (`leads=True`): the million-row lead frames are cached on `leads_revision`, so a decision
    or a stage save does not make every session reload and rescore all leads. A SAL answer
    changes only sales' columns of one lead (`answers=True`): the cached leads stay, and the
    answers are laid over them (see `sal_answers`).
    """
    marks = [key for key, on in (("leads_revision", leads), ("answers_revision", answers)) if on]
    with _ONE_LIBRARY_AT_A_TIME:
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            token = db.conn.execute("SELECT value FROM meta WHERE key = 'leads_token'").fetchone()
            yield db
            db.conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'revision'")
            if leads:
                db.conn.execute(f"UPDATE meta SET value = {NEW_TOKEN} WHERE key = 'leads_token'")
            elif token is not None and token[0] != DIRTY:
                # This transaction held the write lock, so only its own writes can have dirtied
                # the token, and a write that does not say `leads` touches answers alone, which
                # copies take from `answers_revision`.
                db.conn.execute("UPDATE meta SET value = ? WHERE key = 'leads_token'", token)
            for key in marks:
                db.conn.execute(
                    "INSERT INTO meta (key, value) SELECT ?, value FROM meta WHERE key = 'revision'"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [key],
                )
            db.conn.execute("COMMIT")
        except BaseException:
            # SQLite rolls back by itself after some errors (a full disk, out of memory): a
            # second ROLLBACK would then fail and hide the error that matters.
            if db.conn.in_transaction:
                db.conn.execute("ROLLBACK")
            raise


def audit(
    db: Database,
    who: str,
    entity: str,
    entity_id: int | None,
    action: str,
    before: Any = None,
    after: Any = None,
) -> None:
    """Append one line to the audit trail; call it inside `write()`."""
    db.conn.execute(
        "INSERT INTO audit (at, who, entity, entity_id, action, before, after)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            now(),
            who or "anonymous",
            entity,
            entity_id,
            action,
            None if before is None else json.dumps(before, default=str),
            None if after is None else json.dumps(after, default=str),
        ),
    )
