"""How good are the numbers: the forecast's back-test and the probabilities' reliability."""

from __future__ import annotations

import altair as alt
import polars as pl

from funnel.charts.spec import STAGE_COLOUR

_ACTUAL_COLOUR = "#000000"


def backtest_chart(quarters: pl.DataFrame, methods: dict[str, str]) -> alt.LayerChart:
    """Per back-tested quarter: the P10..P90 range as a bar, each method's forecast as a point,
    and the actual as a black tick, so a quarter whose actual falls outside its range shows.

    Takes `backtest.forecast_backtest(...).quarters` and `backtest.METHODS` (column -> label).
    """
    order = quarters["quarter"].to_list()
    x = alt.X("quarter:N", sort=order, title=None, axis=alt.Axis(labelAngle=0))
    money = alt.Axis(format="$,.0f")
    span = (
        alt.Chart(quarters)
        .mark_bar(opacity=0.3, color=STAGE_COLOUR, size=40)
        .encode(
            x=x,
            y=alt.Y("p10:Q", title="Won in the quarter (P10 to P90 shaded)", axis=money),
            y2="p90:Q",
            tooltip=[
                alt.Tooltip("quarter:N", title="Quarter"),
                alt.Tooltip("p10:Q", title="P10", format="$,.0f"),
                alt.Tooltip("p90:Q", title="P90", format="$,.0f"),
            ],
        )
    )
    long = quarters.unpivot(
        index="quarter", on=list(methods), variable_name="method", value_name="amount"
    ).with_columns(pl.col("method").replace_strict(methods))
    labels = list(methods.values())
    points = (
        alt.Chart(long)
        .mark_point(filled=True, size=70)
        .encode(
            x=x,
            y=alt.Y("amount:Q", axis=money),
            color=alt.Color("method:N", sort=labels, title=None, legend=alt.Legend(orient="top")),
            shape=alt.Shape("method:N", sort=labels, title=None),
            tooltip=[
                alt.Tooltip("quarter:N", title="Quarter"),
                alt.Tooltip("method:N", title="Forecast"),
                alt.Tooltip("amount:Q", title="Forecast", format="$,.0f"),
            ],
        )
    )
    actual = (
        alt.Chart(quarters)
        .mark_tick(color=_ACTUAL_COLOUR, thickness=3, size=44)
        .encode(
            x=x,
            y=alt.Y("actual:Q", axis=money),
            tooltip=[
                alt.Tooltip("quarter:N", title="Quarter"),
                alt.Tooltip("actual:Q", title="Actual", format="$,.0f"),
            ],
        )
    )
    return alt.LayerChart(layer=[span, points, actual], height=300)


def reliability_chart(groups: pl.DataFrame) -> alt.LayerChart:
    """Predicted vs observed win share per probability group, one colour per set, the point's
    size its count, over the diagonal a calibrated set would sit on.

    Takes `calibration.calibration(...).groups`.
    """
    diagonal = (
        alt.Chart(pl.DataFrame({"predicted": [0.0, 100.0], "observed": [0.0, 100.0]}))
        .mark_line(color="#9e9e9e", strokeDash=[4, 4])
        .encode(x="predicted:Q", y="observed:Q")
    )
    points = (
        alt.Chart(groups)
        .mark_circle(opacity=0.8)
        .encode(
            x=alt.X(
                "predicted:Q",
                title="Probability carried while open (%)",
                scale=alt.Scale(domain=[0, 100]),
            ),
            y=alt.Y("observed:Q", title="Share won (%)", scale=alt.Scale(domain=[0, 100])),
            color=alt.Color("set:N", title=None, legend=alt.Legend(orient="top")),
            size=alt.Size("count:Q", title="Stage passages"),
            tooltip=[
                alt.Tooltip("set:N", title="Probabilities"),
                alt.Tooltip("predicted:Q", title="Mean probability %", format=".1f"),
                alt.Tooltip("observed:Q", title="Won %", format=".1f"),
                alt.Tooltip("count:Q", title="Passages"),
            ],
        )
    )
    return alt.LayerChart(layer=[diagonal, points], height=320)
