"""The forecast back-test on a hand-made history whose every figure is worked out by hand.

S is the first day of the last full quarter before the pinned day, E the first day after it.
The stages: Qualify 20 %, Demo 50 %, Proposal 70 %, Won, Lost.

On S (moves before S only) the open deals are:
  deal 1  $100,000  Demo      (won at S+10)        manual $50,000
  deal 2  $200,000  Proposal  (lost at S+20)       manual $140,000
  deal 6   $50,000  Qualify   (Proposal at S+5, won at S+30: the later stages must not count)
                                                   manual $10,000
  deal 7   $40,000  Qualify   (Demo at 09:00 on S itself: after the day's start)  manual $8,000
  deal 10  $30,000  Proposal  (won at E+10, after the quarter)                   manual $21,000
Manual forecast $229,000. Actual: deals 1 and 6 won in the quarter, $150,000.
Error +52.67 %, accuracy 1 - 79,000 / 150,000 = 47.33 %.

Closed before S: deal 3 (won, via Qualify and Demo) and deal 4 (lost from Qualify), so with
10 pseudo-deals at the manual rate: Qualify (1 + 2) / 12 = 25 %, Demo (1 + 5) / 11, Proposal
(1 + 7) / 11 (deal 3 passed it on the way to Won). History forecast
100,000 x 6/11 + 200,000 x 8/11 + 30,000 x 8/11 + 50,000 x 25 % + 40,000 x 25 %
= 2,440,000 / 11 + 22,500 = $244,318.18.

Deal 5 is created in the quarter (in neither figure); deal 8 has no recorded move (left out,
counted).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from funnel import backtest, charts, forecast
from tests.conftest import DEMO_TODAY

pytestmark = pytest.mark.dates

STAGES = pl.DataFrame(
    {
        "id": [1, 2, 3, 4, 5],
        "pipeline_id": [1] * 5,
        "position": [1, 2, 3, 4, 5],
        "name": ["Qualify", "Demo", "Proposal", "Won", "Lost"],
        "probability": [20.0, 50.0, 70.0, 100.0, 0.0],
        "kind": ["open", "open", "open", "won", "lost"],
        "rot_days": [None] * 5,
    },
    schema_overrides={"rot_days": pl.Int64},
)
S, E = forecast.full_quarters_window(DEMO_TODAY, 1)
MIDNIGHT = datetime.combine(S, datetime.min.time())


def at(days: float) -> datetime:
    """S's midnight plus `days` (negative: before the quarter)."""
    return MIDNIGHT + timedelta(days=days)


# (deal, value, moves as (days from S, to stage), closed day offset or None)
DEALS: list[tuple[int, float, list[tuple[float, int]], float | None]] = [
    (1, 100_000.0, [(-60, 1), (-30, 2), (10, 4)], 10),
    (2, 200_000.0, [(-50, 1), (-20, 3), (20, 5)], 20),
    (3, 80_000.0, [(-200, 1), (-150, 2), (-100, 4)], -100),
    (4, 60_000.0, [(-200, 1), (-120, 5)], -120),
    (5, 500_000.0, [(5, 1), (40, 4)], 40),
    (6, 50_000.0, [(-10, 1), (5, 3), (30, 4)], 30),
    (7, 40_000.0, [(-5, 1), (9 / 24, 2)], None),
    (8, 70_000.0, [], None),
    (10, 30_000.0, [(-70, 1), (-40, 3), ((E - S).days + 10, 4)], (E - S).days + 10),
]
KIND = dict(zip(STAGES["id"], STAGES["kind"], strict=True))


def history_frame() -> pl.DataFrame:
    rows = []
    for deal_id, _, moves, _ in DEALS:
        previous = None
        for days, to in moves:
            rows.append((deal_id, previous, to, at(days)))
            previous = to
    return pl.DataFrame(
        rows,
        schema={
            "deal_id": pl.Int64,
            "from_stage_id": pl.Int64,
            "to_stage_id": pl.Int64,
            "at": pl.Datetime("us"),
        },
        orient="row",
    )


