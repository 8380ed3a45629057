"""The store's schema, as the ordered list of migrations that build it (m001, m002, ...).

All of them live here, in the order they run: a store records which ones it has applied, a
restore compares a backup's schema with what its claimed migrations create (`schema.py`), and
a new one is appended at the end, never inserted. A migration is never edited once released:
stores in the field have already run it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from funnel.models import ANSWER_COLUMNS, DEAL_FIELDS, LEAD_FIELDS, Field

APP_ID = "funnel"
"""The migration set's name, also written in `meta` so that a file of another app is refused."""

DIRTY = "dirty"
"""The leads token once another program has changed a lead (`m005_leads_token`)."""

migrations = Migrations(APP_ID)

_SQL_TYPES = {"str": "TEXT", "int": "INTEGER", "float": "REAL", "date": "TEXT", "bool": "INTEGER"}


def migration_names() -> list[str]:
    """Every migration's name, in the order they run: what a sound store claims a prefix of."""
    empty = Database(memory=True)
    try:
        return [m.name for m in migrations.pending(empty)]
    finally:
        empty.close()


def _columns(fields: Sequence[Field]) -> str:
    return ",\n".join(f"  {f.name} {_SQL_TYPES[f.dtype]}" for f in fields if f.name != "stage")


@migrations()
def m001_initial(db: Database) -> None:
    """Every table, as the field lists in `models` defined them when the store began."""
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


@migrations()
def m002_audit_entity_index(db: Database) -> None:
    """Find an object's last change without scanning the whole trail (undo, History filters)."""
    db.execute("CREATE INDEX audit_entity ON audit(entity, entity_id, id)")


@migrations()
def m003_answered_leads_index(db: Database) -> None:
    """Read sales' answers without scanning every lead (see `sal_answers`)."""
    columns = ", ".join(ANSWER_COLUMNS)
    db.execute(f"CREATE INDEX leads_answered ON leads(id, {columns}) WHERE sal_status IS NOT NULL")


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


@migrations()
def m005_leads_token(db: Database) -> None:
    """A token that says whether the leads are still those a cached copy was made of.

    Every funnel write that changes leads replaces it (`write`); these triggers turn it to
    `dirty` when any other program (the `sqlite3` shell, a script) inserts, changes or deletes
    a lead, so a copy of the leads (`snapshot`, the UI's caches) is never trusted after an
    edit funnel did not make.
    """
    db.execute(
        "INSERT INTO meta (key, value) VALUES ('leads_token', lower(hex(randomblob(8))))"
        " ON CONFLICT (key) DO NOTHING"
    )
    for event in ("INSERT", "UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER leads_changed_{event.lower()} AFTER {event} ON leads BEGIN"
            f" UPDATE meta SET value = '{DIRTY}' WHERE key = 'leads_token' AND value <> '{DIRTY}';"
            " END"
        )
