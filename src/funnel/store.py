"""The only module that speaks SQL: open and migrate the store, read frames, write in transactions.

Every write goes through `write()`: one `BEGIN IMMEDIATE` transaction that either lands whole or
not at all, bumps the store's revision (the key every UI cache is built on, so each session
sees each saved change on its next interaction) and appends to the audit trail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import adbc_driver_sqlite.dbapi as adbc
import polars as pl
from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from funnel import clock
from funnel.models import DEAL_FIELDS, LEAD_FIELDS, Field, Rule, SalStatus, Stage

DEFAULT_DB = Path("data/funnel.db")
APP_ID = "funnel"
BUSY_TIMEOUT_MS = 10_000

_SQL_TYPES = {"str": "TEXT", "int": "INTEGER", "float": "REAL", "date": "TEXT", "bool": "INTEGER"}
_POLARS_TYPES: dict[str, pl.DataType] = {
    "str": pl.String(),
    "int": pl.Int64(),
    "float": pl.Float64(),
    "date": pl.Date(),
    "bool": pl.Boolean(),
}


class StoreError(Exception):
    """A problem with the store that the user can act on; the message says what and where."""


class NotAFunnelStoreError(StoreError):
    """The file exists but is not a funnel store; it is never written to."""


class StaleVersionError(StoreError):
    """A save was based on a version that another session has since replaced."""


class NothingToSaveError(StoreError):
    """A save that would change nothing: nothing is written, and the user is told so."""


def default_path() -> Path:
    """The store to open: `FUNNEL_DB` if set, else `data/funnel.db`."""
    return Path(os.environ.get("FUNNEL_DB") or DEFAULT_DB)


migrations = Migrations(APP_ID)


def _columns(fields: Sequence[Field]) -> str:
    return ",\n".join(f"  {f.name} {_SQL_TYPES[f.dtype]}" for f in fields if f.name != "stage")


@migrations()
def m001_initial(db: Database) -> None:
    lead_columns = _columns([f for f in LEAD_FIELDS if f.name != "external_id"])
    deal_columns = _columns(
        [f for f in DEAL_FIELDS if f.name not in ("external_id", "stage", "probability")]
    )
    db.executescript(
        f"""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE pipelines (
          id INTEGER PRIMARY KEY,
          name TEXT NOT NULL UNIQUE,
          version INTEGER NOT NULL DEFAULT 1,
          created_at TEXT NOT NULL
        );
        CREATE TABLE stages (
          id INTEGER PRIMARY KEY,
          pipeline_id INTEGER NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
          position INTEGER NOT NULL,
          name TEXT NOT NULL CHECK (length(trim(name)) > 0),
          probability REAL NOT NULL CHECK (probability BETWEEN 0 AND 100),
          kind TEXT NOT NULL CHECK (kind IN ('open', 'won', 'lost')),
          rot_days INTEGER CHECK (rot_days IS NULL OR rot_days > 0),
          active INTEGER NOT NULL DEFAULT 1
        );
        CREATE UNIQUE INDEX stages_active_name ON stages(pipeline_id, name) WHERE active = 1;
        CREATE TABLE deals (
          id INTEGER PRIMARY KEY,
          external_id TEXT UNIQUE,
          pipeline_id INTEGER NOT NULL REFERENCES pipelines(id),
          stage_id INTEGER NOT NULL REFERENCES stages(id),
          probability REAL CHECK (probability IS NULL OR probability BETWEEN 0 AND 100),
{deal_columns}
        );
        CREATE INDEX deals_pipeline ON deals(pipeline_id);
        CREATE INDEX deals_stage ON deals(stage_id);
        CREATE TABLE stage_history (
          id INTEGER PRIMARY KEY,
          deal_id INTEGER NOT NULL REFERENCES deals(id) ON DELETE CASCADE,
          from_stage_id INTEGER REFERENCES stages(id),
          to_stage_id INTEGER NOT NULL REFERENCES stages(id),
          at TEXT NOT NULL
        );
        CREATE INDEX stage_history_deal ON stage_history(deal_id);
        CREATE TABLE leads (
          id INTEGER PRIMARY KEY,
          external_id TEXT UNIQUE,
{lead_columns}
        );
        CREATE INDEX leads_created ON leads(created);
        CREATE TABLE scoring_models (
          version INTEGER PRIMARY KEY,
          half_life_days REAL NOT NULL DEFAULT 0 CHECK (half_life_days >= 0),
          created_at TEXT NOT NULL,
          created_by TEXT NOT NULL DEFAULT '',
          note TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE scoring_rules (
          id INTEGER PRIMARY KEY,
          model_version INTEGER NOT NULL REFERENCES scoring_models(version),
          position INTEGER NOT NULL,
          axis TEXT NOT NULL CHECK (axis IN ('fit', 'interest')),
          field TEXT NOT NULL,
          condition TEXT NOT NULL CHECK (condition IN ('in', 'between', 'at_least')),
          value TEXT NOT NULL,
          points REAL NOT NULL,
          label TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE decisions (
          id INTEGER PRIMARY KEY,
          fit_cutoff REAL NOT NULL CHECK (fit_cutoff BETWEEN 0 AND 100),
          interest_cutoff REAL NOT NULL CHECK (interest_cutoff BETWEEN 0 AND 100),
          model_version INTEGER NOT NULL REFERENCES scoring_models(version),
          decided_on TEXT NOT NULL,
          agreed_by TEXT NOT NULL,
          note TEXT NOT NULL DEFAULT '',
          created_at TEXT NOT NULL
        );
        CREATE TABLE scenarios (
          id INTEGER PRIMARY KEY,
          name TEXT NOT NULL,
          params TEXT NOT NULL,
          created_at TEXT NOT NULL,
          created_by TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE audit (
          id INTEGER PRIMARY KEY,
          at TEXT NOT NULL,
          who TEXT NOT NULL,
          entity TEXT NOT NULL,
          entity_id INTEGER,
          action TEXT NOT NULL,
          before TEXT,
          after TEXT
        );
        INSERT INTO meta VALUES ('app', '{APP_ID}'), ('revision', '0');
        """
    )


# --- opening -------------------------------------------------------------------------------


def _check_is_funnel_store(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse a file that is not a funnel store, read through the connection about to use it.

    Never with Python's `open()`: closing any descriptor on the file outside SQLite drops every
    POSIX lock this process holds on it, and another client closing its connection then
    deletes the WAL under the app (sqlite.org/howtocorrupt.html 2.2). Reading `sqlite_master`
    writes nothing, so a file of another application is left as it was.
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
    try:
        _check_is_funnel_store(conn, path)
    except NotAFunnelStoreError:
        conn.close()
        raise
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    db = Database(conn)
    if migrations.pending(db):
        migrations.apply(db)
    _keep_open(path)
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


def leads_revision(db: Database) -> int:
    """The `revision` of the last write that changed leads (0 before any): their cache key."""
    return _marked_revision(db, "leads_revision")


def answers_revision(db: Database) -> int:
    """The `revision` of sales' last answer to an MQL (0 before any): the cache key of
    `sal_answers`, so an answer costs reading the answers, not every lead."""
    return _marked_revision(db, "answers_revision")


def _marked_revision(db: Database, key: str) -> int:
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return 0 if row is None else int(row[0])


# --- writing ---------------------------------------------------------------------------------


def now() -> str:
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
            yield db
            db.conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'revision'")
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


def insert_frame(db: Database, table: str, frame: pl.DataFrame) -> None:
    """Bulk-insert a frame whose columns are the table's; call it inside `write()`."""
    if frame.is_empty():
        return
    cols = frame.columns
    placeholders = ", ".join("?" for _ in cols)
    db.conn.executemany(
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({placeholders})",
        _sqlite_rows(frame),
    )


def _sqlite_typed(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame in SQLite's own types: dates as ISO text, booleans as 0/1."""
    casts = []
    for name, dtype in frame.schema.items():
        if dtype in (pl.Date, pl.Datetime):
            casts.append(pl.col(name).dt.to_string("%Y-%m-%d"))
        elif dtype == pl.Boolean:
            casts.append(pl.col(name).cast(pl.Int8))
    return frame.with_columns(casts) if casts else frame


def _sqlite_rows(frame: pl.DataFrame) -> Iterator[tuple[Any, ...]]:
    """Rows in SQLite's own types: dates as ISO text, booleans as 0/1."""
    return _sqlite_typed(frame).iter_rows()


# --- reading ---------------------------------------------------------------------------------


def read_frame(db: Database, sql: str, params: Sequence[Any] = ()) -> pl.DataFrame:
    """Run a query and return a Polars frame through the Arrow path (ADBC's SQLite driver).

    ADBC hands Polars Arrow columns without building a Python object per cell, which is what
    makes a million-lead load take a fraction of a second; see the README's Performance table.
    Uncommitted writes on `db` are not visible to it: read after `write()` has returned.
    """
    with _ONE_LIBRARY_AT_A_TIME, _arrow_reader(db_file(db)).cursor() as cur:
        # One batch for the whole result: one chunk per column, which later filters and sorts
        # want (see `leads`), without a copy to join chunks; the driver grows it as it reads.
        cur.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(2**30)})
        cur.execute(sql, list(params) if params else None)
        table = cur.fetch_arrow_table()
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _typed(frame: pl.DataFrame, fields: Sequence[Field]) -> pl.DataFrame:
    """Cast columns to the types of the field list (SQLite stores dates as text, bools as ints)."""
    casts = []
    for f in fields:
        if f.name not in frame.columns:
            continue
        if f.dtype == "date":
            casts.append(pl.col(f.name).cast(pl.String).str.to_date("%Y-%m-%d", strict=False))
        elif f.dtype == "bool":
            casts.append(pl.col(f.name).cast(pl.Int64).cast(pl.Boolean))
        else:
            casts.append(pl.col(f.name).cast(_POLARS_TYPES[f.dtype]))
    return frame.with_columns(casts)


def leads(db: Database, lead_id: int | None = None) -> pl.DataFrame:
    """Every lead (or the one `lead_id`), typed per `LEAD_FIELDS`, with its store id, by id."""
    names = ", ".join(f.name for f in LEAD_FIELDS)
    where, params = ("WHERE id = ?", [lead_id]) if lead_id is not None else ("", [])
    frame = read_frame(db, f"SELECT id, {names} FROM leads {where} ORDER BY id", params)
    # One chunk per column (free after `read_frame`'s single batch), as a column written in
    # place by `scoring.with_answers` has: columns chunked alike keep every later filter and
    # sort from realigning them (0.15 s a rerun at a million leads).
    return _typed(frame.with_columns(pl.col("id").cast(pl.Int64)), LEAD_FIELDS).rechunk()


def sal_answers(db: Database) -> pl.DataFrame:
    """Every lead sales has answered: `id`, `sal_status` and BANT, typed as in `leads`.

    An answer is never taken back (a later one replaces it), so laying these over leads read
    earlier gives the leads as they are now; the partial index `leads_answered` holds these
    columns of the answered leads only, so this reads the index alone.
    """
    fields = [f for f in LEAD_FIELDS if f.name in ANSWER_COLUMNS]
    frame = read_frame(
        db,
        f"SELECT id, {', '.join(ANSWER_COLUMNS)} FROM leads INDEXED BY leads_answered"
        " WHERE sal_status IS NOT NULL ORDER BY id",
    )
    return _typed(frame.with_columns(pl.col("id").cast(pl.Int64)), fields)


def lead_count(db: Database) -> int:
    return int(db.execute("SELECT count(*) FROM leads").fetchone()[0])


def pipelines(db: Database) -> pl.DataFrame:
    """Pipelines with their edit version and how many deals each holds."""
    return read_frame(
        db,
        "SELECT p.id, p.name, p.version, count(d.id) AS deals FROM pipelines p"
        " LEFT JOIN deals d ON d.pipeline_id = p.id GROUP BY p.id ORDER BY p.id",
    )


def stages(db: Database, pipeline_id: int | None = None) -> pl.DataFrame:
    """Active stages in pipeline order."""
    where = "WHERE active = 1" + (" AND pipeline_id = ?" if pipeline_id is not None else "")
    frame = read_frame(
        db,
        "SELECT id, pipeline_id, position, name, probability, kind, rot_days FROM stages "
        f"{where} ORDER BY pipeline_id, position",
        [pipeline_id] if pipeline_id is not None else [],
    )
    return frame.with_columns(
        pl.col("id", "pipeline_id", "position", "rot_days").cast(pl.Int64),
        pl.col("probability").cast(pl.Float64),
        pl.col("name", "kind").cast(pl.String),  # an empty result would come back as nulls
    )


def deals(db: Database, pipeline_id: int | None = None) -> pl.DataFrame:
    """Deals with their stage's name, kind and probability joined in."""
    where = "WHERE d.pipeline_id = ?" if pipeline_id is not None else ""
    names = ", ".join(f"d.{f.name}" for f in DEAL_FIELDS if f.name not in ("stage", "probability"))
    frame = read_frame(
        db,
        f"SELECT d.id, d.pipeline_id, d.stage_id, {names}, d.probability,"
        " s.name AS stage, s.kind AS stage_kind, s.probability AS stage_probability,"
        " s.position AS stage_position"
        f" FROM deals d JOIN stages s ON s.id = d.stage_id {where} ORDER BY d.id",
        [pipeline_id] if pipeline_id is not None else [],
    )
    return _typed(
        frame.with_columns(
            pl.col("id", "pipeline_id", "stage_id", "stage_position").cast(pl.Int64),
            pl.col("stage_probability").cast(pl.Float64),
            pl.col("stage_kind").cast(pl.String),
        ),
        DEAL_FIELDS,
    )


HISTORY_TIME = "%Y-%m-%dT%H:%M:%S"
"""The one format of a stage move's time in the store, written by `clock.stamp` (business
day, UTC time of day, no zone), normalised on old stores by `m004_history_timestamps`."""


def stage_history(db: Database, pipeline_id: int | None = None) -> pl.DataFrame:
    """Every recorded stage move (deal, from, to, at), oldest first.

    `at` is read in `HISTORY_TIME` only: a time in any other shape would become an unknown
    move date and silently lengthen a deal's time in stage, so it is refused by name instead.
    """
    where = "WHERE d.pipeline_id = ?" if pipeline_id is not None else ""
    frame = read_frame(
        db,
        "SELECT h.id, h.deal_id, h.from_stage_id, h.to_stage_id, h.at FROM stage_history h"
        f" JOIN deals d ON d.id = h.deal_id {where} ORDER BY h.deal_id, h.at, h.id",
        [pipeline_id] if pipeline_id is not None else [],
    )
    text = pl.col("at").cast(pl.String)
    parsed = frame.with_columns(
        pl.col("id", "deal_id", "from_stage_id", "to_stage_id").cast(pl.Int64),
        text.alias("text"),
        text.str.to_datetime(HISTORY_TIME, strict=False, time_zone=None).alias("at"),
    )
    bad = parsed.filter(pl.col("at").is_null())
    if bad.height:
        first = bad.row(0, named=True)
        raise StoreError(
            f"The stage history holds {bad.height:,} move{'' if bad.height == 1 else 's'} whose "
            "time is not written "
            f"YYYY-MM-DDTHH:MM:SS, the first of deal {first['deal_id']} (history row "
            f"{first['id']}): '{first['text']}'. Correct them in the store, or restore a backup."
        )
    return parsed.select("deal_id", "from_stage_id", "to_stage_id", "at")


COUNTED = ("pipelines", "deals", "leads", "decisions", "scenarios", "scoring_models")


def counts(db: Database, tables: Sequence[str] = COUNTED[:3]) -> dict[str, int]:
    """How many rows each of `tables` holds: pipelines, deals and leads by default (shown in
    the sidebar); a reset names every one of `COUNTED` that it replaces."""
    unknown = set(tables) - set(COUNTED)
    if unknown:
        raise StoreError(f"Nothing is counted in {', '.join(sorted(unknown))}.")
    return {table: int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]) for table in tables}