def deals_frame() -> pl.DataFrame:
    """Shaped like `store.deals`: current stage joined in; deal 8 sits in Demo without history."""
    rows = []
    for deal_id, value, moves, closed in DEALS:
        stage_id = moves[-1][1] if moves else 2
        created = at(moves[0][0]).date() if moves else S - timedelta(days=30)
        rows.append(
            {
                "id": deal_id,
                "pipeline_id": 1,
                "stage_id": stage_id,
                "name": f"Deal {deal_id}",
                "value": value,
                "probability": None,
                "created": created,
                "expected_close": None if closed is None else (S + timedelta(days=closed)),
                "closed_at": None if closed is None else (S + timedelta(days=closed)),
            }
        )
    frame = pl.DataFrame(
        rows,
        schema={
            "id": pl.Int64,
            "pipeline_id": pl.Int64,
            "stage_id": pl.Int64,
            "name": pl.String,
            "value": pl.Float64,
            "probability": pl.Float64,
            "created": pl.Date,
            "expected_close": pl.Date,
            "closed_at": pl.Date,
        },
    )
    return frame.join(
        STAGES.select(
            stage_id="id",
            stage="name",
            stage_kind="kind",
            stage_probability="probability",
            stage_position="position",
        ),
        on="stage_id",
    ).sort("id")


def last_quarter() -> dict[str, object]:
    result = backtest.forecast_backtest(deals_frame(), STAGES, history_frame(), DEMO_TODAY, quarters=1)
    assert result.quarters.height == 1
    return result.quarters.row(0, named=True)


def test_the_manual_forecast_weighs_the_deals_open_on_the_first_day_in_their_stage_then() -> None:
    row = last_quarter()

    # Independently: each open deal's stage on S, written out by hand, times its manual rate.
    on_first_day = pl.DataFrame(
        {"deal": [1, 2, 6, 7, 10], "value": [100e3, 200e3, 50e3, 40e3, 30e3], "stage": [2, 3, 1, 1, 3]}
    ).join(STAGES.select(stage="id", p="probability"), on="stage")
    expected = on_first_day.select((pl.col("value") * pl.col("p") / 100).sum()).item()
    assert expected == pytest.approx(229_000)
    assert row["manual"] == pytest.approx(expected)
    assert row["open_deals"] == 5
    assert row["quarter"] == forecast.period_label(S, "quarter")


def test_the_actual_is_what_the_deals_open_on_the_first_day_won_inside_the_quarter() -> None:
    row = last_quarter()

    assert row["actual"] == pytest.approx(150_000)
    assert row["won_deals"] == 2
    assert row["manual_error_pct"] == pytest.approx(79_000 / 150_000 * 100)
    assert row["manual_accuracy"] == pytest.approx(1 - 79_000 / 150_000)


def test_history_probabilities_come_only_from_deals_closed_before_the_first_day() -> None:
    row = last_quarter()

    assert row["history"] == pytest.approx(2_440_000 / 11 + 22_500)
    learned = backtest.history_probabilities_as_of(deals_frame(), STAGES, history_frame(), S)
    assert learned.select("stage", "n", "won").head(3).rows() == [
        ("Qualify", 2, 1),
        ("Demo", 1, 1),
        ("Proposal", 1, 1),
    ]


def test_a_deal_without_any_move_before_the_first_day_is_left_out_and_counted() -> None:
    row = last_quarter()

    assert row["no_stage"] == 1
    caption = backtest.population_caption(
        backtest.forecast_backtest(deals_frame(), STAGES, history_frame(), DEMO_TODAY, quarters=1)
    )
    assert "Left out: 1 deal-quarters with no stage recorded" in caption


def test_the_back_test_never_sees_what_happened_on_or_after_the_first_day() -> None:
    """Cut the history at S and put every deal back in its stage then: the forecasts must not move.

    Deal 6's later Proposal stage, deal 1's win and deal 7's move on S itself would each change
    a figure if the back-test looked ahead.
    """
    history = history_frame()
    full = backtest.forecast_backtest(deals_frame(), STAGES, history, DEMO_TODAY, quarters=1)
    cut = history.filter(pl.col("at") < MIDNIGHT)
    stage_then = cut.group_by("deal_id").agg(pl.col("to_stage_id").sort_by("at").last())
    blind = (
        deals_frame()
        .drop("stage", "stage_kind", "stage_probability", "stage_position")
        .join(stage_then, left_on="id", right_on="deal_id", how="left")
        .with_columns(stage_id=pl.coalesce("to_stage_id", "stage_id"))
        .drop("to_stage_id")
        .join(
            STAGES.select(
                stage_id="id",
                stage="name",
                stage_kind="kind",
                stage_probability="probability",
                stage_position="position",
            ),
            on="stage_id",
        )
    )
    seen = backtest.forecast_backtest(blind, STAGES, cut, DEMO_TODAY, quarters=1)

    forecasts = ["quarter", "open_deals", "no_stage", "manual", "history", "p10", "p50", "p90"]
    assert_frame_equal(full.quarters.select(forecasts), seen.quarters.select(forecasts))
    # And the look-ahead would have shown: deal 6 in Proposal instead of Qualify, $25,000 more.
    assert full.quarters["manual"][0] == pytest.approx(229_000)


