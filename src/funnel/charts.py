"""Frames -> Altair charts. Pure functions, tested on `chart.to_dict()`; Polars in, no pandas.

Sections by page; each function takes the frame its core function returns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, TypeAlias

import altair as alt
import polars as pl

__all__ = ["alt", "pl"]

# Every kind of chart drawn here, the kinds `st.altair_chart` takes: a chart handed on (the Data
# page's catalogue, an export) keeps a type Streamlit accepts, where altair's common base
# (`TopLevelMixin`) is refused.
AnyChart: TypeAlias = alt.Chart | alt.FacetChart | alt.LayerChart

# --- Stages & probabilities -------------------------------------------------------------------

_STAGE_MEASURES = {"value": "Value", "weighted_value": "Weighted value"}
# Series colours named in the spec, not left to the renderer: the page (Streamlit's theme) and
# an exported PNG or SVG (vl-convert's default) then draw a chart alike.
_SERIES_COLOURS = ("#4c78a8", "#f58518", "#54a24b")


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
                scale=alt.Scale(domain=measures, range=list(_SERIES_COLOURS[:2])),
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


# --- MQL threshold ----------------------------------------------------------------------------

_OUTCOME_COLOURS = {"converted": "#2ca02c", "lost": "#d62728", "unknown": "#9e9e9e"}
_QUADRANT_COLOURS = {
    "MQL": "#2ca02c",
    "Good fit, not yet engaged": "#1f77b4",
    "Engaged, poor fit": "#ff7f0e",
    "Cold": "#7f7f7f",
}
# Each quadrant's label sits in its outer corner, clear of the cutoff lines.
_QUADRANT_LABEL_PLACES: tuple[tuple[str, Literal["left", "right"], Literal["top", "bottom"]], ...] = (
    ("MQL", "right", "top"),
    ("Good fit, not yet engaged", "right", "bottom"),
    ("Engaged, poor fit", "left", "top"),
    ("Cold", "left", "bottom"),
)


def _quadrant_boxes(quadrants: pl.DataFrame, fit_cutoff: float, interest_cutoff: float) -> pl.DataFrame:
    """Where each quadrant sits on the 0..100 square, and where its label goes (outer corner)."""
    f, i = float(fit_cutoff), float(interest_cutoff)
    boxes = pl.DataFrame(
        {
            "quadrant": list(_QUADRANT_COLOURS),
            "x0": [f, f, 0.0, 0.0],
            "x1": [100.0, 100.0, f, f],
            "y0": [i, 0.0, i, 0.0],
            "y1": [100.0, i, 100.0, i],
            "label_x": [99.0, 99.0, 1.0, 1.0],
            "label_y": [99.0, 1.0, 99.0, 1.0],
        }
    )
    counts = dict(zip(quadrants["quadrant"], quadrants["leads"], strict=True))
    labels = [f"{q}: {counts.get(q, 0):,} leads" for q in boxes["quadrant"]]
    return boxes.with_columns(pl.Series("label", labels, dtype=pl.String))


# What the scatter and its counts draw: the back-test's scores, not today's (`scoring.decided_on`).
SCORED_AS_DECIDED = (
    "Each lead scored as it stood when its outcome was decided: interest decayed to its "
    "conversion date, or its last activity for lost and open leads"
)


# The MQL charts are drawn again on every slider step. Each is compiled once with its data
# referenced by name (`Live`) and handed new data on each step: Altair neither builds nor
# validates the spec again, and the browser, handed the same spec, replaces only the datasets
# whose bytes changed instead of embedding the chart anew (Streamlit's Vega-Lite element
# compares the spec, then each dataset's bytes). Each layout is written once, over a `Source`:
# the frames themselves (the full chart an export draws) or their names (the page's).
Source: TypeAlias = Callable[[str], pl.DataFrame | alt.NamedData]


@dataclass(frozen=True)
class Live:
    """A chart's compiled Vega-Lite spec, its data referenced by name, and that data."""

    spec: Mapping[str, Any]
    data: Mapping[str, pl.DataFrame]

    def vega_lite(self) -> dict[str, Any]:
        """The spec with its data, as `st.vega_lite_chart` takes it: a new dict each time, as
        Streamlit moves the datasets out of the one it is given."""
        return {**self.spec, "datasets": dict(self.data)}