def holds_outside_data(db: Database) -> bool:
    """Whether anything in the store came from outside the demo (an import or a restore, as
    the audit trail records them): a reset then asks for the store's name."""
    row = db.execute("SELECT 1 FROM audit WHERE action IN ('import', 'restore') LIMIT 1").fetchone()
    return row is not None


def failure_message(error: Exception, path: Path | str) -> str | None:
    """A sentence saying what went wrong with the store at `path` and what to do, for an error
    SQLite itself raised (through either driver); None for any other error.

    A page shows this instead of a traceback: the user can act on a read-only file, a full
    disk or a table dropped by another program, not on a stack of frames.
    """
    text = str(error)
    if not (isinstance(error, sqlite3.Error) or type(error).__module__.startswith("adbc_")):
        return None
    if "readonly" in text or "read-only" in text:
        return (
            f"The store {path} is read-only, so nothing can be saved: make the file and its "
            "folder writable (or open a copy with --db), then try again. Nothing was changed."
        )
    if "full" in text:
        return f"The disk holding {path} is full: free some space, then try again. Nothing was saved."
    if missing := re.search(r"no such (table|column): ([\w.]+)", text):
        return (
            f"The store {path} has no {missing.group(1)} '{missing.group(2)}' (was it changed by "
            "another program?): restore a backup (`python -m funnel restore FILE`) or open "
            "another store with --db."
        )
    if "locked" in text or "busy" in text:
        return f"The store {path} is busy with another program's long write: try again in a moment."
    if "I/O" in text:
        return (
            f"The store {path} could not be read or written (disk I/O error: is the disk full or "
            "failing?): free some space or check the disk, then try again. Nothing was saved."
        )
    if "malformed" in text or "not a database" in text:
        return (
            f"The store {path} cannot be read ({text[:200]}): restore a backup "
            "(`python -m funnel restore FILE`) or open another store with --db."
        )
    return (
        f"The store {path} failed ({text[:200]}): try again; if it happens again, restore a "
        "backup or open another store with --db."
    )


