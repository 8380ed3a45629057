"""Every page runs from the entry point without an exception (AppTest)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import APP

PAGES = ["pages/stages.py", "pages/mql.py", "pages/forecast.py", "pages/data.py", "pages/history.py"]


@pytest.mark.parametrize("page", PAGES)
def test_page_runs_without_exception(app_env: Path, page: str) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
