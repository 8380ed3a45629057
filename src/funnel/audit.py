"""The audit trail made readable: one line per change saying what changed, filters, CSV export.

The store keeps each change's `before` and `after` as JSON (`store.audit_log`); a meeting needs
"Demo/meeting 30 % -> 40 %", not two JSON blobs. Reading that sentence here, in the core, keeps
the History page a layout and lets the export carry the same words the page shows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import polars as pl

from funnel import sheets, store

ENTITY_LABELS = {
    "pipeline": "Pipeline",
    "stages": "Stages",
    "scoring_model": "Scoring model",
    "decision": "Decision",
    "scenario": "Scenario",
    "deal": "Deal",
    "leads": "Leads",
    "deals": "Deals",
    "lead": "Lead",
    "store": "Store",
}
"""How each audited entity is named on the page; an entity not listed shows its raw name."""


def _pct(value: Any) -> str:
    return f"{float(value):g} %"


def _stages_change(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> str:
    old = {s["id"]: s for s in before}
    new = {s["id"]: s for s in after}
    parts = [f"added '{s['name']}' ({_pct(s['probability'])})" for s in after if s["id"] not in old]
    parts += [f"removed '{s['name']}'" for s in before if s["id"] not in new]
    for s in after:
        o = old.get(s["id"])
        if o is None:
            continue
        if o["name"] != s["name"]:
            parts.append(f"renamed '{o['name']}' -> '{s['name']}'")
        if float(o["probability"]) != float(s["probability"]):
            parts.append(f"'{s['name']}' {_pct(o['probability'])} -> {_pct(s['probability'])}")
        if o["kind"] != s["kind"]:
            parts.append(f"'{s['name']}' {o['kind']} -> {s['kind']}")
        if o.get("rot_days") != s.get("rot_days"):
            parts.append(f"'{s['name']}' limit {o.get('rot_days')} -> {s.get('rot_days')} days")
    kept_before = [s["id"] for s in before if s["id"] in new]
    kept_after = [s["id"] for s in after if s["id"] in old]
    if kept_before != kept_after:
        parts.append("reordered")
    return "; ".join(parts) or "saved unchanged"


def _rules_key(rule: dict[str, Any]) -> str:
    return json.dumps(rule, sort_keys=True)


def _rule_name(rule: dict[str, Any]) -> str:
    """A rule as the meeting calls it: its label, else what it tests."""
    return str(rule.get("label") or f"{rule['field']} {rule['condition']} {rule['value']}")


def _model_change(before: dict[str, Any] | None, after: dict[str, Any]) -> str:
    if before is None:
        return f"version {after['version']}: {len(after['rules'])} rules"
    old = {_rules_key(r) for r in before["rules"]}
    new = {_rules_key(r) for r in after["rules"]}
    changed = [_rule_name(r) for r in after["rules"] if _rules_key(r) not in old]
    gone = [_rule_name(r) for r in before["rules"] if _rules_key(r) not in new]
    parts = [f"version {after['version']} from version {before['version']}"]
    if changed:
        parts.append(f"added or changed {', '.join(repr(n) for n in changed)}")
    if gone:
        parts.append(f"removed or replaced {', '.join(repr(n) for n in gone)}")
    parts.append(f"half-life {after.get('half_life_days', 0):g} days")
    return "; ".join(parts)


def describe(
    entity: str, action: str, before: Any, after: Any, stage_names: Mapping[int, str] | None = None
) -> str:
    """One plain sentence for one change, from its `before` and `after` (already parsed);
    `stage_names` (by stage id, retired stages too) names the stages of a deal's move."""
    if entity == "stages":
        return _stages_change(before or [], after or [])
    if entity == "scoring_model":
        return _model_change(before, after)
    if entity == "pipeline" and action == "create":
        return f"created '{after['name']}' with {len(after.get('stages', []))} stages"
    if entity == "pipeline" and action in ("rename", "undo"):
        undo = " (undo)" if action == "undo" else ""
        return f"renamed '{before['name']}' -> '{after['name']}'{undo}"
    if entity == "pipeline" and action == "delete":
        return f"deleted '{before['name']}'"
    if entity == "decision":
        return (
            f"fit >= {after['fit_cutoff']:g}, interest >= {after['interest_cutoff']:g} on model "
            f"version {after['model_version']}, agreed by {after['agreed_by']}"
        )
    if entity == "scenario":
        return f"scenario '{after['name']}'"
    if action == "import":
        return f"imported '{after['file']}': {after['added']:,} added, {after['updated']:,} updated"
    if entity == "lead" and action == "sal":
        met = [c for c in store.BANT if after.get(c)]  # as `store.record_sal` writes them
        return f"{after['sal_status']} by sales (BANT met: {', '.join(met) or 'none'})"
    if entity == "store" and action == "restore":
        kept = after.get("kept_as")
        where = f"; the store as it was, with its History, is kept as {kept}" if kept else ""
        brought = f" ({_rows(after['counts'])})" if after.get("counts") else ""
        replaced = f", replacing {_rows(before)}" if before else ""
        return f"restored from backup '{after['from']}'{brought}{replaced}{where}"
    if entity == "store" and action == "reset":
        lost = _rows(before)
        return f"reset to demo data, replacing {lost}; the store as it was is kept as {after['kept_as']}"
    if entity == "deals" and action == "clear_probability":
        ids = sorted(before["probability"], key=int)
        more = f" and {len(ids) - 10:,} more" if len(ids) > 10 else ""
        return (
            f"own probability cleared on {after['cleared']:,} deals, their stage's applies again "
            f"(deals {', '.join(ids[:10])}{more})"
        )
    if entity == "deal" and action == "move":
        names = stage_names or {}
        old, new = (names.get(int(s["stage_id"]), f"stage {s['stage_id']}") for s in (before, after))
        return f"moved '{old}' -> '{new}'"
    return action


