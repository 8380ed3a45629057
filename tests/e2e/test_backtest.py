"""The forecast back-test tab in Chromium: one row per full quarter, and the sentence above."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.conftest import DEMO_TODAY
from tests.e2e.conftest import AppServer
from tests.e2e.helpers import assert_no_exception, screenshot, settle

pytestmark = pytest.mark.browser


def test_the_back_test_tab_lists_one_row_per_full_quarter(app_server: AppServer, page: Page) -> None:
    page.goto(f"{app_server.url}/forecast")
    page.get_by_role("tab", name="How good was it?").wait_for(timeout=60_000)
    settle(page)
    page.get_by_role("tab", name="How good was it?").click()
    panel = page.get_by_role("tabpanel", name="How good was it?")
    panel.get_by_text("Closest over the last 4 full quarters").wait_for(timeout=30_000)
    table = panel.locator("[data-testid='stDataFrame'] table")
    table.wait_for(state="attached", timeout=30_000)
    this_quarter = DEMO_TODAY.year * 4 + (DEMO_TODAY.month - 1) // 3
    expected = [f"{q // 4} Q{q % 4 + 1}" for q in range(this_quarter - 4, this_quarter)]
    quarters = table.locator("tbody tr td:first-child").evaluate_all(
        "els => els.map(e => e.textContent)"
    )
    assert quarters == expected
    panel.locator("[data-testid='stVegaLiteChart'] svg").first.wait_for(timeout=30_000)
    screenshot(page, "forecast_backtest")
    assert_no_exception(page)
