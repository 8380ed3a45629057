"""Stages & probabilities: edit a pipeline's stages and see closed, pipeline and weighted figures."""

from datetime import date

import polars as pl
import streamlit as st

import ui
from funnel import charts, stages, store
from funnel.models import STAGE_KINDS
from funnel.templates import TEMPLATES

EMPTY = "Empty (add stages yourself)"
MONEY = st.column_config.NumberColumn(format="dollar")


@st.dialog("Delete pipeline?")
def confirm_delete(pipeline_id: int, name: str, deals: int) -> None:
    if deals:
        st.error(f"'{name}' still holds {deals:,} deals, so it cannot be deleted: move them first.")
        return
    st.write(f"Delete the pipeline '{name}' and its stages? This cannot be undone.")
    if st.button("Delete", type="primary", key="stages_delete_confirm"):
        with ui.connection() as db:
            store.delete_pipeline(db, pipeline_id, ui.who())
        st.session_state.pop("stages_pipeline", None)
        st.rerun()


def saved(message: str, rebase: int | None = None) -> None:
    """After a write: say so on the next run (a toast dies with st.rerun) and redraw.

    `rebase` is the pipeline whose editor restarts from the saved stages.
    """
    st.session_state.pop(f"stages_base_{rebase}", None)
    st.session_state["stages_toast"] = message
    st.rerun()


st.title("Stages & probabilities")
if message := st.session_state.pop("stages_toast", None):
    st.toast(message, icon=":material/check:")
with ui.connection() as db:
    pipelines = store.pipelines(db)
ids: list[int] = pipelines["id"].to_list()
names = dict(zip(ids, pipelines["name"].to_list(), strict=True))
if (created := st.session_state.pop("stages_created", None)) is not None:
    st.session_state["stages_pipeline"] = created
if ids and st.session_state.get("stages_pipeline") not in ids:
    wanted = st.query_params.get("pipeline", "")
    st.session_state["stages_pipeline"] = (
        int(wanted) if wanted.isdigit() and int(wanted) in ids else ids[0]
    )

top = st.columns([2, 3])
pipeline_id = top[0].selectbox("Pipeline", ids, format_func=names.get, key="stages_pipeline")
with top[1].expander("New, rename or delete a pipeline"):
    template = st.selectbox("Start from", [*TEMPLATES, EMPTY], key="stages_new_template")
    new_name = st.text_input("New pipeline's name", key="stages_new_name")
    if st.button("Create pipeline", key="stages_create"):
        try:
            with ui.connection() as db:
                st.session_state["stages_created"] = store.create_pipeline(
                    db, new_name, TEMPLATES.get(template, ()), ui.who()
                )
            saved("Pipeline created")
        except store.StoreError as e:
            ui.show_error(e)
    if pipeline_id is not None:
        renamed = st.text_input(
            "Rename to", value=names[pipeline_id], key=f"stages_rename_{pipeline_id}"
        )
        left, right = st.columns(2)
        if left.button("Rename", key="stages_rename"):
            try:
                with ui.connection() as db:
                    store.rename_pipeline(db, pipeline_id, renamed, None, ui.who())
                saved("Pipeline renamed")
            except store.StoreError as e:
                ui.show_error(e)
        if right.button("Delete pipeline…", key="stages_delete"):
            held = pipelines.filter(pl.col("id") == pipeline_id)["deals"].item()
            confirm_delete(pipeline_id, names[pipeline_id], held)
if pipeline_id is None:
    st.info("No pipeline yet: create one from a template above.")
    st.stop()
st.query_params["pipeline"] = str(pipeline_id)

stage_frame = ui.stages(pipeline_id)
deals = ui.deals(pipeline_id)
history = ui.stage_history(pipeline_id)
version = pipelines.filter(pl.col("id") == pipeline_id)["version"].item()
base = st.session_state.setdefault(f"stages_base_{pipeline_id}", version)

st.subheader("Stages")
left, right = st.columns([3, 2])
editor_key = f"stages_editor_{pipeline_id}_{base}"
edited = left.data_editor(
    stage_frame.select("id", "position", "name", "probability", "kind", "rot_days").cast(
        {"name": pl.String, "kind": pl.String}
    ),
    key=editor_key,
    num_rows="dynamic",
    hide_index=True,
    column_order=("position", "name", "probability", "kind", "rot_days"),
    column_config={
        "position": st.column_config.NumberColumn("Order", step=1, help="Stages are sorted by it"),
        "name": st.column_config.TextColumn("Stage", required=True),
        "probability": st.column_config.NumberColumn(
            "Probability %", min_value=0, max_value=100, step=1, required=True
        ),
        "kind": st.column_config.SelectboxColumn("Kind", options=STAGE_KINDS, required=True),
        "rot_days": st.column_config.NumberColumn(
            "Rotting limit (days)", min_value=1, step=1, help="Open deals stuck longer are stalled"
        ),
    },
)
problems = stages.validate_stages(edited)
with right:
    for problem in problems:
        st.error(problem, icon=":material/error:")
    reassign: dict[int, str] = {}
    if not problems:
        new_stages = stages.edited_stages(edited)
        removed = stages.removed_stages_with_deals(stage_frame, new_stages, deals)
        for stage_id, name, held in removed.iter_rows():
            reassign[stage_id] = st.selectbox(
                f"'{name}' holds {held:,} deals: move them to",
                [s.name for s in new_stages],
                key=f"stages_reassign_{stage_id}",
            )
        if st.button("Save stages", type="primary", key="stages_save"):
            try:
                with ui.connection() as db:
                    store.save_stages(db, pipeline_id, new_stages, base, reassign, ui.who())
                saved("Stages saved", pipeline_id)
            except store.StoreError as e:
                ui.show_error(e)
    else:
        st.caption("Nothing is saved until these are fixed.")
