"""User text is shown as text: HTML and script in names and notes never run, on any page.

A pipeline name, a decision's note and who agreed, a scenario name and the name that signs the
changes all carry a `<script>` and an `<img onerror>`; each page is opened in Chromium, and the
page must show those characters literally while no script of theirs runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Page

from funnel import store
from tests.e2e.conftest import AppServer
from tests.e2e.helpers import assert_no_exception, open_app, screenshot, settle

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


MD_IMAGE = "![x](http://127.0.0.1:9/md.png)"
MD_LINK = "[Your session expired: sign in again](http://evil.example/login)"
MARKDOWN = f"{MD_IMAGE} {MD_LINK} www.evil.example ann@evil.example"
# No element may come from the payload: an image fetched from it or a link to it.
FROM_MARKDOWN = "img[src*='md.png'], a[href*='evil.example']"


@pytest.fixture
def markdown_server(demo_path: Path) -> Iterator[AppServer]:
    with store.opened(demo_path) as db:
        store.rename_pipeline(db, 1, f"Pipe {MARKDOWN}", None, who=f"Mallory {MARKDOWN}")
        stages = store.stage_list(db, 1)
        renamed = [replace(stages[0], name=f"Stage {MARKDOWN}"), *stages[1:]]
        store.save_stages(db, 1, renamed, store.pipeline_version(db, 1), who="Mallory")
        version = store.latest_model_version(db)
        assert version is not None
        store.record_decision(db, 60, 50, version, "2026-11-23", f"Team {MARKDOWN}", MARKDOWN)
        store.save_scenario(db, f"Plan {MARKDOWN}", {}, who="Mallory")
    server = AppServer(demo_path)
    yield server
    server.stop()


def test_markdown_images_and_links_in_user_text_and_links_never_become_elements(
    markdown_server: AppServer, page: Page
) -> None:
    open_app(page, markdown_server.url)
    link = quote(MARKDOWN)
    for path in (
        "",
        "mql",
        "forecast",
        "data",
        "history",
        f"forecast?window={link}&deal_value=1e309",
        f"mql?F={link}",
        f"?pipeline={link}",
    ):
        page.goto(f"{markdown_server.url}/{path}")
        settle(page)
        screenshot(page, f"markdown-{path.split('?')[0] or 'stages'}")
        assert page.locator(FROM_MARKDOWN).count() == 0, path
        assert_no_exception(page)
    # The one prompt that names the pipeline: deleting one that still holds deals.
    page.goto(markdown_server.url)
    settle(page)
    page.get_by_text("New, rename or delete a pipeline").click()
    delete = page.locator(".st-key-stages_delete button")
    delete.wait_for(timeout=30_000)
    for _ in range(3):  # a click that lands while the page is still redrawing can be lost
        delete.click()
        settle(page)
        if page.get_by_role("dialog").count():
            break
    page.get_by_role("dialog").get_by_text("still holds").wait_for(timeout=60_000)
    screenshot(page, "markdown-delete-prompt")
    assert page.locator(FROM_MARKDOWN).count() == 0