def last_data_date(db: Database) -> date | None:
    """The last day the store's data knows of (a lead or deal created, a deal closed), or None."""
    row = db.execute(
        "SELECT max(d) FROM (SELECT max(created) AS d FROM leads UNION ALL"
        " SELECT max(created) FROM deals UNION ALL SELECT max(closed_at) FROM deals)"
    ).fetchone()
    return None if row[0] is None else date.fromisoformat(str(row[0])[:10])


def score_scales(db: Database) -> dict[str, tuple[str, float, float]]:
    """The scale each ready-made score came in on its last import: axis -> (column, low, high)."""
    rows = db.execute("SELECT key, value FROM meta WHERE key IN ('scale_fit', 'scale_interest')")
    return {key.removeprefix("scale_"): tuple(json.loads(value)) for key, value in rows.fetchall()}


# --- pipelines and stages --------------------------------------------------------------------


def _check_version(db: Database, pipeline_id: int, expected_version: int | None) -> int:
    row = db.execute("SELECT version, name FROM pipelines WHERE id = ?", [pipeline_id]).fetchone()
    if row is None:
        raise StoreError(f"Pipeline {pipeline_id} no longer exists; another session deleted it.")
    version, name = row
    if expected_version is not None and version != expected_version:
        raise StaleVersionError(
            f"Pipeline '{name}' was changed by someone else since you opened it (your version "
            f"{expected_version}, saved version {version}). Reload to see their change, then "
            "reapply yours."
        )
    return int(version)


def create_pipeline(db: Database, name: str, stages: Sequence[Stage], who: str = "") -> int:
    """Create a pipeline with its stages in one transaction and return its id."""
    name = name.strip()
    if not name:
        raise StoreError("A pipeline needs a name.")
    if db.execute("SELECT 1 FROM pipelines WHERE name = ?", [name]).fetchone():
        raise StoreError(f"A pipeline named '{name}' already exists; choose another name.")
    with write(db):
        return _insert_pipeline(db, name, stages, who)


def _insert_pipeline(db: Database, name: str, stages: Sequence[Stage], who: str) -> int:
    """Insert a pipeline, its stages and the audit line; call it inside `write()`."""
    cur = db.conn.execute("INSERT INTO pipelines (name, created_at) VALUES (?, ?)", [name, now()])
    pipeline_id = int(cur.lastrowid or 0)
    _insert_stages(db, pipeline_id, stages)
    audit(
        db,
        who,
        "pipeline",
        pipeline_id,
        "create",
        None,
        {"name": name, "stages": [asdict(s) for s in stages]},
    )
    return pipeline_id


def _insert_stages(db: Database, pipeline_id: int, stages: Sequence[Stage]) -> None:
    db.conn.executemany(
        "INSERT INTO stages (pipeline_id, position, name, probability, kind, rot_days)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [
            (pipeline_id, i, s.name.strip(), float(s.probability), s.kind, s.rot_days)
            for i, s in enumerate(stages, start=1)
        ],
    )


def rename_pipeline(
    db: Database,
    pipeline_id: int,
    name: str,
    expected_version: int | None,
    who: str = "",
    action: str = "rename",
) -> None:
    name = name.strip()
    if not name:
        raise StoreError("A pipeline needs a name.")
    with write(db):
        version = _check_version(db, pipeline_id, expected_version)
        clash = db.execute(
            "SELECT 1 FROM pipelines WHERE name = ? AND id != ?", [name, pipeline_id]
        ).fetchone()
        if clash:
            raise StoreError(f"A pipeline named '{name}' already exists; choose another name.")
        old = db.execute("SELECT name FROM pipelines WHERE id = ?", [pipeline_id]).fetchone()[0]
        db.conn.execute(
            "UPDATE pipelines SET name = ?, version = ? WHERE id = ?",
            [name, version + 1, pipeline_id],
        )
        audit(db, who, "pipeline", pipeline_id, action, {"name": old}, {"name": name})


def delete_pipeline(
    db: Database, pipeline_id: int, who: str = "", expected_version: int | None = None
) -> None:
    """Delete an empty pipeline; one that still holds deals is refused (move them first), and
    so is one changed since the user saw `expected_version` of it."""
    with write(db):
        row = db.execute("SELECT name FROM pipelines WHERE id = ?", [pipeline_id]).fetchone()
        if row is None:
            raise StoreError(f"Pipeline {pipeline_id} no longer exists; another session deleted it.")
        _check_version(db, pipeline_id, expected_version)
        n = db.execute("SELECT count(*) FROM deals WHERE pipeline_id = ?", [pipeline_id]).fetchone()
        if n[0]:
            raise StoreError(
                f"Pipeline '{row[0]}' still holds {n[0]} deals; move them to another pipeline "
                "or delete them before deleting the pipeline."
            )
        db.conn.execute("DELETE FROM stages WHERE pipeline_id = ?", [pipeline_id])
        db.conn.execute("DELETE FROM pipelines WHERE id = ?", [pipeline_id])
        audit(db, who, "pipeline", pipeline_id, "delete", {"name": row[0]}, None)


def save_stages(
    db: Database,
    pipeline_id: int,
    new_stages: Sequence[Stage],
    expected_version: int | None,
    reassign: dict[int, str] | None = None,
    who: str = "",
    action: str = "save",
) -> None:
    """Replace a pipeline's stage list (validated by `stages.validate_stages` beforehand).

    Stages keep their id when they keep it in `new_stages` (so history stays attached); a
    removed stage is retired, not erased, and its deals move to the stage named in
    `reassign[removed_id]` with the move recorded. A removed stage that holds deals and has no
    receiving stage is refused: no deal is ever lost. A retired stage listed again by its id
    comes back with its history (what `undo_last` relies on); `action` names the change in the
    audit trail.
    """
    reassign = reassign or {}
    with write(db):
        version = _check_version(db, pipeline_id, expected_version)
        before = _stage_rows(db, pipeline_id)
        kept_ids = {s.id for s in new_stages if s.id is not None}
        removed = [r for r in before if r["id"] not in kept_ids]
        # Park active names so renames and swaps never trip the unique index midway.
        db.conn.execute(
            "UPDATE stages SET name = '~' || id || '~' || name WHERE pipeline_id = ? AND active = 1",
            [pipeline_id],
        )
        for position, s in enumerate(new_stages, start=1):
            if s.id is None:
                continue
            db.conn.execute(
                "UPDATE stages SET position = ?, name = ?, probability = ?, kind = ?,"
                " rot_days = ?, active = 1 WHERE id = ? AND pipeline_id = ?",
                [
                    position,
                    s.name.strip(),
                    float(s.probability),
                    s.kind,
                    s.rot_days,
                    s.id,
                    pipeline_id,
                ],
            )
        for position, s in enumerate(new_stages, start=1):
            if s.id is None:
                db.conn.execute(
                    "INSERT INTO stages (pipeline_id, position, name, probability, kind, rot_days)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        pipeline_id,
                        position,
                        s.name.strip(),
                        float(s.probability),
                        s.kind,
                        s.rot_days,
                    ],
                )
        for r in removed:
            held = db.execute("SELECT id FROM deals WHERE stage_id = ?", [r["id"]]).fetchall()
            if held:
                target_name = reassign.get(r["id"])
                target = db.execute(
                    "SELECT id FROM stages WHERE pipeline_id = ? AND name = ? AND active = 1",
                    [pipeline_id, target_name],
                ).fetchone()
                if target is None:
                    raise StoreError(
                        f"Stage '{r['name']}' holds {len(held)} deals: choose the stage that "
                        "receives them before deleting it."
                    )
                at = clock.stamp()
                db.conn.executemany(
                    "INSERT INTO stage_history (deal_id, from_stage_id, to_stage_id, at)"
                    " VALUES (?, ?, ?, ?)",
                    [(d[0], r["id"], target[0], at) for d in held],
                )
                db.conn.execute("UPDATE deals SET stage_id = ? WHERE stage_id = ?", [target[0], r["id"]])
            db.conn.execute("UPDATE stages SET active = 0, name = ? WHERE id = ?", [r["name"], r["id"]])
        after = _stage_rows(db, pipeline_id)
        if after == before:
            raise NothingToSaveError(
                "Nothing to save: the stages are as saved. A value still being typed reaches the "
                "table when you press Enter or click outside its cell; then save again."
            )
        db.conn.execute("UPDATE pipelines SET version = ? WHERE id = ?", [version + 1, pipeline_id])
        audit(db, who, "stages", pipeline_id, action, before, after)


