"""Every page runs from the entry point without an exception (AppTest)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import ui
from tests.conftest import APP, ROOT

pytestmark = pytest.mark.dates

PAGES = ["pages/stages.py", "pages/mql.py", "pages/forecast.py", "pages/data.py", "pages/history.py"]


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
