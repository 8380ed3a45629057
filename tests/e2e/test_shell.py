"""The app shell as a user sees it: the real navigation, never the pages/ file names."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page

from funnel import store
from tests.e2e.conftest import AppServer
from tests.e2e.helpers import assert_no_exception, open_app, screenshot, settle

pytestmark = pytest.mark.browser


def test_sidebar_shows_page_titles_and_never_file_names(app_server: AppServer, page: Page) -> None:
    page.goto(app_server.url)
    # Sample the sidebar while the first load is still under way, then once it settled.
    page.wait_for_selector("[data-testid='stSidebar']", timeout=30_000)
    early = page.locator("[data-testid='stSidebar']").inner_text()
    settle(page)
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
    settle(page)
    assert page.locator(".st-key-mql_fit_cutoff input[type='range']").input_value() == "70"
    screenshot(page, "shell_deep_link")
    assert_no_exception(page)


def test_five_people_opening_a_fresh_server_at_once_all_get_the_app(
    app_server: AppServer, browser: Browser
) -> None:
    # The meeting's link, opened by five colleagues in the same second on a server just started:
    # each session must see the page inside the app, none a half-imported module's error.
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(5)]
    try:
        pages = [c.new_page() for c in contexts]
        for p in pages:
            p.goto(f"{app_server.url}/mql?F=70&I=30", wait_until="commit")
        for n, p in enumerate(pages):
            p.locator("[data-testid='stSidebar']").get_by_text("Funnel & forecast").wait_for(
                timeout=120_000
            )
            p.wait_for_selector("[data-testid='stMetric']", timeout=120_000)
            settle(p)
            screenshot(p, f"shell_cold_start_{n}")
            assert_no_exception(p)
            assert p.get_by_text("has no attribute").count() == 0
    finally:
        for c in contexts:
            c.close()


def test_the_name_that_signs_changes_survives_a_reload(app_server: AppServer, page: Page) -> None:
    # A reload starts a new session: the next change must still carry the name typed before it,
    # not "anonymous".
    open_app(page, app_server.url)
    name = page.locator(".st-key-who input")
    name.fill("Anna <b>Sales</b>")
    name.press("Enter")
    settle(page)
    page.reload()
    settle(page)
    assert name.input_value() == "Anna <b>Sales</b>"
    page.get_by_text("New, rename or delete a pipeline").click()
    page.locator(".st-key-stages_rename_1 input").fill("Enterprise B2B")
    page.locator(".st-key-stages_rename_1 input").press("Enter")
    settle(page)
    page.locator(".st-key-stages_rename button").click()
    settle(page)
    with store.opened(app_server.db) as db:
        last = store.audit_log(db).row(0, named=True)
    assert (last["entity"], last["action"], last["who"]) == ("pipeline", "rename", "Anna <b>Sales</b>")


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


def test_the_page_says_it_is_opening_from_its_first_paint_until_the_app_draws(
    app_server: AppServer, page: Page
) -> None:
    # Streamlit's page is blank until its scripts have loaded and the first element is drawn;
    # the opening line is in the page itself, so it is on screen before any script has run.
    page.route("**/static/js/**", lambda route: route.abort())  # no script ever runs
    page.goto(f"{app_server.url}/mql", wait_until="commit")
    line = page.locator("#funnel-opening")
    line.wait_for(state="visible", timeout=10_000)
    assert line.inner_text() == "Opening funnel…" and page.title() == "funnel"
    page.unroute("**/static/js/**")

    page.goto(f"{app_server.url}/mql")
    page.wait_for_selector("[data-testid='stMetric']", timeout=120_000)
    settle(page)
    assert line.is_hidden()  # gone once the app drew: it never covers a figure
    screenshot(page, "shell_opened")
    assert_no_exception(page)