def import_stage_lists(
    db: Database, lists: Mapping[str, Sequence[Stage]], who: str = ""
) -> tuple[int, int]:
    """Pipelines read back from a stages file (`exports.table(db, "stages")`), all or nothing.

    A pipeline the store lacks is created with its stages; one it has takes the file's
    probability and rotting limit for each stage of the same name, and keeps its order, names
    and kinds (the Stages page changes those), so no deal moves. A stage the pipeline lacks
    refuses the whole file. Returns (pipelines created, pipelines updated).
    """
    created = updated = 0
    with write(db):
        for name, listed in lists.items():
            row = db.execute("SELECT id FROM pipelines WHERE name = ?", [name]).fetchone()
            if row is None:
                _insert_pipeline(db, name, listed, who)
                created += 1
                continue
            pipeline_id = int(row[0])
            before = _stage_rows(db, pipeline_id)
            lacking = [s.name for s in listed if s.name not in {r["name"] for r in before}]
            if lacking:
                raise StoreError(
                    f"Pipeline '{name}' has no stage {', '.join(lacking)}: add it on the Stages "
                    "page first, or give the pipeline another name in the file to create it."
                )
            db.conn.executemany(
                "UPDATE stages SET probability = ?, rot_days = ?"
                " WHERE pipeline_id = ? AND name = ? AND active = 1",
                [(float(s.probability), s.rot_days, pipeline_id, s.name) for s in listed],
            )
            db.conn.execute("UPDATE pipelines SET version = version + 1 WHERE id = ?", [pipeline_id])
            audit(db, who, "stages", pipeline_id, "import", before, _stage_rows(db, pipeline_id))
            updated += 1
    return created, updated


def _stage_rows(db: Database, pipeline_id: int) -> list[dict[str, Any]]:
    cur = db.execute(
        "SELECT id, position, name, probability, kind, rot_days FROM stages"
        " WHERE pipeline_id = ? AND active = 1 ORDER BY position",
        [pipeline_id],
    )
    names = [c[0] for c in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def stage_names(db: Database) -> dict[int, str]:
    """Every stage's name by id, retired ones too: the History names the stages of old moves."""
    return {int(i): str(n) for i, n in db.execute("SELECT id, name FROM stages").fetchall()}


def stage_list(db: Database, pipeline_id: int) -> list[Stage]:
    """The pipeline's active stages as records, in order (what the editor starts from)."""
    return [
        Stage(r["name"], r["probability"], r["kind"], r["rot_days"], r["id"])
        for r in _stage_rows(db, pipeline_id)
    ]


def pipeline_version(db: Database, pipeline_id: int) -> int:
    return _check_version(db, pipeline_id, None)


# --- deals -----------------------------------------------------------------------------------


def move_deal(
    db: Database,
    deal_id: int,
    to_stage_id: int,
    who: str = "",
    expected_stage_id: int | None = None,
) -> None:
    """Move a deal to another stage of its pipeline and record the move in the history, at
    `clock.stamp()` (`HISTORY_TIME`).

    Reaching a won or lost stage closes the deal (closed_at = the move's date); moving back to
    an open stage reopens it. `expected_stage_id` is the stage the user saw the deal in: if
    someone moved it since, the move is refused rather than silently overriding theirs.
    """
    at = clock.stamp()
    with write(db):
        deal = db.execute(
            "SELECT d.stage_id, d.pipeline_id, d.name, s.name FROM deals d"
            " JOIN stages s ON s.id = d.stage_id WHERE d.id = ?",
            [deal_id],
        ).fetchone()
        if deal is None:
            raise StoreError(f"Deal {deal_id} no longer exists; another session deleted it.")
        if expected_stage_id is not None and deal[0] != expected_stage_id:
            raise StaleVersionError(
                f"Deal '{deal[2]}' was moved by someone else since you opened the page (it is now "
                f"in '{deal[3]}'). Reload to see their change, then move it again if you still "
                "want to."
            )
        target = db.execute(
            "SELECT pipeline_id, kind, name FROM stages WHERE id = ? AND active = 1", [to_stage_id]
        ).fetchone()
        if target is None or target[0] != deal[1]:
            raise StoreError(f"Stage {to_stage_id} is not a stage of deal '{deal[2]}''s pipeline.")
        if deal[0] == to_stage_id:
            return
        closed_at = at[:10] if target[1] in ("won", "lost") else None
        db.conn.execute(
            "UPDATE deals SET stage_id = ?, closed_at = ? WHERE id = ?",
            [to_stage_id, closed_at, deal_id],
        )
        db.conn.execute(
            "INSERT INTO stage_history (deal_id, from_stage_id, to_stage_id, at) VALUES (?, ?, ?, ?)",
            [deal_id, deal[0], to_stage_id, at],
        )
        audit(db, who, "deal", deal_id, "move", {"stage_id": deal[0]}, {"stage_id": to_stage_id})


def clear_deal_probabilities(db: Database, deal_ids: Sequence[int], who: str = "") -> int:
    """Drop the deals' own win probabilities, so their stage's weighs them again.

    Returns how many deals had one; the audit keeps each one's old value, by deal id.
    """
    with write(db):
        marks = ", ".join("?" for _ in deal_ids)
        had = dict(
            db.execute(
                f"SELECT id, probability FROM deals WHERE id IN ({marks}) AND probability IS NOT NULL",
                list(deal_ids),
            ).fetchall()
        )
        if not had:
            return 0
        marks = ", ".join("?" for _ in had)
        db.conn.execute(f"UPDATE deals SET probability = NULL WHERE id IN ({marks})", list(had))
        audit(db, who, "deals", None, "clear_probability", {"probability": had}, {"cleared": len(had)})
    return len(had)


# --- scoring models ----------------------------------------------------------------------------


def latest_model_version(db: Database) -> int | None:
    row = db.execute("SELECT max(version) FROM scoring_models").fetchone()
    return None if row[0] is None else int(row[0])


def model_versions(db: Database) -> pl.DataFrame:
    """Every scoring model version, newest first."""
    return read_frame(
        db,
        "SELECT m.version, m.half_life_days, m.created_at, m.created_by, m.note,"
        " count(r.id) AS rules FROM scoring_models m"
        " LEFT JOIN scoring_rules r ON r.model_version = m.version"
        " GROUP BY m.version ORDER BY m.version DESC",
    )


def rules(db: Database, version: int) -> list[Rule]:
    """The rules of one model version, in order."""
    rows = db.execute(
        "SELECT axis, field, condition, value, points, label FROM scoring_rules"
        " WHERE model_version = ? ORDER BY position",
        [version],
    ).fetchall()
    out = []
    for axis, fld, condition, value, points, label in rows:
        v = json.loads(value)
        out.append(Rule(axis, fld, condition, tuple(v) if isinstance(v, list) else v, points, label))
    return out


def half_life(db: Database, version: int) -> float:
    row = db.execute("SELECT half_life_days FROM scoring_models WHERE version = ?", [version]).fetchone()
    if row is None:
        raise StoreError(f"Scoring model version {version} does not exist.")
    return float(row[0])


def save_model(
    db: Database,
    new_rules: Sequence[Rule],
    half_life_days: float,
    based_on: int | None,
    who: str = "",
    note: str = "",
    action: str = "save",
) -> int:
    """Save the rules as a new model version and return it; old versions stay as they were.

    `based_on` is the version the editor started from: if someone saved a newer version
    meanwhile, the save is refused rather than silently dropping their edit. `action` names
    the change in the audit trail.
    """
    with write(db):
        latest = latest_model_version(db)
        if based_on is not None and latest is not None and based_on != latest:
            raise StaleVersionError(
                f"The scoring model was saved by someone else (version {latest}) since you "
                f"opened version {based_on}. Reload version {latest}, then reapply your edit."
            )
        version = (latest or 0) + 1
        db.conn.execute(
            "INSERT INTO scoring_models (version, half_life_days, created_at, created_by, note)"
            " VALUES (?, ?, ?, ?, ?)",
            [version, float(half_life_days), now(), who, note],
        )
        db.conn.executemany(
            "INSERT INTO scoring_rules (model_version, position, axis, field, condition, value,"
            " points, label) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    version,
                    i,
                    r.axis,
                    r.field,
                    r.condition,
                    json.dumps(r.value),
                    float(r.points),
                    r.label,
                )
                for i, r in enumerate(new_rules, start=1)
            ],
        )
        audit(
            db,
            who,
            "scoring_model",
            version,
            action,
            None
            if latest is None
            else {"version": latest, "rules": [asdict(r) for r in rules(db, latest)]},
            {
                "version": version,
                "half_life_days": half_life_days,
                "rules": [asdict(r) for r in new_rules],
            },
        )
    return version


