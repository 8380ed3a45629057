"""Stages & probabilities: edit a pipeline's stages and see closed, pipeline and weighted figures."""

from collections.abc import Callable
from datetime import date
from typing import Any

import polars as pl
import streamlit as st
from sqlite_utils import Database

import ui
from funnel import charts, stages, store
from funnel.models import STAGE_KINDS
from funnel.templates import TEMPLATES

EMPTY = "Empty (add stages yourself)"
# One set of headings for every read-only table on the page (keys a table lacks are ignored).
COLUMNS = {
    "id": None,
    "stage_id": None,
    "won": None,
    "stage": "Stage",
    "kind": "Kind",
    "probability": "Prob. %",
    "deals": "Deals",
    "value": st.column_config.NumberColumn("Value ($)", format="localized"),
    "weighted_value": st.column_config.NumberColumn("Weighted ($)", format="localized"),
    "manual": st.column_config.NumberColumn("Manual %", format="%.1f"),
    "n": st.column_config.NumberColumn("n", help="Closed deals (won + lost) that reached it"),
    "empirical": st.column_config.NumberColumn("Empirical %", format="%.1f"),
    "smoothed": st.column_config.NumberColumn("Smoothed %", format="%.1f"),
    "stays": st.column_config.NumberColumn("Stays", help="Finished stays measured"),
    "median_days": st.column_config.NumberColumn("Median days", format="%.1f"),
    "rot_days": "Limit (days)",
    "name": "Deal",
    "owner": "Owner",
    "days_in_stage": "Days in stage",
    "days_over": "Days over",
}
EDITOR_COLUMNS = {
    "position": st.column_config.NumberColumn("Order", step=1, help="Stages are sorted by it"),
    "name": st.column_config.TextColumn("Stage", required=True),
    "probability": st.column_config.NumberColumn(
        "Probability %", min_value=0, max_value=100, step=1, required=True
    ),
    "kind": st.column_config.SelectboxColumn("Kind", options=STAGE_KINDS, required=True),
    "rot_days": st.column_config.NumberColumn(
        "Rotting limit (days)", min_value=1, step=1, help="Open deals stuck longer are stalled"
    ),
}


def attempt(message: str, write: Callable[[Database], Any], rebase: int | None = None) -> None:
    """Run one store write; on success toast `message` after the redraw, else say what failed.

    `rebase` names the pipeline whose stage editor restarts from what is now saved.
    """
    try:
        with ui.connection() as db:
            write(db)
    except store.StoreError as e:
        ui.show_error(e)
        return
    st.session_state.pop(f"stages_base_{rebase}", None)
    st.session_state["stages_toast"] = message
    st.rerun()


def start_from_link(key: str, options: list[Any], param: str) -> None:
    """Open a selectbox on the choice in the link (`?param=`), else on its first option."""
    pick = stages.pick_from_link(st.session_state.get(key), options, st.query_params.get(param, ""))
    if pick is not None:
        st.session_state[key] = pick


@st.dialog("Delete pipeline?")
def confirm_delete(pipeline_id: int, name: str, deals: int) -> None:
    if deals:
        st.error(f"'{name}' still holds {deals:,} deals, so it cannot be deleted: move them first.")
        return
    st.write(f"Delete the pipeline '{name}' and its stages? This cannot be undone.")
    if st.button("Delete", type="primary", key="stages_delete_confirm"):
        attempt("Pipeline deleted", lambda db: store.delete_pipeline(db, pipeline_id, ui.who()))


@st.fragment
def figures_for_period(deals: pl.DataFrame, stage_frame: pl.DataFrame) -> None:
    """The period selector reruns only this part of the page."""
    st.subheader("Figures")
    periods = stages.period_options(deals)
    start_from_link("stages_period", periods, "period")
    period = st.selectbox(
        "Period (open deals by expected close, closed deals by close date)", periods, key="stages_period"
    )
    st.query_params["period"] = period
    figures = stages.pipeline_figures(stages.in_period(deals, period), stage_frame)
    cols = st.columns(3)
    cols[0].metric("Closed won", f"${figures.closed_won:,.0f}")
    cols[1].metric("Open pipeline", f"${figures.open_pipeline:,.0f}")
    cols[2].metric("Weighted pipeline", f"${figures.weighted_pipeline:,.0f}")
    st.altair_chart(charts.stage_value_chart(figures.by_stage))
    st.dataframe(
        figures.by_stage.select("stage", "probability", "deals", "value", "weighted_value"),
        hide_index=True,
        column_config=COLUMNS,
        width="content",
    )


st.title("Stages & probabilities")
if message := st.session_state.pop("stages_toast", None):
    st.toast(message, icon=":material/check:")
with ui.connection() as db:
    pipelines = store.pipelines(db)
names = stages.labels(pipelines, "id", "name")
if (created := st.session_state.pop("stages_created", None)) is not None:
    st.session_state["stages_pipeline"] = created
