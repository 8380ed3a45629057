"""The MQL page's record of agreed cutoffs: the form that records the cutoff on the sliders as
agreed (when, by whom, why), and every decision so far, each one button from the sliders again.

Apart from the page because it is a form with its own write and a list read from the store; the
fragment around it passes the cutoff and the model version in.
"""

from __future__ import annotations

import streamlit as st

from funnel import clock, store
from funnel.views import mql as view
from ui import frames
from ui.shell import who
from ui.widgets import attempt


def cutoff_decisions(f: float, i: float, version: int) -> None:
    """Record fit ≥ `f`, interest ≥ `i` on model `version` as agreed; list the decisions."""
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
        attempt(
            lambda db: store.record_decision(db, f, i, version, str(on), by, note, who()),
            view.DECISION_RECORDED,
        )
    with frames.connection() as db:
        history = store.decisions(db)
    for d in history.iter_rows(named=True):
        text, button = st.columns([5, 1])
        text.text(view.decision_line(d))
        restored = view.restored_view(d, frames.slider_steps())
        button.button(
            "Put on sliders",
            key=f"mql_restore_{d['id']}",
            on_click=st.session_state.update,
            args=(restored,),
        )
