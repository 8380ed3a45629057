"""Router: st.navigation over the pages, the shared sidebar, session defaults."""

from pathlib import Path

import streamlit as st

import ui
from funnel import store

# A file beside the app, served by this server: a Material icon as page icon made the browser
# fetch it from fonts.gstatic.com, which fails offline (a demo on a train, a locked-down LAN).
FAVICON = Path(__file__).parent / "assets" / "favicon.png"
st.set_page_config(page_title="funnel", page_icon=str(FAVICON), layout="wide")

PAGES = [
    st.Page(
        "pages/stages.py", title="Stages & probabilities", icon=":material/view_week:", default=True
    ),
    st.Page("pages/mql.py", title="MQL threshold", icon=":material/scatter_plot:"),
    st.Page("pages/forecast.py", title="Funnel & forecast", icon=":material/trending_up:"),
    st.Page("pages/data.py", title="Data", icon=":material/database:"),
    st.Page("pages/history.py", title="History", icon=":material/history:"),
]

# Drawn by hand (with the legacy list switched off in .streamlit/config.toml) so a user only
# ever sees these titles, never the pages/ file names while the app first loads.
page = st.navigation(PAGES, position="hidden")
with st.sidebar:
    for p in PAGES:
        st.page_link(p)
    st.divider()
ui.sidebar()
with ui.failures_explained():
    try:
        ui.run_page(page)
    except store.StoreError as error:  # it says what is wrong and where: a sentence, not a traceback
        ui.show_error(error)
