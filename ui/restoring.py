"""The Data page's restore: a backup upload checked before anything is offered, then a
confirmation, then the store replaced with the current one kept beside it.

Apart from the page because the restore is a write with its own rules (the upload checked once,
refused once used, refused when the store changed after the user chose it), not layout.
"""

from __future__ import annotations

import streamlit as st
from sqlite_utils import Database

from funnel import exports
from ui import frames
from ui.messages import as_text
from ui.shell import who
from ui.widgets import confirm_dialog, progress, session


def _restore(db: Database, pending: tuple[str, int, str]) -> str:
    """Replace the store with the checked backup uploaded as `file_id`, the current store kept
    beside it, unless the store changed since the user chose to restore (its revision then);
    the uploaded file leaves the temp folder whatever the outcome."""
    file_id, seen, name = pending
    keep = exports.before_restore_path(frames.db_path())
    try:
        staged = exports.staged_path(file_id)
        bar = progress("Restoring…")
        exports.restore(db, staged, keep, seen, who(), name, bar)
    finally:
        exports.used_upload(session(), file_id)
    return "Store restored."


def restore_from_backup() -> None:
    """The backup upload, what its check found, the Restore… button and its confirmation."""
    upload = st.file_uploader("Restore from a backup file", key="data_restore_upload")
    if upload is None:
        exports.discard_uploads(session())
    else:
        file_id = upload.file_id
        problem = exports.checked_upload(session(), file_id, upload.getvalue)
        if problem == exports.USED_UPLOAD:
            st.info(problem)
        elif problem:
            st.error(as_text(problem))
        elif st.button("Restore…", key="data_restore"):
            session()["data_restore_pending"] = (file_id, frames.revision(), upload.name)
    confirm_dialog("Restore this backup?", exports.RESTORE_WARNING, "Restore", _restore, "data_restore")
