"""A store that fails (read-only, a table dropped by another program): every page says what
went wrong and what to do, and no traceback ever reaches it."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from funnel import store
from tests.conftest import APP, ROOT, open_page
from tests.test_pages import PAGES


def _drop(path: Path, table: str) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute(f"DROP TABLE {table}")
        conn.commit()
    finally:
        conn.close()


@pytest.fixture
def read_only(app_env: Path) -> Iterator[Path]:
    """The store file made read-only; as root, whom file modes do not stop, made immutable."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(app_env)], check=True)
    else:
        app_env.chmod(0o444)
    yield app_env
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(app_env)], check=True)
    app_env.chmod(0o644)


CASES = [
    *((table, page) for table in ("leads", "pipelines") for page in PAGES),
    ("audit", "pages/history.py"),
    ("scenarios", "pages/forecast.py"),
    ("decisions", "pages/mql.py"),
]


@pytest.mark.parametrize(("table", "page"), CASES)
def test_a_table_dropped_while_the_app_runs_is_named_on_the_page_without_a_traceback(
    app_env: Path, table: str, page: str
) -> None:
    open_page(page)  # the app opened (and checked) the store before another program changed it
    _drop(app_env, table)
    shown: list[str] = []
    at = open_page(page, shown=shown)
    errors = " ".join(shown).replace("\\", "")
    assert not at.exception, at.exception
    assert f"has no table '{table}'" in errors, errors
    assert "restore a backup" in errors


def test_a_save_on_a_read_only_store_says_so_without_a_traceback(read_only: Path) -> None:
    with store.opened(read_only) as db:
        before = store.revision(db)
    at = open_page("pages/forecast.py")
    assert not at.exception, at.exception
    at.text_input(key="forecast_scenario_name").set_value("Q1 push").run()
    at.button(key="forecast_save").click().run()
    assert not at.exception, at.exception
    errors = " ".join(e.value for e in at.error).replace("\\", "")
    assert "is read-only, so nothing can be saved: make the file and its folder writable" in errors
    with store.opened(read_only) as db:
        assert store.revision(db) == before
        assert store.scenarios(db).is_empty()


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens_on_a_read_only_store(read_only: Path, page: str) -> None:
    shown: list[str] = []
    at = open_page(page, shown=shown)
    errors = " ".join(shown).replace("\\", "")
    assert not at.exception, at.exception
    assert errors == ""


@pytest.mark.parametrize("page", PAGES)
def test_a_store_changed_while_the_app_was_stopped_is_refused_at_open(app_env: Path, page: str) -> None:
    conn = sqlite3.connect(app_env)
    before = conn.execute("SELECT count(*) FROM audit").fetchone()[0]
    conn.execute("CREATE TRIGGER wipe AFTER INSERT ON audit BEGIN DELETE FROM decisions; END")
    conn.commit()
    conn.close()
    shown: list[str] = []
    at = open_page(page, shown=shown)
    errors = " ".join(shown).replace("\\", "")
    assert not at.exception, at.exception
    assert "is not a sound funnel store: it holds a trigger 'wipe' that funnel never creates" in errors
    conn = sqlite3.connect(app_env)  # refused before any write: nothing ran, nothing was changed
    try:
        assert conn.execute("SELECT count(*) FROM audit").fetchone() == (before,)
    finally:
        conn.close()


# A full disk, without mounting one: the child lowers its own file-size limit (RLIMIT_FSIZE,
# whose signal Python ignores) once the page is open, so SQLite's next WAL append fails as on
# a full disk ("database or disk is full").
FULL_DISK_CHILD = """
import json, resource, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=60)
at.run()
at.switch_page("pages/forecast.py").run()
at.text_input(key="forecast_scenario_name").set_value("Q1 push").run()
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))
at.button(key="forecast_save").click().run()
print(json.dumps({"exceptions": len(at.exception), "errors": [e.value for e in at.error]}))
"""


def test_a_save_on_a_full_disk_says_so_without_a_traceback(app_env: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", FULL_DISK_CHILD, APP],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
        env={**os.environ, "FUNNEL_DB": str(app_env)},
    )
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen["exceptions"] == 0, done.stderr[-3000:]
    errors = " ".join(seen["errors"]).replace("\\", "")
    # A file-size limit fails the write with EFBIG, which SQLite reports as an I/O error; a
    # real full disk (ENOSPC) reads "database or disk is full": both tell the user the same.
    assert "is the disk full or failing?): free some space or check the disk" in errors, errors
    assert errors.endswith("Nothing was saved.")
    conn = sqlite3.connect(app_env)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("SELECT count(*) FROM scenarios").fetchone() == (0,)
    finally:
        conn.close()
