"""Stages & probabilities: edit a pipeline's stages and see closed, pipeline and weighted figures."""

from collections.abc import Callable
from functools import partial

import polars as pl
import streamlit as st
from sqlite_utils import Database

import ui
from funnel import calibration, charts, clock, importers, stage_moves, stages, store
from funnel.views import stages as view

ui.through_app()

# One set of headings for every read-only table on the page (keys a table lacks are ignored).
COLUMNS = ui.column_config(view.TABLE_COLUMNS)
EDITOR_COLUMNS = ui.column_config(view.EDITOR_COLUMNS)
CALIBRATION_COLUMNS = {**COLUMNS, **ui.column_config(calibration.TABLE_COLUMNS)}


def attempt(message: str, write: Callable[[Database], object], rebase: int | None = None) -> None:
    """`ui.attempt`, then the redraw; `rebase` names the pipeline whose stage editor restarts
    from what is now saved."""
    ui.attempt(write, message, rerun=True, then=lambda _: view.restart_editor(ui.session(), rebase))


@st.dialog("Delete pipeline?")
def confirm_delete(pipeline_id: int, name: str, deals: int) -> None:
    if deals:
        st.error(ui.as_text(view.delete_refusal(name, deals)))
        return
    st.write(ui.as_text(view.delete_question(name)))
    if st.button("Delete", type="primary", key="stages_delete_confirm"):
        seen = view.seen_version(ui.session(), pipelines, pipeline_id)
        attempt("Pipeline deleted", lambda db: store.delete_pipeline(db, pipeline_id, ui.who(), seen))


def price_list() -> tuple[pl.DataFrame, str] | None:
    """The price list uploaded to value open deals by their name, with its name; None before one."""
    upload = st.file_uploader("Price list (product, list price)", ["csv", "xlsx"], key="stages_prices")
    if upload is None:
        return None
    try:
        prices, problems = importers.price_list(importers.read_table(upload.getvalue(), upload.name))
    except importers.ImportRejectedError as e:
        ui.show_error(e)
        return None
    for problem in problems:
        st.error(ui.as_text(problem))
    return prices, upload.name


@st.fragment
def figures_for_period(deals: pl.DataFrame, stage_frame: pl.DataFrame) -> None:
    """The period selector reruns only this part of the page."""
    st.subheader("Figures")
    periods = stages.period_options(deals)
    if notice := view.start_from_link(ui.session(), st.query_params, "stages_period", periods, "period"):
        st.warning(ui.as_text(notice))
    period = st.selectbox(
        "Period (open deals by expected close, closed deals by close date)", periods, key="stages_period"
    )
    st.query_params["period"] = period
    shown = stages.in_period(deals, period)
    unvalued, median = stages.open_without_value(shown), stages.median_won_value(deals)
    line = stages.unvalued_line(unvalued, None)
    choices = stages.fill_choices(median)
    how = ui.choice("Open deals without a value", choices, "stages_fill") if unvalued else "none"
    if unvalued and how == "median" and median is not None:
        shown, line = stages.fill_open_values(shown, median), stages.unvalued_line(unvalued, median)
    elif unvalued and how == "prices" and (prices := price_list()) is not None:
        shown, unmatched = stages.fill_from_price_list(shown, prices[0])
        valued = unvalued - stages.open_without_value(shown)
        line = stages.price_list_line(valued, unmatched, prices[1])
    figures = stages.pipeline_figures(shown, stage_frame)
    for col, (label, value) in zip(st.columns(3), figures.headline(), strict=True):
        col.metric(label, value)
    if line:
        st.caption(line)
    st.altair_chart(charts.stage_value_chart(figures.by_stage))
    st.dataframe(figures.table(), hide_index=True, column_config=COLUMNS, width="content")
    own = stages.own_probability_deals(stages.in_period(deals, period))
    st.caption(stages.own_probability_caption(own.height))
    if own.height:
        st.dataframe(own, hide_index=True, column_config=COLUMNS, key="stages_own_probabilities")
        named = dict(own.select("id", "name").iter_rows())
        clear = st.multiselect(
            "Deals to weigh by their stage's probability",
            list(named),
            format_func=lambda deal_id: named[deal_id] or f"Deal {deal_id}",
            key="stages_clear_own",
        )
        left, right = st.columns(2)
        some = left.button("Clear their own %", key="stages_clear_own_some", disabled=not clear)
        if some or right.button(f"Clear all {own.height:,}", key="stages_clear_own_all"):
            chosen = clear if some else own["id"].to_list()
            attempt(
                "Own probabilities cleared",
                lambda db: store.clear_deal_probabilities(db, chosen, ui.who()),
            )


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
    template = st.selectbox("Start from", view.template_choices(), key="stages_new_template")
    new_name = st.text_input("New pipeline's name", key="stages_new_name")
    if st.button("Create pipeline", key="stages_create"):
        stage_list = view.template_stages(template)
        attempt(
            "Pipeline created",
            lambda db: ui.session().update(
                {view.CREATED_KEY: store.create_pipeline(db, new_name, stage_list, ui.who())}
            ),
        )
    if (pid := picked) is not None:
        renamed = st.text_input("Rename to", names[pid], key=f"stages_rename_{pid}")
        left, right = st.columns(2)
        if left.button("Rename", key="stages_rename"):
            seen = view.seen_version(ui.session(), pipelines, pid)
            attempt(
                "Pipeline renamed",
                partial(
                    store.rename_pipeline,
                    pipeline_id=pid,
                    name=renamed,
                    expected_version=seen,
                    who=ui.who(),
                ),
                pid,
            )
        if right.button("Delete pipeline…", key="stages_delete"):
            held = view.pipeline_row(pipelines, pid)["deals"]
            confirm_delete(pid, names[pid], held)
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

st.subheader("Stages")
editor_key = view.editor_key(pipeline_id, base)
edited = st.data_editor(
    base_frame.select(*EDITOR_COLUMNS, "id"),
    key=editor_key,
    num_rows="dynamic",
    hide_index=True,
    column_order=list(EDITOR_COLUMNS),
    column_config=EDITOR_COLUMNS,
)
problems = stages.validate_stages(edited)
for problem in problems:
    st.error(ui.as_text(problem), icon=":material/error:")
if problems:
    st.caption("Nothing is saved until these are fixed.")
else:
    new_stages = stages.edited_stages(edited)
    reassign = {
        stage_id: st.selectbox(
            ui.as_text(prompt), [s.name for s in new_stages], key=f"stages_reassign_{stage_id}"
        )
        for stage_id, prompt in view.reassign_prompts(base_frame, new_stages, deals).items()
    }
    if st.button("Save stages", type="primary", key="stages_save"):
        attempt(
            "Stages saved",
            lambda db: store.save_stages(db, pipeline_id, new_stages, base, reassign, ui.who()),
            pipeline_id,
        )
if base != version:
    st.warning(view.stale_warning(base, version))
    if st.button("Reload their version (drops your unsaved edits)", key="stages_reload"):
        attempt("Reloaded", lambda db: None, pipeline_id)


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
    attempt(
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
    attempt("Deal moved", partial(move, expected_stage_id=seen_stage))