# --- decisions and scenarios (append-only) -----------------------------------------------------


def record_decision(
    db: Database,
    fit_cutoff: float,
    interest_cutoff: float,
    model_version: int,
    decided_on: str,
    agreed_by: str,
    note: str = "",
    who: str = "",
) -> int:
    """Append an agreed MQL cutoff; earlier decisions are never overwritten."""
    if not agreed_by.strip():
        raise StoreError("Say who agreed the cutoff (e.g. 'Anna (marketing), Ben (sales)').")
    with write(db):
        cur = db.conn.execute(
            "INSERT INTO decisions (fit_cutoff, interest_cutoff, model_version, decided_on,"
            " agreed_by, note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                fit_cutoff,
                interest_cutoff,
                model_version,
                decided_on,
                agreed_by.strip(),
                note,
                now(),
            ],
        )
        decision_id = int(cur.lastrowid or 0)
        audit(
            db,
            who,
            "decision",
            decision_id,
            "record",
            None,
            {
                "fit_cutoff": fit_cutoff,
                "interest_cutoff": interest_cutoff,
                "model_version": model_version,
                "agreed_by": agreed_by,
                "note": note,
            },
        )
    return decision_id


def decisions(db: Database) -> pl.DataFrame:
    """Recorded decisions, newest first."""
    return read_frame(
        db,
        "SELECT id, fit_cutoff, interest_cutoff, model_version, decided_on, agreed_by, note,"
        " created_at FROM decisions ORDER BY id DESC",
    )


def save_scenario(db: Database, name: str, params: dict[str, float], who: str = "") -> int:
    """Append a named scenario and return its id; the old ones stay.

    A name already taken (case aside) is numbered, "Q1 push (2)", so two scenarios never look
    alike in a list or a comparison, and a colleague's save of the same name loses nothing.
    """
    name = name.strip()
    if not name:
        raise StoreError("A scenario needs a name.")
    with write(db):
        taken = {str(n).casefold() for (n,) in db.execute("SELECT name FROM scenarios").fetchall()}
        numbered = name
        n = 2
        while numbered.casefold() in taken:
            numbered, n = f"{name} ({n})", n + 1
        cur = db.conn.execute(
            "INSERT INTO scenarios (name, params, created_at, created_by) VALUES (?, ?, ?, ?)",
            [numbered, json.dumps(params), now(), who],
        )
        scenario_id = int(cur.lastrowid or 0)
        audit(db, who, "scenario", scenario_id, "save", None, {"name": numbered, "params": params})
    return scenario_id


def scenarios(db: Database) -> pl.DataFrame:
    """Saved scenarios, newest first, params as JSON text."""
    return read_frame(
        db, "SELECT id, name, params, created_at, created_by FROM scenarios ORDER BY id DESC"
    )


def audit_log(db: Database) -> pl.DataFrame:
    """The audit trail, newest first."""
    return read_frame(
        db,
        "SELECT id, at, who, entity, entity_id, action, before, after FROM audit ORDER BY id DESC",
    )


# --- undo ---------------------------------------------------------------------------------------
# Undo reverts the last change of a pipeline (its name or its stage list) or of the scoring
# model, as a new change made through the ordinary save functions: it is version-checked and
# logged like any other, and undoing an undo puts the change back.


@migrations()
def m002_audit_entity_index(db: Database) -> None:
    """Find an object's last change without scanning the whole trail (undo, History filters)."""
    db.execute("CREATE INDEX audit_entity ON audit(entity, entity_id, id)")


UNDOABLE = ("pipeline", "scoring_model")
"""What `undo_last` can revert; decisions and scenarios are append-only and never undone."""

_AUDIT_ENTITIES = {"pipeline": ("pipeline", "stages"), "scoring_model": ("scoring_model",)}


def last_change(db: Database, entity: str, entity_id: int | None = None) -> dict[str, Any] | None:
    """The newest audit entry of a pipeline (`entity_id` = its id) or of the scoring model.

    A pipeline's changes are its creation, renames and stage saves; the scoring model is one
    versioned object, so `entity_id` is ignored for it. None when it has no change yet.
    """
    if entity not in _AUDIT_ENTITIES:
        raise StoreError(f"Only a pipeline or the scoring model can be undone, not '{entity}'.")
    names = _AUDIT_ENTITIES[entity]
    where = f"entity IN ({', '.join('?' for _ in names)})"
    params: list[Any] = list(names)
    if entity == "pipeline":
        where += " AND entity_id = ?"
        params.append(entity_id)
    cur = db.execute(
        "SELECT id, at, who, entity, entity_id, action, before, after FROM audit"
        f" WHERE {where} ORDER BY id DESC LIMIT 1",
        params,
    )
    row = cur.fetchone()
    if row is None:
        return None
    return dict(zip([c[0] for c in cur.description], row, strict=True))


def undo_target(db: Database, entity: str, entity_id: int | None = None) -> dict[str, Any] | None:
    """The change the next undo of a pipeline or of the scoring model reverts, or None.

    Undo is a stack: each undo (logged with the action `undo`) cancels the newest change
    before it that no other undo cancelled, so undoing again goes one change further back,
    never back and forth between the last two states.
    """
    newest = last_change(db, entity, entity_id)
    if newest is None:
        return None
    names = _AUDIT_ENTITIES[entity]
    where = f"entity IN ({', '.join('?' for _ in names)})"
    params: list[Any] = list(names)
    if entity == "pipeline":
        where += " AND entity_id = ?"
        params.append(entity_id)
    cur = db.execute(
        "SELECT id, at, who, entity, entity_id, action, before, after FROM audit"
        f" WHERE {where} ORDER BY id DESC",
        params,
    )
    columns = [c[0] for c in cur.description]
    undone = 0
    for row in cur:
        change = dict(zip(columns, row, strict=True))
        if change["action"] == "undo":
            undone += 1
        elif undone:
            undone -= 1
        else:
            return change
    return None


def undo_targets(db: Database) -> list[tuple[str, int | None]]:
    """What can be undone, as (entity, id): pipelines and the scoring model, latest change first.

    The History page offers them in this order, so the change just made is the first choice.
    """
    rows = db.execute(
        "SELECT * FROM (SELECT 'pipeline', p.id, (SELECT max(a.id) FROM audit a"
        "  WHERE a.entity IN ('pipeline', 'stages') AND a.entity_id = p.id) AS last"
        " FROM pipelines p"
        " UNION ALL SELECT 'scoring_model', NULL, (SELECT max(id) FROM audit"
        "  WHERE entity = 'scoring_model') WHERE EXISTS (SELECT 1 FROM scoring_models))"
        " ORDER BY last IS NULL, last DESC"
    ).fetchall()
    return [(str(e), None if i is None else int(i)) for e, i, _ in rows]


def undo_last(
    db: Database,
    entity: str,
    entity_id: int | None,
    who: str,
    expected_audit_id: int | None = None,
) -> int:
    """Revert the last change of a pipeline or of the scoring model; return the new audit id.

    `expected_audit_id` is the change the user saw when they chose to undo: if someone changed
    the object since, the undo is refused rather than reverting a change nobody looked at.
    Deals moved by a stage deletion stay where they went (their moves are history); the stage
    itself comes back.

    >>> undo_last(db, "pipeline", 1, "Anna")  # doctest: +SKIP
    """
    pipeline_version_seen = (
        pipeline_version(db, entity_id) if entity == "pipeline" and entity_id else None
    )
    entry = undo_target(db, entity, entity_id)
    subject = "the scoring model" if entity == "scoring_model" else f"pipeline {entity_id}"
    if entry is None:
        raise StoreError(f"Nothing to undo: {subject} has no recorded change left to undo.")
    if expected_audit_id is not None and entry["id"] != expected_audit_id:
        raise StaleVersionError(
            f"{subject.capitalize()} was changed again (change #{entry['id']} by {entry['who']}) "
            f"since you chose to undo change #{expected_audit_id}. Look at the History again, "
            "then decide."
        )
    before: Any = None if entry["before"] is None else json.loads(entry["before"])
    kind = (entry["entity"], entry["action"])
    if kind in (("stages", "save"), ("stages", "undo"), ("stages", "import")):
        _refuse_undo_that_strands_deals(db, int(entry["entity_id"]), before)
        save_stages(
            db,
            int(entry["entity_id"]),
            [Stage(r["name"], r["probability"], r["kind"], r["rot_days"], r["id"]) for r in before],
            expected_version=pipeline_version_seen,
            who=who,
            action="undo",
        )
    elif kind == ("pipeline", "rename"):
        rename_pipeline(
            db, int(entry["entity_id"]), before["name"], pipeline_version_seen, who, action="undo"
        )
    elif kind == ("pipeline", "create"):
        delete_pipeline(db, int(entry["entity_id"]), who, pipeline_version_seen)
    elif entry["entity"] == "scoring_model" and before is not None:
        previous = int(before["version"])
        save_model(
            db,
            [_rule(r) for r in before["rules"]],
            half_life(db, previous),
            based_on=latest_model_version(db),  # an earlier step's undo builds on the latest too
            who=who,
            note=f"Undo of version {entry['entity_id']}: the rules of version {previous} again.",
            action="undo",
        )
    elif entry["entity"] == "scoring_model":
        raise StoreError("The first scoring model has no earlier version to go back to.")
    else:
        raise StoreError(
            f"The last change of {subject} ({entry['action']} #{entry['id']}) cannot be undone."
        )
    undone = last_change(db, entity, entity_id)
    assert undone is not None
    return int(undone["id"])


