"""Funnel & forecast: the measured funnel, what-if sliders, revenue per period, scenarios."""

from __future__ import annotations

import streamlit as st

import ui
from funnel import backtest, charts, clock, scoring, store
from funnel.views import forecast as view
from ui.what_if import what_if

ui.through_app()

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
# Drawn once the leads are scored, after the forecast: a restarted server measures the funnel
# from what it kept beside the store, before reading the leads.
health = st.empty()
st.caption(view.window_caption(baseline, decisions, ui.as_text, today))
if baseline.lead_share is not None:
    st.caption(baseline.lead_share.sentence(ui.as_text(names[pipeline])))
if note := view.window_note(baseline, window_name, last):
    st.warning(note)
# Lazy: the back-test (4 s at ten million leads) runs only once its tab is opened.
marketing_tab, pipeline_tab, backtest_tab = st.tabs(
    ["Marketing funnel", "Deal pipeline", view.BACKTEST_TAB], key="forecast_tab", on_change="rerun"
)
marketing_tab.altair_chart(charts.funnel_chart(baseline.funnel), key="forecast_funnel_chart")
marketing_tab.caption(view.FUNNEL_NOTE)
if stage_funnel is None:
    pipeline_tab.info("Pick one deal pipeline above to see its stages.")
else:
    pipeline_tab.altair_chart(charts.funnel_chart(stage_funnel), key="forecast_pipeline_chart")
if backtest_tab.open:
    with backtest_tab:
        back = st.number_input(
            "Full quarters back", 1, 12, backtest.DEFAULT_QUARTERS, key="forecast_backtest_n"
        )
        tested = ui.backtested(pipeline, int(back), today)
        st.write(tested.sentence())
        if not tested.quarters.is_empty():
            st.altair_chart(
                charts.backtest_chart(tested.quarters, backtest.METHODS),
                key="forecast_backtest_chart",
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
what_if(baseline, (window_name, period_name, names[pipeline]), today)
ui.data_health(scoring.agreed_cutoff(decisions)[2], pipeline_id=pipeline, where=health)
