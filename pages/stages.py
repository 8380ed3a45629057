"""Stages & probabilities: edit a pipeline's stages and see closed, pipeline and weighted figures."""

from functools import partial

import streamlit as st

import ui
from funnel import calibration, charts, clock, stage_moves, store
from funnel.views import stages as view
from ui.period_figures import figures_for_period
from ui.pipeline_admin import pipeline_admin
from ui.stage_editor import stage_editor, write_and_restart

ui.through_app()

# One set of headings for every read-only table on the page (keys a table lacks are ignored).
COLUMNS = ui.column_config(view.TABLE_COLUMNS)
CALIBRATION_COLUMNS = {**COLUMNS, **ui.column_config(calibration.TABLE_COLUMNS)}

st.title("Stages & probabilities")
with ui.connection() as db:
    pipelines = store.pipelines(db)
names = view.labels(pipelines, "id", "name")
view.follow_created(ui.session(), "stages_pipeline")
if notice := view.start_from_link(
    ui.session(), st.query_params, "stages_pipeline", list(names), "pipeline"
):
    st.warning(ui.as_text(notice))
top = st.columns([2, 3])
picked: int | None = ui.pick("Pipeline", names, key="stages_pipeline", where=top[0])
with top[1].expander("New, rename or delete a pipeline"):
    pipeline_admin(pipelines, names, picked)
if picked is None:
    st.info("No pipeline yet: create one from a template above.")
    st.stop()
pipeline_id: int = picked
st.query_params["pipeline"] = str(pipeline_id)
ui.data_health(pipeline_id=pipeline_id, leads=False)
stage_frame, deals = ui.stages(pipeline_id), ui.deals(pipeline_id)
history = ui.stage_history(pipeline_id)
version = view.pipeline_row(pipelines, pipeline_id)["version"]
base, base_frame = view.editor_base(ui.session(), pipeline_id, version, stage_frame)
editor_key = stage_editor(pipeline_id, base, version, base_frame, deals)

figures_for_period(deals, stage_frame)

st.subheader("Probabilities from history")
learned = stage_moves.history_probability(deals, stage_frame, history)
st.info(stage_moves.history_coverage(deals, history).line())
st.caption(f"{view.smoothing_caption()} {calibration.interval_caption()}")
st.dataframe(calibration.with_intervals(learned), hide_index=True, column_config=CALIBRATION_COLUMNS)
labels = view.measured_labels(learned)
chosen: list[int] = st.multiselect(
    "Stages to adopt", list(labels), format_func=labels.__getitem__, key="stages_adopt_which"
)
unsaved = view.has_unsaved_edits(ui.session().get(editor_key, {}))
if unsaved:
    st.caption("Save or undo your edits in the stage table first: adopting replaces it.")
left, right = st.columns(2)
adopt_some = left.button("Adopt suggested", key="stages_adopt", disabled=unsaved or not chosen)
adopt_all = right.button("Adopt all", key="stages_adopt_all", disabled=unsaved or not labels)
if adopt_some or adopt_all:
    which = chosen if adopt_some else None
    write_and_restart(
        "Probabilities adopted",
        lambda db: store.save_stages(
            db,
            pipeline_id,
            stage_moves.adopt_probabilities(store.stage_list(db, pipeline_id), learned, which),
            base,
            None,
            ui.who(),
        ),
        pipeline_id,
    )

st.subheader("Are the probabilities honest?")
if (split := calibration.default_split(deals)) is None:
    st.info("Fewer than two closed deals: nothing to check the probabilities on yet.")
else:
    split = st.date_input(
        "Measure history on deals closed before, check on deals closed from", split, key="stages_split"
    )
    check = ui.checked(pipeline_id, split)
    st.write(check.sentence())
    if not check.groups.is_empty():
        st.altair_chart(charts.reliability_chart(check.groups), key="stages_reliability_chart")
        st.dataframe(check.groups, hide_index=True, column_config=CALIBRATION_COLUMNS, width="content")

st.subheader("Time in stage")
st.dataframe(
    stage_moves.time_in_stage(stage_frame, history),
    hide_index=True,
    column_config=COLUMNS,
    width="content",
)
stalled = stage_moves.stalled_deals(deals, stage_frame, history, clock.today())
st.caption(view.stalled_caption(stalled.height))
st.dataframe(stalled, hide_index=True, column_config=COLUMNS, width="content")

st.subheader("Move a deal")
deal_labels = view.open_deal_labels(deals)
stage_labels = view.labels(stage_frame, "id", "name")
cols = st.columns([3, 2, 1], vertical_alignment="bottom")
deal_id: int | None = ui.pick("Open deal", deal_labels, key="stages_move_deal", where=cols[0])
to_stage: int | None = ui.pick("To stage", stage_labels, key="stages_move_to", where=cols[1])
seen_stage = view.seen_stages(ui.session(), deals).get(deal_id) if deal_id else None
if cols[2].button("Move", key="stages_move", disabled=deal_id is None or to_stage is None):
    assert deal_id is not None and to_stage is not None  # the button is off without both
    move = partial(store.move_deal, deal_id=deal_id, to_stage_id=to_stage, who=ui.who())
    write_and_restart("Deal moved", partial(move, expected_stage_id=seen_stage))