def _compiled(chart: AnyChart) -> dict[str, Any]:
    """`chart` validated as `st.altair_chart` sends it: without Altair's default theme (the
    page draws Streamlit's) and without datasets (its data is named, and given on each step)."""
    return {**chart.to_dict(context={"top_level": False}), "$schema": alt.SCHEMA_URL}


def _quadrant_data(
    points: pl.DataFrame,
    quadrants: pl.DataFrame,
    fit_cutoff: float,
    interest_cutoff: float,
    suggested: tuple[float, float] | None,
) -> dict[str, pl.DataFrame]:
    data = {
        "boxes": _quadrant_boxes(quadrants, fit_cutoff, interest_cutoff),
        "points": points,
        "cutoff": pl.DataFrame({"fit": [float(fit_cutoff)], "interest": [float(interest_cutoff)]}),
    }
    if suggested is not None:
        data["suggested"] = pl.DataFrame(
            {"fit": [float(suggested[0])], "interest": [float(suggested[1])]}
        )
    return data


def _star(data: pl.DataFrame | alt.NamedData, scale: alt.Scale) -> alt.Chart:
    """The cutoff sales' capacity suggests, as a star the meeting can move the sliders to."""
    star: alt.Chart = (
        alt.Chart(data)
        .mark_point(shape="diamond", size=260, filled=True, color="#e6550d", stroke="black")
        .encode(
            x=alt.X("fit:Q", scale=scale),
            y=alt.Y("interest:Q", scale=scale),
            tooltip=[
                alt.Tooltip("fit:Q", title="Suggested F"),
                alt.Tooltip("interest:Q", title="Suggested I"),
            ],
        )
    )
    return star


def _quadrant_layout(data: Source, shown: int, total_leads: int, suggested: bool) -> alt.LayerChart:
    sampled = (
        f"All {total_leads:,} scored leads shown"
        if shown >= total_leads
        else f"Random sample of {shown:,} of {total_leads:,} scored leads shown; every count uses "
        "all of them"
    )
    subtitle = [sampled, SCORED_AS_DECIDED]
    x = alt.Scale(domain=[0, 100], nice=False)
    base = alt.Chart(data("boxes"))
    shade = base.mark_rect(opacity=0.08).encode(
        x=alt.X("x0:Q", scale=x, title="Fit (0..100)"),
        x2="x1:Q",
        y=alt.Y("y0:Q", scale=x, title="Interest (0..100)"),
        y2="y1:Q",
        color=alt.Color(
            "quadrant:N",
            scale=alt.Scale(domain=list(_QUADRANT_COLOURS), range=list(_QUADRANT_COLOURS.values())),
            legend=None,
        ),
    )
    labels = [
        base.transform_filter(alt.datum.quadrant == name)
        .mark_text(align=align, baseline=baseline, fontWeight="bold", fontSize=13)
        .encode(x=alt.X("label_x:Q", scale=x), y=alt.Y("label_y:Q", scale=x), text="label:N")
        for name, align, baseline in _QUADRANT_LABEL_PLACES
    ]
    dots = (
        alt.Chart(data("points"))
        .mark_circle(size=14, opacity=0.55)
        .encode(
            x=alt.X("fit:Q", scale=x),
            y=alt.Y("interest:Q", scale=x),
            color=alt.Color(
                "outcome:N",
                title="Outcome",
                scale=alt.Scale(domain=list(_OUTCOME_COLOURS), range=list(_OUTCOME_COLOURS.values())),
                legend=alt.Legend(orient="top"),
            ),
            tooltip=[
                alt.Tooltip("fit:Q", format=".1f"),
                alt.Tooltip("interest:Q", format=".1f"),
                "outcome:N",
            ],
        )
    )
    cut = alt.Chart(data("cutoff")).mark_rule(strokeWidth=2, color="black")
    rules = [cut.encode(x=alt.X("fit:Q", scale=x)), cut.encode(y=alt.Y("interest:Q", scale=x))]
    chart: alt.LayerChart = alt.LayerChart(
        layer=[shade, dots, *rules, *labels, *([_star(data("suggested"), x)] if suggested else [])],
        height=480,
        title=alt.TitleParams("Fit x interest: MQL = fit >= F and interest >= I", subtitle=subtitle),
    ).resolve_scale(color="independent")
    return chart


