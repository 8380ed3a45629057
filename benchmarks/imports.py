"""5. Importing a leads CSV of 100,000 and 1,000,000 rows into an empty store.

The CSV is written once from the demo store (every lead field, our column names, ISO dates) and
kept in `bench-data/`. Ours is the whole import as the page and the CLI run it
(`importers.import_bytes`: read, detect, map, validate every cell, one all-or-nothing write).
The usual way is `pandas.read_csv` then `DataFrame.to_sql` into the same table, with no
validation at all: what it skips is part of what ours pays for.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd

from benchmarks.harness import Bench, Figure, Timing
from funnel import importers, store
from funnel.models import LEAD_FIELDS

TARGET_S = 15.0


def leads_csv(bench: Bench, size: int) -> Path:
    """The leads of the `size` store as a CSV file, written on first use."""
    path = bench.data_dir / f"leads_{size}.csv"
    if not path.exists():
        bench.log(f"imports: writing {path}, once")
        with store.opened(bench.store(size)) as db:
            store.leads(db).drop("id").write_csv(path.with_suffix(".partial.csv"))
        path.with_suffix(".partial.csv").rename(path)
    return path


def _empty_store(bench: Bench) -> Path:
    path = bench.data_dir / "import_target.db"
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    store.connect(path).close()
    return path


def ours(bench: Bench, csv: Path) -> int:
    target = _empty_store(bench)
    with store.opened(target) as db:
        report = importers.import_bytes(db, csv.read_bytes(), "leads", csv.name)
        if not report.committed:
            raise RuntimeError(f"the benchmark CSV was rejected:\n{report.text()}")
        return store.lead_count(db)


def usual_way(bench: Bench, csv: Path) -> int:
    """`pd.read_csv` + `to_sql`: what a typical app does, checking nothing."""
    target = _empty_store(bench)
    frame = pd.read_csv(csv, usecols=[f.name for f in LEAD_FIELDS])
    conn = sqlite3.connect(target)
    try:
        frame.to_sql("leads", conn, if_exists="append", index=False, chunksize=50_000)
        conn.commit()
    finally:
        conn.close()
    return len(frame)


def measure(bench: Bench) -> list[Figure]:
    values: dict[int, Timing | None] = {}
    usual = None
    for size in bench.sizes:
        csv = leads_csv(bench, size)
        bench.log(f"imports: {size:,}-row CSV")
        values[size] = bench.median_time(lambda c=csv: ours(bench, c))
        if size == bench.largest:
            bench.log(f"imports: pandas read_csv + to_sql at {size:,}")
            usual = bench.median_time(lambda c=csv: usual_way(bench, c))
    _empty_store(bench).unlink()
    return [
        Figure.timed(
            "5. import a leads CSV (validated, all or nothing)",
            values,
            target=TARGET_S,
            usual=usual,
            usual_how="pandas read_csv + to_sql, unchecked",
        )
    ]
