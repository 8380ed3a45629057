"""What the recorded stage moves say, checked on histories small enough to follow deal by deal."""

from __future__ import annotations

from datetime import date

import polars as pl
from polars.testing import assert_frame_equal
from sqlite_utils import Database

from funnel import stage_moves, store
from funnel.models import Stage
from tests.test_stages import PIPELINE, deal, deals_frame, history_frame

# --- probabilities from history ------------------------------------------------------------------

# Deal 1 won after Qualify, Demo, Proposal; deal 2 lost after Demo; deal 3 lost in Qualify;
# deal 4 entered at Demo and won (it got past Qualify); deal 5 is still open (not counted);
# deal 6 jumped from Qualify to Proposal and was lost (it got past Demo).
HISTORY = history_frame(
    [
        (1, None, 1, "2026-01-01T09:00:00"),
        (1, 1, 2, "2026-01-11T09:00:00"),
        (1, 2, 3, "2026-01-31T09:00:00"),
        (1, 3, 4, "2026-02-04T09:00:00"),
        (2, None, 1, "2026-01-01T09:00:00"),
        (2, 1, 2, "2026-01-05T09:00:00"),
        (2, 2, 5, "2026-01-06T09:00:00"),
        (3, None, 1, "2026-01-01T09:00:00"),
        (3, 1, 5, "2026-01-07T09:00:00"),
        (4, None, 2, "2026-01-01T09:00:00"),
        (4, 2, 3, "2026-01-02T09:00:00"),
        (4, 3, 4, "2026-01-03T09:00:00"),
        (5, None, 1, "2026-01-01T09:00:00"),
        (5, 1, 2, "2026-01-07T09:00:00"),
        (6, None, 1, "2026-01-01T09:00:00"),
        (6, 1, 3, "2026-01-03T09:00:00"),
        (6, 3, 5, "2026-01-05T09:00:00"),
    ]
)
HISTORY_DEALS = deals_frame(
    [
        deal(1, 4, closed_at=date(2026, 2, 4)),
        deal(2, 5, closed_at=date(2026, 1, 6)),
        deal(3, 5, closed_at=date(2026, 1, 7)),
        deal(4, 4, closed_at=date(2026, 1, 3)),
        deal(5, 2),
        deal(6, 5, closed_at=date(2026, 1, 5)),
    ]
)


def test_history_probability_without_smoothing_is_won_over_closed_that_reached_the_stage() -> None:
    result = stage_moves.history_probability(HISTORY_DEALS, PIPELINE, HISTORY, pseudo_deals=0)
    expected = pl.DataFrame(
        {
            "stage": ["Qualify", "Demo", "Proposal", "Won", "Lost"],
            # Qualify: 1, 2, 3, 4 (skipped it), 6 -> 2 won of 5.
            # Demo: 1, 2, 4, 6 (jumped past it) -> 2 of 4. Proposal: 1, 4, 6 -> 2 of 3.
            "n": [5, 4, 3, 2, 3],
            "won": [2, 2, 2, 2, 0],
            "empirical": [40.0, 50.0, 200 / 3, 100.0, 0.0],
            "smoothed": [40.0, 50.0, 200 / 3, 100.0, 0.0],
        }
    )
    assert_frame_equal(result.select("stage", "n", "won", "empirical", "smoothed"), expected)


def test_history_probability_shrinks_small_samples_toward_the_manual_value() -> None:
    result = stage_moves.history_probability(HISTORY_DEALS, PIPELINE, HISTORY, pseudo_deals=10)
    # (won + 10 x manual / 100) / (n + 10): Qualify (2 + 2) / 15, Demo (2 + 5) / 14,
    # Proposal (2 + 7) / 13, Won (2 + 10) / 12, Lost 0 / 13.
    expected = pl.Series("smoothed", [400 / 15, 50.0, 900 / 13, 100.0, 0.0])
    assert_frame_equal(result.select("smoothed"), expected.to_frame())
    assert result["manual"].to_list() == [20.0, 50.0, 70.0, 100.0, 0.0]


def test_a_stage_no_closed_deal_reached_keeps_its_manual_value() -> None:
    only_open = HISTORY_DEALS.filter(pl.col("id") == 5)
    result = stage_moves.history_probability(only_open, PIPELINE, HISTORY)
    assert result["n"].to_list() == [0] * 5
    assert result["empirical"].null_count() == 5
    assert result["smoothed"].to_list() == [20.0, 50.0, 70.0, 100.0, 0.0]


# An import without stage history: one entry per deal, into the stage it ended in. Three won
# deals, two lost ones that do not say where they were lost, one open deal.
IMPORTED = deals_frame(
    [
        deal(11, 4, closed_at=date(2026, 3, 1)),
        deal(12, 4, closed_at=date(2026, 3, 2)),
        deal(13, 4, closed_at=date(2026, 3, 3)),
        deal(14, 5, closed_at=date(2026, 3, 4)),
        deal(15, 5, closed_at=date(2026, 3, 5)),
        deal(16, 2),
    ]
)
IMPORTED_HISTORY = history_frame(
    [
        (d, None, s, "2026-03-01T00:00:00")
        for d, s in ((11, 4), (12, 4), (13, 4), (14, 5), (15, 5), (16, 2))
    ]
)


