"""The Forecast page's What-if section: the sliders (each lever of the baseline), the headline
figures they move, and its tabs: the forecast per period, the range and the chance to reach a
target, the reverse funnel, the sensitivity, and saved scenarios to reopen and compare.

Apart from the page because it is one fragment (a slider reruns only it) holding half the
page's lines, with its own write (a scenario saved); the page measures the baseline and passes
it in, with the window, period and pipeline the link names.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import streamlit as st
from sqlite_utils import Database
from streamlit.elements.lib.column_types import ColumnConfig

from funnel import charts, planning, store
from funnel import forecast as fc
from funnel.views import forecast as view
from ui import frames
from ui.messages import as_text, show_error
from ui.shell import who
from ui.widgets import attempt, column_config, pick, session


def _set_levers(levers: fc.Levers) -> None:
    """Move every slider to `levers` (a callback: it runs before the sliders are drawn)."""
    session().update(view.lever_state(levers))


def _money(frame: pl.DataFrame) -> dict[str, ColumnConfig | str | None]:
    """Whole dollars in every column of `frame` after its first (the period or the stage)."""
    return column_config({c: {"kind": "number", "format": "$%,.0f"} for c in frame.columns[1:]})


def _money_input(label: str, value: float, key: str) -> float:
    """A dollar target: both targets take whole dollars in steps of $10,000."""
    return st.number_input(label, 0.0, value=value, step=10_000.0, format="%.0f", key=key)


@st.fragment
def what_if(baseline: fc.Baseline, link: tuple[str, str, str], today: date) -> None:
    """The sliders and everything they move; `link` is the window, period and pipeline they
    are linked with."""
    st.header("What if")
    cols = st.columns(4)
    for i, (key, label, top, step, fmt) in enumerate(view.slider_specs(baseline.levers, session())):
        help_text = view.LEVER_HELP[key.removeprefix("forecast_")]
        cols[i % 4].slider(label, 0.0, top, step=step, format=fmt, key=key, help=help_text)
    st.button("Reset to baseline", key="forecast_reset", on_click=_set_levers, args=(baseline.levers,))
    params = view.slider_params(session())
    levers, _ = view.levers_from_params(params, baseline.levers)
    st.session_state["forecast_kept"] = {key: st.session_state[key] for key in view.KEPT_KEYS}
    st.query_params.update(view.link_params(*link, params))
    side = fc.compare_levers(baseline.levers, levers, baseline, ("Baseline", "Scenario"))
    figures = view.headline_metrics(side, baseline.won_deals)
    for column, (label, value, change) in zip(st.columns(3), figures, strict=True):
        column.metric(label, value, change, help=view.FIGURE_HELP[label])
    tabs = st.tabs(["Forecast", "Range & target", "Reverse funnel", "Sensitivity", "Scenarios"])
    with tabs[0]:
        st.altair_chart(charts.forecast_chart(side), key="forecast_side_chart")
        st.dataframe(side, hide_index=True, column_config=_money(side), key="forecast_side_table")
    with tabs[1]:
        whole = view.horizon_target(side)
        target = _money_input("Revenue target for the whole horizon ($)", whole, "forecast_target")
        sim = planning.simulate(levers, baseline, target)
        chance = "Chance to reach the target"
        if target > 0:
            st.metric(chance, f"{sim.chance:.0%}", help=view.FIGURE_HELP[chance])
        else:
            st.info(view.NO_TARGET)
        st.altair_chart(charts.range_chart(sim.quantiles), key="forecast_range_chart")
        range_columns = column_config(view.RANGE_COLUMNS)
        st.dataframe(
            sim.quantiles, hide_index=True, column_config=range_columns, key="forecast_range_table"
        )
    with tabs[2]:
        _reverse_panel(baseline, levers, side, today)
    with tabs[3]:
        ranked = planning.sensitivity(levers, baseline)
        st.write(f"Bottleneck: **{ranked['lever'][0]}** moves revenue most.")
        st.caption(view.SENSITIVITY_NOTE)
        st.altair_chart(charts.sensitivity_chart(ranked), key="forecast_sensitivity_chart")
    with tabs[4]:
        _scenarios_panel(baseline, levers)


def _reverse_panel(baseline: fc.Baseline, levers: fc.Levers, side: pl.DataFrame, today: date) -> None:
    """Leads needed for a period's target; opens on the first period leads can still reach,
    its target what the scenario gives that period."""
    periods = baseline.horizon["period"].to_list()
    first = fc.first_reachable(baseline.horizon, levers.cycle_days, today)
    suggested = view.period_target(side, first)
    r1, r2 = st.columns(2)
    with r1:
        goal = _money_input("Revenue target for one period ($)", suggested, "forecast_reverse_target")
    label = r2.selectbox("Period", periods, index=periods.index(first), key="forecast_reverse_period")
    try:
        reverse = planning.reverse_funnel(levers, goal, view.period_starts(baseline.horizon)[label])
    except planning.ForecastError as e:
        show_error(e)
        return
    st.write(view.reverse_message(reverse, today))
    needed = column_config(view.REVERSE_COLUMNS)
    st.dataframe(reverse.stages, hide_index=True, column_config=needed, key="forecast_reverse_table")


def _scenarios_panel(baseline: fc.Baseline, levers: fc.Levers) -> None:
    """Save the sliders as a named scenario; list the saved ones, reopen one on the sliders, or
    compare two on this baseline."""
    name = st.text_input("Scenario name", key="forecast_scenario_name", placeholder="Webinar push")
    if st.button("Save scenario", key="forecast_save"):
        params = view.scenario_params(levers, baseline.period)

        def save(db: Database) -> str:
            """Save under `name`, and say the name it was saved as (a taken name gets a number)."""
            saved_id = store.save_scenario(db, name, params, who=who())
            return str(store.scenarios(db).filter(pl.col("id") == saved_id)["name"][0])

        attempt(save, lambda as_saved: f"Saved scenario '{as_text(as_saved)}'.")
    with frames.connection() as db:
        saved = store.scenarios(db)
    if saved.is_empty():
        st.caption("No scenario saved yet.")
        return
    listed = view.scenario_table(saved).drop("id")
    st.dataframe(
        listed,
        hide_index=True,
        column_config=column_config(view.SCENARIO_COLUMNS),
        key="forecast_saved",
    )
    labels, opened = view.scenario_labels(saved), view.scenario_levers(saved, baseline)
    choice = pick("Scenario", labels, key="forecast_open_choice")
    st.button("Reopen", key="forecast_open", on_click=_set_levers, args=(opened[choice],))
    if len(labels) < 2:
        st.caption("Save a second scenario to compare two.")
        return
    a, b = st.columns(2)
    first = pick("Compare", labels, key="forecast_compare_a", where=a)
    second = pick("with", view.compare_with(labels, first), key="forecast_compare_b", where=b)
    titles = (f"A: {labels[first]}", f"B: {labels[second]}")
    compared = fc.compare_levers(opened[first], opened[second], baseline, titles)
    st.altair_chart(charts.forecast_chart(compared), key="forecast_compare_chart")
    st.dataframe(compared, hide_index=True, column_config=_money(compared), key="forecast_compare")