def _refuse_undo_that_strands_deals(
    db: Database, pipeline_id: int, before: list[dict[str, Any]]
) -> None:
    """An undo cannot ask where deals go: a stage it would remove must be empty first."""
    kept = {r["id"] for r in before}
    for stage_id, name in db.execute(
        "SELECT id, name FROM stages WHERE pipeline_id = ? AND active = 1", [pipeline_id]
    ).fetchall():
        held = db.execute("SELECT count(*) FROM deals WHERE stage_id = ?", [stage_id]).fetchone()[0]
        if stage_id not in kept and held:
            raise StoreError(
                f"Undo would remove stage '{name}', which now holds {held} "
                f"deal{'s' * (held != 1)}: move them or edit the stages on the Stages & "
                "probabilities page instead."
            )


def _rule(saved: dict[str, Any]) -> Rule:
    """A rule back from its audit JSON (lists become the tuples `Rule` holds)."""
    value = saved["value"]
    return Rule(
        saved["axis"],
        saved["field"],
        saved["condition"],
        tuple(value) if isinstance(value, list) else value,
        saved["points"],
        saved.get("label", ""),
    )


# --- import -------------------------------------------------------------------------------------

IMPORT_PART_ROWS = 125_000
IMPORT_MAX_PARTS = 8  # SQLite attaches at most 10 databases
STAGING_THREADS = 2


def external_ids(db: Database, table: str) -> pl.Series:
    """Every external id of `leads` or `deals`: what a re-import will update rather than add.

    Read on `db` itself, not through `read_frame`: the import writes on this connection next,
    and an ADBC connection closing in the same process drops the WAL that `db` still holds.
    """
    if table not in ("leads", "deals"):
        raise StoreError(f"Nothing is imported into '{table}'.")
    rows = db.execute(f"SELECT external_id FROM {table} WHERE external_id IS NOT NULL").fetchall()
    return pl.Series("external_id", [r[0] for r in rows], dtype=pl.String)


def import_targets(db: Database) -> pl.DataFrame:
    """Every active stage with its pipeline (id, name), what imported deal stages are matched to.

    Read on `db` for the same reason as `external_ids`.
    """
    rows = db.execute(
        "SELECT p.id, p.name, s.name, s.kind FROM pipelines p"
        " LEFT JOIN stages s ON s.pipeline_id = p.id AND s.active = 1"
        " ORDER BY p.id, s.position"
    ).fetchall()
    return pl.DataFrame(
        rows,
        schema={"pipeline_id": pl.Int64, "pipeline": pl.String, "stage": pl.String, "kind": pl.String},
        orient="row",
    )


def _upsert_parts(
    db: Database,
    table: str,
    frame: pl.DataFrame,
    parts: Iterator[tuple[str, int]],
    progress: Callable[[int, int], None] | None,
    pipeline_id: int | None = None,
) -> tuple[int, int]:
    """Upsert a frame into `table` on `external_id`; call it inside `write()` within `_staged`.

    Each part is one INSERT ... SELECT from a staged file, run inside SQLite: no Python object
    per cell.
    """
    before = int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    names = [c for c in frame.columns if c != "stage"]
    picked = [f"r.{c}" for c in names]
    join, params = "", []
    if pipeline_id is not None:
        # Deals: stage names become the pipeline's stage ids in the same statement.
        names += ["pipeline_id", "stage_id"]
        picked += ["s.pipeline_id", "s.id"]
        join = " JOIN stages s ON s.pipeline_id = ? AND s.active = 1 AND s.name = r.stage"
        params.append(pipeline_id)
    updates = ", ".join(f"{c} = excluded.{c}" for c in names if c != "external_id")
    # Into an empty table, secondary indexes are cheaper built once at the end than kept up
    # row by row; the same transaction drops and rebuilds them, so a failure leaves them as were.
    rebuilt = (
        db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
            " AND sql IS NOT NULL",
            [table],
        ).fetchall()
        if before == 0
        else []
    )
    for name, _ in rebuilt:
        db.conn.execute(f"DROP INDEX {name}")
    done = 0
    for schema, rows in parts:
        db.conn.execute(
            f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(picked)}"
            f" FROM {schema}.rows r{join}"
            " WHERE true"  # a WHERE tells the parser that ON CONFLICT starts an upsert
            f" ON CONFLICT(external_id) DO UPDATE SET {updates}",
            params,
        )
        done += rows
        if progress:
            progress(done, frame.height)
    for _, create in rebuilt:
        db.conn.execute(create)
    added = int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]) - before
    return added, frame.height - added


def _stage_part(path: Path, part: pl.DataFrame) -> int:
    """Write one part into its own throw-away SQLite file (no journal, no fsync) and close it."""
    with adbc.connect(str(path), autocommit=True) as conn, conn.cursor() as cur:
        for pragma in ("journal_mode = OFF", "synchronous = OFF"):
            cur.execute(f"PRAGMA {pragma}")
            cur.fetchall()
        # ISO text made by Polars ingests faster than ADBC's own date32 conversion.
        cur.adbc_ingest("rows", _sqlite_typed(part).to_arrow(), mode="create")
    return part.height


def _scratch() -> Path:
    """The RAM disk where there is one, else the temporary folder."""
    return Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else Path(tempfile.gettempdir())


def _staging_folder() -> Path:
    """A private scratch folder, named for this process, after sweeping the folders of
    imports whose process was killed mid-way."""
    for old in _scratch().glob("funnel-import-*-*"):
        pid = old.name.split("-")[2]
        if pid.isdigit() and not alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"funnel-import-{os.getpid()}-", dir=_scratch()))


