"""Choosing a cutoff: the filtered leads, the grid, and the back-test, SAL and capacity read off it.

The hand table (`tests.test_scoring.hand_table`) has ten leads whose every figure at F=60, I=40
can be counted on one's fingers.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from funnel import cutoffs, scoring
from tests.test_scoring import hand_table, unscored_queue_leads


def test_backtest_on_a_hand_table() -> None:
    grid = cutoffs.cutoff_grid(hand_table())
    bt = cutoffs.mql_backtest(grid, 60, 40)
    # Known: 9 (lead 8 has no outcome); conversions: leads 1, 2, 5; MQLs: leads 1-4.
    assert (bt.known, bt.conversions, bt.mqls, bt.mql_conversions) == (9, 3, 4, 2)
    assert bt.mql_share == pytest.approx(4 / 9)
    assert bt.base_rate == pytest.approx(1 / 3)
    assert bt.conversion_in == pytest.approx(0.5)
    assert bt.conversion_out == pytest.approx(1 / 5)
    assert bt.recall == pytest.approx(2 / 3)
    assert bt.lift == pytest.approx(1.5)
    assert bt.conversions_lost == 1  # lead 5, fit 59.9 just below the line


def test_backtest_of_an_empty_selection_has_no_rates() -> None:
    bt = cutoffs.mql_backtest(cutoffs.cutoff_grid(hand_table().head(0)), 60, 40)
    assert (bt.known, bt.mqls, bt.conversion_in, bt.recall, bt.lift) == (0, 0, None, None, None)


def test_quadrant_counts_cover_every_lead_once() -> None:
    counts = cutoffs.quadrant_counts(cutoffs.cutoff_grid(hand_table()), 60, 40)
    expected = pl.DataFrame(
        {"quadrant": list(scoring.QUADRANTS), "leads": [5, 1, 2, 2], "share": [0.5, 0.1, 0.2, 0.2]},
    )
    assert_frame_equal(counts, expected)


def test_grid_counts_match_the_lead_by_lead_quadrants_for_every_cutoff() -> None:
    leads = hand_table()
    grid = cutoffs.cutoff_grid(leads)
    for f, i in [(0, 0), (59, 40), (60, 40), (60, 41), (100, 100), (30, 20)]:
        direct = scoring.with_quadrants(leads, f, i)["mql"].sum()
        from_grid = cutoffs.quadrant_counts(grid, f, i)["leads"][0]
        assert from_grid == direct, (f, i)


def test_backtest_curve_agrees_with_the_backtest_at_the_sliders() -> None:
    grid = cutoffs.cutoff_grid(hand_table())
    curve = cutoffs.backtest_curve(grid, 60, 40)
    assert curve.height == 2 * 101 * 3
    here = curve.filter(pl.col("current")).sort("axis", "metric")
    expected = pl.DataFrame(
        {
            "axis": ["fit"] * 3 + ["interest"] * 3,
            "cutoff": [60.0] * 3 + [40.0] * 3,
            "metric": sorted(cutoffs.CURVE_METRICS) * 2,
            "value": [0.5, 2 / 3, 4 / 9] * 2,
            "current": [True] * 6,
        }
    )
    assert_frame_equal(here.select(expected.columns), expected)
    fit0 = curve.filter((pl.col("axis") == "fit") & (pl.col("cutoff") == 0)).sort("metric")
    # Only interest >= 40 holds: six known leads, three conversions, all kept.
    assert fit0["value"].to_list() == [0.5, 1.0, pytest.approx(6 / 9)]
    top = curve.filter((pl.col("axis") == "fit") & (pl.col("cutoff") == 100)).sort("metric")
    assert top["value"].to_list() == [None, 0.0, 0.0]


def test_sal_summary_counts_sales_decisions_among_the_mqls() -> None:
    sal = cutoffs.sal_summary(cutoffs.cutoff_grid(hand_table()), 60, 40)
    assert (sal.mqls, sal.accepted, sal.rejected) == (5, 2, 1)
    assert sal.sal_rate == pytest.approx(0.4)
    assert sal.acceptance_rate == pytest.approx(2 / 3)


def test_mql_per_week_flags_the_weeks_over_capacity() -> None:
    weekly = cutoffs.mql_per_week(cutoffs.cutoff_grid(hand_table()), 60, 40, reps=1, leads_per_rep=2)
    # MQLs: leads 1, 2, 8 created the week of 2 Nov, lead 3 on Sunday 8 Nov (same week),
    # lead 4 the week of 16 Nov; nothing the week of 9 Nov.
    expected = pl.DataFrame(
        {
            "week": [date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16)],
            "mqls": [4, 0, 1],
            "capacity": [2, 2, 2],
            "over": [True, False, False],
        }
    )
    assert_frame_equal(weekly, expected)
    summary = cutoffs.capacity_summary(weekly)
    assert (summary.weeks, summary.weeks_over, summary.peak, summary.capacity) == (3, 1, 4, 2)
    assert summary.average == pytest.approx(5 / 3)


def test_filter_leads_by_source_owner_and_period() -> None:
    leads = pl.DataFrame(
        {
            "source": ["Webinar", "Webinar", "Paid search"],
            "owner": ["Ann", "Ben", "Ann"],
            "created": [date(2026, 1, 5), date(2026, 6, 1), date(2026, 6, 2)],
        }
    )
    assert cutoffs.filter_leads(leads).height == 3
    result = cutoffs.filter_leads(leads, sources=["Webinar"], created_from=date(2026, 2, 1))
    assert result["owner"].to_list() == ["Ben"]
    assert cutoffs.filter_leads(leads, owners=["Ann"], created_to=date(2026, 6, 1)).height == 1
    # The page's default period spans every lead: the same frame comes back, nothing copied.
    assert (
        cutoffs.filter_leads(leads, created_from=date(2026, 1, 5), created_to=date(2026, 6, 2)) is leads
    )
    # A lead without a date still falls outside any period, as before.
    undated = pl.concat([leads, pl.DataFrame({"source": ["Fair"], "owner": ["Cy"], "created": [None]})])
    every = cutoffs.filter_leads(undated, created_from=date(2026, 1, 5), created_to=date(2026, 6, 2))
    assert every.height == 3


def test_scatter_sample_never_sends_more_than_the_limit() -> None:
    leads = hand_table()
    sample = cutoffs.scatter_sample(leads, limit=4)
    assert sample.height == 4
    assert sample.columns == ["fit", "interest", "outcome"]
    full = cutoffs.scatter_sample(leads)
    assert full["outcome"].value_counts().sort("outcome").rows() == [
        ("converted", 3),
        ("lost", 6),
        ("unknown", 1),
    ]


def test_unscored_leads_are_never_drawn_in_the_scatter() -> None:
    assert cutoffs.scatter_sample(unscored_queue_leads()).height == 10
