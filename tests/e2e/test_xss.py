"""User text is shown as text: HTML and script in names and notes never run, on any page.

A pipeline name, a decision's note and who agreed, a scenario name and the name that signs the
changes all carry a `<script>` and an `<img onerror>`; each page is opened in Chromium, and the
page must show those characters literally while no script of theirs runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from funnel import store
from tests.e2e.conftest import AppServer, assert_no_exception, screenshot
from tests.e2e.waits import open_app, settle

pytestmark = pytest.mark.browser

IMG = '<img src=x onerror="window.__xss=1;alert(1)">'
SCRIPT = "<script>window.__xss=2;alert(2)</script>"
PAYLOAD = f"{IMG}{SCRIPT}"

# Each page's URL path (Stages is the default page, at the root), and a piece of the hostile
# text it shows (as text) once it has loaded.
PAGES = {
    "": f"Evil {IMG}",
    "mql": f"Team {IMG}",
    "forecast": f"Team {IMG}",
    "data": None,
    "history": f"-> 'Evil {PAYLOAD}'",
}


# True once `text` is on the page as characters: in a text node (tables included, through the
# grid's accessible cells) or as the value of a select box's input.
SHOWN_AS_TEXT = """text => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.textContent.includes(text)) return true;
  }
  return [...document.querySelectorAll("input")].some(i => i.value.includes(text));
}"""


@pytest.fixture
def hostile_server(demo_path: Path) -> Iterator[AppServer]:
    with store.opened(demo_path) as db:
        mallory = f"Mallory {PAYLOAD}"
        store.rename_pipeline(db, 1, f"Evil {PAYLOAD}", None, who=mallory)
        version = store.latest_model_version(db)
        assert version is not None
        store.record_decision(
            db, 60, 50, version, "2026-11-23", f"Team {PAYLOAD}", f"note {PAYLOAD}", who=mallory
        )
        store.save_scenario(db, f"Plan {PAYLOAD}", {}, who=mallory)
    server = AppServer(demo_path)
    yield server
    server.stop()


def test_script_and_onerror_in_user_text_never_run_and_show_literally(
    hostile_server: AppServer, page: Page
) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_app(page, hostile_server.url)
    for name, shown in PAGES.items():
        page.goto(f"{hostile_server.url}/{name}")
        settle(page)
        if shown is not None:
            page.wait_for_function(SHOWN_AS_TEXT, arg=shown, timeout=30_000)
        page.wait_for_timeout(500)  # give any injected handler the time to fire
        screenshot(page, f"xss-{name or 'stages'}")
        assert page.get_by_text("Page not found").count() == 0, name
        assert page.evaluate("window.__xss") is None, f"injected script ran on {name}"
        assert page.locator("img[src='x'], script:has-text('__xss')").count() == 0, name
        assert_no_exception(page)
    assert dialogs == []
