"""History: every saved change (who, when, what, before and after), filtered, exported, undone."""

import streamlit as st
from sqlite_utils import Database

import ui
from funnel import audit, store
from funnel.views import history as view

ui.through_app()

st.title("History")
st.caption(view.CAPTION)

with ui.connection() as db:
    pipelines = store.pipelines(db)
    pipeline_names = dict(pipelines.select("id", "name").iter_rows())
    log = audit.readable(store.audit_log(db), pipeline_names, store.stage_names(db))

labels = {e: audit.ENTITY_LABELS.get(e, e) for e in log["entity"].unique().sort()}
signers = log["who"].unique().sort().to_list()
link = {param: st.query_params.get_all(param) for _, param in view.FILTERS}
ui.session().update(view.filters_from_link(ui.session(), link, {"what": labels, "who": signers}))
left, middle, right = st.columns([2, 2, 2])
entities = left.multiselect(
    "What", list(labels), format_func=labels.__getitem__, key="history_entities", placeholder="All"
)
people = middle.multiselect("Who", signers, key="history_who", placeholder="Everyone")
st.query_params["what"] = entities
st.query_params["who"] = people
days = log["at"].dt.date()
span = (days.min(), days.max()) if len(log) else ()
picked = right.date_input(
    "Between",
    value=span,  # type: ignore[arg-type]  # polars types a min or max as any scalar
    key="history_dates",
    format="YYYY-MM-DD",
)
shown = audit.filter_log(log, entities, people, *view.period(picked))
st.dataframe(
    shown.select("id", "at", "who", "object", "action", "what"),
    hide_index=True,
    width="stretch",
    column_config={
        "id": st.column_config.NumberColumn("#", width="small"),
        "at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm:ss"),
        "who": "Who",
        "object": "Object",
        "action": "Action",
        "what": st.column_config.TextColumn("What changed", width="large"),
    },
    key="history_table",
)
st.download_button(
    f"Export these {len(shown):,} changes as CSV",
    data=audit.history_csv(shown),
    file_name="funnel-history.csv",
    mime="text/csv",
    icon=":material/download:",
    key="history_export",
)

st.subheader("Undo")
st.caption(view.UNDO_CAPTION)
with ui.connection() as db:
    targets = store.undo_targets(db)
names = dict(zip(pipelines["id"].to_list(), pipelines["name"].to_list(), strict=True))
target = st.selectbox(
    "Last change of",
    targets,
    format_func=lambda target: view.undo_target_label(target, names),
    key="history_undo_target",
)


def undo(db: Database, pending: tuple[str, int | None, int, str]) -> str:
    """Revert the change the user confirmed, unless another one came after it."""
    entity, entity_id, audit_id, _ = pending
    store.undo_last(db, entity, entity_id, ui.who(), expected_audit_id=audit_id)
    return view.undone(audit_id)


if target is not None:
    with ui.connection() as db:
        last = store.undo_target(db, *target)
    if last is None:
        st.info("No recorded change left to undo.")
    else:
        row = log.filter(log["id"] == last["id"]).row(0, named=True)
        st.text(f"#{row['id']} · {row['at']:%Y-%m-%d %H:%M} · {row['who']} · {row['action']}")
        st.text(row["what"])
        if st.button("Undo…", icon=":material/undo:", key="history_undo"):
            st.session_state["history_undo_pending"] = (*target, int(last["id"]), row["what"])
if (pending := st.session_state.get("history_undo_pending")) is not None:
    text = f"Change #{pending[2]}:"
    ui.confirm_dialog("Undo this change?", text, "Undo", undo, "history_undo", details=pending[3])
