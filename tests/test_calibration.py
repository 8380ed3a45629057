"""Stage probabilities' intervals and the held-out calibration check, on a hand-made history.

Stages: Qualify 20 %, Demo 50 %, Proposal 70 %, Won, Lost. Split day: 1 June 2025.
Closed before it (they teach history): A Qualify -> Demo -> Won (1 March), B Qualify -> Lost.
So as of the split, with 10 pseudo-deals at the manual rate: Qualify (1 + 2) / 12 = 25 %,
Demo (1 + 5) / 11 = 54.5 %, Proposal (1 + 7) / 11 = 72.7 % (A passed it on its way to Won).
Closed after it (they are checked): C Qualify (10 January, still open on the split day) ->
Demo -> Won, so it passed Qualify, Demo and Proposal, won; D Qualify -> Lost, passed Qualify.
Brier, manual: (0.8² + 0.5² + 0.3² + 0.2²) / 4 = 0.255.
Brier, history: (0.75² + (5/11)² + (3/11)² + 0.25²) / 4 = 0.2265.
"""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from funnel import calibration, charts, stage_moves

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
SPLIT = date(2025, 6, 1)
MOVES: dict[int, list[tuple[date, int]]] = {
    1: [(date(2025, 1, 1), 1), (date(2025, 2, 1), 2), (date(2025, 3, 1), 4)],
    2: [(date(2025, 1, 1), 1), (date(2025, 2, 1), 5)],
    3: [(date(2025, 1, 10), 1), (date(2025, 7, 1), 2), (date(2025, 8, 1), 4)],
    4: [(date(2025, 7, 1), 1), (date(2025, 7, 15), 5)],
}


def history_frame() -> pl.DataFrame:
    rows = [
        (deal, None if i == 0 else moves[i - 1][1], to, datetime.combine(day, datetime.min.time()))
        for deal, moves in MOVES.items()
        for i, (day, to) in enumerate(moves)
    ]
    return pl.DataFrame(
        rows,
        schema={
            "deal_id": pl.Int64,
            "from_stage_id": pl.Int64,
            "to_stage_id": pl.Int64,
            "at": pl.Datetime,
        },
        orient="row",
    )


def deals_frame() -> pl.DataFrame:
    rows = [
        {
            "id": deal,
            "pipeline_id": 1,
            "stage_id": moves[-1][1],
            "value": 10_000.0,
            "probability": None,
            "created": moves[0][0],
            "closed_at": moves[-1][0],
        }
        for deal, moves in MOVES.items()
    ]
    return pl.DataFrame(rows, schema_overrides={"probability": pl.Float64}).join(
        STAGES.select(
            stage_id="id",
            stage="name",
            stage_kind="kind",
            stage_probability="probability",
            stage_position="position",
        ),
        on="stage_id",
    )


def test_a_stage_that_won_3_of_10_gets_the_wilson_interval_worked_by_hand() -> None:
    z = 1.6448536269514722  # the normal quantile at 95 %: 90 % in the middle
    p, n = 0.3, 10
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * (p * (1 - p) / n + z**2 / (4 * n**2)) ** 0.5

    low, high = calibration.wilson_interval(3, 10) or (0.0, 0.0)

    assert (round(centre - half, 4), round(centre + half, 4)) == (0.1269, 0.5583)
    assert low == pytest.approx((centre - half) * 100)
    assert high == pytest.approx((centre + half) * 100)


def test_intervals_sit_beside_the_history_table_and_stay_empty_without_a_sample() -> None:
    learned = pl.DataFrame({"stage": ["Demo", "Proposal", "New"], "n": [10, 4, 0], "won": [3, 4, 0]})

    result = calibration.with_intervals(learned)

    assert result["low"][0] == pytest.approx(12.69, abs=0.01)
    assert result["high"][1] == 100.0  # 4 of 4 won: the interval reaches 100 %, never beyond
    assert result["low"][2] is None and result["high"][2] is None


def test_passages_count_the_same_deals_per_stage_as_the_history_probabilities() -> None:
    deals, history = deals_frame(), history_frame()
    counted = (
        calibration.passages(deals, STAGES, history)
        .group_by("stage_id")
        .agg(n=pl.len().cast(pl.Int64), won=pl.col("won").sum().cast(pl.Int64))
        .sort("stage_id")
    )
    learned = stage_moves.history_probability(deals, STAGES, history)
    expected = learned.filter(pl.col("kind") == "open").select("stage_id", "n", "won")

    assert_frame_equal(counted, expected)


