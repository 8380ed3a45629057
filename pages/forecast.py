"""Funnel & forecast: the measured funnel, what-if sliders, revenue per period, scenarios."""

from __future__ import annotations

from datetime import date

import polars as pl
import streamlit as st
from sqlite_utils import Database
from streamlit.elements.lib.column_types import ColumnConfig

import ui
from funnel import backtest, charts, clock, planning, scoring, store
from funnel import forecast as fc
from funnel.views import forecast as view

ui.through_app()


def set_levers(levers: fc.Levers) -> None:
    """Move every slider to `levers` (a callback: it runs before the sliders are drawn)."""
    ui.session().update(view.lever_state(levers))


def money(frame: pl.DataFrame) -> dict[str, ColumnConfig | str | None]:
    return ui.column_config({c: {"kind": "number", "format": "$%,.0f"} for c in frame.columns[1:]})


def money_input(label: str, value: float, key: str) -> float:
    """A dollar target: both targets take whole dollars in steps of $10,000."""
    return st.number_input(label, 0.0, value=value, step=10_000.0, format="%.0f", key=key)


st.title("Funnel & forecast")
query = st.query_params.to_dict()
with ui.connection() as db:
    decisions, names = store.decisions(db), view.pipeline_names(store.pipelines(db))
    last = store.last_data_date(db)
today = clock.today()
# Streamlit forgets a page's widget values once another page runs: put them back on return (a
# link fills in the rest).
ui.session().update(view.opening_view(ui.session(), query, names))
for notice in view.link_notices(query, names):
    st.warning(ui.as_text(notice))
st.session_state.setdefault("forecast_window", view.default_window(today, last))
left, middle, right = st.columns(3)
window_name = left.selectbox(
    "Baseline window",
    view.window_labels(),
    format_func=lambda label: view.window_label(label, today, last),
    key="forecast_window",
)
period_name = middle.selectbox("Forecast per", list(view.PERIODS), key="forecast_period")
pipeline = ui.pick(
    "Deal pipeline",
    names,
    key="forecast_pipeline",
    where=right,
    help=(
        "Whose won deals give the deal value and cycle, whose open deals add their weighted "
        "value, and whose share of the deals won gives its share of the leads."
    ),
)
window = view.baseline_window(window_name, today, last)
baseline, stage_funnel = ui.measured(window, view.PERIODS[period_name], pipeline, today)
ui.data_health(scoring.agreed_cutoff(decisions)[2], pipeline_id=pipeline)
st.caption(view.window_caption(baseline, decisions, ui.as_text, today))
if baseline.lead_share is not None:
    st.caption(baseline.lead_share.sentence(ui.as_text(names[pipeline])))
if note := view.window_note(baseline, window_name, last):
    st.warning(note)
marketing_tab, pipeline_tab, backtest_tab = st.tabs(
    ["Marketing funnel", "Deal pipeline", "How good was it?"]
)
marketing_tab.altair_chart(charts.funnel_chart(baseline.funnel), key="forecast_funnel_chart")
marketing_tab.caption(view.FUNNEL_NOTE)
if stage_funnel is None:
    pipeline_tab.info("Pick one deal pipeline above to see its stages.")
else:
    pipeline_tab.altair_chart(charts.funnel_chart(stage_funnel), key="forecast_pipeline_chart")
with backtest_tab:
    back = st.number_input(
        "Full quarters back", 1, 12, backtest.DEFAULT_QUARTERS, key="forecast_backtest_n"
    )
    tested = ui.backtested(pipeline, int(back), today)
    st.write(tested.sentence())
    if not tested.quarters.is_empty():
        st.altair_chart(
            charts.backtest_chart(tested.quarters, backtest.METHODS), key="forecast_backtest_chart"
        )
        st.dataframe(
            tested.quarters,
            hide_index=True,
            column_config=ui.column_config(backtest.TABLE_COLUMNS),
            key="forecast_backtest_table",
        )
    st.caption(backtest.population_caption(tested))

# A new window, period or pipeline is a new baseline: the sliders start from it (or, on the first
# load, from the link).
signature = (window_name, period_name, pipeline)
updates, problems = view.levers_for_view(ui.session(), signature, query, baseline.levers)
for problem in problems:
    st.warning(ui.as_text(problem))
ui.session().update(updates)


