"""The shell around every page: the run through app.py, the sidebar (who signs, which store,
its counts, the demo reset) and the name cookie."""

from __future__ import annotations

import json
from urllib.parse import unquote

import streamlit as st
from streamlit.navigation.page import StreamlitPage
from streamlit.runtime.pages_manager import PagesManager

from funnel import reset, store
from ui import frames, warm
from ui.frames import connection, db_path
from ui.messages import as_text
from ui.widgets import attempt, progress, show_toast

_VIA_APP = "ui_page_run_via_app"
_LEFT_LEGACY = "ui_left_legacy_pages"


def run_page(page: StreamlitPage) -> None:
    """Run the page app.py navigated to, marked as run through the app (see `through_app`)."""
    st.session_state[_VIA_APP] = True
    with warm.visit():
        page.run()


def through_app() -> None:
    """Make sure this page runs inside app.py; every page calls it before it draws anything.

    Until some run calls st.navigation, Streamlit treats an app beside a pages/ folder as a
    legacy multipage app and runs a page's script on its own, without app.py: a link opened
    first on a fresh server (/mql?F=70, sent in the meeting) then showed the page without the
    sidebar or the wide layout. A run that did not come through `run_page` turns the legacy mode
    off and starts again through app.py, on the same page. Every session checks its own run
    (five people opening the link at once each started in the legacy mode), and the check runs
    when a page runs, never while this module is imported: a rerun raised mid-import left the
    module half-built for the sessions that opened at the same moment (`module 'ui' has no
    attribute 'sidebar'`). Once per session: AppTest puts every run back in the legacy mode, and
    a rerun on each would drop the button click that started it.
    """
    if not st.session_state.pop(_VIA_APP, False) and not st.session_state.get(_LEFT_LEGACY):
        st.session_state[_LEFT_LEGACY] = True
        PagesManager.uses_pages_directory = False
        st.rerun()
    show_toast()  # a write that reran the app says here that it went through


def who() -> str:
    """The name this session signs its changes with (typed once in the sidebar)."""
    return str(st.session_state.get("who", "")).strip() or "anonymous"


@st.dialog("Reset demo data?")
def _confirm_reset() -> None:
    with connection() as db:
        plan = reset.reset_plan(db)
    st.write(as_text(plan.question()))
    typed = ""
    if plan.outside_data:
        typed = st.text_input(f"Type {plan.store_name} to confirm", key="sidebar_reset_name")
    left, right = st.columns(2)
    if left.button("Reset", type="primary", key="sidebar_reset_confirm"):
        attempt(
            lambda db: reset.reset_to_demo(db, who(), typed, progress("Resetting…")),
            lambda kept: as_text(f"Reset to demo data; the store as it was is kept as {kept}."),
            rerun=True,
            then=lambda _: st.session_state.clear(),  # a new store: nothing of the old session holds
        )
    if right.button("Cancel", key="sidebar_reset_cancel"):
        st.rerun()


WHO_COOKIE = "funnel_who"


def cookie_script(name: str) -> str:
    """The one script the app writes: it stores `name` in the name cookie. The name goes in as a
    JSON string literal with `<` escaped, so no name can close the script or add markup."""
    literal = json.dumps(name).replace("<", "\\u003c")
    return (
        f"<script>document.cookie = '{WHO_COOKIE}=' + encodeURIComponent({literal})"
        " + '; path=/; max-age=31536000; samesite=strict';</script>"
    )


def _remember_who() -> None:
    """Keep the typed name in a cookie of this browser, so a reload does not silently sign the
    next changes "anonymous"; the name is a signature for the History, not a login."""
    name = str(st.session_state.get("who", "")).strip()
    st.html(cookie_script(name), unsafe_allow_javascript=True, width=1)  # the name cookie only
    st.session_state["who_remembered"] = st.session_state.get("who", "")


def sidebar() -> None:
    remembered = st.context.cookies.get(WHO_COOKIE)  # not always a str: AppTest mocks the browser
    st.session_state.setdefault("who", unquote(remembered) if isinstance(remembered, str) else "")
    st.session_state.setdefault("who_remembered", st.session_state["who"])
    with st.sidebar:
        st.text_input(
            "Your name",
            key="who",
            placeholder="signs your changes",
            help="Recorded with every change you save (audit trail); this browser remembers it.",
        )
        if st.session_state["who"] != st.session_state["who_remembered"]:
            _remember_who()
        if not st.session_state["who"].strip():
            st.caption("No name typed: changes you save are signed 'anonymous'.")
        st.caption(f"Store: {as_text(str(db_path()))}")
        # A failure here is said in the sidebar, and the page still runs.
        with connection(stop=False) as db:
            counts = store.counts(db)
            frames.read_revisions(db)  # this run's cache keys, on the connection open anyway
            st.caption(
                f"{counts['pipelines']:,} pipelines · {counts['deals']:,} deals · "
                f"{counts['leads']:,} leads"
            )
        if st.button("Reset demo data…", key="sidebar_reset"):
            _confirm_reset()
