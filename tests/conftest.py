"""Fixtures shared by every test: stores on a tmp path, migrations applied.

`fresh_db` is an empty store; `demo_path` a small seeded demo store (same data every run);
`app_server` and `page` (in tests/e2e) serve the app and drive it in headless Chromium.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import weakref
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database
from streamlit import config as streamlit_config
from streamlit.testing.v1 import AppTest

from funnel import clock, demo, store
from funnel.store import connection as store_connection

ROOT = Path(__file__).resolve().parent.parent
# Every test runs on one pinned day, the day its demo store is built at, whatever the real date:
# AppTest reads it in this process, and the servers the browser tests start inherit it.
# `make test` runs the date-sensitive tests a second time with FUNNEL_TODAY set to far dates.
os.environ.setdefault(clock.ENV, "2026-11-23")
DEMO_TODAY = clock.today()
# A test that forgets to name its store gets a scratch one, never data/funnel.db or the store a
# developer's own FUNNEL_DB names: running the suite must not touch a user's data.
os.environ["FUNNEL_DB"] = str(Path(tempfile.mkdtemp(prefix="funnel-tests-")) / "unnamed.db")
# Users see no error details (.streamlit/config.toml); a failing test should show them all.
streamlit_config.get_config_options()
streamlit_config.set_option("client.showErrorDetails", "full")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "funnel.db"


@pytest.fixture
def fresh_db(db_path: Path) -> Iterator[Database]:
    db = store.connect(db_path)
    yield db
    db.close()


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo store built once per run; tests copy it rather than write to it."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    with store.opened(path) as db:
        demo.seed_store(db, leads=3_000, deals=600, today=DEMO_TODAY)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture
def demo_path(demo_template: Path, tmp_path: Path) -> Path:
    """A private copy of the demo store that a test may change freely."""
    path = tmp_path / "demo.db"
    copy_store(demo_template, path)
    return path


def copy_store(source: Path, dest: Path) -> None:
    """Copy a store through SQLite's backup API: this process keeps connections open on the
    template (`store.connection._keep_open`), and reading its file with Python would drop their locks."""
    src, target = sqlite3.connect(source), sqlite3.connect(dest)
    try:
        src.backup(target)
    finally:
        target.close()
        src.close()


@pytest.fixture
def app_env(demo_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the app (AppTest runs in this process) at a private demo store."""
    monkeypatch.setenv("FUNNEL_DB", str(demo_path))
    monkeypatch.chdir(ROOT)
    return demo_path


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


APP = str(ROOT / "app.py")


# --- opening a page through AppTest: one way for every page test ---------------------------------


def open_page(
    page: str,
    params: Mapping[str, str] | None = None,
    who: str = "",
    shown: list[str] | None = None,
) -> AppTest:
    """`page` opened from the entry point as a user following a link would: `params` in the
    address bar, `who` already typed in the sidebar, no exception on the way.

    `shown` collects the text of every error drawn on the way, the first run's sidebar
    included (AppTest drops the sidebar from its tree after the first run).
    """
    at = AppTest.from_file(APP, default_timeout=120)
    if who:
        at.session_state["who"] = who  # the sidebar's "Your name" box reads this key
    at.run()
    assert not at.exception, at.exception
    if shown is not None:
        shown += [e.value for e in at.error] + [e.value for e in at.sidebar.error]
    for key, value in (params or {}).items():
        at.query_params[key] = value
    at.switch_page(page).run()
    assert not at.exception, at.exception
    if shown is not None:
        shown += [e.value for e in at.error]
    return at


# --- every store a test opens is closed at its end ----------------------------------------------


class _TrackedConnection(sqlite3.Connection):
    """A sqlite3 connection that can be tracked weakly (the C type takes no weak references)."""


@pytest.fixture(autouse=True)
def closes_every_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Close, at the end of each test, every SQLite connection it opened and left open (its
    stores, the in-memory ones, the Database objects of sqlite-utils), so that no test leaves a
    file handle or a WAL lock to the next one.

    The connections `store.connection` keeps open for the life of the process (one per store
    file, see `_keep_open`) are left alone: closing one would drop this process's locks.
    """
    opened: weakref.WeakSet[sqlite3.Connection] = weakref.WeakSet()
    connect = sqlite3.connect

    def tracked(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        kwargs.setdefault("factory", _TrackedConnection)
        conn = connect(*args, **kwargs)
        opened.add(conn)
        return conn

    monkeypatch.setattr(sqlite3, "connect", tracked)
    yield
    kept = {id(conn) for conn in store_connection._kept.values()}
    for conn in list(opened):
        if id(conn) in kept:
            continue
        # One opened on another thread (an AppTest script run) refuses to be closed from this
        # one; the garbage collector closes it.
        with contextlib.suppress(sqlite3.ProgrammingError):
            conn.close()
