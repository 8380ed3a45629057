"""MQL threshold: marketing and sales agree where the MQL cutoff sits, on real numbers."""

import polars as pl
import streamlit as st
from sqlite_utils import Database

import ui
from funnel import charts, clock, points, rules, scoring, store
from funnel.models import SalStatus
from funnel.views import mql as view

ui.through_app()


def start_default(db: Database) -> int:
    """A store made empty, then imported into, starts from the demo's scoring model."""
    defaults, half_life = scoring.DEFAULT_RULES, scoring.DEFAULT_HALF_LIFE_DAYS
    return store.save_model(db, defaults, half_life, None, ui.who(), scoring.DEFAULT_NOTE)


st.title("MQL threshold")
with ui.connection() as db:
    models, agreed = store.model_versions(db), store.decisions(db)
    scales = store.score_scales(db)
versions = models["version"].to_list()
if not versions:
    st.info(view.NO_MODEL)
    if st.button(view.START_DEFAULT, key="mql_start_default"):
        ui.attempt(start_default, view.MODEL_SAVED, rerun=True)
    st.stop()
saved = st.session_state.pop("mql_saved_version", None)
ui.session().update(view.opening_view(ui.session(), st.query_params, versions, agreed, saved))
for notice in view.link_notices(st.query_params, versions):
    st.warning(ui.as_text(notice))
labels = view.version_labels(models)
version = ui.pick("Scoring model version", labels, key="mql_version")
ui.data_health(version, deals=False)
st.session_state["mql_version_kept"] = version
st.caption(view.MQL_DEFINITION)
scored = ui.scored_leads(version)
if scored.is_empty():
    st.info(view.NO_LEADS)
    st.stop()

source_options, owner_options, span = view.filter_options(scored)
left, mid, right = st.columns(3)
sources: list[str] = left.multiselect("Lead source", source_options, key="mql_source")
owners: list[str] = mid.multiselect("Owner", owner_options, key="mql_owner")
period = right.date_input("Created between", span, key="mql_period")
leads, grid, sample = ui.mql_view(version, sources, owners, view.period_bounds(period))


def move_sliders(cutoff: tuple[int, int]) -> None:
    """Put the suggested cutoff on the sliders (a callback: it runs before they are drawn)."""
    ui.session().update({"mql_fit_cutoff": cutoff[0], "mql_interest_cutoff": cutoff[1]})


def suggest_points(version: int, f: int, i: int, reps: int, per_rep: int) -> None:
    """Points learned from outcomes beside the current ones, both back-tested on later leads."""
    with st.expander("Suggest points: learned from the leads' outcomes"):
        fit = ui.points_fit(version)
        if fit is None:
            st.info("Not enough leads with a known outcome (both converted and lost) to learn from.")
            return
        st.caption(fit.caption())
        columns = ui.column_config(points.TABLE_COLUMNS)
        st.dataframe(fit.table, hide_index=True, column_config=columns, key="mql_points_table")
        compared = points.comparison(fit, f, i, reps, per_rep)
        st.dataframe(compared, hide_index=True, column_config=columns, key="mql_points_compare")
        if st.button("Save the suggested points as a new model version", key="mql_points_save"):
            note = points.saved_note(fit)
            ui.attempt(
                lambda db: store.save_model(
                    db, fit.suggested, store.half_life(db, version), version, ui.who(), note
                ),
                view.MODEL_SAVED,
                rerun=True,
                then=open_saved,
            )


def open_saved(version: int) -> None:
    """Open the model version just saved on the next run."""
    st.session_state["mql_saved_version"] = version


