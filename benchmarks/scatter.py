"""7. Bytes sent to the browser for the MQL scatter, data included.

Ours is the page's chart (`charts.mql_quadrant_chart` over `cutoffs.scatter_sample`, counts on
all leads): a fixed-size sample, so the bytes stay flat from 100,000 to 1,000,000 leads. The
usual way hands every lead to `alt.Chart(df).mark_circle()`. Measured as the length of the
chart's spec JSON, data inlined (`chart.to_json()`).
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import polars as pl

from benchmarks.harness import Bench, Figure
from benchmarks.mql import shared_scored
from funnel import charts, cutoffs, scoring

TARGET_BYTES = 2e6
FIT_CUTOFF, INTEREST_CUTOFF = 60, 50


def ours(scored: pl.DataFrame) -> int:
    grid = cutoffs.cutoff_grid(scored)
    chart = charts.mql_quadrant_chart(
        cutoffs.scatter_sample(scored),
        cutoffs.quadrant_counts(grid, FIT_CUTOFF, INTEREST_CUTOFF),
        FIT_CUTOFF,
        INTEREST_CUTOFF,
        scored.height,
    )
    return len(chart.chart().to_json())


def usual_way(scored: pl.DataFrame) -> int:
    """Every lead in the chart, as `st.altair_chart(alt.Chart(df).mark_circle()...)` gets it."""
    frame: pd.DataFrame = scored.select(
        "fit", "interest", scoring.outcome_label().alias("outcome")
    ).to_pandas()
    chart = alt.Chart(frame).mark_circle().encode(x="fit:Q", y="interest:Q", color="outcome:N")
    with alt.data_transformers.enable("default", max_rows=None):
        return len(chart.to_json())


def measure(bench: Bench) -> list[Figure]:
    values: dict[int, float | None] = {}
    usual = None
    for size in bench.sizes:
        bench.log(f"scatter: chart bytes at {size:,}")
        scored = shared_scored(bench, size)
        values[size] = float(ours(scored))
        if size == bench.largest:
            usual = float(usual_way(scored))
    return [
        Figure(
            "7. bytes sent for the MQL scatter (spec JSON with data)",
            "bytes",
            values,
            target=TARGET_BYTES,
            usual=usual,
            usual_how="every lead in alt.Chart",
        )
    ]
