"""1. Loading every lead from the store into a frame, three readers side by side.

Ours is `store.leads` (ADBC's Arrow reader, then typed per `LEAD_FIELDS`). Beside it the raw
ADBC read (`store.read_frame`, untyped), a plain `sqlite3` cursor fed to Polars, and the usual
way, `pandas.read_sql` with the dates parsed, so the table shows where the time goes.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import polars as pl

from benchmarks.harness import Bench, Figure, Timing
from funnel import store
from funnel.models import LEAD_FIELDS

DATE_COLUMNS = [f.name for f in LEAD_FIELDS if f.dtype == "date"]
LEADS_SQL = f"SELECT id, {', '.join(f.name for f in LEAD_FIELDS)} FROM leads ORDER BY id"


def ours(path: Path) -> pl.DataFrame:
    with store.opened(path) as db:
        return store.leads(db)


def adbc_raw(path: Path) -> pl.DataFrame:
    with store.opened(path) as db:
        return store.read_frame(db, LEADS_SQL)


def sqlite_cursor(path: Path) -> pl.DataFrame:
    conn = sqlite3.connect(path)
    try:
        cur = conn.execute(LEADS_SQL)
        names = [d[0] for d in cur.description]
        return pl.DataFrame(cur.fetchall(), schema=names, orient="row", infer_schema_length=None)
    finally:
        conn.close()


def usual_way(path: Path) -> pd.DataFrame:
    """What a typical Streamlit app does on every rerun: `pd.read_sql`, dates parsed."""
    conn = sqlite3.connect(path)
    try:
        return pd.read_sql(LEADS_SQL, conn, parse_dates=DATE_COLUMNS)
    finally:
        conn.close()


def measure(bench: Bench) -> list[Figure]:
    big = bench.largest
    bench.log(f"load: pandas.read_sql at {big:,}")
    usual = bench.median_time(lambda: usual_way(bench.store(big)), runs=3)
    figures = []
    for name, reader, target, min_ratio in (
        ("1. load leads into a frame (store.leads)", ours, 0.6, 3.0),
        ("1a. load, raw ADBC (store.read_frame, untyped)", adbc_raw, None, None),
        ("1b. load, sqlite3 cursor into Polars", sqlite_cursor, None, None),
    ):
        values: dict[int, Timing | None] = {}
        for size in bench.sizes:
            bench.log(f"load: {name} at {size:,}")
            path = bench.store(size)
            values[size] = bench.median_time(lambda p=path, r=reader: r(p))
        figures.append(
            Figure.timed(
                name,
                values,
                target=target,
                usual=usual,
                usual_how="pandas.read_sql",
                min_ratio=min_ratio,
            )
        )
    return figures