def answer_mql(status: SalStatus) -> None:
    """Record sales' answer for the MQL picked in the form, with the BANT ticked for it; the
    ticks are cleared on the next run, before they are drawn, so the next MQL starts with none
    and cannot inherit this lead's answer; on failure they stay, with the message."""
    lead_id = int(st.session_state["mql_sal_lead"])
    bant = {c: bool(st.session_state.get(f"mql_bant_{c}")) for c in store.BANT}
    ui.attempt(
        lambda db: store.record_sal(db, lead_id, status, bant, ui.who()),
        view.sal_recorded(lead_id, status),
        rerun=True,  # the counts above move with it
        then=lambda _: ui.session().update(mql_clear_bant=True),
    )


@st.fragment
def threshold(
    leads: pl.DataFrame,
    grid: pl.DataFrame,
    sample: pl.DataFrame,
    version: int,
    scales: dict[str, tuple[str, float, float]],
) -> None:
    """Everything the sliders move: a slider reruns only this, on the pre-aggregated grid."""
    c1, c2 = st.columns(2)
    f = c1.slider("Fit cutoff F", 0, 100, key="mql_fit_cutoff", help=view.SLIDER_HELP["F"])
    i = c2.slider("Interest cutoff I", 0, 100, key="mql_interest_cutoff", help=view.SLIDER_HELP["I"])
    ui.session().update(view.kept_cutoffs(f, i))
    st.query_params.update(view.view_link(f, i, version))
    if st.session_state["mql_version"] != version:  # a decision of another version was restored
        st.rerun(scope="app")
    cut = view.cutoff_view(grid, f, i)
    if units := view.file_units(f, i, scales):
        st.caption(units)
    if line := view.unscored_line(leads.height, cut.scored):
        st.info(line)
    for column, (label, value, note) in zip(st.columns(3) + st.columns(3), cut.figures, strict=True):
        column.metric(
            label, value, note, delta_color="off", delta_arrow="off", help=view.FIGURE_HELP[label]
        )
    st.caption(cut.caption)
    quadrant = st.empty()  # drawn once the capacity below gives the suggested cutoff
    st.altair_chart(charts.mql_curve_chart(cut.curve))

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
    if one_day := view.one_creation_date(leads):
        st.info(one_day)
    else:
        weekly, within, message = view.capacity_check(grid, f, i, int(reps), int(per_rep))
        (st.success if within else st.warning)(message)
        st.altair_chart(charts.mql_capacity_chart(weekly))
    suggested = points.capacity_cutoff(grid, int(reps), int(per_rep))
    st.caption(points.capacity_caption(suggested, int(reps), int(per_rep)))
    if suggested is not None:
        st.button(
            "Move the sliders there", key="mql_use_suggested", on_click=move_sliders, args=(suggested,)
        )
    chart = charts.mql_quadrant_chart(sample, cut.quadrants, f, i, cut.scored)
    quadrant.altair_chart(charts.with_suggested_cutoff(chart, suggested))
    suggest_points(version, f, i, int(reps), int(per_rep))

    st.subheader("Sales acceptance (SAL)")
    queue = scoring.mqls_for_sales(leads, f, i)
    if queue.is_empty():
        st.info(view.NO_MQL)
    else:
        if st.session_state.pop("mql_clear_bant", False):
            ui.session().update({f"mql_bant_{c}": False for c in store.BANT})
        with st.form("mql_sal_form"):
            names = view.sal_choices(queue)
            ui.pick("MQL", names, key="mql_sal_lead")
            for box, c in zip(st.columns(4), store.BANT, strict=True):
                box.checkbox(c.title(), key=f"mql_bant_{c}")
            accept, reject = st.columns(2)
            accepted = accept.form_submit_button("Accept (SAL)")
            rejected = reject.form_submit_button("Reject")
        if accepted or rejected:
            answer_mql("accepted" if accepted else "rejected")

    st.subheader("Record the agreed cutoff")
    with st.form("mql_decision_form", clear_on_submit=True):
        d1, d2 = st.columns(2)
        on = d1.date_input("Date", clock.today(), key="mql_decided_on")
        by = d2.text_input(
            "Who agreed", key="mql_agreed_by", placeholder="Anna (marketing), Ben (sales)"
        )
        note = st.text_input("Note", key="mql_note")
        submitted = st.form_submit_button(view.decision_button(f, i, version))

    if submitted:  # no rerun: toasted now, and the list below shows it
        ui.attempt(
            lambda db: store.record_decision(db, f, i, version, str(on), by, note, ui.who()),
            view.DECISION_RECORDED,
        )
    with ui.connection() as db:
        history = store.decisions(db)
    for d in history.iter_rows(named=True):
        text, button = st.columns([5, 1])
        text.text(view.decision_line(d))
        restored = view.restored_view(d)
        button.button(
            "Put on sliders",
            key=f"mql_restore_{d['id']}",
            on_click=st.session_state.update,
            args=(restored,),
        )


