"""1. Loading every lead from the store into a frame, readers side by side.

Ours is `store.leads` as the app calls it: from the leads' columnar copy beside the store when
it is current (as on the benchmark stores after their first read), else ADBC's Arrow reader,
typed per `LEAD_FIELDS`. Beside it the raw ADBC read (`store.read_frame`, untyped), a plain
`sqlite3` cursor fed to Polars, the usual way, `pandas.read_sql` with the dates parsed, and
the physical anchor: the same columns read back from a Parquet file (1p), which ours should
stay within twice of (1c).
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


def parquet_of(path: Path) -> Path:
    """The store's leads as a Parquet file beside it (written once), for the bare read."""
    parquet = path.with_name(f"{path.name}.leads.parquet")
    if not parquet.exists():
        ours(path).write_parquet(parquet)
    return parquet


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
    loads: dict[int, Timing | None] = {}
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
        if reader is ours:
            loads = values
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
    anchor: dict[int, Timing | None] = {}
    for size in bench.sizes:
        bench.log(f"load: a bare Parquet read at {size:,}")
        parquet = parquet_of(bench.store(size))
        anchor[size] = bench.median_time(lambda p=parquet: pl.read_parquet(p))
    figures.append(Figure.timed("1p. the same columns read from Parquet (the anchor)", anchor))
    if (at_big := anchor[big]) is not None:  # ours within twice the anchor's time
        figures.append(
            Figure.timed(
                "1c. store.leads against the bare Parquet read (≤ 2x its time)",
                loads,
                target=2 * at_big.wall,
                usual=at_big,
                usual_how="pl.read_parquet",
            )
        )
    return figures