if base != version:
    st.warning("Someone else saved this pipeline since you opened it.")
    if st.button("Reload their version (drops your unsaved edits)", key="stages_reload"):
        saved("Reloaded", pipeline_id)

st.subheader("Figures")
options = stages.period_options(deals)
if st.session_state.get("stages_period") not in options:
    wanted = st.query_params.get("period", stages.ALL_PERIODS)
    st.session_state["stages_period"] = wanted if wanted in options else stages.ALL_PERIODS
period = st.selectbox(
    "Period (open deals by expected close, closed deals by close date)", options, key="stages_period"
)
st.query_params["period"] = period
figures = stages.pipeline_figures(stages.in_period(deals, period), stage_frame)
cols = st.columns(3)
cols[0].metric("Closed won", f"${figures.closed_won:,.0f}")
cols[1].metric("Open pipeline", f"${figures.open_pipeline:,.0f}")
cols[2].metric("Weighted pipeline", f"${figures.weighted_pipeline:,.0f}")
left, right = st.columns([2, 3])
left.dataframe(
    figures.by_stage.select("stage", "probability", "deals", "value", "weighted_value"),
    hide_index=True,
    column_config={"value": MONEY, "weighted_value": MONEY},
)
right.altair_chart(charts.stage_value_chart(figures.by_stage))

st.subheader("Probabilities from history")
learned = stages.history_probability(deals, stage_frame, history)
st.caption(
    f"Empirical = won deals that reached the stage / closed deals (won + lost) that reached it, "
    f"over all closed deals of this pipeline. Smoothed = (won + {stages.DEFAULT_PSEUDO_DEALS:g} × "
    f"manual %) / (n + {stages.DEFAULT_PSEUDO_DEALS:g}): {stages.DEFAULT_PSEUDO_DEALS:g} pseudo-deals "
    "closing at the manual rate, so a stage with few closed deals stays near its manual value."
)
st.dataframe(
    learned.drop("stage_id", "won"),
    hide_index=True,
    column_config={
        "empirical": st.column_config.NumberColumn(format="%.1f"),
        "smoothed": st.column_config.NumberColumn(format="%.1f"),
    },
)
labels = dict(zip(learned["stage_id"].to_list(), learned["stage"].to_list(), strict=True))
chosen = st.multiselect(
    "Stages to adopt", list(labels), format_func=labels.get, key="stages_adopt_which"
)
unsaved = any(
    st.session_state.get(editor_key, {}).get(k) for k in ("edited_rows", "added_rows", "deleted_rows")
)
if unsaved:
    st.caption("Save or undo your edits in the stage table first: adopting replaces the table.")
left, right = st.columns(2)
adopt_some = left.button(
    "Adopt smoothed for these stages", key="stages_adopt", disabled=unsaved or not chosen
)
if adopt_some or right.button("Adopt all", key="stages_adopt_all", disabled=unsaved):
    try:
        with ui.connection() as db:
            adopted = stages.adopt_probabilities(
                store.stage_list(db, pipeline_id), learned, chosen if adopt_some else None
            )
            store.save_stages(db, pipeline_id, adopted, base, None, ui.who())
        saved("Probabilities adopted", pipeline_id)
    except store.StoreError as e:
        ui.show_error(e)

st.subheader("Time in stage")
left, right = st.columns(2)
left.dataframe(
    stages.time_in_stage(stage_frame, history),
    hide_index=True,
    column_config={"stage_id": None, "median_days": st.column_config.NumberColumn(format="%.1f")},
)
stalled = stages.stalled_deals(deals, stage_frame, history, date.today())
right.caption(f"{stalled.height:,} open deals stalled past their stage's rotting limit")
right.dataframe(stalled, hide_index=True, column_config={"value": MONEY})

st.subheader("Move a deal")
open_deals = deals.filter(pl.col("stage_kind") == "open").sort("name")
deal_labels = dict(
    zip(
        open_deals["id"].to_list(),
        (open_deals["name"] + " · " + open_deals["stage"]).to_list(),
        strict=True,
    )
)
stage_labels = dict(zip(stage_frame["id"].to_list(), stage_frame["name"].to_list(), strict=True))
cols = st.columns([3, 2, 1], vertical_alignment="bottom")
deal_id = cols[0].selectbox(
    "Open deal", list(deal_labels), format_func=deal_labels.get, key="stages_move_deal"
)
to_stage = cols[1].selectbox(
    "To stage", list(stage_labels), format_func=stage_labels.get, key="stages_move_to"
)
if cols[2].button("Move", key="stages_move", disabled=deal_id is None or to_stage is None):
    try:
        with ui.connection() as db:
            store.move_deal(db, deal_id, to_stage, ui.who())
        saved("Deal moved")
    except store.StoreError as e:
        ui.show_error(e)
