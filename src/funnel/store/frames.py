"""Readers: the store's tables as typed Polars frames (and the few counts pages show).

Frames come through the Arrow path (ADBC's SQLite driver, `read_frame`), which hands Polars
whole columns; SQLite keeps dates as text and booleans as integers, so each reader casts its
columns to the types of the field lists in `models`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

import polars as pl
from sqlite_utils import Database

from funnel.models import ANSWER_COLUMNS, DEAL_FIELDS, LEAD_FIELDS, Field
from funnel.scales import ScoreScale
from funnel.store import snapshot
from funnel.store.connection import _ONE_LIBRARY_AT_A_TIME, _arrow_reader, db_file
from funnel.store.errors import StoreError

_POLARS_TYPES: dict[str, pl.DataType] = {
    "str": pl.String(),
    "int": pl.Int64(),
    "float": pl.Float64(),
    "date": pl.Date(),
    "bool": pl.Boolean(),
}


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
    """Every lead (or the one `lead_id`), typed per `LEAD_FIELDS`, with its store id, by id.

    All leads come from the columnar copy beside the store when it is current (`snapshot`).
    """
    if lead_id is None:
        return named_leads(db).frame
    return _read_leads(db, lead_id)


def named_leads(db: Database) -> snapshot.Leads:
    """Every lead, as `leads`, with the token and answers revision that name them: what a
    cache of frames computed from them is keyed on (`snapshot.derived`)."""
    return snapshot.leads(db, _read_leads, sal_answers)


def _read_leads(db: Database, lead_id: int | None = None) -> pl.DataFrame:
    names = ", ".join(f.name for f in LEAD_FIELDS)
    where, params = ("WHERE id = ?", [lead_id]) if lead_id is not None else ("", [])
    frame = read_frame(db, f"SELECT id, {names} FROM leads {where} ORDER BY id", params)
    # One chunk per column (free after `read_frame`'s single batch), as a column written in
    # place by `sal.laid_over` has: columns chunked alike keep every later filter and
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


def answers_mark(db: Database) -> int:
    """The last line of the audit trail (0 when empty): answers read after this call include
    every answer up to it, and `answers_since` takes up from it."""
    return int(db.execute("SELECT coalesce(max(id), 0) FROM audit").fetchone()[0])


def answers_since(db: Database, mark: int) -> pl.DataFrame:
    """The leads sales answered after audit line `mark`, with their answers as they are now
    (`sal_answers`' columns, by id).

    Every answer is written with its audit line (`record_sal`, the only writer of answers that
    keeps the leads' revision; any other change to leads is a new leads revision, read whole),
    so a page that holds the answers up to `mark` reads the few given since instead of all.
    """
    fields = [f for f in LEAD_FIELDS if f.name in ANSWER_COLUMNS]
    frame = read_frame(
        db,
        # `+entity`: the audit lines after `mark` by their rowid, not every lead's line by index.
        f"SELECT id, {', '.join(ANSWER_COLUMNS)} FROM leads WHERE id IN (SELECT entity_id FROM"
        " audit WHERE id > ? AND +entity = 'lead' AND +action = 'sal') ORDER BY id",
        [mark],
    )
    return _typed(frame.with_columns(pl.col("id").cast(pl.Int64)), fields)


def lead_count(db: Database) -> int:
    """How many leads the store holds, without reading them."""
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


def last_data_date(db: Database) -> date | None:
    """The last day the store's data knows of (a lead or deal created, a deal closed), or None."""
    row = db.execute(
        "SELECT max(d) FROM (SELECT max(created) AS d FROM leads UNION ALL"
        " SELECT max(created) FROM deals UNION ALL SELECT max(closed_at) FROM deals)"
    ).fetchone()
    return None if row[0] is None else date.fromisoformat(str(row[0])[:10])


def score_scales(db: Database) -> dict[str, ScoreScale]:
    """The scale each ready-made score came in on its last import: axis -> its scale."""
    rows = db.execute("SELECT key, value FROM meta WHERE key IN ('scale_fit', 'scale_interest')")
    return {key.removeprefix("scale_"): ScoreScale(*json.loads(value)) for key, value in rows.fetchall()}


def model_versions(db: Database) -> pl.DataFrame:
    """Every scoring model version, newest first."""
    return read_frame(
        db,
        "SELECT m.version, m.half_life_days, m.created_at, m.created_by, m.note,"
        " count(r.id) AS rules FROM scoring_models m"
        " LEFT JOIN scoring_rules r ON r.model_version = m.version"
        " GROUP BY m.version ORDER BY m.version DESC",
    )


def decisions(db: Database) -> pl.DataFrame:
    """Recorded decisions, newest first."""
    return read_frame(
        db,
        "SELECT id, fit_cutoff, interest_cutoff, model_version, decided_on, agreed_by, note,"
        " created_at FROM decisions ORDER BY id DESC",
    )


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
