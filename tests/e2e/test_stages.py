"""The Stages & probabilities page in headless Chromium: the weighted pipeline is on screen."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page

from funnel import store
from funnel.models import Stage
from tests.e2e.conftest import AppServer
from tests.e2e.helpers import assert_no_exception, open_app, screenshot, settle

pytestmark = pytest.mark.browser


def test_stages_page_shows_the_weighted_pipeline(app_server: AppServer, page: Page) -> None:
    page.goto(app_server.url)  # the app opens on this page
    settle(page)
    weighted = page.locator("[data-testid='stMetric']", has_text="Weighted pipeline")
    weighted.wait_for(timeout=30_000)
    value = weighted.locator("[data-testid='stMetricValue']").inner_text()
    assert re.fullmatch(r"\$\d{1,3}(,\d{3})*", value), value
    assert value != "$0"
    page.locator("[data-testid='stVegaLiteChart']").first.wait_for(timeout=30_000)
    screenshot(page, "stages")
    assert_no_exception(page)


def type_first_probability(page: Page, typed: str) -> None:
    """Type into the first stage's probability cell as a user does: select, Enter, type, Enter."""
    grid = page.locator("[data-testid='stDataFrame']").first
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 100, box["y"] + 52)  # the first row's Order cell
    for key in ("ArrowRight", "ArrowRight", "Enter", "Control+A"):  # to Probability %, edit it
        page.keyboard.press(key)
        page.wait_for_timeout(300)  # the grid opens its cell editor asynchronously
    page.keyboard.type(typed)
    page.wait_for_timeout(300)
    page.keyboard.press("Enter")
    settle(page)


def test_a_probability_typo_reaches_the_validator_and_nothing_is_saved(
    app_server: AppServer, page: Page, demo_path: Path
) -> None:
    with store.opened(demo_path) as db:
        before = store.stage_list(db, 1)
    open_app(page, app_server.url)
    errors = page.locator("[data-testid='stAlertContentError']")
    for typed, message in (
        ("150", "probability 150 is outside 0 to 100."),
        ("12.5", "probability 12.5 is not a whole percent"),
        ("-5", "probability -5 is outside 0 to 100."),
    ):
        type_first_probability(page, typed)
        errors.filter(has_text=f"Row 1 (Prospecting): {message}").wait_for(timeout=30_000)
    assert page.get_by_role("button", name="Save stages").count() == 0
    assert_no_exception(page)
    with store.opened(demo_path) as db:
        assert store.stage_list(db, 1) == before


def test_a_typed_edit_survives_another_sessions_save(
    app_server: AppServer, page: Page, demo_path: Path
) -> None:
    open_app(page, app_server.url)
    type_first_probability(page, "12")
    with store.opened(demo_path) as db:  # a colleague saves the pipeline meanwhile
        stage_list = store.stage_list(db, 1)
        stage_list[1] = Stage(
            stage_list[1].name, 25.0, stage_list[1].kind, stage_list[1].rot_days, stage_list[1].id
        )
        store.save_stages(db, 1, stage_list, store.pipeline_version(db, 1), None, "Ben")
    page.get_by_role("textbox", name="Your name").fill("Anna")  # any next run of the page
    page.keyboard.press("Enter")
    settle(page)
    page.get_by_text("Your edits stay in the table, on the version you opened").wait_for()
    grid = page.locator("[data-testid='stDataFrame']").first
    grid.get_by_text("12", exact=True).first.wait_for(state="attached")  # a grid cell
    assert_no_exception(page)
