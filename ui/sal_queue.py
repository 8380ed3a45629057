"""The MQL page's sales-acceptance queue: the MQLs at the cutoff on the sliders, each answered
by sales (accepted as SAL, or rejected) with the BANT criteria ticked for it.

Apart from the page because it is a form with its own write and its own session rule (the ticks
cleared before the next MQL is drawn); the fragment around it passes the cutoff in.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from funnel import scoring, store
from funnel.models import SalStatus
from funnel.views import mql as view
from ui.shell import who
from ui.widgets import attempt, pick, session


def _answer(status: SalStatus) -> None:
    """Record sales' answer for the MQL picked in the form, with the BANT ticked for it.

    A callback: it runs before the fragment around the form reruns, so that one run draws the
    counts with the answer in them. The ticks are cleared here, before they are drawn again, so
    the next MQL starts with none and cannot inherit this lead's answer; on failure they stay,
    with the message.
    """
    lead_id = int(session()["mql_sal_lead"])
    bant = {c: bool(session().get(f"mql_bant_{c}")) for c in store.BANT}
    attempt(
        lambda db: store.record_sal(db, lead_id, status, bant, who()),
        view.sal_recorded(lead_id, status),
        then=lambda _: session().update({f"mql_bant_{c}": False for c in store.BANT}),
    )


def sal_queue(leads: pl.DataFrame, f: float, i: float) -> None:
    """The MQLs of `leads` at fit ≥ `f` and interest ≥ `i`, and the form sales answer one with."""
    st.subheader("Sales acceptance (SAL)")
    queue = scoring.mqls_for_sales(leads, f, i)
    if queue.is_empty():
        st.info(view.NO_MQL)
        return
    with st.form("mql_sal_form"):
        names = view.sal_choices(queue)
        pick("MQL", names, key="mql_sal_lead")
        for box, c in zip(st.columns(4), store.BANT, strict=True):
            box.checkbox(c.title(), key=f"mql_bant_{c}")
        accept, reject = st.columns(2)
        accept.form_submit_button("Accept (SAL)", on_click=_answer, args=("accepted",))
        reject.form_submit_button("Reject", on_click=_answer, args=("rejected",))
