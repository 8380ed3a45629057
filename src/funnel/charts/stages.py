"""The Stages page's charts."""

from __future__ import annotations

import altair as alt
import polars as pl

from funnel.charts.spec import SERIES_COLOURS

_STAGE_MEASURES = {"value": "Value", "weighted_value": "Weighted value"}


def stage_value_chart(by_stage: pl.DataFrame) -> alt.Chart:
    """Value and weighted value of each open stage, as paired horizontal bars in pipeline order.

    Takes `stages.pipeline_figures(...).by_stage`. The gap between a stage's two bars is what
    its probability discounts, the point the source text makes about weighted pipeline. Won
    and lost stages are left out: their weighted value equals their value or nothing, and
    their totals (closed won, lost) would dwarf the open stages this chart is about.
    """
    open_stages = by_stage.filter(pl.col("kind") == "open").sort("position")
    long = open_stages.unpivot(
        index=["stage", "position"],
        on=list(_STAGE_MEASURES),
        variable_name="measure",
        value_name="amount",
    ).with_columns(pl.col("measure").replace_strict(_STAGE_MEASURES))
    measures = list(_STAGE_MEASURES.values())
    chart: alt.Chart = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y(
                "stage:N", sort=open_stages["stage"].to_list(), title=None, axis=alt.Axis(labelLimit=240)
            ),
            yOffset=alt.YOffset("measure:N", sort=measures),
            x=alt.X("amount:Q", title="Open deal value", axis=alt.Axis(format="$,.0f")),
            color=alt.Color(
                "measure:N",
                sort=measures,
                title=None,
                legend=alt.Legend(orient="top"),
                scale=alt.Scale(domain=measures, range=list(SERIES_COLOURS[:2])),
            ),
            tooltip=[
                alt.Tooltip("stage:N", title="Stage"),
                alt.Tooltip("measure:N", title="Measure"),
                alt.Tooltip("amount:Q", title="Amount", format="$,.0f"),
            ],
        )
        .properties(height=alt.Step(14))
    )
    return chart
