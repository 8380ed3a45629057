"""8. How good are the numbers: the forecast back-test of 4 quarters (and the points fit).

Both are computed once per store revision and cached by their page, so these are the cost of
a first view after a write, not of a rerun; the target is 2 s at the largest size.
"""

from __future__ import annotations

from benchmarks.harness import Bench, Figure, Timing
from funnel import backtest, clock, points, store

TARGET_S = 2.0


def _backtest_at(bench: Bench, size: int) -> Timing:
    bench.log(f"quality: forecast back-test at {size:,}")
    with store.opened(bench.store(size)) as db:
        deals, stages, history = store.deals(db), store.stages(db), store.stage_history(db)
    today = clock.today()
    return bench.median_time(lambda: backtest.forecast_backtest(deals, stages, history, today))


def _points_fit_at(bench: Bench, size: int) -> Timing:
    bench.log(f"quality: points fit at {size:,}")
    with store.opened(bench.store(size)) as db:
        leads, version = store.leads(db), store.latest_model_version(db)
        assert version is not None, "the demo store always holds a scoring model"
        rules, half_life = tuple(store.rules(db, version)), store.half_life(db, version)
    today = clock.today()
    return bench.median_time(lambda: points.fit_points(leads, rules, half_life, today))


def measure(bench: Bench) -> list[Figure]:
    backtests: dict[int, Timing | None] = {size: _backtest_at(bench, size) for size in bench.sizes}
    fits: dict[int, Timing | None] = {size: _points_fit_at(bench, size) for size in bench.sizes}
    return [
        Figure.timed(
            "8a. forecast back-test, 4 quarters (once per store revision)", backtests, target=TARGET_S
        ),
        Figure.timed(
            "8b. points fit with both back-tests (once per lead revision)", fits, target=TARGET_S
        ),
    ]
