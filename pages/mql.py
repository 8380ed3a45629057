"""MQL threshold: marketing and sales agree where the MQL cutoff sits, on real numbers."""

from datetime import date

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

import ui
from funnel import charts, points, scales, store
from funnel.models import Axis
from funnel.views import mql as view
from funnel.views.mql_leads import one_creation_date, one_creation_date_filter
from ui.cutoff_decisions import cutoff_decisions
from ui.sal_queue import sal_queue
from ui.scoring_model import explainer, model_editor, start_default, suggest_points

ui.through_app()

st.title("MQL threshold")
with ui.connection() as db:
    models, agreed = store.model_versions(db), store.decisions(db)
file_scales, steps = ui.score_scales(), ui.slider_steps()
versions = models["version"].to_list()
if not versions:
    st.info(view.NO_MODEL)
    if st.button(view.START_DEFAULT, key="mql_start_default"):
        ui.attempt(start_default, view.MODEL_SAVED, rerun=True)
    st.stop()
saved = st.session_state.pop("mql_saved_version", None)
ui.session().update(view.opening_view(ui.session(), st.query_params, versions, agreed, saved, steps))
for notice in view.link_notices(st.query_params, versions):
    st.warning(ui.as_text(notice))
labels = view.version_labels(models)
version = ui.pick("Scoring model version", labels, key="mql_version")
# Drawn once the leads are scored, after the figures: a restarted server draws those from
# what it kept beside the store, before reading the leads.
health = st.empty()
st.session_state["mql_version_kept"] = version
st.caption(view.MQL_DEFINITION)
options = ui.filter_options()
if options.span.count == 0:
    st.info(view.NO_LEADS)
    st.stop()

left, mid, right = st.columns(3)
sources: list[str] = left.multiselect("Lead source", options.sources, key="mql_source")
owners: list[str] = mid.multiselect("Owner", options.owners, key="mql_owner")
period = right.date_input("Created between", options.period, key="mql_period")
if one_day := one_creation_date_filter(options.span):
    st.caption(one_day)


def move_sliders(cutoff: tuple[float, float]) -> None:
    """Put the suggested cutoff on the sliders (a callback: it runs before they are drawn)."""
    ui.session().update({"mql_fit_cutoff": cutoff[0], "mql_interest_cutoff": cutoff[1]})


def cutoff_slider(where: DeltaGenerator, axis: Axis, on: tuple[float, ...]) -> float:
    """One cutoff's slider: whole points, or the file's own steps said in its units."""
    key = f"mql_{axis}_cutoff"
    if on is scales.WHOLE_POINTS:
        tip = view.slider_help(axis, None)
        return where.slider(view.slider_label(axis, None), 0, 100, key=key, help=tip)
    scale = file_scales[axis]
    return where.select_slider(
        view.slider_label(axis, scale),
        on,
        format_func=lambda cutoff: f"{scales.in_file_units(cutoff, scale):g}",
        key=key,
        help=view.slider_help(axis, scale),
    )


@st.fragment
def threshold(version: int, shown: tuple[list[str], list[str], tuple[date | None, date | None]]) -> None:
    """Everything the sliders move: a slider reruns only this, on the pre-aggregated grid.

    Its frames are read here, from the session's caches, for the leads `shown` (sources,
    owners, creation dates): a sales answer reruns only this fragment, and its counts are then
    read from the answers just saved.
    """
    figures = ui.mql_figures(version, *shown)
    grid = figures.grid
    c1, c2 = st.columns(2)
    f, i = cutoff_slider(c1, "fit", steps.fit), cutoff_slider(c2, "interest", steps.interest)
    ui.session().update(view.kept_cutoffs(f, i))
    st.query_params.update(view.view_link(f, i, version))
    if st.session_state["mql_version"] != version:  # a decision of another version was restored
        st.rerun(scope="app")
    cut = view.cutoff_view(grid, f, i, steps)
    if units := view.file_units(f, i, file_scales):
        st.caption(units)
    if line := view.unscored_line(figures.span.count, cut.scored):
        st.info(line)
    for column, (label, value, note) in zip(st.columns(3) + st.columns(3), cut.figures, strict=True):
        column.metric(
            label, value, note, delta_color="off", delta_arrow="off", help=view.FIGURE_HELP[label]
        )
    st.caption(cut.caption)
    # Drawn once the capacity below gives the suggested cutoff; a container, where an empty
    # placeholder would clear the chart on every step and the browser would embed it anew.
    quadrant = st.container()
    st.vega_lite_chart(spec=charts.mql_curve_chart(cut.curve).vega_lite())

    st.subheader("Capacity")
    a, b = st.columns(2)
    reps = a.number_input("Sales reps", 1, 500, 4, key="mql_reps", help=view.CAPACITY_HELP["reps"])
    per_rep = b.number_input(
        "Leads a rep can work per week",
        1,
        1000,
        10,
        key="mql_leads_per_rep",
        help=view.CAPACITY_HELP["per_rep"],
    )
    if one_day := one_creation_date(figures.span):
        st.info(one_day)
    else:
        weekly, within, message = view.capacity_check(grid, f, i, int(reps), int(per_rep))
        (st.success if within else st.warning)(message)
        st.vega_lite_chart(spec=charts.mql_capacity_chart(weekly).vega_lite())
    capacity = figures.capacity
    suggested = None if capacity is None else capacity.cutoff(int(reps) * int(per_rep))
    st.caption(points.capacity_caption(suggested, int(reps), int(per_rep)))
    if suggested is not None:
        st.button(
            "Move the sliders there", key="mql_use_suggested", on_click=move_sliders, args=(suggested,)
        )
    chart = charts.mql_quadrant_chart(figures.sample, cut.quadrants, f, i, cut.scored, suggested)
    quadrant.vega_lite_chart(spec=chart.vega_lite())
    suggest_points(version, f, i, int(reps), int(per_rep))
    sal_queue(ui.mql_queue(version, *shown), f, i)
    cutoff_decisions(f, i, version)


threshold(version, (sources, owners, view.period_bounds(period)))
ui.data_health(version, deals=False, where=health)
scored = ui.scored_leads(version)
model_editor(scored, version, versions[0], ui.model(version))
explainer(scored, version, ui.model(version))
