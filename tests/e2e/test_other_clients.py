"""The CLI and a bare sqlite3 beside the running app: every page keeps working, nothing is lost.

SQLite's locks are POSIX locks, held per process: a descriptor on the store opened and closed
outside SQLite (a Python `open()` of the header) drops every lock the app holds, and the next
client that closes its connection then believes it is the last one, checkpoints and deletes the
WAL under the app (sqlite.org/howtocorrupt.html 2.2). So this test runs every command a user may
run beside the app, in turns with the app's own writes from a browser, and after each turn looks
at what the server holds (`/proc/<pid>/fd`, `/proc/locks`).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import ROOT, AppServer
from tests.e2e.helpers import assert_no_exception, settle

pytestmark = pytest.mark.browser

ROUNDS = 5
PAGES = ("", "mql", "forecast", "data", "history")


def _cli(*argv: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "funnel", *argv],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{argv}: {done.stderr}"


def _sqlite3(db: Path, sql: str) -> str:
    done = subprocess.run(
        ["sqlite3", "-bail", str(db), sql], check=False, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, f"sqlite3 {sql!r}: {done.stderr}"
    return done.stdout.strip()


def _deleted_store_files(pid: int, db: Path) -> list[str]:
    """The store's files the server still holds open although they were deleted."""
    held = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith(str(db)) and target.endswith("(deleted)"):
            held.append(target)
    return held


def _locks_on(pid: int, path: Path) -> list[str]:
    """The POSIX locks `pid` holds on `path`, from /proc/locks (`... PID MAJ:MIN:INODE ...`)."""
    inode = path.stat().st_ino
    lines = Path("/proc/locks").read_text().splitlines()
    return [
        line
        for line in lines
        if len(fields := line.split()) > 5
        and fields[4] == str(pid)
        and fields[5].split(":")[-1] == str(inode)
    ]


def _save_scenario(page: Page, name: str) -> None:
    page.get_by_label("Scenario name").fill(name)
    page.get_by_role("button", name="Save scenario").click()
    page.get_by_text(f"Saved scenario '{name}'").wait_for(timeout=30_000)
    settle(page)


def test_cli_and_sqlite3_beside_the_running_app_break_nothing(
    app_server: AppServer, page: Page, demo_path: Path, tmp_path: Path
) -> None:
    pid = app_server.proc.pid
    page.goto(f"{app_server.url}/forecast")
    page.get_by_role("tab", name="Scenarios").click(timeout=60_000)
    page.get_by_role("button", name="Save scenario").wait_for(timeout=60_000)
    settle(page)
    assert _locks_on(pid, demo_path), "the app holds no lock on its store after a page load"
    for i in range(ROUNDS):
        leads = tmp_path / f"leads{i}.csv"
        leads.write_text(f"Lead ID,Create Date,Employees\nCLI-{i},2026-01-02,{10 + i}\n")
        _cli("export", "all", "--db", str(demo_path), "--out", str(tmp_path / f"export{i}"))
        _cli("backup", str(tmp_path / f"backup{i}.db"), "--db", str(demo_path))
        _cli("import", str(leads), "--kind", "leads", "--db", str(demo_path))
        assert _sqlite3(demo_path, "SELECT count(*) FROM pipelines") == "5"
        _sqlite3(
            demo_path,
            "INSERT INTO scenarios (name, params, created_at) "
            f"VALUES ('sqlite3 {i}', '{{}}', '2026-01-01T00:00:00')",
        )
        _save_scenario(page, f"browser {i}")
        assert _deleted_store_files(pid, demo_path) == [], f"round {i}"
        assert _locks_on(pid, demo_path), f"round {i}: the app lost its lock on the store"
        assert_no_exception(page)

    for name in PAGES:
        page.goto(f"{app_server.url}/{name}")
        page.locator("[data-testid='stSidebar']").get_by_role("link", name="History").wait_for(
            timeout=60_000
        )
        settle(page)
        assert_no_exception(page)
        assert page.get_by_text("disk I/O error").count() == 0, name

    conn = sqlite3.connect(demo_path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        names = {r[0] for r in conn.execute("SELECT name FROM scenarios")}
        assert {f"browser {i}" for i in range(ROUNDS)} | {f"sqlite3 {i}" for i in range(ROUNDS)} <= names
        imported = conn.execute("SELECT count(*) FROM leads WHERE external_id LIKE 'CLI-%'").fetchone()
        assert imported == (ROUNDS,)
    finally:
        conn.close()
    for i in range(ROUNDS):
        backup = sqlite3.connect(tmp_path / f"backup{i}.db")
        assert backup.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        backup.close()
