"""What a sound funnel store looks like: its schema, and rows that keep the domain's rules.

A store file may come from outside (a backup, a copy, another program's edit): it may carry a
trigger that deletes decisions, a view standing in for a table, a missing column or rows no
save would ever write. So its schema is compared with the one its claimed migrations create,
object by object, and its rows are checked against the domain's rules, before it is used.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from sqlite_utils import Database

from funnel.models import DEAL_FIELDS, LEAD_FIELDS
from funnel.store.migrations import APP_ID, migration_names, migrations

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
    later = migration_names()[len(claimed) :]
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
    known = migration_names()
    unknown = [name for name in claimed if name not in known]
    if unknown:
        return [f"it comes from a newer funnel (migrations {', '.join(unknown)}): update funnel first"]
    if claimed != known[: len(claimed)]:
        return [f"its migrations ({', '.join(claimed)}) are not the ones funnel applies, in order"]
    reference = _reference(claimed)
    try:
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
    finally:
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
