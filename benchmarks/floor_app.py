"""The MQL page's elements with nothing computed: what Streamlit's own frontend needs on this
machine to show them, the floor under the browser rows' first opens (B1f).

The same sidebar, title, pickers, filters, sliders and six metrics as pages/mql.py, then its
three charts, its forms and its three tables, each on a handful of constant rows: no store, no
cache, no scoring. Run by benchmarks/browser.py as `streamlit run benchmarks/floor_app.py`.
"""

from datetime import date

import altair as alt
import polars as pl
import streamlit as st

st.set_page_config(page_title="floor", layout="wide")
with st.sidebar:
    for title in ("Stages & probabilities", "MQL threshold", "Funnel & forecast", "Data", "History"):
        st.button(title, type="tertiary")
    st.divider()
    st.text_input("Your name")
    st.caption("Store: bench-data/leads_1000000.db")
    st.caption("5 pipelines · 30,000 deals · 1,000,000 leads")
    st.button("Reset demo data")

st.title("MQL threshold")
st.selectbox("Scoring model version", ["v1"])
st.caption("**MQL = fit ≥ F and interest ≥ I** (both inclusive).")
for column, label in zip(st.columns(3), ("Lead source", "Owner"), strict=False):
    column.multiselect(label, ["Webinar", "Paid search"])
st.columns(3)[2].date_input("Created between", (date(2025, 1, 1), date(2026, 11, 23)))
fit, interest = st.columns(2)
fit.slider("Fit cutoff F", 0, 100, 50)
interest.slider("Interest cutoff I", 0, 100, 50)
labels = ("MQLs", "Conversion in MQLs", "Conversions kept", "Lift", "Conversions lost", "SALs")
for column, label in zip(st.columns(3) + st.columns(3), labels, strict=True):
    column.metric(label, "123,456", "of 775,303", delta_color="off", delta_arrow="off", help="-")
st.caption("Back-test on the 775,303 scored leads with a known outcome.")

points = pl.DataFrame({"fit": [10.0, 40.0, 70.0, 90.0], "interest": [20.0, 60.0, 30.0, 80.0]})
dots = alt.Chart(points).mark_circle().encode(x="fit:Q", y="interest:Q")
st.altair_chart(dots)
st.altair_chart(alt.Chart(points).mark_line().encode(x="fit:Q", y="interest:Q"))
st.subheader("Capacity")
reps, per_rep = st.columns(2)
reps.number_input("Sales reps", 1, 500, 4)
per_rep.number_input("Leads a rep can work per week", 1, 1000, 10)
st.warning("This cutoff would have sent more MQLs than sales can work.")
st.altair_chart(alt.Chart(points).mark_bar().encode(x="fit:Q", y="interest:Q"))
st.button("Move the sliders there")
st.expander("Suggest points: learned from the leads' outcomes")
st.subheader("Sales acceptance (SAL)")
with st.form("sal"):
    st.selectbox("MQL", ["Lead 1"])
    for column, label in zip(st.columns(4), ("Budget", "Authority", "Need", "Timeline"), strict=True):
        column.checkbox(label)
    st.form_submit_button("Accept (SAL)")
st.subheader("Record the agreed cutoff")
with st.form("decision"):
    st.date_input("Date", date(2026, 11, 23))
    st.text_input("Note")
    st.form_submit_button("Record F = 50, I = 50, model v1")
st.subheader("Scoring model")
st.number_input("Interest half-life (days, 0 = no decay)", 0, 3650, 30)
st.dataframe(points)
st.subheader("Why does a lead score what it scores?")
st.number_input("Lead id", 1, 1_000_000, 1)
st.dataframe(points)
st.dataframe(points)
