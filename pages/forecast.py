"""Funnel & forecast: the measured funnel, what-if sliders, revenue per period, scenarios."""

from __future__ import annotations

from datetime import date

import polars as pl
import streamlit as st

import ui
from funnel import charts, clock, scoring, store
from funnel import forecast as fc


@st.cache_resource(max_entries=8, show_spinner="Measuring the funnel…")
def measured(
    path: str,
    rev: int,
    window: tuple[date, date],
    period: fc.Period,
    pipeline: int | None,
    today: date,
) -> tuple[fc.Baseline, pl.DataFrame | None]:
    """The baseline and the chosen pipeline's funnel, measured once per store revision."""
    with ui.connection() as db:
        fit, interest, version = fc.agreed_cutoff(store.decisions(db))
    leads = scoring.with_quadrants(ui.scored_leads(version), fit, interest)
    chosen = None if pipeline is None else (ui.stages(pipeline), ui.stage_history(pipeline))
    return fc.measure_view(leads, ui.deals(pipeline), today, window, period, chosen)


def set_levers(levers: fc.Levers) -> None:
    """Move every slider to `levers` (a callback: it runs before the sliders are drawn)."""
    st.session_state.update(fc.lever_state(levers))


def money(frame: pl.DataFrame) -> dict[str, st.column_config.NumberColumn]:
    return {c: st.column_config.NumberColumn(format="$%,.0f") for c in frame.columns[1:]}


def money_input(label: str, value: float, key: str) -> float:
    """A dollar target: both targets take whole dollars in steps of $10,000."""
    return st.number_input(label, 0.0, value=value, step=10_000.0, format="%.0f", key=key)


st.title("Funnel & forecast")
query = st.query_params.to_dict()
with ui.connection() as db:
    decisions, names = store.decisions(db), fc.pipeline_names(store.pipelines(db))
    last = store.last_data_date(db)
today = clock.today()
# Streamlit forgets a page's widget values once another page runs: put them back on return (a
# link fills in the rest).
st.session_state.update(fc.opening_view(st.session_state, query, names))
st.session_state.setdefault("forecast_window", fc.default_window(today, last))
left, middle, right = st.columns(3)
window_name = left.selectbox(
    "Baseline window",
    fc.window_labels(),
    format_func=lambda label: fc.window_label(label, today, last),
    key="forecast_window",
)
period_name = middle.selectbox("Forecast per", list(fc.PERIODS), key="forecast_period")
pipeline = right.selectbox(
    "Deal pipeline",
    list(names),
    format_func=names.get,
    key="forecast_pipeline",
    help="Whose won deals give the deal value and cycle, and whose open deals add their weighted value.",
)
window = fc.baseline_window(window_name, today, last)
baseline, stage_funnel = measured(
    str(ui.db_path()), ui.revision(), window, fc.PERIODS[period_name], pipeline, today
)
ui.data_health(fc.agreed_cutoff(decisions)[2], pipeline_id=pipeline)
st.caption(fc.window_caption(baseline, decisions, ui.as_text, today))
if note := fc.window_note(baseline, window_name, last):
    st.warning(note)
marketing_tab, pipeline_tab = st.tabs(["Marketing funnel", "Deal pipeline"])
marketing_tab.altair_chart(charts.funnel_chart(baseline.funnel), key="forecast_funnel_chart")
if stage_funnel is None:
    pipeline_tab.info("Pick one deal pipeline above to see its stages.")
else:
    pipeline_tab.altair_chart(charts.funnel_chart(stage_funnel), key="forecast_pipeline_chart")

# A new window, period or pipeline is a new baseline: the sliders start from it (or, on the first
# load, from the link).
signature = (window_name, period_name, pipeline)
updates, problems = fc.levers_for_view(st.session_state, signature, query, baseline.levers)
for problem in problems:
    st.warning(problem)
st.session_state.update(updates)


