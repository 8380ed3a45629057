"""Scoring: rules -> fit and interest, decay, quadrants, back-test, capacity, SAL.

Every figure here is one a sales-ops lead can check by hand on the small tables below.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal, assert_series_equal

from funnel import scoring
from funnel.models import Rule
from funnel.scoring import DEFAULT_RULES

TODAY = date(2026, 11, 23)

# A toy model whose bounds are easy: fit -20..80, interest -10..30.
TOY_RULES = (
    Rule("fit", "job_title", "in", ("CEO", "VP Sales"), 40, "Decision maker"),
    Rule("fit", "job_title", "in", ("Student",), -20, "Student"),
    Rule("fit", "company_size", "between", (50.0, 199.0), 20, "Mid-size"),
    Rule("fit", "company_size", "between", (200.0, 5000.0), 40, "Large"),
    Rule("fit", "email_domain", "in", ("gmail.com",), -20, "Personal e-mail"),
    Rule("interest", "pricing_page_visits", "at_least", 1.0, 20, "Visited pricing"),
    Rule("interest", "downloads", "at_least", 1.0, 10, "Downloaded"),
    Rule("interest", "bounced", "at_least", 1.0, -10, "Bounced"),
)


def toy_leads() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "email": ["a@acme.com", "b@GMAIL.com", "c@big.io", None],
            "job_title": ["CEO", "Student", "VP Sales", "Engineer"],
            "company_size": [50, 199, 5000, 5001],
            "pricing_page_visits": [1, 0, 3, None],
            "downloads": [0, 1, 2, 0],
            "bounced": [False, True, False, False],
            "created": [TODAY] * 4,
            "last_activity": [TODAY] * 4,
            "fit": [None, None, None, 12.5],
            "interest": [None, None, None, None],
        },
        schema_overrides={"fit": pl.Float64, "interest": pl.Float64},
    )


def test_axis_bounds_let_competing_rules_on_one_field_fire_once() -> None:
    # Job title: best CEO (+40), worst Student (-20); size best Large (+40); domain -20..0.
    assert scoring.axis_bounds(TOY_RULES, "fit") == (-40.0, 80.0)
    assert scoring.axis_bounds(TOY_RULES, "interest") == (-10.0, 30.0)
    assert scoring.axis_bounds(DEFAULT_RULES, "fit") == (-90.0, 90.0)
    assert scoring.axis_bounds(DEFAULT_RULES, "interest") == (-50.0, 95.0)


def test_score_leads_normalises_points_between_the_models_bounds() -> None:
    scored = scoring.score_leads(toy_leads(), TOY_RULES, 0, TODAY)
    # fit points: CEO 40 + mid-size 20 = 60 -> (60+40)/120; Student -20 + mid 20 - gmail 20 = -20
    # -> 20/120; VP 40 + large 40 = 80 -> 100; lead 4 keeps its ready-made 12.5.
    expected_fit = pl.Series("fit", [100 / 120 * 100, 20 / 120 * 100, 100.0, 12.5])
    # interest points: 20 -> 30/40; 10 - 10 = 0 -> 10/40; 30 -> 100; nothing -> 10/40.
    expected_interest = pl.Series("interest", [75.0, 25.0, 100.0, 25.0])
    assert_series_equal(scored["fit"], expected_fit)
    assert_series_equal(scored["interest"], expected_interest)
    assert scored.columns == toy_leads().columns


def test_between_is_inclusive_at_both_ends_and_at_least_includes_its_bound() -> None:
    leads = pl.DataFrame({"company_size": [49, 50, 199, 200], "visits": [0, 1, 2, None]})
    fires = leads.select(
        scoring.rule_fires(Rule("fit", "company_size", "between", (50.0, 199.0), 1)).alias("b"),
        scoring.rule_fires(Rule("interest", "visits", "at_least", 1.0, 1)).alias("a"),
    )
    expected = pl.DataFrame({"b": [False, True, True, False], "a": [False, True, True, False]})
    assert_frame_equal(fires, expected)


def test_interest_halves_after_one_half_life() -> None:
    # 25 points at a 14-day half-life read 12.5 after 14 days (and 25 with no decay).
    rules = (Rule("interest", "downloads", "at_least", 1.0, 25, "Downloaded"),)
    leads = pl.DataFrame(
        {
            "downloads": [1, 1, 1],
            "created": [date(2026, 10, 1)] * 3,
            "last_activity": [date(2026, 11, 9), date(2026, 11, 23), None],
        }
    )
    factor = leads.select(scoring.decay_factor(14, TODAY).alias("f"))["f"]
    points = (factor * 25).to_list()
    assert points[0] == pytest.approx(12.5)
    assert points[1] == pytest.approx(25.0)
    assert points[2] == pytest.approx(25 * 0.5 ** (53 / 14))  # from `created` when no activity
    # On the 0..100 scale (bounds 0..25) 12.5 points is 50.
    scored = scoring.score_leads(leads, rules, 14, TODAY)
    assert scored["interest"][0] == pytest.approx(50.0)
    no_decay = scoring.score_leads(leads, rules, 0, TODAY)
    assert no_decay["interest"].to_list() == [100.0, 100.0, 100.0]


def test_with_quadrants_puts_leads_on_the_cutoff_in_the_mql() -> None:
    scored = pl.DataFrame({"fit": [60.0, 60.0, 59.9, 10.0], "interest": [40.0, 39.9, 40.0, 0.0]})
    result = scoring.with_quadrants(scored, 60, 40)
    expected = scored.with_columns(
        pl.Series("quadrant", ["MQL", "Good fit, not yet engaged", "Engaged, poor fit", "Cold"]),
        pl.Series("mql", [True, False, False, False]),
    )
    assert_frame_equal(result, expected)