def test_per_stage_rates_are_measured_on_the_closed_deals_with_history_only() -> None:
    deals = pl.concat([HISTORY_DEALS, IMPORTED])
    history = pl.concat([HISTORY, IMPORTED_HISTORY])
    result = stage_moves.history_probability(deals, PIPELINE, history, pseudo_deals=0)
    alone = stage_moves.history_probability(HISTORY_DEALS, PIPELINE, HISTORY, pseudo_deals=0)
    assert_frame_equal(result, alone)
    coverage = stage_moves.history_coverage(deals, history)
    # Closed: 5 with history (deals 1, 2, 3, 4, 6), 5 imported; 2 won + 3 won of 10.
    assert (coverage.closed, coverage.won, coverage.with_history) == (10, 5, 5)
    assert coverage.lost_without_history == 2
    assert "5 of 10 closed deals have stage history" in coverage.line()
    # Adopt leaves a stage that nothing measured exactly as set by hand.
    current = [Stage("Qualify", 33.3, "open", None, 1), Stage("Won", 100, "won", None, 4)]
    unmeasured = stage_moves.history_probability(IMPORTED, PIPELINE, IMPORTED_HISTORY)
    assert stage_moves.adopt_probabilities(current, unmeasured) == current


def test_adopt_rounds_the_smoothed_value_and_touches_only_the_chosen_stages() -> None:
    current = [
        Stage(r["name"], r["probability"], r["kind"], r["rot_days"], r["id"])
        for r in PIPELINE.iter_rows(named=True)
    ]
    history = stage_moves.history_probability(HISTORY_DEALS, PIPELINE, HISTORY)
    one = stage_moves.adopt_probabilities(current, history, [1])
    assert [s.probability for s in one] == [27.0, 50.0, 70.0, 100.0, 0.0]
    every = stage_moves.adopt_probabilities(current, history)
    assert [s.probability for s in every] == [27.0, 50.0, 69.0, 100.0, 0.0]
    assert [s.id for s in every] == [1, 2, 3, 4, 5]


# --- time in stage and stalled deals -------------------------------------------------------------


def test_time_in_stage_is_the_median_of_finished_stays_in_open_stages() -> None:
    result = stage_moves.time_in_stage(PIPELINE, HISTORY)
    # Qualify stays: 10, 4, 6, 6, 2 days (deal 5 left after 6) -> median 6.
    # Demo: 20, 1, 1 (deal 5 still there) -> 1. Proposal: 4, 1, 2 -> 2.
    expected = pl.DataFrame(
        {
            "stage": ["Qualify", "Demo", "Proposal"],
            "stays": [5, 3, 3],
            "median_days": [6.0, 1.0, 2.0],
        }
    )
    assert_frame_equal(result.select("stage", "stays", "median_days"), expected)


def test_stalled_deals_are_open_deals_past_their_stages_rotting_limit() -> None:
    deals = deals_frame(
        [
            deal(5, 2),  # in Demo since 2026-01-07: 25 days on 2026-02-01, limit 21
            deal(7, 1, created=date(2026, 1, 25)),  # no move recorded: Qualify since creation, 7 > 5
            deal(8, 1, created=date(2026, 1, 30)),  # 2 days, fine
            deal(1, 4, closed_at=date(2026, 2, 4)),  # won: never stalled
        ]
    )
    result = stage_moves.stalled_deals(deals, PIPELINE, HISTORY, today=date(2026, 2, 1))
    expected = pl.DataFrame(
        {"id": [5, 7], "stage": ["Demo", "Qualify"], "days_in_stage": [25, 7], "days_over": [4, 2]}
    )
    assert_frame_equal(result.select("id", "stage", "days_in_stage", "days_over"), expected)


def test_time_in_stage_handles_an_empty_history() -> None:
    empty = history_frame([]).with_columns(pl.col("at").cast(pl.Datetime("us")))
    assert stage_moves.time_in_stage(PIPELINE, empty)["stays"].to_list() == [0, 0, 0]


def test_a_pipeline_without_deals_or_history_has_nothing_to_learn(fresh_db: Database) -> None:
    pipeline_id = store.create_pipeline(fresh_db, "New", [Stage("Won", 100, "won")])
    deals = store.deals(fresh_db, pipeline_id)
    pipeline = store.stages(fresh_db, pipeline_id)
    history = store.stage_history(fresh_db, pipeline_id)

    assert stage_moves.history_probability(deals, pipeline, history)["smoothed"].to_list() == [100.0]
    assert stage_moves.stalled_deals(deals, pipeline, history, date(2026, 1, 1)).is_empty()
    assert stage_moves.time_in_stage(pipeline, history).is_empty()
