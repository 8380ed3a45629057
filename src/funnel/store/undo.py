"""Undo: revert the last change of a pipeline or of the scoring model.

An undo is a new change made through the ordinary save functions, version-checked and logged
like any other, so undoing an undo puts the change back and the History shows both. Decisions
and scenarios are append-only and never undone.
"""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from funnel.models import Rule, Stage
from funnel.store.errors import StaleVersionError, StoreError
from funnel.store.pipeline_writes import delete_pipeline, pipeline_version, rename_pipeline, save_stages
from funnel.store.records import half_life, latest_model_version, save_model

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