@lru_cache(maxsize=64)
def _quadrant_spec(shown: int, total_leads: int, suggested: bool) -> dict[str, Any]:
    return _compiled(_quadrant_layout(alt.NamedData, shown, total_leads, suggested))


def mql_quadrant_chart(
    points: pl.DataFrame,
    quadrants: pl.DataFrame,
    fit_cutoff: float,
    interest_cutoff: float,
    total_leads: int,
    suggested: tuple[float, float] | None = None,
) -> alt.LayerChart:
    """Fit x interest scatter coloured by outcome, the cutoff lines, the four quadrants shaded,
    and the cutoff sales' capacity suggests (`points.capacity_cutoff`) as a star, if any.

    `points` is `cutoffs.scatter_sample(...)` (a sample, so the browser gets a few thousand
    marks however many leads there are; the subtitle says so), `quadrants` is
    `cutoffs.quadrant_counts(...)` on all scored leads, `total_leads` how many there are. Both
    are scored as each lead stood when its outcome was decided (the back-test's scores), and the
    subtitle says that too.
    """
    data = _quadrant_data(points, quadrants, fit_cutoff, interest_cutoff, suggested)
    return _quadrant_layout(data.__getitem__, points.height, total_leads, suggested is not None)


def mql_quadrant_live(
    points: pl.DataFrame,
    quadrants: pl.DataFrame,
    fit_cutoff: float,
    interest_cutoff: float,
    total_leads: int,
    suggested: tuple[float, float] | None = None,
) -> Live:
    """`mql_quadrant_chart` for the page's slider steps: its spec compiled once per filter."""
    spec = _quadrant_spec(points.height, total_leads, suggested is not None)
    return Live(spec, _quadrant_data(points, quadrants, fit_cutoff, interest_cutoff, suggested))


_CURVE_AXES = {
    "fit": "Fit cutoff F (interest held at I)",
    "interest": "Interest cutoff I (fit held at F)",
}


def _curve_data(curve: pl.DataFrame) -> dict[str, pl.DataFrame]:
    return {"curve": curve.with_columns(pl.col("axis").replace_strict(_CURVE_AXES))}


