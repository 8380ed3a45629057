"""5. Importing a leads CSV of each size into an empty store.

The CSV is written once from the demo store (every lead field, our column names, ISO dates) and
kept in `bench-data/`. Ours is the whole import as the CLI runs it (`importers.import_path`:
the file read in bounded steps, detect, map, validate every cell, one all-or-nothing write);
5a is the peak resident memory of `python -m funnel import` doing it, in a child process. The
usual way is `pandas.read_csv` then `DataFrame.to_sql` into the same table, with no validation
at all (what it skips is part of what ours pays for), measured up to a million rows: past that
pandas alone needs more memory than the machine shares out.

A file past the importer's limits (`importers.LIMITS`: 10,000,000 rows, 2,048 MB) is refused
by the product, on purpose: the limits bound what one import may cost. The ten-million-lead
CSV (1.9 GB) is within them; a larger size given by count is measured with the limits raised
for that measurement only, and the row says so.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from benchmarks.harness import Bench, Figure, Run, Timing, run_child
from funnel import importers, store
from funnel.importers import read, table
from funnel.models import LEAD_FIELDS

TARGET_S = 15.0
USUAL_WAY_MAX_ROWS = 1_000_000
RAISED_ROWS = 20_000_000
RAISED_FILE_MB = 8_192
RAISED_NOTE = f"past {importers.MAX_ROWS:,} rows, measured with the importer's limits raised"
CHILD = f"""
import sys
from funnel import cli
from funnel.importers import read, table
if sys.argv[1] == "raised":
    table.MAX_ROWS, read.MAX_FILE_MB = {RAISED_ROWS}, {RAISED_FILE_MB}
sys.exit(cli.main(sys.argv[2:]))
"""


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


def past_limits(rows: int) -> bool:
    """Whether the product refuses a leads CSV of `rows` rows (or ~200 bytes a row)."""
    return rows > importers.MAX_ROWS or rows * 200 > importers.MAX_FILE_MB * importers.MB


@contextmanager
def limits_raised(rows: int) -> Iterator[None]:
    """The importer's row and file-size limits raised while a file past them is measured."""
    if not past_limits(rows):
        yield
        return
    kept = table.MAX_ROWS, read.MAX_FILE_MB
    table.MAX_ROWS, read.MAX_FILE_MB = RAISED_ROWS, RAISED_FILE_MB
    try:
        yield
    finally:
        table.MAX_ROWS, read.MAX_FILE_MB = kept


def ours(bench: Bench, csv: Path, rows: int) -> int:
    target = _empty_store(bench)
    with store.opened(target) as db, limits_raised(rows):
        report = importers.import_path(db, csv, "leads")
        if not report.committed:
            raise RuntimeError(f"the benchmark CSV was rejected:\n{report.text()}")
        return store.lead_count(db)


def in_child(bench: Bench, csv: Path, rows: int) -> Run:
    """`python -m funnel import --kind leads CSV` into an empty store, in a child process."""
    target = _empty_store(bench)
    limits = "raised" if past_limits(rows) else "kept"
    return run_child(
        [sys.executable, "-c", CHILD, limits, "import", "--kind", "leads", str(csv), "--db", str(target)]
    )


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
    peaks: dict[int, float | None] = {}
    usual = None
    for size in bench.sizes:
        csv = leads_csv(bench, size)
        bench.log(f"imports: {size:,}-row CSV")
        values[size] = bench.median_time(lambda c=csv, s=size: ours(bench, c, s))
        peaks[size] = float(in_child(bench, csv, size).peak_rss)
        if size == bench.largest and size <= USUAL_WAY_MAX_ROWS:
            bench.log(f"imports: pandas read_csv + to_sql at {size:,}")
            usual = bench.median_time(lambda c=csv: usual_way(bench, c))
    _empty_store(bench).unlink()
    raised = any(past_limits(s) for s in bench.sizes)
    return [
        Figure.timed(
            "5. import a leads CSV (validated, all or nothing)",
            values,
            target=TARGET_S,
            usual=usual,
            usual_how="pandas read_csv + to_sql, unchecked",
            note=RAISED_NOTE if raised else "",
        ),
        Figure(
            "5a. peak RSS of python -m funnel import of that CSV",
            "bytes",
            peaks,
            note=RAISED_NOTE if raised else "",
        ),
    ]
