"""The Stages & probabilities page in headless Chromium: the weighted pipeline is on screen."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import AppServer, assert_no_exception, screenshot, wait_for_app

pytestmark = pytest.mark.browser


def test_stages_page_shows_the_weighted_pipeline(app_server: AppServer, page: Page) -> None:
    page.goto(app_server.url)  # the app opens on this page
    wait_for_app(page)
    weighted = page.locator("[data-testid='stMetric']", has_text="Weighted pipeline")
    weighted.wait_for(timeout=30_000)
    value = weighted.locator("[data-testid='stMetricValue']").inner_text()
    assert re.fullmatch(r"\$\d{1,3}(,\d{3})*", value), value
    assert value != "$0"
    page.locator("[data-testid='stVegaLiteChart']").first.wait_for(timeout=30_000)
    screenshot(page, "stages")
    assert_no_exception(page)
