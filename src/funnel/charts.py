"""Frames -> Altair charts. Pure functions, tested on `chart.to_dict()`; Polars in, no pandas.

Sections by page; each function takes the frame its core function returns.
"""

from __future__ import annotations

import altair as alt
import polars as pl

__all__ = ["alt", "pl"]

# --- Stages & probabilities -------------------------------------------------------------------

_STAGE_MEASURES = {"value": "Value", "weighted_value": "Weighted value"}


def stage_value_chart(by_stage: pl.DataFrame) -> alt.Chart:
    """Value and weighted value per stage, side by side, stages in pipeline order.

    Takes `stages.pipeline_figures(...).by_stage`. The gap between the two bars of a stage is
    what its probability discounts: the point the source text makes about weighted pipeline.
    """
    order = by_stage.sort("position")["stage"].to_list()
    long = by_stage.unpivot(
        index=["stage", "position"],
        on=list(_STAGE_MEASURES),
        variable_name="measure",
        value_name="amount",
    ).with_columns(pl.col("measure").replace_strict(_STAGE_MEASURES))
    chart: alt.Chart = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("stage:N", sort=order, title=None, axis=alt.Axis(labelAngle=-30)),
            xOffset=alt.XOffset("measure:N", sort=list(_STAGE_MEASURES.values())),
            y=alt.Y("amount:Q", title="Deal value", axis=alt.Axis(format="$,.0f")),
            color=alt.Color(
                "measure:N",
                sort=list(_STAGE_MEASURES.values()),
                title=None,
                legend=alt.Legend(orient="top"),
            ),
            tooltip=[
                alt.Tooltip("stage:N", title="Stage"),
                alt.Tooltip("measure:N", title="Measure"),
                alt.Tooltip("amount:Q", title="Amount", format="$,.0f"),
            ],
        )
        .properties(height=320)
    )
    return chart


# --- MQL threshold ----------------------------------------------------------------------------

# --- Funnel & forecast ------------------------------------------------------------------------