def alive(pid: int) -> bool:
    """Whether process `pid` runs: a scratch file named for a dead one is left over."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, and somebody else's
        pass
    return True


@contextmanager
def _staged(db: Database, frame: pl.DataFrame) -> Iterator[Iterator[tuple[str, int]]]:
    """The frame bulk-written into private SQLite files, yielded as (schema, rows) as each part
    is attached to `db`.

    ADBC ingests the Arrow columns in C, five times faster than `executemany` over Python
    tuples, and lets go of the GIL: two threads write the parts while the caller upserts those
    already written, so staging and writing overlap. ADBC closes a part before `db` attaches
    it, so no file ever has two SQLite libraries on it (see `_keep_open`). SQLite allows ATTACH
    inside a transaction but not DETACH: enter this before `write()`, which must be done with
    the parts before this detaches them.
    """
    folder = _staging_folder()
    size = max(IMPORT_PART_ROWS, -(-frame.height // IMPORT_MAX_PARTS))
    pool = ThreadPoolExecutor(STAGING_THREADS, thread_name_prefix="funnel-staging")
    futures = [
        pool.submit(_stage_part, folder / f"part{i}.db", frame.slice(start, size))
        for i, start in enumerate(range(0, frame.height, size))
    ]
    attached: list[str] = []

    def parts() -> Iterator[tuple[str, int]]:
        for i, future in enumerate(futures):
            rows = future.result()
            path = folder / f"part{i}.db"
            db.conn.execute(f"ATTACH DATABASE ? AS staging{i}", [str(path)])
            attached.append(f"staging{i}")
            # Attached, the file is read through its open descriptor: its name can go now.
            path.unlink()
            yield f"staging{i}", rows

    cache = db.execute("PRAGMA main.cache_size").fetchone()[0]
    # A million-row upsert walks the external-id index at random: keep it in memory.
    db.conn.execute("PRAGMA main.cache_size = -262144")
    try:
        yield parts()
    finally:
        for future in futures:
            future.cancel()
        pool.shutdown(wait=True)
        db.conn.execute(f"PRAGMA main.cache_size = {int(cache)}")
        for schema in attached:
            db.conn.execute(f"DETACH DATABASE {schema}")
        shutil.rmtree(folder, ignore_errors=True)


def import_leads(
    db: Database,
    frame: pl.DataFrame,
    who: str = "",
    source: str = "",
    progress: Callable[[int, int], None] | None = None,
    scores_only_model: str = "",
    scales: Mapping[str, tuple[str, float, float]] | None = None,
) -> tuple[int, int]:
    """Write validated leads in one transaction, updating those whose external id exists.

    Only the columns the file mapped are written, so a re-import never blanks other fields.
    With `scores_only_model` (its note) and no scoring model in the store yet, a model with no
    rules is saved in the same transaction: leads that came with both scores are then scored on
    the MQL page at once, and rules can be added there later. `scales` (axis -> the file's
    column, low, high) is kept, so the MQL page can say a cutoff in the file's own units.
    Returns (added, updated).
    """
    with _staged(db, frame) as parts, write(db, leads=True):
        added, updated = _upsert_parts(db, "leads", frame, parts, progress)
        for axis, scale in (scales or {}).items():
            db.conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [f"scale_{axis}", json.dumps(scale)],
            )
        if scores_only_model and latest_model_version(db) is None:
            db.conn.execute(
                "INSERT INTO scoring_models (version, half_life_days, created_at, created_by, note)"
                " VALUES (1, 0, ?, ?, ?)",
                [now(), who, scores_only_model],
            )
            after = {"version": 1, "half_life_days": 0.0, "rules": []}
            audit(db, who, "scoring_model", 1, "save", None, after)
        audit(
            db, who, "leads", None, "import", None, {"file": source, "added": added, "updated": updated}
        )
    return added, updated


def import_deals(
    db: Database,
    frame: pl.DataFrame,
    pipeline_id: int | None,
    new_pipeline: tuple[str, Sequence[Stage]] | None = None,
    who: str = "",
    source: str = "",
    progress: Callable[[int, int], None] | None = None,
    history: pl.DataFrame | None = None,
) -> tuple[int, int]:
    """Write validated deals (a `stage` column of stage names) into one pipeline, all or nothing.

    With `new_pipeline` the pipeline is created from those stages in the same transaction.
    A new deal gets its first stage-history entry; a deal whose stage changed gets the move, so
    computed probabilities and time in stage keep working after a re-import. `history`
    (`external_id`, `stage` name, `entered` date), the stage history the file itself carries,
    replaces the recorded history of the deals it names. Returns (added, updated).
    """
    with _staged(db, frame) as parts, write(db):
        if new_pipeline is not None:
            name, new_stages = new_pipeline
            pipeline_id = _insert_pipeline(db, name.strip(), new_stages, who)
        if pipeline_id is None:
            raise StoreError("Choose the pipeline the deals go into.")
        ids = dict(
            db.execute(
                "SELECT name, id FROM stages WHERE pipeline_id = ? AND active = 1", [pipeline_id]
            ).fetchall()
        )
        missing = sorted(set(frame["stage"].drop_nulls().to_list()) - set(ids))
        if missing:
            raise StoreError(f"Stages {', '.join(missing)} are not in pipeline {pipeline_id}.")
        db.conn.execute("CREATE TEMP TABLE import_before AS SELECT id, stage_id FROM deals")
        db.conn.execute("CREATE TEMP TABLE import_history (external_id TEXT, stage TEXT, entered TEXT)")
        try:
            added, updated = _upsert_parts(db, "deals", frame, parts, progress, pipeline_id)
            if history is not None:
                _write_history(db, history, pipeline_id)
            at = clock.stamp()
            # A deal that closed entered its won or lost stage the day it closed; every time is
            # written in HISTORY_TIME.
            db.conn.execute(
                "INSERT INTO stage_history (deal_id, from_stage_id, to_stage_id, at)"
                " SELECT d.id, b.stage_id, d.stage_id, CASE"
                f" WHEN s.kind != 'open' AND d.closed_at IS NOT NULL THEN {_sql_time('d.closed_at')}"
                f" WHEN b.id IS NULL THEN coalesce({_sql_time('d.created')}, ?) ELSE ? END"
                " FROM deals d JOIN stages s ON s.id = d.stage_id"
                " LEFT JOIN import_before b ON b.id = d.id"
                " WHERE (b.id IS NULL OR b.stage_id != d.stage_id)"
                " AND d.external_id NOT IN (SELECT external_id FROM temp.import_history)",
                [at, at],
            )
        finally:
            db.conn.execute("DROP TABLE temp.import_before")
            db.conn.execute("DROP TABLE temp.import_history")
        audit(
            db,
            who,
            "deals",
            None,
            "import",
            None,
            {"file": source, "pipeline_id": pipeline_id, "added": added, "updated": updated},
        )
    return added, updated


def _sql_time(column: str) -> str:
    """SQL that writes a date or time `column` in the history's one format, `HISTORY_TIME`."""
    return f"strftime('%Y-%m-%dT%H:%M:%S', {column})"


def _write_history(db: Database, history: pl.DataFrame, pipeline_id: int) -> None:
    """The file's own stage history in place of what the store recorded for those deals.

    Entries of one deal follow each other by date, then by stage order when two fall on the
    same day; each move comes from the stage entered before it.
    """
    rows = history.select("external_id", "stage", pl.col("entered").cast(pl.String)).rows()
    db.conn.executemany("INSERT INTO temp.import_history VALUES (?, ?, ?)", rows)
    db.conn.execute(
        "DELETE FROM stage_history WHERE deal_id IN (SELECT d.id FROM deals d"
        " JOIN temp.import_history h ON h.external_id = d.external_id)"
    )
    db.conn.execute(
        "INSERT INTO stage_history (deal_id, from_stage_id, to_stage_id, at)"
        " SELECT d.id, lag(s.id) OVER (PARTITION BY d.id ORDER BY h.entered, s.position), s.id,"
        f" {_sql_time('h.entered')} FROM temp.import_history h"
        " JOIN deals d ON d.external_id = h.external_id"
        " JOIN stages s ON s.pipeline_id = ? AND s.active = 1 AND s.name = h.stage"
        " ORDER BY d.id, h.entered, s.position",
        [pipeline_id],
    )


# --- SAL ---------------------------------------------------------------------------------------

BANT = ("budget", "authority", "need", "timeline")
ANSWER_COLUMNS = ("sal_status", *(f"bant_{c}" for c in BANT))
"""The columns of a lead that sales' answer sets (`record_sal`)."""


@migrations()
def m003_answered_leads_index(db: Database) -> None:
    """Read sales' answers without scanning every lead (see `sal_answers`)."""
    columns = ", ".join(ANSWER_COLUMNS)
    db.execute(f"CREATE INDEX leads_answered ON leads(id, {columns}) WHERE sal_status IS NOT NULL")


def record_sal(
    db: Database,
    lead_id: int,
    status: SalStatus,
    bant: dict[str, bool],
    who: str = "",
) -> None:
    """Record sales' answer to an MQL: accepted (it becomes a SAL) or rejected, with BANT.

    `bant` holds the four criteria (budget, authority, need, timeline); a later answer for the
    same lead replaces the earlier one, and both stay in the audit trail.
    """
    if status not in ("accepted", "rejected"):
        raise StoreError(f"A sales answer is 'accepted' or 'rejected', not '{status}'.")
    values = [bool(bant.get(c, False)) for c in BANT]
    with write(db, answers=True):
        columns = ", ".join(ANSWER_COLUMNS)
        before = db.execute(f"SELECT {columns} FROM leads WHERE id = ?", [lead_id]).fetchone()
        if before is None:
            raise StoreError(f"Lead {lead_id} no longer exists.")
        db.conn.execute(
            f"UPDATE leads SET sal_status = ?, {', '.join(f'bant_{c} = ?' for c in BANT)} WHERE id = ?",
            [status, *values, lead_id],
        )
        audit(
            db,
            who,
            "lead",
            lead_id,
            "sal",
            dict(zip(columns.split(", "), before, strict=True)),
            {"sal_status": status, **dict(zip(BANT, values, strict=True))},
        )


# --- restoring ----------------------------------------------------------------------------------


