"""The Funnel & forecast page's charts."""

from __future__ import annotations

import altair as alt
import polars as pl

from funnel.charts.spec import STAGE_COLOUR

_LEAK_COLOUR = "#d62728"


def funnel_chart(funnel: pl.DataFrame) -> alt.LayerChart:
    """One centred bar per stage, narrowing down the funnel, with its count and the conversion
    to the next stage beside it; the step with the biggest leak is drawn in red.

    Takes `funnels.marketing_funnel(...)` or `funnels.pipeline_funnel(...)`.
    """
    order = funnel["stage"].to_list()
    widest = max([*funnel["count"].to_list(), 1])
    data = funnel.with_columns(
        left=-pl.col("count") / 2, right=pl.col("count") / 2, edge=pl.lit(widest / 2)
    )
    y = alt.Y("stage:N", sort=order, title=None, axis=alt.Axis(labelLimit=220))
    base = alt.Chart(data).transform_calculate(
        label="format(datum.count, ',') + (datum.conversion === null ? '' : ': '"
        " + format(datum.conversion, '.1%') + ' to next' + (datum.leak ? ', biggest leak' : ''))"
    )
    bars = base.mark_bar().encode(
        x=alt.X("left:Q", axis=None, scale=alt.Scale(domain=[-widest / 2, widest * 1.3])),
        x2="right:Q",
        y=y,
        color=alt.condition("datum.leak", alt.value(_LEAK_COLOUR), alt.value(STAGE_COLOUR)),
        tooltip=[
            alt.Tooltip("stage:N", title="Stage"),
            alt.Tooltip("count:Q", title="Count", format=","),
            alt.Tooltip("conversion:Q", title="Conversion to next", format=".1%"),
        ],
    )
    labels = base.mark_text(align="left", dx=8).encode(
        x="edge:Q",
        y=y,
        text="label:N",
        color=alt.condition("datum.leak", alt.value(_LEAK_COLOUR), alt.value("#444")),
    )
    return alt.LayerChart(layer=[bars, labels], height=40 * len(order) + 20)


def forecast_chart(side: pl.DataFrame) -> alt.Chart:
    """Revenue per period for two forecasts side by side (`forecast.side_by_side`, its total
    row left out)."""
    names = side.columns[1:3]
    order = side.filter(pl.col("period") != "Total")["period"].to_list()
    long = side.filter(pl.col("period") != "Total").unpivot(
        index="period", on=names, variable_name="forecast", value_name="revenue"
    )
    chart: alt.Chart = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("period:N", sort=order, title=None, axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("forecast:N", sort=names),
            y=alt.Y("revenue:Q", title="Revenue", axis=alt.Axis(format="$,.0f")),
            color=alt.Color("forecast:N", sort=names, title=None, legend=alt.Legend(orient="top")),
            tooltip=[
                alt.Tooltip("period:N", title="Period"),
                alt.Tooltip("forecast:N", title="Forecast"),
                alt.Tooltip("revenue:Q", title="Revenue", format="$,.0f"),
            ],
        )
        .properties(height=300)
    )
    return chart


def range_chart(quantiles: pl.DataFrame) -> alt.LayerChart:
    """P10 to P90 per period as a bar, P50 as a tick (`planning.simulate(...).quantiles`)."""
    data = quantiles.filter(pl.col("period") != "Total")
    order = data["period"].to_list()
    x = alt.X("period:N", sort=order, title=None, axis=alt.Axis(labelAngle=0))
    tooltip = [
        alt.Tooltip("period:N", title="Period"),
        alt.Tooltip("p10:Q", title="P10", format="$,.0f"),
        alt.Tooltip("p50:Q", title="P50", format="$,.0f"),
        alt.Tooltip("p90:Q", title="P90", format="$,.0f"),
    ]
    span = (
        alt.Chart(data)
        .mark_bar(opacity=0.35, color=STAGE_COLOUR, size=36)
        .encode(
            x=x,
            y=alt.Y("p10:Q", title="Revenue (P10 to P90)", axis=alt.Axis(format="$,.0f")),
            y2="p90:Q",
            tooltip=tooltip,
        )
    )
    middle = (
        alt.Chart(data)
        .mark_tick(color=STAGE_COLOUR, thickness=3, size=36)
        .encode(x=x, y="p50:Q", tooltip=tooltip)
    )
    return alt.LayerChart(layer=[span, middle], height=260)


def sensitivity_chart(ranked: pl.DataFrame) -> alt.Chart:
    """Revenue gained per lever, biggest first, the bottleneck in red (`planning.sensitivity`)."""
    chart: alt.Chart = (
        alt.Chart(ranked)
        .mark_bar()
        .encode(
            x=alt.X("gain:Q", title="Revenue gained over the horizon", axis=alt.Axis(format="$,.0f")),
            y=alt.Y(
                "lever:N", sort=ranked["lever"].to_list(), title=None, axis=alt.Axis(labelLimit=320)
            ),
            color=alt.condition("datum.bottleneck", alt.value(_LEAK_COLOUR), alt.value(STAGE_COLOUR)),
            tooltip=[
                alt.Tooltip("lever:N", title="Lever"),
                alt.Tooltip("gain:Q", title="Revenue gained", format="$,.0f"),
                alt.Tooltip("gain_pct:Q", title="Change", format="+.1%"),
            ],
        )
        .properties(height=28 * ranked.height + 20)
    )
    return chart