def test_the_range_is_judged_by_coverage_and_pinball_loss_from_its_own_quantiles() -> None:
    result = backtest.forecast_backtest(deals_frame(), STAGES, history_frame(), DEMO_TODAY, quarters=1)
    row = result.quarters.row(0, named=True)
    y = 150_000.0

    def loss(value: float, q: float) -> float:
        return q * (y - value) if y >= value else (1 - q) * (value - y)

    assert row["p10"] <= row["p50"] <= row["p90"]
    assert row["inside"] == (row["p10"] <= y <= row["p90"])
    assert result.coverage == (1.0 if row["inside"] else 0.0)
    expected = (loss(row["p10"], 0.1) + loss(row["p50"], 0.5) + loss(row["p90"], 0.9)) / 3
    assert row["pinball"] == pytest.approx(expected)


def test_a_range_of_certain_deals_collapses_onto_their_value() -> None:
    """Deals at 100 % are won in every draw: P10 = P50 = P90 = the open deals' $420,000."""
    certain = STAGES.with_columns(probability=pl.lit(100.0))
    row = backtest.forecast_backtest(
        deals_frame(), certain, history_frame(), DEMO_TODAY, quarters=1
    ).quarters
    assert row.select("p10", "p50", "p90").row(0) == (420_000.0, 420_000.0, 420_000.0)


def test_only_the_quarters_the_history_reaches_are_back_tested() -> None:
    """The first move is 200 days before S: the quarter starting 3 months before S is in, and
    the one 6 months before is in too (about 182 days), the one 9 months before is not."""
    starts = backtest.backtest_quarters(history_frame(), DEMO_TODAY, 4)

    assert starts == [forecast.full_quarters_window(DEMO_TODAY, n)[0] for n in (3, 2, 1)]
    assert backtest.backtest_quarters(history_frame().clear(), DEMO_TODAY, 4) == []


def test_the_sentence_names_the_closest_method_and_the_coverage() -> None:
    result = backtest.forecast_backtest(deals_frame(), STAGES, history_frame(), DEMO_TODAY, quarters=1)
    errors = result.mean_errors()

    assert errors["manual"] == pytest.approx(79_000)
    assert errors["history"] == pytest.approx(2_440_000 / 11 + 22_500 - 150_000)
    method, error = result.closest() or ("", 0.0)
    assert error == min(errors.values())
    assert backtest.METHODS[method] in result.sentence()
    assert f"${error:,.0f} a quarter" in result.sentence()
    assert result.mean_pinball == pytest.approx(result.quarters["pinball"][0])
    assert f"mean pinball loss ${result.mean_pinball:,.0f}" in result.sentence()


def test_no_full_quarter_in_the_history_says_so() -> None:
    empty = backtest.forecast_backtest(deals_frame(), STAGES, history_frame().clear(), DEMO_TODAY)

    assert empty.quarters.is_empty()
    assert empty.coverage is None
    assert "No full quarter to back-test yet" in empty.sentence()


def test_the_chart_draws_the_range_each_method_and_the_actual_per_quarter() -> None:
    result = backtest.forecast_backtest(deals_frame(), STAGES, history_frame(), DEMO_TODAY)
    spec = charts.backtest_chart(result.quarters, backtest.METHODS).to_dict()

    span, points, actual = spec["layer"]
    assert (span["mark"]["type"], span["encoding"]["y"]["field"], span["encoding"]["y2"]["field"]) == (
        "bar",
        "p10",
        "p90",
    )
    assert points["encoding"]["color"]["sort"] == list(backtest.METHODS.values())
    assert actual["mark"]["type"] == "tick" and actual["encoding"]["y"]["field"] == "actual"
    assert span["encoding"]["x"]["sort"] == result.quarters["quarter"].to_list()


def test_the_stage_on_the_first_day_follows_the_times_not_the_row_order() -> None:
    shuffled = history_frame().sample(fraction=1.0, shuffle=True, seed=3)
    sorted_result = backtest.forecast_backtest(deals_frame(), STAGES, history_frame(), DEMO_TODAY, 1)
    shuffled_result = backtest.forecast_backtest(deals_frame(), STAGES, shuffled, DEMO_TODAY, 1)

    assert_frame_equal(shuffled_result.quarters, sorted_result.quarters)