def replace_from(
    db: Database, source: Path, who: str = "", name: str = "", kept_as: Path | None = None
) -> None:
    """Replace every page of the store with the SQLite file `source` (a checked backup) in one
    step, its revision above the store's and the restore already in its History: signed by
    `who`, naming the file as the user knows it (`name`, else the file's own) and where the
    store as it was, with its own History, is kept (`kept_as`).

    The backup is first copied into a scratch file, where its revision is raised and the audit
    line added; that copy then replaces the store through the backup API in one step. Copied
    in as it is, the store would for a moment hold the backup's own revision, which a session
    that saw that revision would take for unchanged (and a kill there would leave it so).
    Migrations the backup predates are applied after, as on any open.
    """
    floor = revision(db)
    with tempfile.TemporaryDirectory(prefix="funnel-restoring-") as folder:
        staged = Database(Path(folder) / "restore.db")
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
            audit(staged, who, "store", None, "restore", None, {"from": name or source.name, **kept})
        with _ONE_LIBRARY_AT_A_TIME:
            staged.conn.backup(db.conn)
        staged.close()
    migrations.apply(db)


# --- checking a store file before it replaces this one -------------------------------------------
# A backup is a whole SQLite file from outside: it may carry a trigger that deletes decisions, a
# view standing in for a table, a missing column or rows no save would ever write. So a restore
# compares its schema with the one the migrations it claims would create, object by object, and
# checks every row against the domain's rules, before anything is replaced.

_DATE_COLUMNS = {
    "leads": [f.name for f in LEAD_FIELDS if f.dtype == "date"],
    "deals": [f.name for f in DEAL_FIELDS if f.dtype == "date"],
    "decisions": ["decided_on"],
}
_COUNT_COLUMNS = [
    f.name for f in LEAD_FIELDS if f.dtype in ("int", "float") and f.name not in ("fit", "interest")
]
_ROW_RULES: list[tuple[str, str, str, str]] = [
    # table, column shown, what makes a row bad, the rule it breaks
    ("meta", "value", "key = 'app' AND value != 'funnel'", "the store belongs to funnel"),
    (
        "meta",
        "value",
        "key LIKE '%revision' AND CAST(value AS INTEGER) IS NOT value",
        "a revision is a whole number",
    ),
    (
        "stages",
        "probability",
        "probability IS NULL OR probability NOT BETWEEN 0 AND 100",
        "a probability is 0 to 100",
    ),
    (
        "stages",
        "kind",
        "kind IS NULL OR kind NOT IN ('open', 'won', 'lost')",
        "a stage is open, won or lost",
    ),
    ("stages", "name", "name IS NULL OR length(trim(name)) = 0", "a stage has a name"),
    ("deals", "probability", "probability NOT BETWEEN 0 AND 100", "a probability is 0 to 100"),
    (
        "deals",
        "value",
        "typeof(value) NOT IN ('integer', 'real', 'null') OR abs(value) > 1e15",
        "a deal value is a number under 10^15",
    ),
    ("stage_history", "at", "datetime(at) IS NULL", "a stage move has a date and time"),
    ("decisions", "fit_cutoff", "fit_cutoff NOT BETWEEN 0 AND 100", "a cutoff is 0 to 100"),
    ("decisions", "interest_cutoff", "interest_cutoff NOT BETWEEN 0 AND 100", "a cutoff is 0 to 100"),
    ("scoring_models", "half_life_days", "NOT half_life_days >= 0", "a half-life is 0 days or more"),
    ("scoring_rules", "axis", "axis NOT IN ('fit', 'interest')", "a rule scores fit or interest"),
    (
        "scoring_rules",
        "condition",
        "condition NOT IN ('in', 'between', 'at_least')",
        "a rule's condition is in, between or at_least",
    ),
    ("scoring_rules", "value", "NOT json_valid(value)", "a rule's value is JSON"),
    (
        "scoring_rules",
        "points",
        "typeof(points) NOT IN ('integer', 'real') OR abs(points) > 1e6",
        "a rule's points are a number",
    ),
    ("scenarios", "params", "NOT json_valid(params)", "a scenario's levers are JSON"),
    ("audit", "before", "before IS NOT NULL AND NOT json_valid(before)", "a History entry is JSON"),
    ("audit", "after", "after IS NOT NULL AND NOT json_valid(after)", "a History entry is JSON"),
    ("leads", "fit", "fit NOT BETWEEN 0 AND 100", "a score is 0 to 100"),
    ("leads", "interest", "interest NOT BETWEEN 0 AND 100", "a score is 0 to 100"),
    (
        "leads",
        "sal_status",
        "sal_status NOT IN ('accepted', 'rejected')",
        "sales' answer is accepted or rejected",
    ),
    ("leads", "outcome", "outcome NOT IN ('converted', 'lost')", "an outcome is converted or lost"),
    *(("leads", c, f"NOT {c} >= 0", "a count is 0 or more") for c in _COUNT_COLUMNS),
    *(
        (
            table,
            c,
            f"{c} IS NOT NULL AND date(julianday({c})) IS NOT {c}",
            "a date is a real YYYY-MM-DD day",
        )
        for table, columns in _DATE_COLUMNS.items()
        for c in columns
    ),
]
MAX_PROBLEMS = 5


def _schema(conn: sqlite3.Connection) -> dict[tuple[str, str], str]:
    """Every object of the schema, (type, name) -> its SQL with whitespace folded."""
    rows = conn.execute("SELECT type, name, coalesce(sql, '') FROM sqlite_master").fetchall()
    return {(t, n): " ".join(sql.split()) for t, n, sql in rows if not n.startswith("sqlite_stat")}


def _reference(claimed: Sequence[str]) -> Database:
    """An empty in-memory store with the migrations `claimed` (in order, from the first) applied."""
    later = [m.name for m in migrations._migrations][len(claimed) :]
    reference = Database(memory=True)
    migrations.apply(reference, stop_before=later[0] if later else None)
    return reference


def _column_names(conn: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


def schema_problems(conn: sqlite3.Connection) -> list[str]:
    """How the schema of `conn` differs from the one its claimed migrations create: tables,
    columns, indexes; any trigger or view is one the app did not create. Empty when it matches."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "_sqlite_migrations" not in tables:
        return ["it records no migrations, so it is not a funnel store"]
    claimed = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = ? ORDER BY id", [APP_ID]
        )
    ]
    known = [m.name for m in migrations._migrations]
    unknown = [name for name in claimed if name not in known]
    if unknown:
        return [f"it comes from a newer funnel (migrations {', '.join(unknown)}): update funnel first"]
    if claimed != known[: len(claimed)]:
        return [f"its migrations ({', '.join(claimed)}) are not the ones funnel applies, in order"]
    reference = _reference(claimed)
    expected, found = _schema(reference.conn), _schema(conn)
    problems = [
        f"it holds a {kind} '{name}' that funnel never creates"
        for kind, name in found
        if (kind, name) not in expected
    ]
    for (kind, name), sql in expected.items():
        if (kind, name) not in found:
            problems.append(f"its {kind} '{name}' is missing")
        elif found[(kind, name)] != sql and kind == "table":
            have = _column_names(conn, name)
            missing = [c for c in _column_names(reference.conn, name) if c not in have]
            detail = f"lacks column {', '.join(missing)}" if missing else "differs from funnel's"
            problems.append(f"its table '{name}' {detail}")
        elif found[(kind, name)] != sql:
            problems.append(f"its {kind} '{name}' differs from funnel's")
    reference.close()
    return problems


def row_problems(conn: sqlite3.Connection) -> list[str]:
    """The first rows of `conn` that break the domain's rules or a foreign key, as sentences
    (`MAX_PROBLEMS` at most); run on a file whose schema `schema_problems` found sound."""
    problems = []
    for table, column, bad, rule in _ROW_RULES:
        for rowid, value in conn.execute(
            f"SELECT rowid, {column} FROM {table} WHERE {bad} LIMIT {MAX_PROBLEMS}"
        ):
            problems.append(f"{table} row {rowid}: {column} {str(value)[:200]!r} breaks '{rule}'")
        if len(problems) >= MAX_PROBLEMS:
            return problems[:MAX_PROBLEMS]
    for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check").fetchmany(MAX_PROBLEMS):
        problems.append(f"{table} row {rowid} refers to a row of {parent} that does not exist")
    return problems[:MAX_PROBLEMS]


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


# --- stage history times --------------------------------------------------------------------


@migrations()
def m004_history_timestamps(db: Database) -> None:
    """Every stage move's time in `HISTORY_TIME`.

    Earlier versions wrote moves made in the app with a zone (`2026-12-01T07:08:50+00:00`) and
    imported deals' first moves as a bare date, beside the demo's `2026-08-19T01:37:41`; read
    with one format, the odd ones became unknown and a deal moved today showed months in
    stage. SQLite's `strftime` reads each of these shapes (a zone is turned into UTC, the
    time of day the app writes); a time it cannot read is left as it was, for
    `stage_history` to name.
    """
    normal = "strftime('%Y-%m-%dT%H:%M:%S', at)"
    db.execute(f"UPDATE stage_history SET at = {normal} WHERE {normal} IS NOT NULL AND at != {normal}")
