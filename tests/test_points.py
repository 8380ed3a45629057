"""Suggest points: a synthetic lead set whose true points are known is recovered, held out by
creation date, and the capacity cutoff is the one a hand search finds."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from funnel import charts, cutoffs, points, scoring
from funnel.models import Rule

TODAY = date(2026, 11, 23)
# The current model: everything at 10 but the C-level rule at 30 (the biggest, which the
# suggestion keeps).
CURRENT = (
    Rule("fit", "job_title", "in", ("CEO",), 30, "C-level"),
    Rule("fit", "company_size", "at_least", 200.0, 10, "Large company"),
    Rule("interest", "pricing_page_visits", "at_least", 1.0, 10, "Visited pricing"),
    Rule("interest", "page_views", "at_least", 5.0, 10, "5+ pages viewed"),
)
# What the outcomes were drawn from: log-odds = -2 + 0.06 x (30, 15, 20, 10 for the rules fired).
TRUE_POINTS = (30.0, 15.0, 20.0, 10.0)
TOLERANCE = 3.0


def synthetic_leads(n: int = 40_000, seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    fired = rng.random((n, 4)) < 0.4
    log_odds = -2 + 0.06 * fired.astype(float) @ np.array(TRUE_POINTS)
    converted = rng.random(n) < 1 / (1 + np.exp(-log_odds))
    created = [date(2025, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 400, n)]
    return pl.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "email": ["a@b.com"] * n,
            "job_title": np.where(fired[:, 0], "CEO", "Analyst"),
            "company_size": np.where(fired[:, 1], 500, 20),
            "pricing_page_visits": np.where(fired[:, 2], 2, 0),
            "page_views": np.where(fired[:, 3], 9, 1),
            "created": created,
            "last_activity": created,
            "outcome": np.where(converted, "converted", "lost"),
            "sal_status": [None] * n,
            "fit": [None] * n,
            "interest": [None] * n,
        },
        schema_overrides={"sal_status": pl.String, "fit": pl.Float64, "interest": pl.Float64},
    )


@pytest.fixture(scope="module")
def fitted() -> points.PointsFit:
    fit = points.fit_points(synthetic_leads(), CURRENT, 0.0, TODAY)
    assert fit is not None
    return fit


def test_the_true_points_are_recovered_within_three_points(fitted: points.PointsFit) -> None:
    suggested = fitted.table.get_column("suggested").to_list()

    assert suggested[0] == 30.0  # the biggest rule keeps the current biggest points
    for got, true in zip(suggested, TRUE_POINTS, strict=True):
        assert abs(got - true) <= TOLERANCE, (suggested, TRUE_POINTS)
    assert [r.axis for r in fitted.suggested] == [r.axis for r in CURRENT]
    assert fitted.table.get_column("current").to_list() == [30.0, 10.0, 10.0, 10.0]


def test_it_learns_on_earlier_leads_and_is_checked_on_later_ones(fitted: points.PointsFit) -> None:
    leads = synthetic_leads()
    created = leads.get_column("created").sort()
    split = created[int(leads.height * points.TRAIN_SHARE)]
    earlier = leads.filter(pl.col("created") < split).height

    assert fitted.split == split
    assert fitted.trained_on == earlier
    assert fitted.checked_on == leads.height - earlier
    assert f"created before {split:%d %b %Y}" in fitted.caption()


def test_the_suggestion_ranks_later_leads_better_than_the_flat_points(fitted: points.PointsFit) -> None:
    current, suggested = fitted.auc["Current"], fitted.auc["Suggested"]

    assert current is not None and suggested is not None
    assert suggested > current


def test_the_same_leads_give_the_same_points_every_time(fitted: points.PointsFit) -> None:
    again = points.fit_points(synthetic_leads(), CURRENT, 0.0, TODAY)

    assert again is not None
    assert again.table.equals(fitted.table)


def test_leads_with_a_ready_made_score_are_left_out_and_counted() -> None:
    leads = synthetic_leads(2_000).with_columns(
        fit=pl.when(pl.col("id") <= 50).then(80.0).otherwise(None),
    )
    fit = points.fit_points(leads, CURRENT, 0.0, TODAY)

    assert fit is not None
    assert fit.ready_made == 50
    assert fit.trained_on + fit.checked_on == 1_950
    assert "Left out: 50 leads" in fit.caption()


def test_nothing_to_learn_without_both_outcomes() -> None:
    all_lost = synthetic_leads(500).with_columns(outcome=pl.lit("lost"))

    assert points.fit_points(all_lost, CURRENT, 0.0, TODAY) is None
    assert points.fit_points(synthetic_leads(500), (), 0.0, TODAY) is None


def hand_grid() -> pl.DataFrame:
    """Week 1: 3 leads at (80, 80) with 2 conversions, 5 at (60, 60) with 2, 4 at (30, 90) with 1.
    Week 2: 5 leads at (60, 60) with 1 conversion."""
    week1, week2 = date(2026, 6, 1), date(2026, 6, 8)
    return pl.DataFrame(
        {
            "fit": [80, 60, 30, 60],
            "interest": [80, 60, 90, 60],
            "week": [week1, week1, week1, week2],
            "leads": [3, 5, 4, 5],
            "converted": [2, 2, 1, 1],
            "lost": [1, 3, 3, 4],
            "accepted": [0, 0, 0, 0],
            "rejected": [0, 0, 0, 0],
        }
    )


def brute_force(grid: pl.DataFrame, capacity: int) -> tuple[int, int] | None:
    """Every whole-point cutoff tried in plain Polars: most conversions, then fewest MQLs, then
    the highest F, then the highest I, with no week over capacity."""
    best: tuple[int, int, int, int] | None = None
    for f in range(101):
        for i in range(101):
            inside = grid.filter((pl.col("fit") >= f) & (pl.col("interest") >= i))
            weekly = inside.group_by("week").agg(pl.col("leads").sum())
            if weekly.height and weekly["leads"].max() > capacity:  # type: ignore[operator]
                continue
            key = (int(inside["converted"].sum()), -int(inside["leads"].sum()), f, i)
            best = key if best is None or key > best else best
    return None if best is None else (best[2], best[3])


@pytest.mark.parametrize(
    ("reps", "per_rep", "expected"),
    [
        # 8 a week: (60, 60) and (80, 80) are 8 leads in week 1, 5 in week 2, 5 conversions.
        (1, 8, (60, 60)),
        # 7 a week: (30, 90) and (80, 80) are 7 leads with 3 conversions, F 30 and I 80 at most.
        (1, 7, (30, 80)),
        # 2 a week: no cell fits at all, only a cutoff above every lead (0 MQLs) does.
        (1, 2, (100, 100)),
    ],
)
def test_the_capacity_cutoff_keeps_the_most_conversions_that_sales_can_work(
    reps: int, per_rep: int, expected: tuple[int, int]
) -> None:
    grid = hand_grid()

    assert points.capacity_cutoff(grid, reps, per_rep) == expected
    assert brute_force(grid, reps * per_rep) == expected


def test_one_capacity_table_answers_every_capacity_typed_as_a_fresh_count_would() -> None:
    """The page builds the table once per filter; each capacity typed then only picks a cell."""
    grid = hand_grid()
    table = points.capacity_table(grid)

    assert table is not None
    assert [table.cutoff(c) for c in (8, 7, 2)] == [(60, 60), (30, 80), (100, 100)]
    assert [table.cutoff(c) for c in range(1, 20)] == [brute_force(grid, c) for c in range(1, 20)]
    assert points.capacity_table(grid.clear()) is None


def test_the_comparison_reads_each_model_at_the_page_cutoff_and_at_capacity(
    fitted: points.PointsFit,
) -> None:
    table = points.comparison(fitted, 50, 50, 2, 200)

    assert table.get_column("model").to_list() == ["Current", "Current", "Suggested", "Suggested"]
    current = cutoffs.mql_backtest(fitted.test_grids["Current"], 50, 50)
    first = table.row(0, named=True)
    assert first["cutoff"] == "Current cutoff: F 50, I 50"
    assert (first["mqls"], first["kept"], first["lift"]) == (current.mqls, current.recall, current.lift)
    at_capacity = points.capacity_cutoff(fitted.test_grids["Suggested"], 2, 200)
    assert at_capacity is not None
    assert table.row(3, named=True)["cutoff"] == f"At capacity: F {at_capacity[0]}, I {at_capacity[1]}"


def test_the_quadrant_marks_the_suggested_cutoff_as_one_more_layer() -> None:
    leads = scoring.score_leads(synthetic_leads(200), CURRENT, 0.0, TODAY)
    grid = cutoffs.cutoff_grid(leads)
    args = (cutoffs.scatter_sample(leads), cutoffs.quadrant_counts(grid, 50, 50), 50, 50, leads.height)

    plain = charts.mql_quadrant_chart(*args).chart().to_dict()
    marked = charts.mql_quadrant_chart(*args, suggested=(70, 25)).chart().to_dict()

    assert len(marked["layer"]) == len(plain["layer"]) + 1
    star = marked["layer"][-1]
    assert star["mark"]["shape"] == "diamond"
    assert marked["datasets"][star["data"]["name"]] == [{"fit": 70.0, "interest": 25.0}]
    assert all(layer["mark"].get("shape") != "diamond" for layer in plain["layer"])
