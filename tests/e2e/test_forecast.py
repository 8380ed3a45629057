"""The Funnel & forecast page as a user sees it in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from funnel.charts.forecast import _LEAK_COLOUR
from funnel.funnels import MARKETING_STAGES
from tests.e2e.conftest import AppServer
from tests.e2e.helpers import assert_no_exception, screenshot, settle

pytestmark = pytest.mark.browser


def test_funnel_chart_draws_one_bar_per_stage_and_marks_the_leak(
    app_server: AppServer, page: Page
) -> None:
    page.goto(f"{app_server.url}/forecast")
    page.wait_for_selector("[data-testid='stVegaLiteChart'] svg .mark-rect path", timeout=60_000)
    settle(page)
    funnel = page.locator("[data-testid='stVegaLiteChart']").first
    bars = funnel.locator(".mark-rect path")
    screenshot(page, "forecast_funnel")
    assert bars.count() == len(MARKETING_STAGES)
    fills = [bars.nth(i).get_attribute("fill") for i in range(bars.count())]
    assert fills.count(_LEAK_COLOUR) == 1
    texts = "els => els.map(e => e.textContent)"
    axis = funnel.locator(".role-axis-label text").evaluate_all(texts)
    assert axis == list(MARKETING_STAGES)
    labels = " ".join(funnel.locator(".mark-text text").evaluate_all(texts))
    assert "biggest leak" in labels and "to next" in labels
    assert_no_exception(page)


def test_a_slider_moved_by_keyboard_changes_the_scenario_only(app_server: AppServer, page: Page) -> None:
    page.goto(f"{app_server.url}/forecast")
    page.wait_for_selector("[data-testid='stMetric']", timeout=60_000)
    settle(page)
    metrics = page.locator("[data-testid='stMetricValue']")
    before = metrics.nth(0).inner_text(), metrics.nth(1).inner_text()
    assert before[0] == before[1]
    handle = page.locator("[data-testid='stSlider'] input[type='range']").first
    handle.focus()
    for _ in range(20):
        handle.press("ArrowRight")
    page.wait_for_function(
        "b => document.querySelectorAll('[data-testid=\"stMetricValue\"]')[1].innerText !== b",
        arg=before[1],
        timeout=30_000,
    )
    settle(page)
    assert metrics.nth(0).inner_text() == before[0]
    assert "leads_per_period=" in page.url
    screenshot(page, "forecast_what_if")
    assert_no_exception(page)
