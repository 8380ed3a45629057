"""Frames into tables: the plain bulk insert, the threaded bulk import engine, and the whole
store replaced at once (the demo seed) through that engine.

An import of a million leads must not build a Python object per cell nor hold the write lock
while the file is read: the frame is staged into private SQLite files by two threads (ADBC
ingests Arrow columns in C, without the GIL) while the store upserts the parts already staged,
each part one `INSERT ... SELECT` inside SQLite, all of it one transaction.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import adbc_driver_sqlite.dbapi as adbc
import polars as pl
from sqlite_utils import Database

from funnel import clock
from funnel.models import Rule, Stage
from funnel.scales import ScoreScale
from funnel.store import snapshot
from funnel.store.backups import _delete_rows
from funnel.store.connection import audit, now, revision, write
from funnel.store.errors import StoreError
from funnel.store.pipeline_writes import _insert_pipeline, stage_list
from funnel.store.records import _insert_model, latest_model_version


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
    # The triggers that mark leads changed by another program (`m005_leads_token`) would fire
    # once a row for nothing: this write says `leads`, which gives the leads a new token anyway.
    kinds = "'index', 'trigger'" if before == 0 else "'trigger'"
    rebuilt = db.execute(
        f"SELECT type, name, sql FROM sqlite_master WHERE type IN ({kinds}) AND tbl_name = ?"
        " AND sql IS NOT NULL",
        [table],
    ).fetchall()
    for kind, name, _ in rebuilt:
        db.conn.execute(f"DROP {kind.upper()} {name}")
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
    for _, _, create in rebuilt:
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
    scales: Mapping[str, ScoreScale] | None = None,
) -> tuple[int, int]:
    """Write validated leads in one transaction, updating those whose external id exists.

    Only the columns the file mapped are written, so a re-import never blanks other fields.
    With `scores_only_model` (its note) and no scoring model in the store yet, a model with no
    rules is saved in the same transaction: leads that came with both scores are then scored on
    the MQL page at once, and rules can be added there later. `scales` (axis -> the file's
    column, range and step) is kept, so the MQL page can say a cutoff in the file's own units.
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


# --- the whole store at once --------------------------------------------------------------------


def replace_data(
    db: Database,
    pipelines: Mapping[str, Sequence[Stage]],
    model: tuple[Sequence[Rule], float, str],
    leads: pl.DataFrame,
    deals: pl.DataFrame,
    history: pl.DataFrame,
    who: str,
) -> None:
    """Replace every row of the store in one transaction: `pipelines`, a scoring model
    (rules, half-life, note), `leads` (`snapshot.COLUMNS` typed as `store.leads` reads them,
    ids from 1), `deals` and their stage `history`, which name their pipeline and stages
    (`pipeline`, `stage`; `from_stage`, `to_stage`): the ids exist only once written here.

    All or nothing, so a seed that fails half-way leaves the store as it was. The leads go
    through the import engine (`_staged`), and `leads` itself becomes the columnar copy of the
    leads, so the first page open does not read them back from SQLite.
    """
    with _staged(db, leads) as parts, write(db, leads=True):
        written = revision(db) + 1
        _delete_rows(db)
        ids = []
        for name, stages in pipelines.items():
            pipeline = _insert_pipeline(db, name, stages, who)
            ids += [(name, pipeline, s.name, s.id) for s in stage_list(db, pipeline)]
        rules, half_life_days, note = model
        _insert_model(db, rules, half_life_days, who, note, "save")
        _upsert_parts(db, "leads", leads, parts, None)
        stage_ids = pl.DataFrame(
            ids, schema=["pipeline", "pipeline_id", "stage", "stage_id"], orient="row"
        ).cast({"pipeline_id": pl.Int64, "stage_id": pl.Int64})
        deals = _with_ids(deals, stage_ids, "stage", "stage_id", "pipeline_id")
        insert_frame(db, "deals", deals.drop("pipeline", "stage"))
        history = _with_ids(history, stage_ids, "from_stage", "from_stage_id")
        history = _with_ids(history, stage_ids, "to_stage", "to_stage_id")
        insert_frame(db, "stage_history", history.select(HISTORY_COLUMNS))
    snapshot.keep(db, leads, written)


HISTORY_COLUMNS = ["deal_id", "from_stage_id", "to_stage_id", "at"]


def _with_ids(
    frame: pl.DataFrame, stage_ids: pl.DataFrame, stage: str, as_: str, *also: str
) -> pl.DataFrame:
    """`frame` with the id of the stage named in column `stage` of its `pipeline` as `as_`
    (and the columns `also` of `stage_ids`); a name it does not know gets no id, which the
    table's NOT NULL then refuses."""
    ids = stage_ids.select(
        "pipeline", pl.col("stage").alias(stage), pl.col("stage_id").alias(as_), *also
    )
    return frame.join(ids, on=["pipeline", stage], how="left", maintain_order="left")
