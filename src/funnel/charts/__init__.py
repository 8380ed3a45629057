"""Frames -> Altair charts. Pure functions, tested on `chart.to_dict()`; Polars in, no pandas.

A module a page (`stages`, `mql`, `forecast`) and one for how good the numbers are (`quality`);
each function takes the frame its core function returns. `spec` holds what they share.
"""

from funnel.charts.forecast import forecast_chart, funnel_chart, range_chart, sensitivity_chart
from funnel.charts.mql import (
    SCORED_AS_DECIDED,
    mql_capacity_chart,
    mql_curve_chart,
    mql_quadrant_chart,
)
from funnel.charts.quality import backtest_chart, reliability_chart
from funnel.charts.spec import AnyChart, Live
from funnel.charts.stages import stage_value_chart

__all__ = [
    "SCORED_AS_DECIDED",
    "AnyChart",
    "Live",
    "backtest_chart",
    "forecast_chart",
    "funnel_chart",
    "mql_capacity_chart",
    "mql_curve_chart",
    "mql_quadrant_chart",
    "range_chart",
    "reliability_chart",
    "sensitivity_chart",
    "stage_value_chart",
]
