"""Funnel & forecast: the measured funnel, what-if sliders, revenue per period, scenarios."""

from __future__ import annotations

from datetime import date

import polars as pl
import streamlit as st

import ui
from funnel import charts, scoring, store
from funnel import forecast as fc

WINDOWS = {
    "Last 4 full quarters": 4,
    "Last 2 full quarters": 2,
    "Last full quarter": 1,
    "Last 8 full quarters": 8,
}
PERIODS: dict[str, fc.Period] = {"Quarter": "quarter", "Month": "month"}
LEVER_KEYS = ("leads_per_period", *fc.RATE_KEYS, "deal_value", "cycle_days")
STEPS = [f"{a} → {b}" for a, b in zip(fc.MARKETING_STAGES, fc.MARKETING_STAGES[1:], strict=False)]
MONEY = st.column_config.NumberColumn(format="dollar")


@st.cache_resource(max_entries=8, show_spinner="Measuring the funnel…")
def measured(
    path: str, rev: int, quarters: int, period: fc.Period, pipeline: int | None, today: date
) -> tuple[fc.Baseline, pl.DataFrame | None]:
    """The baseline and the chosen pipeline's funnel, measured once per store revision."""
    with ui.connection() as db:
        fit, interest, version = fc.agreed_cutoff(store.decisions(db))
    leads = scoring.with_quadrants(ui.scored_leads(version), fit, interest)
    window = fc.full_quarters_window(today, quarters)
    baseline = fc.measure_baseline(leads, ui.deals(pipeline), today, window, period)
    stages = (
        None
        if pipeline is None
        else fc.pipeline_funnel(
            ui.deals(pipeline), ui.stages(pipeline), ui.stage_history(pipeline), *window
        )
    )
    return baseline, stages


def set_levers(levers: fc.Levers) -> None:
    for key, value in levers.params().items():
        st.session_state[f"forecast_{key}"] = value


st.title("Funnel & forecast")
query = st.query_params.to_dict()
with ui.connection() as db:
    decisions, pipelines = store.decisions(db), store.pipelines(db)
for key, options in (("window", WINDOWS), ("period", PERIODS)):
    if f"forecast_{key}" not in st.session_state and query.get(key) in options:
        st.session_state[f"forecast_{key}"] = query[key]
left, middle, right = st.columns(3)
window_name = left.selectbox("Baseline window", list(WINDOWS), key="forecast_window")
period_name = middle.selectbox("Forecast per", list(PERIODS), key="forecast_period")
names = dict(zip(pipelines["id"], pipelines["name"], strict=True))
pipeline = right.selectbox(
    "Deal pipeline",
    [None, *names],
    format_func=lambda p: "All pipelines" if p is None else names[p],
    key="forecast_pipeline",
    help="Whose won deals give the deal value and cycle, and whose open deals add weighted value.",
)
today = date.today()
baseline, stage_funnel = measured(
    str(ui.db_path()), ui.revision(), WINDOWS[window_name], PERIODS[period_name], pipeline, today
)

fit, interest, version = fc.agreed_cutoff(decisions)
start, end = baseline.window
st.caption(
    f"Measured on leads created {start:%d %b %Y} to {end:%d %b %Y} (end excluded). "
    + (
        f"MQL at the cutoff agreed on {decisions['decided_on'][0]} by {decisions['agreed_by'][0]}: "
        if version is not None
        else "No MQL cutoff agreed yet (MQL threshold page); counted at "
    )
    + f"fit ≥ {fit:g} and interest ≥ {interest:g}. "
    "A lead counts at every stage up to the furthest it reached."
)
funnel_col, pipe_col = st.columns(2)
funnel_col.subheader("Marketing funnel")
funnel_col.altair_chart(charts.funnel_chart(baseline.funnel), key="forecast_funnel_chart")
pipe_col.subheader("Deal pipeline")
if stage_funnel is None:
    pipe_col.info("Pick one deal pipeline above to see its stages.")
else:
    pipe_col.altair_chart(charts.funnel_chart(stage_funnel), key="forecast_pipeline_chart")

signature = (window_name, period_name, pipeline)
if st.session_state.get("forecast_signature") != signature:
    levers = baseline.levers
    if "forecast_signature" not in st.session_state:
        levers, problems = fc.levers_from_params(query, baseline.levers, source="Link")
        for problem in problems:
            st.warning(problem)
    set_levers(levers)
    st.session_state["forecast_signature"] = signature


