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
# Slider per lever: label, step, display format.
SLIDERS = {
    "leads_per_period": ("Leads per period", 1.0, "%,.0f"),
    **{key: (step, 0.1, "%.1f %%") for key, step in zip(fc.RATE_KEYS, fc.STEPS, strict=True)},
    "deal_value": ("Average deal value", 100.0, "$%,.0f"),
    "cycle_days": ("Cycle length", 1.0, "%.0f days"),
}


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
    if pipeline is None:
        return baseline, None
    history = ui.stage_history(pipeline)
    return baseline, fc.pipeline_funnel(ui.deals(pipeline), ui.stages(pipeline), history, *window)


def set_levers(levers: fc.Levers) -> None:
    """Move every slider to `levers` (a callback: it runs before the sliders are drawn)."""
    for key, value in levers.params().items():
        st.session_state[f"forecast_{key}"] = value


def money(frame: pl.DataFrame) -> dict[str, st.column_config.NumberColumn]:
    return {c: st.column_config.NumberColumn(format="$%,.0f") for c in frame.columns[1:]}


st.title("Funnel & forecast")
query = st.query_params.to_dict()
# Streamlit forgets a page's widget values once another page runs: put them back on return.
for key, value in st.session_state.get("forecast_kept", {}).items():
    st.session_state.setdefault(key, value)
for name, options in (("window", WINDOWS), ("period", PERIODS)):
    if f"forecast_{name}" not in st.session_state and query.get(name) in options:
        st.session_state[f"forecast_{name}"] = query[name]
with ui.connection() as db:
    decisions, pipelines = store.decisions(db), store.pipelines(db)
names = dict(zip(pipelines["id"], pipelines["name"], strict=True))
by_name = {name: pid for pid, name in names.items()}
if "forecast_pipeline" not in st.session_state and query.get("pipeline") in by_name:
    st.session_state["forecast_pipeline"] = by_name[query["pipeline"]]
left, middle, right = st.columns(3)
window_name = left.selectbox("Baseline window", list(WINDOWS), key="forecast_window")
period_name = middle.selectbox("Forecast per", list(PERIODS), key="forecast_period")
pipeline = right.selectbox(
    "Deal pipeline",
    [None, *names],
    format_func=lambda p: "All pipelines" if p is None else names[p],
    key="forecast_pipeline",
    help="Whose won deals give the deal value and cycle, and whose open deals add their weighted value.",
)
today = date.today()
baseline, stage_funnel = measured(
    str(ui.db_path()), ui.revision(), WINDOWS[window_name], PERIODS[period_name], pipeline, today
)
fit, interest, version = fc.agreed_cutoff(decisions)
agreed = (
    f"agreed on {decisions['decided_on'][0]} by {ui.as_text(decisions['agreed_by'][0])}"
    if version is not None
    else ""
)
st.caption(
    f"Leads created {baseline.window[0]:%d %b %Y} to {baseline.window[1]:%d %b %Y} (excluded). "
    f"MQL: fit ≥ {fit:g} and interest ≥ {interest:g}, "
    + (f"the cutoff {agreed}. " if agreed else "no cutoff agreed yet (see MQL threshold). ")
    + "A lead counts at every stage up to the furthest it reached."
)
marketing_tab, pipeline_tab = st.tabs(["Marketing funnel", "Deal pipeline"])
marketing_tab.altair_chart(charts.funnel_chart(baseline.funnel), key="forecast_funnel_chart")
if stage_funnel is None:
    pipeline_tab.info("Pick one deal pipeline above to see its stages.")
else:
    pipeline_tab.altair_chart(charts.funnel_chart(stage_funnel), key="forecast_pipeline_chart")

