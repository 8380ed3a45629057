"""2. MQL recompute after a slider move, from the pre-scored frame the page keeps cached.

Ours is what the MQL page's slider fragment computes from the cutoff grid of the cached scored
leads (`cutoffs.cutoff_grid`, rebuilt with the scatter sample only when a filter changes):
quadrant counts, the back-test and its curve, SAL, MQLs per week against capacity, and the
three charts made ready to send as the page sends them (`st.vega_lite_chart` on each chart's
spec, compiled once, with the step's data). The usual way computes the same
figures with pandas on a pre-scored pandas frame (so reading and scoring are not even counted
against it): masks over every lead, group-bys, one pass per cutoff for the curve, and a scatter
of every lead converted the same way.
"""

from __future__ import annotations

import json
from itertools import cycle
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import polars as pl
from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec as vega_lite_spec
from streamlit.elements.vega_charts import (
    _marshall_chart_data,
    _prepare_vega_lite_spec,
    _stabilize_vega_json_spec,
)
from streamlit.proto.VegaLiteChart_pb2 import VegaLiteChart

from benchmarks.harness import Bench, Figure, Timing
from funnel import charts, clock, cutoffs, scoring, store

TARGET_S = 0.1
MIN_RATIO = 5.0
REPS, LEADS_PER_REP = 6, 40
MOVES = ((60, 50), (61, 50), (61, 51), (45, 70), (80, 20))
"""Slider positions visited in turn, so no figure is ever computed twice for the same one."""


def scored_leads(path: Path) -> pl.DataFrame:
    """All leads scored with the latest model, as `ui.scored_leads` caches them."""
    with store.opened(path) as db:
        version = store.latest_model_version(db)
        rules = store.rules(db, version) if version else list(scoring.DEFAULT_RULES)
        half_life = store.half_life(db, version) if version else 0.0
        leads = store.leads(db)
    return scoring.score_leads(leads, rules, half_life, clock.today())


def shared_scored(bench: Bench, size: int) -> pl.DataFrame:
    """The scored leads of the `size` store, built once per run for every measurement."""
    return bench.once("scored", size, lambda: scored_leads(bench.store(size)))


def slider_figures(grid: pl.DataFrame, fit: int, interest: int) -> tuple[object, ...]:
    """Every figure the MQL page's slider fragment shows when F or I moves, from the grid."""
    quadrants = cutoffs.quadrant_counts(grid, fit, interest)
    cutoffs.mql_backtest(grid, fit, interest)
    cutoffs.sal_summary(grid, fit, interest)
    weekly = cutoffs.mql_per_week(grid, fit, interest, REPS, LEADS_PER_REP)
    cutoffs.capacity_summary(weekly)
    return quadrants, cutoffs.backtest_curve(grid, fit, interest), weekly


def sent(chart: charts.Live) -> str:
    """What `st.vega_lite_chart` makes of a chart before sending it: its data as Arrow, its
    spec as the stable JSON the browser compares."""
    spec = _prepare_vega_lite_spec(chart.vega_lite(), use_container_width=True)
    _marshall_chart_data(VegaLiteChart(), spec)
    return _stabilize_vega_json_spec(json.dumps(spec))


def slider_move(grid: pl.DataFrame, sample: pl.DataFrame, total: int, fit: int, interest: int) -> int:
    """The figures, and the three charts made ready to send as the page sends them. Returns
    the number of charts."""
    quadrants, curve, weekly = slider_figures(grid, fit, interest)
    drawn = (
        charts.mql_quadrant_chart(sample, quadrants, fit, interest, total),
        charts.mql_curve_chart(curve),
        charts.mql_capacity_chart(weekly),
    )
    return len([sent(chart) for chart in drawn])


