"""Pipelines, their stages and their deals: every write checks the version the user saw.

A pipeline carries an edit version; a save based on an older one is refused
(`StaleVersionError`) rather than silently overwriting a colleague's change. Stages are
retired, never erased, so the history of the deals that passed through them stays readable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from sqlite_utils import Database

from funnel import clock
from funnel.models import Stage
from funnel.store.connection import audit, now, write
from funnel.store.errors import NothingToSaveError, StaleVersionError, StoreError

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
    """Rename a pipeline (refused if the name is taken or the pipeline changed since the user
    saw `expected_version`); `action` names the change in the audit trail (`undo` for an undo)."""
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
    """The pipeline's edit version, the one a later save must be based on."""
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