start_from_link("stages_pipeline", list(names), "pipeline")
top = st.columns([2, 3])
pipeline_id = top[0].selectbox("Pipeline", list(names), format_func=names.get, key="stages_pipeline")
with top[1].expander("New, rename or delete a pipeline"):
    template = st.selectbox("Start from", [*TEMPLATES, EMPTY], key="stages_new_template")
    new_name = st.text_input("New pipeline's name", key="stages_new_name")
    if st.button("Create pipeline", key="stages_create"):
        stage_list = TEMPLATES.get(template, ())
        attempt(
            "Pipeline created",
            lambda db: st.session_state.update(
                stages_created=store.create_pipeline(db, new_name, stage_list, ui.who())
            ),
        )
    if pipeline_id is not None:
        renamed = st.text_input("Rename to", names[pipeline_id], key=f"stages_rename_{pipeline_id}")
        left, right = st.columns(2)
        if left.button("Rename", key="stages_rename"):
            attempt(
                "Pipeline renamed",
                lambda db: store.rename_pipeline(db, pipeline_id, renamed, None, ui.who()),
                pipeline_id,
            )
        if right.button("Delete pipeline…", key="stages_delete"):
            held = pipelines.filter(pl.col("id") == pipeline_id)["deals"].item()
            confirm_delete(pipeline_id, names[pipeline_id], held)
if pipeline_id is None:
    st.info("No pipeline yet: create one from a template above.")
    st.stop()
st.query_params["pipeline"] = str(pipeline_id)
stage_frame, deals = ui.stages(pipeline_id), ui.deals(pipeline_id)
history = ui.stage_history(pipeline_id)
version = pipelines.filter(pl.col("id") == pipeline_id)["version"].item()
base = st.session_state.setdefault(f"stages_base_{pipeline_id}", version)

st.subheader("Stages")
editor_key = f"stages_editor_{pipeline_id}_{base}"
edited = st.data_editor(
    stage_frame.select(*EDITOR_COLUMNS, "id"),
    key=editor_key,
    num_rows="dynamic",
    hide_index=True,
    column_order=list(EDITOR_COLUMNS),
    column_config=EDITOR_COLUMNS,
)
problems = stages.validate_stages(edited)
for problem in problems:
    st.error(problem, icon=":material/error:")
if problems:
    st.caption("Nothing is saved until these are fixed.")
else:
    new_stages = stages.edited_stages(edited)
    reassign = {
        stage_id: st.selectbox(
            f"'{name}' holds {held:,} deals: move them to",
            [s.name for s in new_stages],
            key=f"stages_reassign_{stage_id}",
        )
        for stage_id, name, held in stages.removed_stages_with_deals(
            stage_frame, new_stages, deals
        ).iter_rows()
    }
    if st.button("Save stages", type="primary", key="stages_save"):
        attempt(
            "Stages saved",
            lambda db: store.save_stages(db, pipeline_id, new_stages, base, reassign, ui.who()),
            pipeline_id,
        )
if base != version:
    st.warning("Someone else saved this pipeline since you opened it.")
    if st.button("Reload their version (drops your unsaved edits)", key="stages_reload"):
        attempt("Reloaded", lambda db: None, pipeline_id)


figures_for_period(deals, stage_frame)

st.subheader("Probabilities from history")
learned = stages.history_probability(deals, stage_frame, history)
st.caption(stages.smoothing_caption())
st.dataframe(learned, hide_index=True, column_config=COLUMNS)
labels = stages.labels(learned, "stage_id", "stage")
chosen = st.multiselect(
    "Stages to adopt", list(labels), format_func=labels.get, key="stages_adopt_which"
)
unsaved = stages.has_unsaved_edits(st.session_state.get(editor_key, {}))
if unsaved:
    st.caption("Save or undo your edits in the stage table first: adopting replaces it.")
left, right = st.columns(2)
adopt_some = left.button("Adopt smoothed", key="stages_adopt", disabled=unsaved or not chosen)
if adopt_some or right.button("Adopt all", key="stages_adopt_all", disabled=unsaved):
    which = chosen if adopt_some else None
    attempt(
        "Probabilities adopted",
        lambda db: store.save_stages(
            db,
            pipeline_id,
            stages.adopt_probabilities(store.stage_list(db, pipeline_id), learned, which),
            base,
            None,
            ui.who(),
        ),
        pipeline_id,
    )

st.subheader("Time in stage")
st.dataframe(
    stages.time_in_stage(stage_frame, history), hide_index=True, column_config=COLUMNS, width="content"
)
stalled = stages.stalled_deals(deals, stage_frame, history, date.today())
st.caption(f"{stalled.height:,} open deals stalled past their stage's rotting limit, longest first")
st.dataframe(stalled, hide_index=True, column_config=COLUMNS, width="content")

st.subheader("Move a deal")
deal_labels = stages.open_deal_labels(deals)
stage_labels = stages.labels(stage_frame, "id", "name")
cols = st.columns([3, 2, 1], vertical_alignment="bottom")
deal_id = cols[0].selectbox(
    "Open deal", list(deal_labels), format_func=deal_labels.get, key="stages_move_deal"
)
to_stage = cols[1].selectbox(
    "To stage", list(stage_labels), format_func=stage_labels.get, key="stages_move_to"
)
if cols[2].button("Move", key="stages_move", disabled=deal_id is None or to_stage is None):
    attempt("Deal moved", lambda db: store.move_deal(db, deal_id, to_stage, ui.who()))
