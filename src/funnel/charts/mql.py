"""The MQL page's charts: the fit x interest quadrant, the back-test curve, the weekly capacity."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

import altair as alt
import polars as pl

from funnel.charts.spec import SERIES_COLOURS, Live, Source, compiled

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
    return compiled(_quadrant_layout(alt.NamedData, shown, total_leads, suggested))


def mql_quadrant_chart(
    points: pl.DataFrame,
    quadrants: pl.DataFrame,
    fit_cutoff: float,
    interest_cutoff: float,
    total_leads: int,
    suggested: tuple[float, float] | None = None,
) -> Live:
    """Fit x interest scatter coloured by outcome, the cutoff lines, the four quadrants shaded,
    and the cutoff sales' capacity suggests (`points.capacity_cutoff`) as a star, if any; its
    spec compiled once per filter.

    `points` is `cutoffs.scatter_sample(...)` (a sample, so the browser gets a few thousand
    marks however many leads there are; the subtitle says so), `quadrants` is
    `cutoffs.quadrant_counts(...)` on all scored leads, `total_leads` how many there are. Both
    are scored as each lead stood when its outcome was decided (the back-test's scores), and the
    subtitle says that too.
    """
    shape = (points.height, total_leads, suggested is not None)
    data = _quadrant_data(points, quadrants, fit_cutoff, interest_cutoff, suggested)
    return Live(_quadrant_spec(*shape), data, lambda source: _quadrant_layout(source, *shape))


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
                scale=alt.Scale(range=list(SERIES_COLOURS)),
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


def mql_curve_chart(curve: pl.DataFrame) -> Live:
    """The back-test over every cutoff, one panel per slider, the current place as a rule; one
    spec for every step and filter.

    Takes `cutoffs.backtest_curve(...)`.
    """
    return Live(_curve_spec(), _curve_data(curve), _curve_layout)


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


def mql_capacity_chart(weekly: pl.DataFrame) -> Live:
    """MQLs per week against what the reps can work (dashed line); weeks over it in orange; one
    spec for every step and filter.

    Takes `cutoffs.mql_per_week(...)`.
    """
    return Live(_capacity_spec(), {"weekly": weekly}, _capacity_layout)


@lru_cache(maxsize=1)
def _curve_spec() -> dict[str, Any]:
    return compiled(_curve_layout(alt.NamedData))


@lru_cache(maxsize=1)
def _capacity_spec() -> dict[str, Any]:
    return compiled(_capacity_layout(alt.NamedData))