def filter_change(scored: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """What the MQL page computes when a filter changes: the cutoff grid and the scatter sample."""
    return cutoffs.cutoff_grid(scored), cutoffs.scatter_sample(scored)


def usual_figures(df: pd.DataFrame, fit: int, interest: int) -> pd.DataFrame:
    """The same figures the way a typical Streamlit app computes them: pandas over every lead."""
    good_fit = df["fit"] >= fit
    engaged = df["interest"] >= interest
    mql = good_fit & engaged
    quadrant = np.select([mql, good_fit, engaged], list(scoring.QUADRANTS[:3]), scoring.QUADRANTS[3])
    frame = df.assign(quadrant=quadrant, mql=mql)
    frame.groupby("quadrant").size()
    known = frame[frame["outcome"].isin(["converted", "won", "lost"])]
    converted = known["outcome"].isin(["converted", "won"])
    int(known["mql"].sum()), int((known["mql"] & converted).sum())
    [
        (axis, cut, share.mean(), converted[share].mean(), converted[share].sum() / converted.sum())
        for axis, other, held in (("fit", "interest", interest), ("interest", "fit", fit))
        for cut in range(101)
        for share in [(known[axis] >= cut) & (known[other] >= held)]
    ]
    mqls = frame[frame["mql"]]
    mqls["sal_status"].value_counts()
    weekly = mqls.groupby(mqls["created"].dt.to_period("W")).size()
    int((weekly > REPS * LEADS_PER_REP).sum())
    return frame


def usual_slider_move(df: pd.DataFrame, fit: int, interest: int) -> object:
    """The usual figures, and a scatter of every lead converted as `st.altair_chart` does."""
    frame = usual_figures(df, fit, interest)
    scatter = alt.Chart(frame[["fit", "interest", "outcome"]]).mark_circle()
    return vega_lite_spec(scatter.encode(x="fit:Q", y="interest:Q", color="outcome:N"))


Timings = dict[str, Timing | None]


def _at(bench: Bench, size: int) -> Timings:
    """The figures alone, with their charts, the grid build, and (at the largest size only)
    the pandas way of both."""
    scored = shared_scored(bench, size)
    out: Timings = {"grid": bench.median_time(lambda: filter_change(scored))}
    grid, sample = filter_change(scored)
    positions = cycle(MOVES)
    bench.log(f"mql: slider moves at {size:,}")
    out["figures"] = bench.median_time(lambda: slider_figures(grid, *next(positions)))
    out["move"] = bench.median_time(lambda: slider_move(grid, sample, scored.height, *next(positions)))
    if size == bench.largest:
        frame = scored.select("fit", "interest", "outcome", "sal_status", "created").to_pandas()
        frame["created"] = pd.to_datetime(frame["created"])
        bench.log(f"mql: the pandas way at {size:,}")
        out["usual figures"] = bench.median_time(lambda: usual_figures(frame, *next(positions)))
        out["usual move"] = bench.median_time(lambda: usual_slider_move(frame, *next(positions)))
    return out


def measure(bench: Bench) -> list[Figure]:
    at: dict[int, Timings] = {}
    for size in bench.sizes:
        bench.log(f"mql: scoring {size:,} leads once (cached by the page)")
        at[size] = _at(bench, size)
    largest = at[bench.largest]

    def row(key: str) -> dict[int, Timing | None]:
        return {size: timings[key] for size, timings in at.items()}

    return [
        Figure.timed(
            "2. MQL recompute after a slider move (quadrants, back-test and curve, SAL, capacity)",
            row("figures"),
            target=TARGET_S,
            usual=largest.get("usual figures"),
            usual_how="pandas on a pre-scored frame",
            min_ratio=MIN_RATIO,
        ),
        Figure.timed(
            "2b. the same, with its three charts made ready to send (st.vega_lite_chart)",
            row("move"),
            usual=largest.get("usual move"),
            usual_how="pandas, and a chart of every lead",
        ),
        Figure.timed(
            "2a. MQL filter change (cutoff grid and scatter sample over all leads)", row("grid")
        ),
    ]