def _curve_layout(data: Source) -> alt.FacetChart:
    line = (
        alt.Chart()
        .mark_line(interpolate="step-after")
        .encode(
            x=alt.X("cutoff:Q", title="Cutoff", scale=alt.Scale(domain=[0, 100], nice=False)),
            y=alt.Y("value:Q", title=None, axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
            color=alt.Color(
                "metric:N",
                title=None,
                legend=alt.Legend(orient="top"),
                scale=alt.Scale(range=list(_SERIES_COLOURS)),
            ),
            tooltip=[
                alt.Tooltip("cutoff:Q"),
                alt.Tooltip("metric:N"),
                alt.Tooltip("value:Q", format=".1%"),
            ],
        )
    )
    here = (
        alt.Chart()
        .transform_filter(alt.datum.current)
        .mark_rule(color="black", strokeDash=[4, 3])
        .encode(x="cutoff:Q")
    )
    chart: alt.FacetChart = (
        alt.layer(line, here, data=data("curve"))
        .properties(width=300, height=220)
        .facet(column=alt.Column("axis:N", title=None, sort=list(_CURVE_AXES.values())))
    )
    return chart


def mql_curve_chart(curve: pl.DataFrame) -> alt.FacetChart:
    """The back-test over every cutoff, one panel per slider, the current place as a rule.

    Takes `cutoffs.backtest_curve(...)`.
    """
    return _curve_layout(_curve_data(curve).__getitem__)


def mql_curve_live(curve: pl.DataFrame) -> Live:
    """`mql_curve_chart` for the page's slider steps: one spec for every step and filter."""
    return Live(_curve_spec(), _curve_data(curve))


def _capacity_layout(data: Source) -> alt.LayerChart:
    bars = (
        alt.Chart()
        .mark_bar()
        .encode(
            x=alt.X("week:T", title="Week (by lead creation date)"),
            y=alt.Y("mqls:Q", title="MQLs per week"),
            color=alt.Color(
                "over:N",
                title=None,
                scale=alt.Scale(domain=[False, True], range=["#4c78a8", "#f58518"]),
                legend=alt.Legend(
                    orient="top", labelExpr="datum.value ? 'Over capacity' : 'Within capacity'"
                ),
            ),
            tooltip=[alt.Tooltip("week:T", title="Week of"), alt.Tooltip("mqls:Q", title="MQLs")],
        )
    )
    line = (
        alt.Chart()
        .mark_rule(color="black", strokeDash=[6, 4])
        .encode(y=alt.Y("max(capacity):Q"), tooltip=[alt.Tooltip("max(capacity):Q", title="Capacity")])
    )
    return alt.LayerChart(data=data("weekly"), layer=[bars, line], height=220)


def mql_capacity_chart(weekly: pl.DataFrame) -> alt.LayerChart:
    """MQLs per week against what the reps can work (dashed line); weeks over it in orange.

    Takes `cutoffs.mql_per_week(...)`.
    """
    return _capacity_layout({"weekly": weekly}.__getitem__)


def mql_capacity_live(weekly: pl.DataFrame) -> Live:
    """`mql_capacity_chart` for the page's slider steps: one spec for every step and filter."""
    return Live(_capacity_spec(), {"weekly": weekly})


@lru_cache(maxsize=1)
def _curve_spec() -> dict[str, Any]:
    return _compiled(_curve_layout(alt.NamedData))


@lru_cache(maxsize=1)
def _capacity_spec() -> dict[str, Any]:
    return _compiled(_capacity_layout(alt.NamedData))


# --- Funnel & forecast ------------------------------------------------------------------------

_LEAK_COLOUR = "#d62728"
_STAGE_COLOUR = "#4c78a8"


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
        color=alt.condition("datum.leak", alt.value(_LEAK_COLOUR), alt.value(_STAGE_COLOUR)),
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
        .mark_bar(opacity=0.35, color=_STAGE_COLOUR, size=36)
        .encode(
            x=x,
            y=alt.Y("p10:Q", title="Revenue (P10 to P90)", axis=alt.Axis(format="$,.0f")),
            y2="p90:Q",
            tooltip=tooltip,
        )
    )
    middle = (
        alt.Chart(data)
        .mark_tick(color=_STAGE_COLOUR, thickness=3, size=36)
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
            color=alt.condition("datum.bottleneck", alt.value(_LEAK_COLOUR), alt.value(_STAGE_COLOUR)),
            tooltip=[
                alt.Tooltip("lever:N", title="Lever"),
                alt.Tooltip("gain:Q", title="Revenue gained", format="$,.0f"),
                alt.Tooltip("gain_pct:Q", title="Change", format="+.1%"),
            ],
        )
        .properties(height=28 * ranked.height + 20)
    )
    return chart


# --- How good are the numbers? ----------------------------------------------------------------

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
        .mark_bar(opacity=0.3, color=_STAGE_COLOUR, size=40)
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