threshold(leads, grid, sample, version, scales)


@st.fragment
def model_editor(scored: pl.DataFrame, version: int, latest: int, saved: ui.Model) -> None:
    """Rules and half-life of the open version; an edit shows who would cross the MQL line."""
    saved_rules, saved_half_life = list(saved[0]), saved[1]
    st.subheader("Scoring model")
    if note := view.older_version_note(version, latest):
        st.caption(note)
    half_life = st.number_input(
        "Interest half-life (days, 0 = no decay)",
        0.0,
        3650.0,
        saved_half_life,
        key=f"mql_half_life_{version}",
    )
    table = st.data_editor(
        rules.rules_frame(saved_rules),
        column_config=ui.column_config(view.EDITOR_COLUMNS),
        num_rows="dynamic",
        hide_index=True,
        key=f"mql_rules_{version}",
    )
    draft, errors = rules.parse_rules(pl.DataFrame(table), empty_ok=not saved_rules)
    for error in errors:
        st.error(ui.as_text(error))
    if errors or (draft == saved_rules and half_life == saved_half_life):
        return
    f_now, i_now = view.slider_cutoffs(ui.session())
    moved = scoring.crossings(scored, ui.scored_with(tuple(draft), half_life), f_now, i_now)
    st.info(view.crossings_message(moved, f_now, i_now))
    if st.button(view.save_button(version), key="mql_save_model"):
        ui.attempt(
            lambda db: store.save_model(db, draft, half_life, version, ui.who()),
            view.MODEL_SAVED,
            rerun=True,
            then=open_saved,
        )


@st.fragment
def explainer(scored: pl.DataFrame, version: int, saved: ui.Model) -> None:
    """Why one lead scores what it scores: the rules that fired, in the meeting's own words."""
    st.subheader("Why does a lead score what it scores?")
    left, right = st.columns(2)
    lead_id = left.number_input("Lead id", 1, value=int(scored["id"][0]), key="mql_explain_lead")
    text = right.text_input("Or find it by company or e-mail", key="mql_explain_find")
    if text:
        matches = scoring.find_leads(scored, text)
        if not matches:
            st.info(f"No lead's company or e-mail holds '{ui.as_text(text)}'.")
            return
        lead_id = ui.pick("Lead", matches, key="mql_explain_pick")
    found, line = view.lead_scores(scored, lead_id, version)
    if not found:
        st.warning(ui.as_text(line))
        return
    st.text(line)
    raw = ui.lead(lead_id)
    why = scoring.explain(raw, *saved, clock.today())
    decayed = st.column_config.NumberColumn(view.EXPLAIN_HEADINGS["counted"], format="%.2f")
    st.dataframe(why, hide_index=True, column_config={**view.EXPLAIN_HEADINGS, "counted": decayed})
    totals = scoring.explain_totals(raw, *saved, clock.today())
    st.dataframe(totals, hide_index=True, column_config=view.TOTALS_HEADINGS)
    st.caption(view.TOTALS_CAPTION)


model_editor(scored, version, versions[0], ui.model(version))
explainer(scored, version, ui.model(version))