# A new window, period or pipeline is a new baseline: the sliders start from it (or, on the first
# load, from the link).
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
    base, cols = baseline.levers.params(), st.columns(4)
    for i, (key, (label, step, fmt)) in enumerate(SLIDERS.items()):
        state = f"forecast_{key}"
        top = 100.0 if key in fc.RATE_KEYS else max(10.0, 3 * base[key], st.session_state[state])
        cols[i % 4].slider(label, 0.0, top, step=step, format=fmt, key=state)
    st.button("Reset to baseline", key="forecast_reset", on_click=set_levers, args=(baseline.levers,))
    params = {key: st.session_state[f"forecast_{key}"] for key in SLIDERS}
    levers, _ = fc.levers_from_params(params, baseline.levers)
    kept = (
        "forecast_window",
        "forecast_period",
        "forecast_pipeline",
        *(f"forecast_{k}" for k in SLIDERS),
    )
    st.session_state["forecast_kept"] = {key: st.session_state[key] for key in kept}
    st.query_params.update(
        {
            "window": window_name,
            "period": period_name,
            "pipeline": names.get(pipeline, "All pipelines"),
            **{k: f"{v:g}" for k, v in params.items()},
        }
    )
    side = fc.side_by_side(
        fc.forecast(baseline.levers, baseline), fc.forecast(levers, baseline), ("Baseline", "Scenario")
    )
    total = side.row(side.height - 1, named=True)
    m1, m2, m3 = st.columns(3)
    m1.metric("Baseline, whole horizon", f"${total['Baseline']:,.0f}")
    m2.metric("Scenario, whole horizon", f"${total['Scenario']:,.0f}", f"{total['difference']:,.0f}")
    m3.metric("Won deals measured", f"{baseline.won_deals:,}")
    tabs = st.tabs(["Forecast", "Range & target", "Reverse funnel", "Sensitivity", "Scenarios"])
    with tabs[0]:
        st.altair_chart(charts.forecast_chart(side), key="forecast_side_chart")
        st.dataframe(side, hide_index=True, column_config=money(side), key="forecast_side_table")
    with tabs[1]:
        target = st.number_input(
            "Revenue target for the whole horizon ($)",
            0.0,
            value=round(total["Baseline"], -4),
            step=10_000.0,
            format="%.0f",
            key="forecast_target",
        )
        sim = fc.simulate(levers, baseline, target)
        st.metric("Chance to reach the target", f"{sim.chance:.0%}")
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
    goal = r1.number_input(
        "Revenue target for one period ($)",
        0.0,
        value=suggested,
        step=10_000.0,
        format="%.0f",
        key="forecast_reverse_target",
    )
    label = r2.selectbox("Period", baseline.horizon["period"].to_list(), key="forecast_reverse_period")
    starts = dict(zip(baseline.horizon["period"], baseline.horizon["start"], strict=True))
    try:
        reverse = fc.reverse_funnel(levers, goal, starts[label])
    except fc.ForecastError as e:
        ui.show_error(e)
        return
    late = " That date is already past: only a shorter cycle gets there." if reverse.by < today else ""
    st.write(f"**{reverse.stages['needed'][0]:,} leads** arriving by **{reverse.by:%d %b %Y}**.{late}")
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
    labels = {r["id"]: f"{r['name']} ({r['created_at'][:16]})" for r in saved.iter_rows(named=True)}
    params = dict(zip(saved["id"], saved["params"], strict=True))

    def opened(scenario_id: int) -> fc.Levers:
        return fc.levers_from_json(params[scenario_id], baseline.levers, baseline.period)[0]

    choice = st.selectbox("Scenario", list(labels), format_func=labels.get, key="forecast_open_choice")
    st.button("Reopen", key="forecast_open", on_click=lambda: set_levers(opened(choice)))
    a, b = st.columns(2)
    first = a.selectbox("Compare", list(labels), format_func=labels.get, key="forecast_compare_a")
    second = b.selectbox(
        "with",
        list(labels),
        index=min(1, len(labels) - 1),
        format_func=labels.get,
        key="forecast_compare_b",
    )
    pair = [fc.forecast(opened(i), baseline) for i in (first, second)]
    compared = fc.side_by_side(*pair, (f"A: {labels[first]}", f"B: {labels[second]}"))
    st.altair_chart(charts.forecast_chart(compared), key="forecast_compare_chart")
    st.dataframe(compared, hide_index=True, column_config=money(compared), key="forecast_compare")


what_if()
