"""The MQL threshold page, driven through AppTest from the entry point."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from funnel import store

SCORED_SCRIPT = """
import ui
scored = ui.scored_leads()
again = ui.scored_leads()
import streamlit as st
nulls = scored["fit"].null_count() + scored["interest"].null_count()
st.text(f"{scored.height} {nulls} {scored is again}")
"""


def test_scored_leads_scores_every_lead_once_per_model_version(app_env: Path) -> None:
    at = AppTest.from_string(SCORED_SCRIPT, default_timeout=60).run()
    assert not at.exception, at.exception
    with store.opened(app_env) as db:
        n = store.lead_count(db)
    assert at.text[0].value == f"{n} 0 True"
