"""3. Forecast recompute after a slider move, simulation included.

The baseline (`forecast.measure_baseline`: funnel counts, rates, cycle, the open pipeline's
draws) is measured once per store revision and cached by the page; a slider move recomputes the
scenario's forecast beside the baseline's, the P10/P50/P90 simulation, the sensitivity ranking
and the reverse funnel. Without caching, every move would measure the baseline again: that is
the usual way, timed beside it.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import cycle

import polars as pl

from benchmarks.harness import Bench, Figure, Timing
from benchmarks.mql import shared_scored
from funnel import clock, forecast, funnels, planning, scoring, store

TARGET_S = 0.2
TARGET_REVENUE = 1_000_000.0
VOLUME_STEPS = (1.0, 1.1, 0.9, 1.25, 0.8)
"""Leads-per-period slider positions visited in turn (times the measured baseline)."""


def inputs(bench: Bench, size: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The leads' funnel levels at the latest agreed cutoff, and the deals, as the page reads
    them."""
    scored = shared_scored(bench, size)
    with store.opened(bench.store(size)) as db:
        fit, interest, _ = scoring.agreed_cutoff(store.decisions(db))
        deals = store.deals(db)
    return funnels.funnel_levels(scoring.with_quadrants(scored, fit, interest)), deals


def slider_move(baseline: forecast.Baseline, volume: float) -> object:
    """Every figure the forecast page redraws when a lever moves."""
    levers = replace(baseline.levers, leads_per_period=baseline.levers.leads_per_period * volume)
    return (
        forecast.side_by_side(
            forecast.forecast(baseline.levers, baseline),
            forecast.forecast(levers, baseline),
            ("Baseline", "Scenario"),
        ),
        planning.simulate(levers, baseline, TARGET_REVENUE),
        planning.sensitivity(levers, baseline),
        planning.reverse_funnel(levers, TARGET_REVENUE, baseline.horizon.get_column("start")[0])
        if levers.deal_value > 0 and all(levers.rates)
        else None,
    )


def _at(bench: Bench, size: int) -> tuple[Timing, Timing, Timing | None]:
    """(slider move, baseline, no-cache move or None below the largest size) at `size`."""
    bench.log(f"forecast: baseline at {size:,}")
    leads, deals = inputs(bench, size)
    today = clock.today()
    baseline_time = bench.median_time(lambda: forecast.measure_baseline(leads, deals, today))
    baseline = forecast.measure_baseline(leads, deals, today)
    steps = cycle(VOLUME_STEPS)
    bench.log(f"forecast: slider moves at {size:,}")
    move_time = bench.median_time(lambda: slider_move(baseline, next(steps)))
    if size != bench.largest:
        return move_time, baseline_time, None
    uncached = bench.median_time(
        lambda: slider_move(forecast.measure_baseline(leads, deals, today), next(steps))
    )
    return move_time, baseline_time, uncached


def measure(bench: Bench) -> list[Figure]:
    moves: dict[int, Timing | None] = {}
    baselines: dict[int, Timing | None] = {}
    usual = None
    for size in bench.sizes:
        moves[size], baselines[size], uncached = _at(bench, size)
        usual = uncached if uncached is not None else usual
    return [
        Figure.timed(
            "3. forecast recompute after a slider move, simulation included",
            moves,
            target=TARGET_S,
            usual=usual,
            usual_how="baseline measured again on every move",
        ),
        Figure.timed("3a. forecast baseline (once per store revision)", baselines),
    ]
