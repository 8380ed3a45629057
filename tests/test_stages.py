"""Pipeline math checked with numbers a sales-ops lead can redo by hand."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlite_utils import Database

from funnel import charts, stages, store
from funnel.models import Stage

# A five-stage pipeline: three open stages, won, lost.
PIPELINE = pl.DataFrame(
    {
        "id": [1, 2, 3, 4, 5],
        "pipeline_id": [1] * 5,
        "position": [1, 2, 3, 4, 5],
        "name": ["Qualify", "Demo", "Proposal", "Won", "Lost"],
        "probability": [20.0, 50.0, 70.0, 100.0, 0.0],
        "kind": ["open", "open", "open", "won", "lost"],
        "rot_days": [5, 21, 30, None, None],
    },
    schema_overrides={"rot_days": pl.Int64},
)
KIND = dict(zip(PIPELINE["id"], PIPELINE["kind"], strict=True))
PROBABILITY = dict(zip(PIPELINE["id"], PIPELINE["probability"], strict=True))
NAME = dict(zip(PIPELINE["id"], PIPELINE["name"], strict=True))
POSITION = dict(zip(PIPELINE["id"], PIPELINE["position"], strict=True))


def deal(
    deal_id: int,
    stage_id: int,
    value: float | None = 100_000.0,
    probability: float | None = None,
    expected_close: date | None = date(2026, 12, 15),
    closed_at: date | None = None,
    created: date = date(2026, 1, 1),
) -> dict[str, Any]:
    """One row shaped like `store.deals` returns it."""
    return {
        "id": deal_id,
        "stage_id": stage_id,
        "name": f"Deal {deal_id}",
        "owner": "Ana",
        "value": value,
        "probability": probability,
        "created": created,
        "expected_close": expected_close,
        "closed_at": closed_at,
        "stage": NAME[stage_id],
        "stage_kind": KIND[stage_id],
        "stage_probability": PROBABILITY[stage_id],
        "stage_position": POSITION[stage_id],
    }


DEAL_SCHEMA = {
    "id": pl.Int64,
    "stage_id": pl.Int64,
    "name": pl.String,
    "owner": pl.String,
    "value": pl.Float64,
    "probability": pl.Float64,
    "created": pl.Date,
    "expected_close": pl.Date,
    "closed_at": pl.Date,
    "stage": pl.String,
    "stage_kind": pl.String,
    "stage_probability": pl.Float64,
    "stage_position": pl.Int64,
}


def deals_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=DEAL_SCHEMA)


def history_frame(rows: list[tuple[int, int | None, int, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "deal_id": pl.Int64,
            "from_stage_id": pl.Int64,
            "to_stage_id": pl.Int64,
            "at": pl.String,
        },
        orient="row",
    ).with_columns(pl.col("at").str.to_datetime())


# --- the seed example ----------------------------------------------------------------------------


def test_seed_example_ten_deals_at_sixty_percent_and_five_won() -> None:
    hot = PIPELINE.with_columns(
        probability=pl.when(pl.col("id") == 3).then(60.0).otherwise("probability")
    )
    rows = [deal(i, 3) for i in range(1, 11)] + [
        deal(i, 4, closed_at=date(2026, 10, 1)) for i in range(11, 16)
    ]
    frame = deals_frame(rows).with_columns(
        stage_probability=pl.when(pl.col("stage_id") == 3).then(60.0).otherwise(100.0)
    )

    figures = stages.pipeline_figures(frame, hot)

    assert figures.weighted_pipeline == 600_000
    assert figures.open_pipeline == 1_000_000
    assert figures.closed_won == 500_000
    expected = pl.DataFrame(
        {
            "stage": ["Qualify", "Demo", "Proposal", "Won", "Lost"],
            "deals": [0, 0, 10, 5, 0],
            "value": [0.0, 0.0, 1_000_000.0, 500_000.0, 0.0],
            "weighted_value": [0.0, 0.0, 600_000.0, 500_000.0, 0.0],
        }
    )
    assert_frame_equal(figures.by_stage.select("stage", "deals", "value", "weighted_value"), expected)


def test_seed_example_through_the_store(fresh_db: Database) -> None:
    pipeline_id = store.create_pipeline(
        fresh_db, "Seed", [Stage("Hot", 60), Stage("Closed", 100, "won"), Stage("Lost", 0, "lost")]
    )
    ids = {s.name: s.id for s in store.stage_list(fresh_db, pipeline_id)}
    rows = [(ids["Hot"], None) for _ in range(10)] + [(ids["Closed"], "2026-10-01") for _ in range(5)]
    with store.write(fresh_db):
        fresh_db.conn.executemany(
            "INSERT INTO deals (pipeline_id, stage_id, value, closed_at) VALUES (?, ?, 100000, ?)",
            [(pipeline_id, stage_id, closed) for stage_id, closed in rows],
        )

    figures = stages.pipeline_figures(
        store.deals(fresh_db, pipeline_id), store.stages(fresh_db, pipeline_id)
    )

    assert (figures.closed_won, figures.open_pipeline, figures.weighted_pipeline) == (
        500_000,
        1_000_000,
        600_000,
    )


def test_a_deals_own_probability_beats_its_stages() -> None:
    # Two open deals at the 50 % Demo stage; one carries its own 90 %.
    frame = deals_frame([deal(1, 2, value=10_000), deal(2, 2, value=10_000, probability=90.0)])
    assert stages.weighted_pipeline(frame) == 5_000 + 9_000


def test_each_stage_counts_and_lists_the_deals_weighted_by_their_own_probability() -> None:
    # Demo (50 %): 10,000 at the stage's 50 % and 10,000 at its own 90 % weigh 5,000 + 9,000,
    # not 20,000 x 50 %. A won deal's own probability changes nothing: it is not listed.
    rows = [
        deal(1, 2, value=10_000),
        deal(2, 2, value=10_000, probability=90.0),
        deal(3, 1, value=4_000, probability=5.0),
        deal(4, 4, value=1_000, probability=30.0, closed_at=date(2026, 3, 1)),
    ]
    figures = stages.pipeline_figures(deals_frame(rows), PIPELINE)
    by_stage = figures.by_stage.select("stage", "own_probability_deals", "weighted_value")
    expected = pl.DataFrame(
        {
            "stage": ["Qualify", "Demo", "Proposal", "Won", "Lost"],
            "own_probability_deals": [1, 1, 0, 0, 0],
            "weighted_value": [200.0, 14_000.0, 0.0, 1_000.0, 0.0],
        }
    )
    assert_frame_equal(by_stage, expected)
    listed = stages.own_probability_deals(deals_frame(rows))
    expected_list = pl.DataFrame(
        {
            "id": [3, 2],
            "name": ["Deal 3", "Deal 2"],
            "stage": ["Qualify", "Demo"],
            "value": [4_000.0, 10_000.0],
            "own_probability": [5.0, 90.0],
            "stage_probability": [20.0, 50.0],
            "weighted_value": [200.0, 9_000.0],
        }
    )
    assert_frame_equal(listed, expected_list)
    assert stages.own_probability_caption(2).startswith(
        "Weighted = value × probability: the stage's, except for 2 open deals that carry their own"
    )


def test_open_deals_without_a_value_count_as_zero_but_are_counted() -> None:
    frame = deals_frame([deal(1, 1, value=None), deal(2, 1, value=1_000)])
    figures = stages.pipeline_figures(frame, PIPELINE)
    assert figures.open_pipeline == 1_000
    assert figures.weighted_pipeline == 200
    assert figures.by_stage.row(0, named=True)["deals"] == 2


# --- periods -------------------------------------------------------------------------------------


PERIOD_DEALS = deals_frame(
    [
        deal(1, 2, expected_close=date(2026, 8, 10)),  # open, Q3, August
        deal(2, 2, expected_close=date(2026, 11, 2)),  # open, Q4, November
        # Expected in December but won in September: it counts where it was won.
        deal(3, 4, expected_close=date(2026, 12, 1), closed_at=date(2026, 9, 30)),
        deal(4, 5, expected_close=date(2026, 7, 1), closed_at=date(2026, 7, 3)),  # lost, Q3
    ]
)


@pytest.mark.parametrize(
    ("period", "ids"),
    [
        ("All", [1, 2, 3, 4]),
        ("2026 Q3", [1, 3, 4]),
        ("2026 Q4", [2]),
        ("2026-09", [3]),
        ("2026-08", [1]),
        ("2025 Q3", []),
    ],
)
def test_deals_count_in_their_expected_close_or_closing_period(period: str, ids: list[int]) -> None:
    assert stages.in_period(PERIOD_DEALS, period)["id"].to_list() == ids


def test_period_options_list_quarters_then_months_newest_first() -> None:
    assert stages.period_options(PERIOD_DEALS) == [
        "All",
        "2026 Q4",
        "2026 Q3",
        "2026-11",
        "2026-09",
        "2026-08",
        "2026-07",
    ]


def test_closed_won_of_a_quarter_is_what_was_won_in_it() -> None:
    q3 = stages.pipeline_figures(stages.in_period(PERIOD_DEALS, "2026 Q3"), PIPELINE)
    assert (q3.closed_won, q3.open_pipeline, q3.weighted_pipeline) == (100_000, 100_000, 50_000)


def test_an_unknown_period_says_which_labels_work() -> None:
    with pytest.raises(ValueError, match="2026 Q3"):
        stages.in_period(PERIOD_DEALS, "Q3")


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
    result = stages.history_probability(HISTORY_DEALS, PIPELINE, HISTORY, pseudo_deals=0)
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
    result = stages.history_probability(HISTORY_DEALS, PIPELINE, HISTORY, pseudo_deals=10)
    # (won + 10 x manual / 100) / (n + 10): Qualify (2 + 2) / 15, Demo (2 + 5) / 14,
    # Proposal (2 + 7) / 13, Won (2 + 10) / 12, Lost 0 / 13.
    expected = pl.Series("smoothed", [400 / 15, 50.0, 900 / 13, 100.0, 0.0])
    assert_frame_equal(result.select("smoothed"), expected.to_frame())
    assert result["manual"].to_list() == [20.0, 50.0, 70.0, 100.0, 0.0]


def test_a_stage_no_closed_deal_reached_keeps_its_manual_value() -> None:
    only_open = HISTORY_DEALS.filter(pl.col("id") == 5)
    result = stages.history_probability(only_open, PIPELINE, HISTORY)
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
    result = stages.history_probability(deals, PIPELINE, history, pseudo_deals=0)
    alone = stages.history_probability(HISTORY_DEALS, PIPELINE, HISTORY, pseudo_deals=0)
    assert_frame_equal(result, alone)
    coverage = stages.history_coverage(deals, history)
    # Closed: 5 with history (deals 1, 2, 3, 4, 6), 5 imported; 2 won + 3 won of 10.
    assert (coverage.closed, coverage.won, coverage.with_history) == (10, 5, 5)
    assert coverage.lost_without_history == 2
    assert "5 of 10 closed deals have stage history" in coverage.line()
    # Adopt leaves a stage that nothing measured exactly as set by hand.
    current = [Stage("Qualify", 33.3, "open", None, 1), Stage("Won", 100, "won", None, 4)]
    unmeasured = stages.history_probability(IMPORTED, PIPELINE, IMPORTED_HISTORY)
    assert stages.adopt_probabilities(current, unmeasured) == current


def test_adopt_rounds_the_smoothed_value_and_touches_only_the_chosen_stages() -> None:
    current = [
        Stage(r["name"], r["probability"], r["kind"], r["rot_days"], r["id"])
        for r in PIPELINE.iter_rows(named=True)
    ]
    history = stages.history_probability(HISTORY_DEALS, PIPELINE, HISTORY)
    one = stages.adopt_probabilities(current, history, [1])
    assert [s.probability for s in one] == [27.0, 50.0, 70.0, 100.0, 0.0]
    every = stages.adopt_probabilities(current, history)
    assert [s.probability for s in every] == [27.0, 50.0, 69.0, 100.0, 0.0]
    assert [s.id for s in every] == [1, 2, 3, 4, 5]


# --- time in stage and stalled deals -------------------------------------------------------------


def test_time_in_stage_is_the_median_of_finished_stays_in_open_stages() -> None:
    result = stages.time_in_stage(PIPELINE, HISTORY)
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
    result = stages.stalled_deals(deals, PIPELINE, HISTORY, today=date(2026, 2, 1))
    expected = pl.DataFrame(
        {"id": [5, 7], "stage": ["Demo", "Qualify"], "days_in_stage": [25, 7], "days_over": [4, 2]}
    )
    assert_frame_equal(result.select("id", "stage", "days_in_stage", "days_over"), expected)


# --- editing the stage list ----------------------------------------------------------------------

WON = {"name": "Won", "probability": 100, "kind": "won"}


@pytest.mark.parametrize(
    ("rows", "problems"),
    [
        ([{"name": "Demo", "probability": 40, "kind": "open"}, WON], []),
        (
            [{"name": "Demo", "probability": 150, "kind": "open"}, WON],
            ["Row 1 (Demo): probability 150 is outside 0 to 100."],
        ),
        (
            [{"name": "Demo", "probability": -5, "kind": "open"}, WON],
            ["Row 1 (Demo): probability -5 is outside 0 to 100."],
        ),
        (
            [{"name": "Demo", "probability": 12.5, "kind": "open"}, WON],
            [
                "Row 1 (Demo): probability 12.5 is not a whole percent; enter a whole number "
                "from 0 to 100."
            ],
        ),
        (
            [{"name": "Demo", "probability": "abc", "kind": "open"}, WON],
            ["Row 1 (Demo): probability 'abc' is not a number; enter 0 to 100."],
        ),
        (
            [{"name": "Demo", "probability": float("nan"), "kind": "open"}, WON],
            ["Row 1 (Demo): the probability is empty; enter a number from 0 to 100."],
        ),
        (
            [{"name": "  ", "probability": 10, "kind": "open"}, WON],
            ["Row 1: the name is empty; every stage needs one."],
        ),
        (
            [WON, {"name": "Demo", "probability": 10, "kind": "open"}, {**WON, "name": " won "}],
            ["Row 3 (won): the name is already used by row 1."],
        ),
        (
            [{"name": "Demo", "probability": 10, "kind": "open"}],
            ["No stage is of kind 'won': add one, so won deals have a stage to go to."],
        ),
        (
            [{"name": "Demo", "probability": 10, "kind": None}, WON],
            ["Row 1 (Demo): the kind is empty; choose open, won or lost."],
        ),
        (
            [{"name": "Demo", "probability": 10, "kind": "open", "rot_days": 2.5}, WON],
            ["Row 1 (Demo): stalled after '2.5' must be a whole number of days above 0, or empty."],
        ),
    ],
)
def test_validate_stages_names_the_row_and_the_problem(
    rows: list[dict[str, Any]], problems: list[str]
) -> None:
    assert stages.validate_stages(rows) == problems


def test_edited_stages_follow_the_position_column_and_new_rows_go_last() -> None:
    rows = pl.DataFrame(
        {
            "id": [4, 1, None],
            "position": [2, 1, None],
            "name": ["Won", "Demo ", "Trial"],
            "probability": [100.0, 40.0, 60.0],
            "kind": ["won", "open", "open"],
            "rot_days": [None, 14, None],
        }
    )
    assert stages.edited_stages(rows) == [
        Stage("Demo", 40.0, "open", 14, 1),
        Stage("Won", 100.0, "won", None, 4),
        Stage("Trial", 60.0, "open", None, None),
    ]


def test_removed_stages_that_hold_deals_need_a_receiving_stage() -> None:
    deals = deals_frame([deal(1, 2), deal(2, 2), deal(3, 3)])
    kept = [Stage("Qualify", 20, id=1), Stage("Proposal", 70, id=3), Stage("Won", 100, "won", id=4)]
    result = stages.removed_stages_with_deals(PIPELINE, kept, deals)
    assert result.rows() == [(2, "Demo", 2)]


def test_time_in_stage_handles_an_empty_history() -> None:
    empty = history_frame([]).with_columns(pl.col("at").cast(pl.Datetime("us")))
    assert stages.time_in_stage(PIPELINE, empty)["stays"].to_list() == [0, 0, 0]


# --- chart ---------------------------------------------------------------------------------------


def test_stage_value_chart_pairs_value_and_weighted_value_of_open_stages_in_order() -> None:
    figures = stages.pipeline_figures(deals_frame([deal(1, 2, value=10_000)]), PIPELINE)
    spec = charts.stage_value_chart(figures.by_stage.reverse()).to_dict()
    assert spec["encoding"]["y"]["sort"] == ["Qualify", "Demo", "Proposal"]
    assert spec["encoding"]["yOffset"]["field"] == "measure"
    assert spec["encoding"]["x"]["type"] == "quantitative"
    rows = next(iter(spec["datasets"].values()))
    demo = {r["measure"]: r["amount"] for r in rows if r["stage"] == "Demo"}
    assert demo == {"Value": 10_000.0, "Weighted value": 5_000.0}
    assert len(rows) == 6


def test_a_pipeline_without_deals_or_history_gives_zeros(fresh_db: Database) -> None:
    pipeline_id = store.create_pipeline(fresh_db, "New", [Stage("Won", 100, "won")])
    deals = store.deals(fresh_db, pipeline_id)
    pipeline = store.stages(fresh_db, pipeline_id)
    history = store.stage_history(fresh_db, pipeline_id)

    figures = stages.pipeline_figures(stages.in_period(deals, "All"), pipeline)

    assert (figures.closed_won, figures.open_pipeline, figures.weighted_pipeline) == (0, 0, 0)
    assert stages.period_options(deals) == ["All"]
    assert stages.history_probability(deals, pipeline, history)["smoothed"].to_list() == [100.0]
    assert stages.stalled_deals(deals, pipeline, history, date(2026, 1, 1)).is_empty()
    assert stages.time_in_stage(pipeline, history).is_empty()


# --- what the page shows -------------------------------------------------------------------------


def test_headline_figures_and_the_stage_table_under_the_chart() -> None:
    rows = [deal(1, 2, value=10_000), deal(2, 4, value=2_500, closed_at=date(2026, 10, 1))]
    figures = stages.pipeline_figures(deals_frame(rows), PIPELINE)
    # Open: 10,000 in Demo at 50 % -> weighted 5,000; won: 2,500.
    assert figures.headline() == [
        ("Closed won", "$2,500"),
        ("Open pipeline", "$10,000"),
        ("Weighted pipeline", "$5,000"),
    ]
    table = figures.table()
    assert table.columns == [
        "stage",
        "probability",
        "deals",
        "own_probability_deals",
        "value",
        "weighted_value",
    ]
    assert table.row(1) == ("Demo", 50.0, 1, 0, 10_000.0, 5_000.0)


def test_open_deals_without_a_value_are_counted_and_filled_only_when_asked() -> None:
    deals = deals_frame(
        [
            deal(1, 4, value=30_000.0, closed_at=date(2026, 3, 1)),
            deal(2, 4, value=10_000.0, closed_at=date(2026, 3, 2)),
            deal(3, 4, value=None, closed_at=date(2026, 3, 3)),
            deal(4, 2, value=None),
            deal(5, 2, value=None),
            deal(6, 3, value=5_000.0),
        ]
    )
    assert stages.open_without_value(deals) == 2
    # Won deals with a value: 30,000 and 10,000 -> median 20,000.
    assert stages.median_won_value(deals) == 20_000.0
    plain = stages.pipeline_figures(deals, PIPELINE)
    filled = stages.pipeline_figures(stages.fill_open_values(deals, 20_000.0), PIPELINE)
    assert (plain.open_pipeline, filled.open_pipeline) == (5_000.0, 45_000.0)
    # Demo is at 50 %, Proposal at 70 %: 2 x 20,000 x 0.5 + 5,000 x 0.7.
    assert filled.weighted_pipeline == 23_500.0
    assert filled.closed_won == plain.closed_won == 40_000.0
    assert stages.unvalued_line(2, None) == (
        "2 open deals have no value: counted as deals, as $0 in the open and weighted pipeline."
    )
    assert "valued here at the median won value of this pipeline, $20,000" in str(
        stages.unvalued_line(2, 20_000.0)
    )
    assert stages.unvalued_line(0, None) is None
    assert stages.median_won_value(deals.filter(pl.col("stage_kind") != "won")) is None


def test_open_deals_without_a_value_take_the_list_price_their_name_names() -> None:
    deals = deals_frame(
        [
            {**deal(1, 2, value=None), "name": "ACME Pro-Plan"},
            {**deal(2, 3, value=None), "name": "acme pro plan "},
            {**deal(3, 2, value=None), "name": "Beta Lite"},
            {**deal(4, 2, value=7_000.0), "name": "Acme Pro Plan"},
            {**deal(5, 4, value=None, closed_at=date(2026, 3, 1)), "name": "Acme Pro Plan"},
        ]
    )
    prices = pl.DataFrame({"product": ["Acme Pro Plan", "Gamma"], "price": [12_000.0, 5.0]})
    filled, unmatched = stages.fill_from_price_list(deals, prices)
    # Deals 1 and 2 match whatever their case, spaces and hyphens; 4 keeps its own value; the
    # won deal 5 is not an open deal to value; Beta Lite has no price.
    assert filled["value"].to_list() == [12_000.0, 12_000.0, None, 7_000.0, None]
    assert unmatched == ["Beta Lite"]
    assert stages.price_list_line(2, unmatched, "prices.csv") == (
        "2 open deals without a value are valued here at their list price in prices.csv (a fill, "
        "not a figure from the deals). No product matched 1: Beta Lite."
    )
    assert list(stages.fill_choices(None)) == ["none", "prices"]
