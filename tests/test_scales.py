"""A ready-made score's scale: the file's own step, and the cutoffs the MQL sliders can take."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from funnel import cutoffs, points, scales
from funnel.scales import ScoreScale


@pytest.mark.parametrize(
    ("values", "low", "high", "step", "coarsened"),
    [
        ([3, 17, 250], 3, 250, 1.0, False),
        ([3.5, 17.25, 20], 0, 20, 0.01, False),  # 2,001 positions: as many as a slider takes
        ([0.1, 0.7, 1.0], 0, 1, 0.1, False),
        ([3.5, 17.25, 100], 0, 100, 0.1, True),  # hundredths of 0..100: 10,001 positions
        ([3, 100_250], 3, 100_250, 100.0, True),
    ],
)
def test_a_files_step_is_the_fewest_decimals_that_hold_every_value(
    values: list[float], low: float, high: float, step: float, coarsened: bool
) -> None:
    series = pl.Series(values, dtype=pl.Float64)
    assert scales.file_step(series, low, high) == (step, coarsened)


def test_usual_scales_keep_whole_points_because_every_file_value_is_one() -> None:
    # On 0..20 a file point is 5 points; on 0..1 a hundredth is 1 point.
    assert scales.axis_steps(ScoreScale("Profile", 0.0, 20.0, 1.0)) is scales.WHOLE_POINTS
    assert scales.axis_steps(ScoreScale("Probability", 0.0, 1.0, 0.01)) is scales.WHOLE_POINTS
    assert scales.axis_steps(None) is scales.WHOLE_POINTS
    # A store imported before steps were kept keeps the whole points it had.
    assert scales.axis_steps(ScoreScale("Old", 3.0, 250.0)) is scales.WHOLE_POINTS


def test_an_unusual_range_gets_one_slider_step_per_file_value() -> None:
    scale = ScoreScale("Lead Score", 3.0, 250.0, 1.0)
    steps = scales.axis_steps(scale)
    assert len(steps) == 248  # 3, 4, ... 250
    assert steps[0] == 0.0 and steps[-1] == 100.0
    assert steps[130] == pytest.approx((133 - 3) / 247 * 100)
    assert [scales.in_file_units(s, scale) for s in steps] == [float(v) for v in range(3, 251)]
    # Half points on 0..20 fall between whole points: 41 steps of 2.5 points.
    halves = scales.axis_steps(ScoreScale("Profile", 0.0, 20.0, 0.5))
    assert len(halves) == 41 and halves[33] == 82.5


def test_a_cutoff_off_the_steps_opens_on_the_lowest_step_above_it() -> None:
    steps = scales.axis_steps(ScoreScale("Lead Score", 3.0, 250.0, 1.0))
    # 50 points is a file value of 126.5: leads at 127 or more, as fit >= 50 keeps.
    assert scales.in_file_units(scales.snap(50, steps), ScoreScale("Lead Score", 3.0, 250.0, 1.0)) == 127
    assert scales.snap(steps[10], steps) == steps[10]
    assert scales.snap(100.5, steps) == 100.0
    assert scales.snap(49.6, scales.WHOLE_POINTS) == 50


def test_the_grid_on_file_steps_counts_each_file_value_exactly() -> None:
    # Seven leads on a 3..250 scale, rescaled as the import does; MQL = fit >= F, interest >= I.
    file_fit = [3, 130, 133, 133, 134, 200, 250]
    file_interest = [250, 250, 3, 200, 200, 132, 250]
    scale = ScoreScale("Lead Score", 3.0, 250.0, 1.0)
    to_points = scales.to_points(pl.col("v"), 3.0, 250.0)
    leads = pl.DataFrame(
        {
            "fit": pl.DataFrame({"v": file_fit}).select(to_points).to_series(),
            "interest": pl.DataFrame({"v": file_interest}).select(to_points).to_series(),
            "created": pl.date_range(date(2026, 1, 5), date(2026, 1, 11), eager=True),  # one week
            "outcome": ["converted", "lost", "converted", "lost", "converted", "lost", "converted"],
            "sal_status": [None] * 7,
        },
        schema_overrides={"sal_status": pl.String},
    )
    steps = scales.Steps(scales.axis_steps(scale), scales.axis_steps(scale))
    grid = cutoffs.cutoff_grid(leads, steps)
    for f_file in range(3, 251):
        for i_file in (3, 132, 133, 200, 250):
            f, i = steps.fit[f_file - 3], steps.interest[i_file - 3]
            expected = sum(
                1 for a, b in zip(file_fit, file_interest, strict=True) if a >= f_file and b >= i_file
            )
            assert cutoffs.mql_backtest(grid, f, i).mqls == expected, (f_file, i_file)
    curve = cutoffs.backtest_curve(grid, steps.fit[130], steps.interest[0], steps)
    fit_curve = curve.filter((pl.col("axis") == "fit") & (pl.col("metric") == "MQL share"))
    assert fit_curve.height == 248 and fit_curve.filter("current")["cutoff"].to_list() == [
        steps.fit[130]
    ]
    # At 133 (interest held at its lowest step): 133, 133, 134, 200 and 250, five of seven.
    assert fit_curve.filter("current")["value"].item() == pytest.approx(5 / 7)
    # One MQL a week at most: the cutoff keeping the most conversions is on the file's steps.
    best = points.capacity_cutoff(grid, 1, 1, steps)
    assert best is not None
    assert (
        cutoffs.mql_backtest(grid, *best).mqls == 1
        and cutoffs.mql_backtest(grid, *best).mql_conversions == 1
    )
    assert best[0] in steps.fit and best[1] in steps.interest
