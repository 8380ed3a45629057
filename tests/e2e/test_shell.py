"""The app shell as a user sees it: the real navigation, never the pages/ file names."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import AppServer, assert_no_exception, screenshot, wait_for_app
from tests.e2e.waits import open_app, settle

pytestmark = pytest.mark.browser


def test_sidebar_shows_page_titles_and_never_file_names(app_server: AppServer, page: Page) -> None:
    page.goto(app_server.url)
    # Sample the sidebar while the first load is still under way, then once it settled.
    page.wait_for_selector("[data-testid='stSidebar']", timeout=30_000)
    early = page.locator("[data-testid='stSidebar']").inner_text()
    wait_for_app(page)
    page.locator("[data-testid='stSidebar']").get_by_text("MQL threshold").wait_for()
    sidebar = page.locator("[data-testid='stSidebar']").inner_text()
    screenshot(page, "shell")
    assert "MQL threshold" in sidebar and "Funnel & forecast" in sidebar
    for legacy in ("\napp\n", "\nmql\n", "\nstages\n"):
        assert legacy not in f"\n{early}\n" and legacy not in f"\n{sidebar}\n"
    assert_no_exception(page)


def test_a_link_opened_first_on_a_fresh_server_shows_the_page_inside_the_app(
    app_server: AppServer, page: Page
) -> None:
    # The first visit of a fresh server is a deep link, as when a colleague opens the meeting's
    # link: the page must come with the app's sidebar and settings, not as a bare script.
    page.goto(f"{app_server.url}/mql?F=70&I=30")
    sidebar = page.locator("[data-testid='stSidebar']")
    sidebar.get_by_text("Funnel & forecast").wait_for(timeout=60_000)
    page.wait_for_selector("[data-testid='stMetric']", timeout=120_000)
    wait_for_app(page)
    assert page.locator(".st-key-mql_fit_cutoff input[type='range']").input_value() == "70"
    screenshot(page, "shell_deep_link")
    assert_no_exception(page)


def test_every_page_loads_from_this_server_alone(app_server: AppServer, page: Page) -> None:
    # An offline demo must not depend on another host: the page icon used to be fetched from
    # fonts.gstatic.com, logging errors on every page without a network.
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(request.url.split("/")[2]))
    open_app(page, app_server.url)
    for name in ("MQL threshold", "Funnel & forecast", "Data", "History"):
        page.locator("[data-testid='stSidebar']").get_by_role("link", name=name).click()
        settle(page)
    assert hosts == {app_server.url.split("/")[2]}
    icons = page.evaluate("() => [...document.querySelectorAll('link[rel*=icon]')].map(l => l.href)")
    assert icons and all(icon.startswith(app_server.url) for icon in icons)
