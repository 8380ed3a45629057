"""Killing the app mid-write (SIGKILL, no clean-up at all) leaves the store exactly as before.

A child process starts a real write (a stage save, a rule save, a leads import), says so when
it is inside the transaction with its rows already written, and sleeps; the test kills it
there. SQLite's write-ahead log must then drop the half-written transaction: the integrity check
passes, every row is as it was, and the store opens and takes writes normally.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from funnel import store
from funnel.models import Stage
from tests.conftest import APP, ROOT

# The child: open the store, start one write, and stall inside its transaction (after its
# statements ran, before COMMIT) by wrapping the writing module's `audit` or the import's progress
# callback.
CHILD = """
import sys, time
from datetime import date
from funnel import demo, store
from funnel.store import bulk, pipeline_writes, records
from funnel.models import Rule, Stage

path, operation = sys.argv[1], sys.argv[2]
db = store.connect(path)
# A tiny page cache makes SQLite spill the transaction's pages into the WAL before COMMIT, so
# the kill lands with half a transaction on disk, the case that matters.
db.execute("PRAGMA cache_size = 2")


def stall(*_args, **_kwargs):
    print("inside", flush=True)
    time.sleep(120)


if operation == "stages":
    real_audit = pipeline_writes.audit
    pipeline_writes.audit = lambda *a, **k: (real_audit(*a, **k), stall())
    first, *rest = store.stage_list(db, 1)
    kept = [Stage(s.name, 1.0, s.kind, s.rot_days, s.id) for s in rest]
    store.save_stages(db, 1, kept, store.pipeline_version(db, 1), {first.id: kept[0].name}, "crash")
elif operation == "rules":
    real_audit = records.audit
    records.audit = lambda *a, **k: (real_audit(*a, **k), stall())
    rules = [Rule("fit", "company_size", "at_least", float(n), 1.0, f"rule {n}") for n in range(5000)]
    store.save_model(db, rules, 30.0, store.latest_model_version(db), "crash")
elif operation == "import":
    # The import keeps its pages in a big cache; after the first part, shrink it so the
    # second part spills to disk, then stall once it is written.
    bulk.IMPORT_PART_ROWS = 20_000
    def progress(done, total):
        if done < total:
            db.execute("PRAGMA main.cache_size = 2")
        else:
            stall()

    leads = demo.make_leads(60_000, date(2026, 11, 23), seed=99)
    store.import_leads(db, leads, "crash", "big.csv", progress)
print("finished without being killed", flush=True)
"""


def _snapshot(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in rowid order."""
    conn = sqlite3.connect(path)
    try:
        tables = [
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        ]
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in tables}
    finally:
        conn.close()


def _kill_inside_write(path: Path, operation: str) -> int:
    """Run the child until it is inside its transaction, SIGKILL it, return the WAL's size then."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), operation],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line == "inside\n", (
            f"child did not reach its write: {line!r} {child.stderr.read() if child.stderr else ''}"
        )
        wal = Path(f"{path}-wal")
        wal_bytes = wal.stat().st_size if wal.exists() else 0
        other = sqlite3.connect(path, timeout=0)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")  # the child holds the write lock: mid-transaction
        other.close()
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
        for pipe in (child.stdout, child.stderr):
            if pipe is not None:
                pipe.close()
    assert child.returncode == -signal.SIGKILL
    return wal_bytes


@pytest.mark.parametrize("operation", ["stages", "rules", "import"])
def test_sigkill_inside_a_write_leaves_every_row_as_before(demo_path: Path, operation: str) -> None:
    before = _snapshot(demo_path)
    wal_bytes = _kill_inside_write(demo_path, operation)
    assert wal_bytes > 0, "the killed write never reached the disk, so this test proves nothing"

    conn = sqlite3.connect(demo_path)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.close()
    assert _snapshot(demo_path) == before


@pytest.mark.parametrize("operation", ["stages", "import"])
def test_store_opens_and_takes_writes_after_a_killed_write(demo_path: Path, operation: str) -> None:
    _kill_inside_write(demo_path, operation)
    with store.opened(demo_path) as db:
        revision = store.revision(db)
        assert store.counts(db)["leads"] == 3_000
        first, *rest = store.stage_list(db, 1)
        store.save_stages(
            db, 1, [Stage(first.name, 12.0, first.kind, first.rot_days, first.id), *rest], None
        )
        assert store.revision(db) == revision + 1
        assert store.stage_list(db, 1)[0].probability == 12.0


@pytest.mark.parametrize("page", ["pages/stages.py", "pages/history.py"])
def test_app_opens_normally_after_a_killed_import(app_env: Path, page: str) -> None:
    _kill_inside_write(app_env, "import")
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