def test_the_brier_scores_are_checked_on_deals_closed_after_the_split_only() -> None:
    result = calibration.calibration(deals_frame(), STAGES, history_frame(), SPLIT)

    # Independently: the four passages of C and D, each at its manual and its history value.
    carried = pl.DataFrame(
        {
            "manual": [0.2, 0.5, 0.7, 0.2],
            "history": [3 / 12, 6 / 11, 8 / 11, 3 / 12],
            "won": [1.0, 1.0, 1.0, 0.0],
        }
    )
    expected = carried.select(((pl.col(c) - pl.col("won")) ** 2).mean() for c in ("manual", "history"))
    assert result.brier["manual"] == pytest.approx(expected["manual"][0])
    assert result.brier["manual"] == pytest.approx(0.255)
    assert result.brier["history"] == pytest.approx(expected["history"][0])
    assert (result.checked_deals, result.checked_passages, result.training_deals) == (2, 4, 2)
    assert "the history probabilities are better calibrated" in result.sentence()
    assert "Brier score 0.226 for history" in result.sentence()


def test_reliability_groups_show_predicted_vs_observed_with_counts() -> None:
    result = calibration.calibration(deals_frame(), STAGES, history_frame(), SPLIT)

    expected = pl.DataFrame(
        {
            "set": ["History", "History", "History", "Manual", "Manual", "Manual"],
            "bin": [20.0, 50.0, 70.0, 20.0, 50.0, 70.0],
            "predicted": [25.0, 600 / 11, 800 / 11, 20.0, 50.0, 70.0],
            "observed": [50.0, 100.0, 100.0, 50.0, 100.0, 100.0],
            "count": [2, 1, 1, 2, 1, 1],
        }
    )
    assert_frame_equal(result.groups, expected, check_exact=False)


def test_what_happens_after_the_split_never_teaches_the_history_probabilities() -> None:
    """C was open on the split day: its later win must not count in the history measured then."""
    frame = history_frame()
    changed = frame.filter(pl.col("deal_id") != 3).vstack(
        pl.DataFrame(
            [(3, None, 1, datetime(2025, 1, 10)), (3, 1, 5, datetime(2025, 7, 1))],
            schema=frame.schema,
            orient="row",
        )
    )
    deals = deals_frame().with_columns(
        stage_id=pl.when(pl.col("id") == 3).then(5).otherwise("stage_id"),
        stage_kind=pl.when(pl.col("id") == 3).then(pl.lit("lost")).otherwise("stage_kind"),
    )

    result = calibration.calibration(deals, STAGES, changed, SPLIT)

    # The history values are as before (25 %, 54.5 %...), only the checked outcomes changed.
    history = result.groups.filter(pl.col("set") == "History").sort("bin")
    assert history["predicted"][0] == pytest.approx(25.0)
    assert history["count"].to_list() == [2]


def test_the_split_halves_the_closed_deals_by_close_date() -> None:
    assert calibration.default_split(deals_frame()) == date(2025, 7, 15)
    assert calibration.default_split(deals_frame().head(1)) is None


def test_the_reliability_chart_plots_predicted_against_observed_with_a_diagonal() -> None:
    result = calibration.calibration(deals_frame(), STAGES, history_frame(), SPLIT)
    spec = charts.reliability_chart(result.groups).to_dict()

    diagonal, points = spec["layer"]
    assert diagonal["mark"]["type"] == "line"
    assert points["encoding"]["x"]["field"] == "predicted"
    assert points["encoding"]["y"]["field"] == "observed"
    assert points["encoding"]["size"]["field"] == "count"


def test_a_won_deal_without_history_is_judged_by_neither_the_probabilities_nor_the_check() -> None:
    # Deal 5 was imported straight into Won: its history holds only that one entry. Taken as
    # having passed every open stage, it would read as a win at each of them in the check
    # while the history probabilities leave it out (it says nothing about where deals are lost).
    with_history = calibration.passages(deals_frame(), STAGES, history_frame())
    deals = pl.concat(
        [deals_frame(), deals_frame().filter(pl.col("id") == 3).with_columns(id=pl.lit(5, pl.Int64))]
    )
    history = pl.concat(
        [
            history_frame(),
            pl.DataFrame(
                {"deal_id": [5], "from_stage_id": [None], "to_stage_id": [4]},
                schema={"deal_id": pl.Int64, "from_stage_id": pl.Int64, "to_stage_id": pl.Int64},
            ).with_columns(at=pl.lit(datetime(2025, 8, 1))),
        ]
    )

    assert_frame_equal(calibration.passages(deals, STAGES, history), with_history)
    assert stage_moves.history_probability(deals, STAGES, history)["n"].to_list() == [4, 2, 2, 2, 2]