@st.fragment
def what_if() -> None:
    st.header("What if")
    cols = st.columns(4)
    for i, (key, label, top, step, fmt) in enumerate(fc.slider_specs(baseline.levers, st.session_state)):
        cols[i % 4].slider(label, 0.0, top, step=step, format=fmt, key=key)
    st.button("Reset to baseline", key="forecast_reset", on_click=set_levers, args=(baseline.levers,))
    params = fc.slider_params(st.session_state)
    levers, _ = fc.levers_from_params(params, baseline.levers)
    st.session_state["forecast_kept"] = {key: st.session_state[key] for key in fc.KEPT_KEYS}
    st.query_params.update(fc.link_params(window_name, period_name, names[pipeline], params))
    side = fc.compare_levers(baseline.levers, levers, baseline, ("Baseline", "Scenario"))
    figures = fc.headline_metrics(side, baseline.won_deals)
    for column, (label, value, change) in zip(st.columns(3), figures, strict=True):
        column.metric(label, value, change)
    tabs = st.tabs(["Forecast", "Range & target", "Reverse funnel", "Sensitivity", "Scenarios"])
    with tabs[0]:
        st.altair_chart(charts.forecast_chart(side), key="forecast_side_chart")
        st.dataframe(side, hide_index=True, column_config=money(side), key="forecast_side_table")
    with tabs[1]:
        whole = round(side["Baseline"][-1], -4)
        target = money_input("Revenue target for the whole horizon ($)", whole, "forecast_target")
        sim = fc.simulate(levers, baseline, target)
        if target > 0:
            st.metric("Chance to reach the target", f"{sim.chance:.0%}")
        else:
            st.info(fc.NO_TARGET)
        st.altair_chart(charts.range_chart(sim.quantiles), key="forecast_range_chart")
        table = sim.quantiles
        st.dataframe(table, hide_index=True, column_config=money(table), key="forecast_range_table")
    with tabs[2]:
        reverse_panel(levers, round(side["Scenario"][0], -3))
    with tabs[3]:
        ranked = fc.sensitivity(levers, baseline)
        st.write(f"Bottleneck: **{ranked['lever'][0]}** moves revenue most.")
        st.altair_chart(charts.sensitivity_chart(ranked), key="forecast_sensitivity_chart")
    with tabs[4]:
        scenarios_panel(levers)


def reverse_panel(levers: fc.Levers, suggested: float) -> None:
    """Leads needed for a period's target; starts at what the scenario gives the first period."""
    r1, r2 = st.columns(2)
    with r1:
        goal = money_input("Revenue target for one period ($)", suggested, "forecast_reverse_target")
    label = r2.selectbox("Period", baseline.horizon["period"].to_list(), key="forecast_reverse_period")
    try:
        reverse = fc.reverse_funnel(levers, goal, fc.period_starts(baseline.horizon)[label])
    except fc.ForecastError as e:
        ui.show_error(e)
        return
    st.write(fc.reverse_message(reverse, today))
    st.dataframe(reverse.stages, hide_index=True, key="forecast_reverse_table")


def scenarios_panel(levers: fc.Levers) -> None:
    name = st.text_input("Scenario name", key="forecast_scenario_name", placeholder="Webinar push")
    if st.button("Save scenario", key="forecast_save"):
        try:
            with ui.connection() as db:
                store.save_scenario(db, name, fc.scenario_params(levers, baseline.period), who=ui.who())
            st.toast(f"Saved scenario '{ui.as_text(name.strip())}'.", icon=":material/check:")
        except store.StoreError as e:
            ui.show_error(e)
    with ui.connection() as db:
        saved = store.scenarios(db)
    if saved.is_empty():
        st.caption("No scenario saved yet.")
        return
    listed = fc.scenario_table(saved).drop("id")
    value = {"Average deal value": st.column_config.NumberColumn(format="$%,.0f")}
    st.dataframe(listed, hide_index=True, column_config=value, key="forecast_saved")
    labels, opened = fc.scenario_labels(saved), fc.scenario_levers(saved, baseline)
    choice = st.selectbox("Scenario", list(labels), format_func=labels.get, key="forecast_open_choice")
    st.button("Reopen", key="forecast_open", on_click=set_levers, args=(opened[choice],))
    a, b = st.columns(2)
    first = a.selectbox("Compare", list(labels), format_func=labels.get, key="forecast_compare_a")
    second = b.selectbox(
        "with",
        list(labels),
        index=min(1, len(labels) - 1),
        format_func=labels.get,
        key="forecast_compare_b",
    )
    titles = (f"A: {labels[first]}", f"B: {labels[second]}")
    compared = fc.compare_levers(opened[first], opened[second], baseline, titles)
    st.altair_chart(charts.forecast_chart(compared), key="forecast_compare_chart")
    st.dataframe(compared, hide_index=True, column_config=money(compared), key="forecast_compare")


what_if()