@st.fragment
def what_if(baseline: fc.Baseline, link: tuple[str, str, str], today: date) -> None:
    """The sliders and everything they move; `link` is the window, period and pipeline they
    are linked with."""
    st.header("What if")
    cols = st.columns(4)
    for i, (key, label, top, step, fmt) in enumerate(view.slider_specs(baseline.levers, ui.session())):
        help_text = view.LEVER_HELP[key.removeprefix("forecast_")]
        cols[i % 4].slider(label, 0.0, top, step=step, format=fmt, key=key, help=help_text)
    st.button("Reset to baseline", key="forecast_reset", on_click=set_levers, args=(baseline.levers,))
    params = view.slider_params(ui.session())
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
        st.dataframe(side, hide_index=True, column_config=money(side), key="forecast_side_table")
    with tabs[1]:
        whole = round(side["Baseline"][-1], -4)
        target = money_input("Revenue target for the whole horizon ($)", whole, "forecast_target")
        sim = planning.simulate(levers, baseline, target)
        chance = "Chance to reach the target"
        if target > 0:
            st.metric(chance, f"{sim.chance:.0%}", help=view.FIGURE_HELP[chance])
        else:
            st.info(view.NO_TARGET)
        st.altair_chart(charts.range_chart(sim.quantiles), key="forecast_range_chart")
        range_columns = ui.column_config(view.RANGE_COLUMNS)
        st.dataframe(
            sim.quantiles, hide_index=True, column_config=range_columns, key="forecast_range_table"
        )
    with tabs[2]:
        reverse_panel(baseline, levers, side, today)
    with tabs[3]:
        ranked = planning.sensitivity(levers, baseline)
        st.write(f"Bottleneck: **{ranked['lever'][0]}** moves revenue most.")
        st.caption(view.SENSITIVITY_NOTE)
        st.altair_chart(charts.sensitivity_chart(ranked), key="forecast_sensitivity_chart")
    with tabs[4]:
        scenarios_panel(baseline, levers)


def reverse_panel(baseline: fc.Baseline, levers: fc.Levers, side: pl.DataFrame, today: date) -> None:
    """Leads needed for a period's target; opens on the first period leads can still reach,
    its target what the scenario gives that period."""
    periods = baseline.horizon["period"].to_list()
    first = fc.first_reachable(baseline.horizon, levers.cycle_days, today)
    suggested = round(side.filter(pl.col("period") == first)["Scenario"][0], -3)
    r1, r2 = st.columns(2)
    with r1:
        goal = money_input("Revenue target for one period ($)", suggested, "forecast_reverse_target")
    label = r2.selectbox("Period", periods, index=periods.index(first), key="forecast_reverse_period")
    try:
        reverse = planning.reverse_funnel(levers, goal, view.period_starts(baseline.horizon)[label])
    except planning.ForecastError as e:
        ui.show_error(e)
        return
    st.write(view.reverse_message(reverse, today))
    needed = ui.column_config(
        {"stage": "Stage", "needed": {"kind": "number", "label": "Needed", "format": "localized"}}
    )
    st.dataframe(reverse.stages, hide_index=True, column_config=needed, key="forecast_reverse_table")


def scenarios_panel(baseline: fc.Baseline, levers: fc.Levers) -> None:
    name = st.text_input("Scenario name", key="forecast_scenario_name", placeholder="Webinar push")
    if st.button("Save scenario", key="forecast_save"):
        params = view.scenario_params(levers, baseline.period)

        def save(db: Database) -> str:
            """Save under `name`, and say the name it was saved as (a taken name gets a number)."""
            saved_id = store.save_scenario(db, name, params, who=ui.who())
            return str(store.scenarios(db).filter(pl.col("id") == saved_id)["name"][0])

        ui.attempt(save, lambda as_saved: f"Saved scenario '{ui.as_text(as_saved)}'.")
    with ui.connection() as db:
        saved = store.scenarios(db)
    if saved.is_empty():
        st.caption("No scenario saved yet.")
        return
    listed = view.scenario_table(saved).drop("id")
    st.dataframe(
        listed,
        hide_index=True,
        column_config=ui.column_config(view.SCENARIO_COLUMNS),
        key="forecast_saved",
    )
    labels, opened = view.scenario_labels(saved), view.scenario_levers(saved, baseline)
    choice = ui.pick("Scenario", labels, key="forecast_open_choice")
    st.button("Reopen", key="forecast_open", on_click=set_levers, args=(opened[choice],))
    if len(labels) < 2:
        st.caption("Save a second scenario to compare two.")
        return
    a, b = st.columns(2)
    first = ui.pick("Compare", labels, key="forecast_compare_a", where=a)
    others = [sid for sid in labels if sid != first]  # never a scenario with itself
    second = ui.pick("with", {sid: labels[sid] for sid in others}, key="forecast_compare_b", where=b)
    titles = (f"A: {labels[first]}", f"B: {labels[second]}")
    compared = fc.compare_levers(opened[first], opened[second], baseline, titles)
    st.altair_chart(charts.forecast_chart(compared), key="forecast_compare_chart")
    st.dataframe(compared, hide_index=True, column_config=money(compared), key="forecast_compare")


what_if(baseline, (window_name, period_name, names[pipeline]), today)
