"""Every page runs from the entry point without an exception (AppTest)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import ui
from funnel import store
from tests.conftest import APP, ROOT, open_page

pytestmark = pytest.mark.dates

PAGES = ["pages/stages.py", "pages/mql.py", "pages/forecast.py", "pages/data.py", "pages/history.py"]


@pytest.mark.parametrize("page", PAGES)
def test_a_page_stays_about_layout(page: str) -> None:
    """A page lays its sections out; past 150 lines, what it holds belongs in its views/ module
    (plain data) or a ui/ module named for the section."""
    assert len((ROOT / page).read_text().splitlines()) <= 150


@pytest.mark.parametrize("page", PAGES)
def test_page_runs_without_exception(app_env: Path, page: str) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception


@pytest.mark.parametrize("page", PAGES)
def test_a_file_that_is_not_a_store_is_named_and_left_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, page: str
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("Call Anna about Q3\n")
    monkeypatch.setenv("FUNNEL_DB", str(notes))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [
        ui.as_text(f"{notes} is not a SQLite file, so not a funnel store; left untouched.")
    ]
    assert notes.read_text() == "Call Anna about Q3\n"


# Store connections a warm rerun of each page opens (AppTest reruns the page script alone): the
# page's own reads and writes' checks; the cache keys cost at most one, the revisions read once
# per run. Before ui/frames.py read them once, the MQL page opened 13.
WARM_CONNECTIONS = {
    "pages/stages.py": 2,
    "pages/mql.py": 4,
    "pages/forecast.py": 3,
    "pages/data.py": 2,
    "pages/history.py": 3,
}


@pytest.mark.parametrize(("page", "most"), WARM_CONNECTIONS.items())
def test_a_warm_rerun_reads_the_revisions_once(
    app_env: Path, monkeypatch: pytest.MonkeyPatch, page: str, most: int
) -> None:
    at = open_page(page)
    at.run()  # every cache is warm now
    opened: list[object] = []
    connect = store.connect
    monkeypatch.setattr(store, "connect", lambda path: opened.append(path) or connect(path))
    at.run()
    assert not at.exception, at.exception
    assert len(opened) <= most, opened
