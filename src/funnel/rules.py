"""The scoring model as the editor's table: the fields a rule can read, the format, the parser."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from funnel.models import LEAD_FIELDS, Condition, Rule
from funnel.scoring import AXES, DERIVED_FIELDS

# --- the rules editor ----------------------------------------------------------------------------

# Outcome and sales columns are what the score predicts: scoring on them would be cheating.
_NOT_SCORABLE = {
    "external_id",
    "fit",
    "interest",
    "outcome",
    "converted_at",
    "sql_at",
    "sal_status",
    "bant_budget",
    "bant_authority",
    "bant_need",
    "bant_timeline",
}
SCORABLE_FIELDS: tuple[str, ...] = (
    *(f.name for f in LEAD_FIELDS if f.name not in _NOT_SCORABLE),
    *DERIVED_FIELDS,
)
_NUMERIC_FIELDS = {f.name for f in LEAD_FIELDS if f.dtype in ("int", "float", "bool")}
CONDITIONS: tuple[Condition, ...] = ("in", "between", "at_least")
# One example value per condition: the editor's help and `parse_rules`' messages show the same.
VALUE_EXAMPLES = {"in": "CEO, CTO", "between": "50..199", "at_least": "5"}
VALUE_HELP = " · ".join(f"{condition}: {example}" for condition, example in VALUE_EXAMPLES.items())
RULE_COLUMNS = ("axis", "field", "condition", "value", "points", "label")


def _format_value(rule: Rule) -> str:
    if rule.condition == "in":
        assert isinstance(rule.value, tuple)
        return ", ".join(str(v) for v in rule.value)
    if rule.condition == "between":
        assert isinstance(rule.value, tuple)
        return "..".join(f"{float(v):g}" for v in rule.value)
    assert not isinstance(rule.value, tuple)
    return f"{float(rule.value):g}"


def rules_frame(rules: Sequence[Rule]) -> pl.DataFrame:
    """Rules as the editor's table; `value` as text: `CEO, CTO`, `50..199` or `5`.

    Columns in the order the meeting reads a rule: its name, then what it gives and when.
    """
    return pl.DataFrame(
        [(r.label, r.axis, float(r.points), r.field, r.condition, _format_value(r)) for r in rules],
        schema={
            "label": pl.String,
            "axis": pl.String,
            "points": pl.Float64,
            "field": pl.String,
            "condition": pl.String,
            "value": pl.String,
        },
        orient="row",
    )


def parse_rules(table: pl.DataFrame, empty_ok: bool = False) -> tuple[list[Rule], list[str]]:
    """The editor's table back into rules, with one message per bad row (row numbers from 1).

    Rows left entirely empty are dropped. Nothing is saved while any message remains. A model
    with no rule is refused unless `empty_ok`: the model an import of ready-made scores saved
    has none, and its empty editor is not a mistake.
    """
    rules: list[Rule] = []
    errors: list[str] = []
    for n, row in enumerate(table.select(RULE_COLUMNS).iter_rows(named=True), start=1):
        cells = {k: ("" if v is None else str(v).strip()) for k, v in row.items()}
        if not any(cells.values()):
            continue
        axis, fld, condition, text = cells["axis"], cells["field"], cells["condition"], cells["value"]
        where = f"Rule row {n}"
        if axis not in AXES:
            errors.append(f"{where}: axis must be 'fit' or 'interest', not '{axis}'.")
            continue
        if fld not in SCORABLE_FIELDS:
            errors.append(f"{where}: '{fld}' is not a lead field that can be scored.")
            continue
        if condition not in CONDITIONS:
            errors.append(f"{where}: condition must be one of {', '.join(CONDITIONS)}.")
            continue
        if condition != "in" and fld not in _NUMERIC_FIELDS:
            errors.append(f"{where}: '{fld}' is text; use the condition 'in' with a list of values.")
            continue
        try:
            points = float(cells["points"])
        except ValueError:
            errors.append(f"{where}: points must be a number (negative to take points off).")
            continue
        value: tuple[str, ...] | tuple[float, float] | float
        try:
            if condition == "in":
                value = tuple(v.strip() for v in text.split(",") if v.strip())
                if not value:
                    raise ValueError
            elif condition == "between":
                low, high = (float(v) for v in text.split(".."))
                if low > high:
                    errors.append(f"{where}: in '{text}' the low end comes first, e.g. 50..199.")
                    continue
                value = (low, high)
            else:
                value = float(text)
        except ValueError:
            example = VALUE_EXAMPLES[condition]
            errors.append(f"{where}: value '{text}' does not fit '{condition}' (e.g. {example}).")
            continue
        rules.append(Rule(axis, fld, condition, value, points, cells["label"]))
    if not rules and not errors and not empty_ok:
        errors.append("The model needs at least one rule.")
    return rules, errors
