"""The meeting's records: scoring model versions, agreed cutoffs, scenarios, sales' answers.

Model versions, decisions and scenarios are append-only: a save adds a row and never rewrites
an old one, so what was agreed in a meeting stays as it was agreed. A sales answer to an MQL
replaces the lead's earlier one, and both stay in the audit trail.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict

from sqlite_utils import Database

from funnel.models import ANSWER_COLUMNS, BANT, Rule, SalStatus
from funnel.store.connection import audit, now, write
from funnel.store.errors import StaleVersionError, StoreError

# --- scoring models ----------------------------------------------------------------------------


def latest_model_version(db: Database) -> int | None:
    """The newest scoring model version, the one the MQL page opens on; None before any."""
    row = db.execute("SELECT max(version) FROM scoring_models").fetchone()
    return None if row[0] is None else int(row[0])


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
    """The interest decay half-life (days) of model `version`; 0 means no decay."""
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
        return _insert_model(db, new_rules, half_life_days, who, note, action)


def _insert_model(
    db: Database, new_rules: Sequence[Rule], half_life_days: float, who: str, note: str, action: str
) -> int:
    """Insert the next model version, its rules and the audit line; call it inside `write()`."""
    latest = latest_model_version(db)
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
        None if latest is None else {"version": latest, "rules": [asdict(r) for r in rules(db, latest)]},
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