def readable(
    log: pl.DataFrame,
    pipeline_names: dict[int, str] | None = None,
    stage_names: Mapping[int, str] | None = None,
) -> pl.DataFrame:
    """The audit log with `at` as a datetime, `object` (label and id) and `what` (a sentence).

    A pipeline's changes name it ("Stages of 'Startup'") when `pipeline_names` knows its id, and
    a deal's move names its stages from `stage_names` (`store.stage_names`): a meeting does
    not remember ids. Keeps `before` and `after` so an export loses nothing.
    """
    what = [
        describe(
            e,
            a,
            None if b is None else json.loads(b),
            None if f is None else json.loads(f),
            stage_names,
        )
        for e, a, b, f in log.select("entity", "action", "before", "after").iter_rows()
    ]
    label = pl.col("entity").replace_strict(ENTITY_LABELS, default=pl.col("entity"))
    names = pl.col("entity_id").replace_strict(
        pipeline_names or {}, default=None, return_dtype=pl.String
    )
    of_pipeline = pl.col("entity").is_in(["pipeline", "stages"]) & names.is_not_null()
    return log.with_columns(
        pl.col("at").cast(pl.String).str.to_datetime(time_zone="UTC", strict=False),
        pl.when(pl.col("entity_id").is_null())
        .then(label)
        .when(of_pipeline & (pl.col("entity") == "stages"))
        .then(pl.format("Stages of '{}'", names))
        .when(of_pipeline)
        .then(pl.format("Pipeline '{}'", names))
        .otherwise(pl.format("{} {}", label, pl.col("entity_id")))
        .alias("object"),
        pl.Series("what", what, dtype=pl.String),
    ).select("id", "at", "who", "object", "action", "what", "entity", "entity_id", "before", "after")


def filter_log(
    log: pl.DataFrame,
    entities: Sequence[str] = (),
    who: Sequence[str] = (),
    start: date | None = None,
    end: date | None = None,
) -> pl.DataFrame:
    """Changes of the given entities, by the given people, between two dates (both inclusive).

    An empty selection means no filter on that column, as a History page's filters read.
    """
    day = pl.col("at").dt.date()
    conditions = [
        pl.col("entity").is_in(list(entities)) if entities else None,
        pl.col("who").is_in(list(who)) if who else None,
        day >= start if start else None,
        day <= end if end else None,
    ]
    kept = [c for c in conditions if c is not None]
    return log.filter(*kept) if kept else log


def history_csv(log: pl.DataFrame) -> bytes:
    """The (filtered) readable log as CSV, formulas neutralised like every export."""
    return sheets.to_csv(log.with_columns(pl.col("at").dt.strftime("%Y-%m-%d %H:%M:%S")))


def _rows(counts: dict[str, int]) -> str:
    """Rows per table in words (every counted table's name is a plural in -s).

    >>> _rows({"pipelines": 5, "scenarios": 1, "scoring_models": 1, "leads": 3000})
    '5 pipelines, 1 scenario, 1 scoring model, 3,000 leads'
    """
    words = (table.replace("_", " ") for table in counts)
    return ", ".join(
        f"{n:,} {word if n != 1 else word.removesuffix('s')}"
        for word, n in zip(words, counts.values(), strict=True)
    )
