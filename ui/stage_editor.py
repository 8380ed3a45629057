"""The Stages page's stage editor, and the one way the page writes: every write reruns the page,
and the pipeline it names restarts its editor from what is now saved.

Apart from the page because the editor keeps a base version in the session across other
sessions' saves (`funnel.views.stages.editor_base`), which decides when a save is refused and
when the editor restarts; the page's other sections write through `write_and_restart` too.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import streamlit as st
from sqlite_utils import Database

from funnel import stages, store
from funnel.views import stages as view
from ui.messages import as_text
from ui.shell import who
from ui.widgets import attempt, column_config, session


def write_and_restart(
    message: str, write: Callable[[Database], object], rebase: int | None = None
) -> None:
    """`ui.attempt`, then the redraw; `rebase` names the pipeline whose stage editor restarts
    from what is now saved."""
    attempt(write, message, rerun=True, then=lambda _: view.restart_editor(session(), rebase))


def stage_editor(
    pipeline_id: int, base: int, version: int, base_frame: pl.DataFrame, deals: pl.DataFrame
) -> str:
    """The stages of `base_frame` (the pipeline as saved at version `base`) as an editable
    table, its problems, where the deals of a removed stage go, and Save; while another session
    has saved a newer `version`, a warning and the reload. Returns the editor's session key."""
    st.subheader("Stages")
    editor_columns = column_config(view.EDITOR_COLUMNS)
    editor_key = view.editor_key(pipeline_id, base)
    edited = st.data_editor(
        base_frame.select(*editor_columns, "id"),
        key=editor_key,
        num_rows="dynamic",
        hide_index=True,
        column_order=list(editor_columns),
        column_config=editor_columns,
    )
    problems = stages.validate_stages(edited)
    for problem in problems:
        st.error(as_text(problem), icon=":material/error:")
    if problems:
        st.caption("Nothing is saved until these are fixed.")
    else:
        new_stages = stages.edited_stages(edited)
        reassign = {
            stage_id: st.selectbox(
                as_text(prompt), [s.name for s in new_stages], key=f"stages_reassign_{stage_id}"
            )
            for stage_id, prompt in view.reassign_prompts(base_frame, new_stages, deals).items()
        }
        if st.button("Save stages", type="primary", key="stages_save"):
            write_and_restart(
                "Stages saved",
                lambda db: store.save_stages(db, pipeline_id, new_stages, base, reassign, who()),
                pipeline_id,
            )
    if base != version:
        st.warning(view.stale_warning(base, version))
        if st.button("Reload their version (drops your unsaved edits)", key="stages_reload"):
            write_and_restart("Reloaded", lambda db: None, pipeline_id)
    return editor_key
