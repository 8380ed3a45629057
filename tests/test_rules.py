"""The rules editor's table: rules to rows and back, one message per bad row."""

from __future__ import annotations

import polars as pl
import pytest

from funnel.models import Rule
from funnel.rules import VALUE_HELP, parse_rules, rules_frame
from funnel.scoring import DEFAULT_RULES
from tests.test_scoring import TOY_RULES


def test_rules_round_trip_through_the_editor_table() -> None:
    rules, errors = parse_rules(rules_frame(DEFAULT_RULES))
    assert errors == []
    assert rules == list(DEFAULT_RULES)
    assert rules_frame(TOY_RULES)["value"].to_list()[:3] == [
        "CEO, VP Sales",
        "Student",
        "50..199",
    ]


def row(axis: str, field: str, condition: str, value: str, points: str = "10") -> pl.DataFrame:
    """One rule row as the editor hands it over (every cell as typed, label empty)."""
    cells = {"axis": axis, "field": field, "condition": condition, "value": value}
    return pl.DataFrame(
        {**cells, "points": [points], "label": [""]}, schema_overrides={"points": pl.String}
    )


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            row("fit", "job_title", "in", "CEO, CTO"),
            Rule("fit", "job_title", "in", ("CEO", "CTO"), 10, ""),
        ),
        (
            row("fit", "company_size", "between", "50..199", "-5"),
            Rule("fit", "company_size", "between", (50.0, 199.0), -5, ""),
        ),
        (
            row("interest", "page_views", "at_least", "5"),
            Rule("interest", "page_views", "at_least", 5.0, 10, ""),
        ),
        (
            row("fit", "email_domain", "in", " gmail.com ,"),
            Rule("fit", "email_domain", "in", ("gmail.com",), 10, ""),
        ),
        (
            row("fit", "job_title", "in", " , "),
            "Rule row 1: value ',' does not fit 'in' (e.g. CEO, CTO).",
        ),
        (
            row("fit", "company_size", "between", "50"),
            "Rule row 1: value '50' does not fit 'between' (e.g. 50..199).",
        ),
        (
            row("fit", "company_size", "between", "200..50"),
            "Rule row 1: in '200..50' the low end comes first, e.g. 50..199.",
        ),
        (
            row("fit", "job_title", "in", "CEO", "ten"),
            "Rule row 1: points must be a number (negative to take points off).",
        ),
        (
            row("fit", "job_title", "above", "CEO"),
            "Rule row 1: condition must be one of in, between, at_least.",
        ),
        (
            row("fit", "job_title", "at_least", "5"),
            "Rule row 1: 'job_title' is text; use the condition 'in' with a list of values.",
        ),
        (
            row("fit", "outcome", "in", "won"),
            "Rule row 1: 'outcome' is not a lead field that can be scored.",
        ),
        (
            row("size", "job_title", "in", "CEO"),
            "Rule row 1: axis must be 'fit' or 'interest', not 'size'.",
        ),
    ],
)
def test_parse_rules_reads_one_row_into_a_rule_or_one_message(
    table: pl.DataFrame, expected: Rule | str
) -> None:
    rules, errors = parse_rules(table)
    assert (rules, errors) == (([expected], []) if isinstance(expected, Rule) else ([], [expected]))


def test_an_empty_table_is_refused_unless_the_model_had_no_rule() -> None:
    empty = row("fit", "job_title", "in", "CEO").clear()
    assert parse_rules(empty) == ([], ["The model needs at least one rule."])
    assert parse_rules(empty, empty_ok=True) == ([], [])


def test_parse_rules_says_which_row_is_wrong_and_why() -> None:
    table = pl.DataFrame(
        {
            "axis": ["fit", "fitness", "fit", "interest", "fit", None],
            "field": ["company_size", "job_title", "outcome", "page_views", "job_title", None],
            "condition": ["between", "in", "in", "at_least", "at_least", None],
            "value": ["200..50", "CEO", "converted", "many", "5", None],
            "points": [10.0, 10.0, 10.0, 10.0, 10.0, None],
            "label": ["", "", "", "", "", None],
        }
    )
    rules, errors = parse_rules(table)
    assert rules == []
    assert errors == [
        "Rule row 1: in '200..50' the low end comes first, e.g. 50..199.",
        "Rule row 2: axis must be 'fit' or 'interest', not 'fitness'.",
        "Rule row 3: 'outcome' is not a lead field that can be scored.",
        "Rule row 4: value 'many' does not fit 'at_least' (e.g. 5).",
        "Rule row 5: 'job_title' is text; use the condition 'in' with a list of values.",
    ]


def test_the_rules_editor_reads_name_first_and_its_help_matches_the_messages() -> None:
    assert rules_frame(TOY_RULES).columns == [
        "label",
        "axis",
        "points",
        "field",
        "condition",
        "value",
    ]
    assert VALUE_HELP == "in: CEO, CTO · between: 50..199 · at_least: 5"
    table = rules_frame(TOY_RULES[2:3]).with_columns(value=pl.lit("50-199"))
    assert parse_rules(table)[1] == ["Rule row 1: value '50-199' does not fit 'between' (e.g. 50..199)."]
