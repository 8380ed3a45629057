"""The Stages page's pipeline admin: a new pipeline from a template, the open one renamed, or
deleted once it holds no deals (after a confirmation).

Apart from the page because these are three writes, each checked against the pipeline's version
as this session saw it, behind one expander; the page passes the pipelines it read in.
"""

from __future__ import annotations

from functools import partial

import polars as pl
import streamlit as st

from funnel import store
from funnel.views import stages as view
from ui.messages import as_text
from ui.shell import who
from ui.stage_editor import write_and_restart
from ui.widgets import session


@st.dialog("Delete pipeline?")
def _confirm_delete(pipelines: pl.DataFrame, pipeline_id: int, name: str, deals: int) -> None:
    """Delete an empty pipeline after asking; one holding `deals` is refused with the reason,
    since its deals would have nowhere to go."""
    if deals:
        st.error(as_text(view.delete_refusal(name, deals)))
        return
    st.write(as_text(view.delete_question(name)))
    if st.button("Delete", type="primary", key="stages_delete_confirm"):
        seen = view.seen_version(session(), pipelines, pipeline_id)
        write_and_restart(
            "Pipeline deleted", lambda db: store.delete_pipeline(db, pipeline_id, who(), seen)
        )


def pipeline_admin(pipelines: pl.DataFrame, names: dict[int, str], picked: int | None) -> None:
    """Create a pipeline; rename or delete the `picked` one (by id in `names`), if any."""
    template = st.selectbox("Start from", view.template_choices(), key="stages_new_template")
    new_name = st.text_input("New pipeline's name", key="stages_new_name")
    if st.button("Create pipeline", key="stages_create"):
        stage_list = view.template_stages(template)
        write_and_restart(
            "Pipeline created",
            lambda db: session().update(
                {view.CREATED_KEY: store.create_pipeline(db, new_name, stage_list, who())}
            ),
        )
    if (pid := picked) is None:
        return
    renamed = st.text_input("Rename to", names[pid], key=f"stages_rename_{pid}")
    left, right = st.columns(2)
    if left.button("Rename", key="stages_rename"):
        seen = view.seen_version(session(), pipelines, pid)
        write_and_restart(
            "Pipeline renamed",
            partial(
                store.rename_pipeline, pipeline_id=pid, name=renamed, expected_version=seen, who=who()
            ),
            pid,
        )
    if right.button("Delete pipeline…", key="stages_delete"):
        held = view.pipeline_row(pipelines, pid)["deals"]
        _confirm_delete(pipelines, pid, names[pid], held)