@st.fragment
def what_if() -> None:
    st.header("What if")
    base = baseline.levers.params()
    cols = st.columns(4)
    cols[0].slider(
        "Leads per period",
        0.0,
        max(10.0, 3 * base["leads_per_period"], st.session_state["forecast_leads_per_period"]),
        step=1.0,
        key="forecast_leads_per_period",
    )
    for i, (key, step) in enumerate(zip(fc.RATE_KEYS, STEPS, strict=True)):
        cols[(i + 1) % 4].slider(step, 0.0, 100.0, step=0.1, format="%.1f %%", key=f"forecast_{key}")
    cols[2].slider(
        "Average deal value ($)",
        0.0,
        max(1000.0, 3 * base["deal_value"], st.session_state["forecast_deal_value"]),
        step=100.0,
        key="forecast_deal_value",
    )
    cols[3].slider(
        "Cycle length (days)",
        0.0,
        max(365.0, 3 * base["cycle_days"], st.session_state["forecast_cycle_days"]),
        step=1.0,
        key="forecast_cycle_days",
    )
    st.button("Reset to baseline", key="forecast_reset", on_click=set_levers, args=(baseline.levers,))
    levers, _ = fc.levers_from_params(
        {k: st.session_state[f"forecast_{k}"] for k in LEVER_KEYS}, baseline.levers
    )
    st.query_params.update(
        {
            "window": window_name,
            "period": period_name,
            **{k: f"{v:g}" for k, v in levers.params().items()},
        }
    )

    scenario = fc.forecast(levers, baseline)
    side = fc.side_by_side(fc.forecast(baseline.levers, baseline), scenario, ("Baseline", "Scenario"))
    total = side.row(side.height - 1, named=True)
    m1, m2, m3 = st.columns(3)
    m1.metric("Baseline, whole horizon", f"${total['Baseline']:,.0f}")
    m2.metric(
        "Scenario, whole horizon", f"${total['Scenario']:,.0f}", delta=f"{total['difference']:,.0f}"
    )
    m3.metric("Won deals measured", f"{baseline.won_deals:,}")
    tabs = st.tabs(["Forecast", "Range & target", "Reverse funnel", "Sensitivity", "Scenarios"])
    with tabs[0]:
        st.altair_chart(charts.forecast_chart(side), key="forecast_side_chart")
        st.dataframe(
            side,
            hide_index=True,
            column_config={c: MONEY for c in side.columns[1:]},
            key="forecast_side_table",
        )
    with tabs[1]:
        target = st.number_input(
            "Revenue target for the whole horizon ($)",
            0.0,
            value=round(total["Baseline"], -3),
            step=10_000.0,
            key="forecast_target",
        )
        sim = fc.simulate(levers, baseline, target)
        st.metric("Chance to reach the target", f"{sim.chance:.0%}")
        st.altair_chart(charts.range_chart(sim.quantiles), key="forecast_range_chart")
        st.dataframe(
            sim.quantiles,
            hide_index=True,
            column_config={c: MONEY for c in ("p10", "p50", "p90")},
            key="forecast_range_table",
        )
    with tabs[2]:
        r1, r2 = st.columns(2)
        goal = r1.number_input(
            "Revenue target for one period ($)",
            0.0,
            value=round(total["Scenario"] / baseline.horizon.height, -3),
            step=10_000.0,
            key="forecast_reverse_target",
        )
        label = r2.selectbox(
            "Period", baseline.horizon["period"].to_list(), key="forecast_reverse_period"
        )
        starts = dict(zip(baseline.horizon["period"], baseline.horizon["start"], strict=True))
        try:
            reverse = fc.reverse_funnel(levers, goal, starts[label])
        except fc.ForecastError as e:
            ui.show_error(e)
        else:
            late = " (already past: that period needs a shorter cycle)" if reverse.by < today else ""
            st.write(
                f"**{reverse.stages['needed'][0]:,} leads** arriving by **{reverse.by:%d %b %Y}**{late}."
            )
            st.dataframe(reverse.stages, hide_index=True, key="forecast_reverse_table")
    with tabs[3]:
        ranked = fc.sensitivity(levers, baseline)
        st.write(f"Bottleneck: **{ranked['lever'][0]}** moves revenue most.")
        st.altair_chart(charts.sensitivity_chart(ranked), key="forecast_sensitivity_chart")
    with tabs[4]:
        scenarios_panel(levers)


def scenarios_panel(levers: fc.Levers) -> None:
    name = st.text_input(
        "Scenario name", key="forecast_scenario_name", placeholder="e.g. Webinar push Q2"
    )
    if st.button("Save scenario", key="forecast_save"):
        try:
            with ui.connection() as db:
                store.save_scenario(db, name, levers.params(), who=ui.who())
            st.toast(f"Saved scenario '{name.strip()}'.", icon=":material/check:")
        except store.StoreError as e:
            ui.show_error(e)
    with ui.connection() as db:
        saved = store.scenarios(db)
    if saved.is_empty():
        st.caption("No scenario saved yet.")
        return
    st.dataframe(
        saved.select("name", "created_by", "created_at"), hide_index=True, key="forecast_scenarios"
    )
    labels = {
        row["id"]: f"{row['name']} ({row['created_at'][:16]})" for row in saved.iter_rows(named=True)
    }
    params = dict(zip(saved["id"], saved["params"], strict=True))
    choice = st.selectbox(
        "Scenario", list(labels), format_func=labels.__getitem__, key="forecast_open_choice"
    )
    st.button(
        "Reopen",
        key="forecast_open",
        on_click=lambda: set_levers(fc.levers_from_json(params[choice], baseline.levers)[0]),
    )
    a, b = st.columns(2)
    first = a.selectbox(
        "Compare", list(labels), format_func=labels.__getitem__, key="forecast_compare_a"
    )
    second = b.selectbox(
        "with",
        list(labels),
        index=min(1, len(labels) - 1),
        format_func=labels.__getitem__,
        key="forecast_compare_b",
    )
    pair = [
        fc.forecast(fc.levers_from_json(params[i], baseline.levers)[0], baseline)
        for i in (first, second)
    ]
    compared = fc.side_by_side(*pair, (f"A: {labels[first]}", f"B: {labels[second]}"))
    st.altair_chart(charts.forecast_chart(compared), key="forecast_compare_chart")
    st.dataframe(
        compared,
        hide_index=True,
        column_config={c: MONEY for c in compared.columns[1:]},
        key="forecast_compare_table",
    )


what_if()
