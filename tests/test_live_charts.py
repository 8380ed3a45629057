"""The MQL charts on the page: compiled once, given new data on each slider step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from funnel import charts, cutoffs
from tests.conftest import open_page
from tests.test_mql_page import PAGE, hand_grid


def _unnamed(spec: Any) -> Any:
    """`spec` with every dataset's name blanked: what is left is the chart itself."""
    if isinstance(spec, dict):
        if set(spec) == {"name"}:
            return {"name": "?"}
        return {k: _unnamed(v) for k, v in spec.items() if k not in ("datasets", "config", "$schema")}
    if isinstance(spec, list):
        return [_unnamed(v) for v in spec]
    return spec


def _names(spec: Any) -> set[str]:
    if isinstance(spec, dict):
        own = {spec["name"]} if set(spec) == {"name"} else set()
        return own.union(*(_names(v) for v in spec.values()))
    if isinstance(spec, list):
        return set().union(*(_names(v) for v in spec))
    return set()


def _live_and_full(fit: float, interest: float, suggested: tuple[float, float] | None):
    leads, grid = hand_grid()
    sample = cutoffs.scatter_sample(leads, limit=4)
    quadrants = cutoffs.quadrant_counts(grid, fit, interest)
    curve = cutoffs.backtest_curve(grid, fit, interest)
    weekly = cutoffs.mql_per_week(grid, fit, interest, reps=1, leads_per_rep=2)
    live = (
        charts.mql_quadrant_chart(sample, quadrants, fit, interest, leads.height, suggested),
        charts.mql_curve_chart(curve),
        charts.mql_capacity_chart(weekly),
    )
    return live, tuple(chart.chart() for chart in live)


@pytest.mark.parametrize("suggested", [None, (70.0, 25.0)])
def test_the_page_draws_the_same_charts_as_the_full_ones_with_their_data_by_name(
    suggested: tuple[float, float] | None,
) -> None:
    live, full = _live_and_full(60, 40, suggested)
    for drawn, chart in zip(live, full, strict=True):
        whole = chart.to_dict()
        assert _unnamed(drawn.spec) == _unnamed(whole)
        assert _names(drawn.spec) == set(drawn.data)
        rows = sorted(len(d) for d in whole["datasets"].values())
        assert sorted(frame.height for frame in drawn.data.values()) == rows
        assert "config" not in drawn.spec and "datasets" not in drawn.spec
        assert set(drawn.vega_lite()["datasets"]) == set(drawn.data)


def test_a_slider_step_changes_the_charts_data_not_their_spec() -> None:
    before, _ = _live_and_full(60, 40, None)
    after, _ = _live_and_full(70, 40, None)
    for a, b in zip(before, after, strict=True):
        assert a.spec is b.spec
    boxes = before[0].data["boxes"], after[0].data["boxes"]
    assert boxes[0]["x0"].to_list() == [60.0, 60.0, 0.0, 0.0]
    assert boxes[1]["x0"].to_list() == [70.0, 70.0, 0.0, 0.0]
    assert after[0].data["cutoff"].to_dicts() == [{"fit": 70.0, "interest": 40.0}]
    assert before[0].data["points"].equals(after[0].data["points"])


def _charts(at: AppTest) -> list[tuple[str, dict[str, bytes]]]:
    """Each Vega-Lite chart on the page: the spec the browser compares, and its data's bytes."""
    return [
        (chart.proto.spec, {d.name: d.data.data for d in chart.proto.datasets})
        for chart in at.get("vega_lite_chart")
    ]


def test_a_slider_step_on_the_page_sends_the_same_specs_with_the_moved_data(app_env: Path) -> None:
    at = open_page(PAGE, {"F": "50", "I": "40"})
    before = _charts(at)
    at.slider(key="mql_fit_cutoff").set_value(75).run()
    assert not at.exception, at.exception
    after = _charts(at)

    assert len(before) == len(after) == 3
    assert [spec for spec, _ in before] == [spec for spec, _ in after]
    quadrant, curve, capacity = zip(before, after, strict=True)
    assert quadrant[0][1]["points"] == quadrant[1][1]["points"]
    assert quadrant[0][1]["boxes"] != quadrant[1][1]["boxes"]
    assert curve[0][1]["curve"] != curve[1][1]["curve"]
    assert capacity[0][1]["weekly"] != capacity[1][1]["weekly"]
