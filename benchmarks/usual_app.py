"""The MQL page the usual way, for the browser rows' ratios: what a typical Streamlit app does.

Every rerun reads the whole leads table with pandas `read_sql`, scores it (with funnel's own
rule scoring, so the figures match ours and only the way around them differs), computes the
figures with pandas masks and draws one scatter of the leads, capped at what a browser survives.
No cache, no fragment; a lead-source filter and a sales answer (Accept) as on our page, the
answer written with a plain UPDATE. Run by benchmarks/browser.py as
`streamlit run benchmarks/usual_app.py`.
"""

import os
import sqlite3

import altair as alt
import pandas as pd
import polars as pl
import streamlit as st

from funnel import clock, scoring, store
from funnel.models import LEAD_FIELDS

# A scatter of more points than this stalls the browser at a million leads.
POINTS = 20_000

path = os.environ["FUNNEL_DB"]
conn = sqlite3.connect(path)
raw = pd.read_sql("SELECT * FROM leads", conn)
version = conn.execute("SELECT max(version) FROM scoring_models").fetchone()[0]
conn.close()
with store.opened(path) as db:
    rules, half_life = store.rules(db, version), store.half_life(db, version)
dates = [f.name for f in LEAD_FIELDS if f.dtype == "date"]
leads = pl.from_pandas(raw).with_columns(pl.col(dates).cast(pl.String).str.to_date(strict=False))
df = scoring.score_leads(leads, rules, half_life, clock.today()).to_pandas()

st.title("MQL threshold (usual way)")
sources = st.multiselect("Lead source", sorted(df["source"].dropna().unique()), key="source")
if sources:
    df = df[df["source"].isin(sources)]
fit = st.slider("Fit cutoff F", 0, 100, 50, key="fit")
interest = st.slider("Interest cutoff I", 0, 100, 50, key="interest")
mql = (df["fit"] >= fit) & (df["interest"] >= interest)
known = df["outcome"].isin(["converted", "lost"])
converted = df["outcome"] == "converted"
left, middle, right, far = st.columns(4)
left.metric("MQLs", f"{int(mql.sum()):,}")
middle.metric("Conversion in MQLs", f"{(converted & mql).sum() / max((known & mql).sum(), 1):.1%}")
right.metric("Conversions kept", f"{(converted & mql).sum() / max(converted.sum(), 1):.1%}")
far.metric("SALs", f"{int((df['sal_status'] == 'accepted').sum()):,}")
shown = df.head(POINTS).assign(mql=mql.head(POINTS))
st.altair_chart(alt.Chart(shown).mark_circle(size=8).encode(x="fit", y="interest", color="mql"))
waiting = df[mql & df["sal_status"].isna()]
if not waiting.empty and st.button("Accept (SAL)", key="accept"):
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "UPDATE leads SET sal_status = 'accepted' WHERE id = ?", [int(waiting["id"].iloc[0])]
        )
    conn.close()
    st.rerun()
