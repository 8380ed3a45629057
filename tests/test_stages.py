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

    figures = stages.pipeline_figures(stages.in_period(deals, "All"), pipeline)

    assert (figures.closed_won, figures.open_pipeline, figures.weighted_pipeline) == (0, 0, 0)
    assert stages.period_options(deals) == ["All"]


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
