"""A meeting, walked in a real browser: every step a sales and marketing meeting takes.

Open the app, sign in the sidebar, pick a pipeline, adopt the probabilities history computed,
move the MQL sliders, record the agreed cutoff, open the link in a second browser and see the
same view, run a what-if scenario, save it, export CSVs, and find every change in the History.
Each page is screenshotted (screenshots/, git-ignored) and must show no Streamlit exception.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page

from funnel import store
from tests.e2e.conftest import AppServer
from tests.e2e.helpers import assert_no_exception, open_app, screenshot, settle

pytestmark = pytest.mark.browser


def metric(page: Page, label: str) -> str:
    box = page.locator("[data-testid='stMetric']", has_text=label).first
    return box.locator("[data-testid='stMetricValue']").inner_text()


def slider(page: Page, label: str) -> Locator:
    return page.locator("[data-testid='stSlider']", has_text=label).first.get_by_role("slider")


def slider_value(page: Page, label: str) -> str:
    box = page.locator("[data-testid='stSlider']", has_text=label).first
    return box.locator("[data-testid='stSliderThumbValue']").inner_text()


def choose(page: Page, label: str, option: str) -> None:
    page.locator("[data-testid='stSelectbox']", has_text=label).first.click()
    page.get_by_role("option", name=option, exact=True).click()
    settle(page)


def go(page: Page, title: str) -> None:
    page.locator("[data-testid='stSidebar']").get_by_role("link", name=title).click()
    page.get_by_role("heading", name=title, exact=True).wait_for(timeout=60_000)
    settle(page)


def step(page: Page, name: str) -> None:
    screenshot(page, f"meeting-{name}")
    assert_no_exception(page)


def test_a_meeting_walks_the_app_and_leaves_its_decisions_recorded(
    app_server: AppServer, page: Page, browser: Browser, demo_path: Path
) -> None:
    open_app(page, app_server.url)
    page.get_by_role("textbox", name="Your name").fill("Anna")
    page.get_by_role("textbox", name="Your name").press("Enter")
    settle(page)
    step(page, "1-open")

    # Stages: pick a pipeline, adopt what its closed deals say.
    choose(page, "Pipeline", "Startup")
    before = metric(page, "Weighted pipeline")
    page.get_by_role("button", name="Adopt all").click()
    page.get_by_text("Probabilities adopted").wait_for(timeout=60_000)
    settle(page)
    assert metric(page, "Weighted pipeline") != before
    step(page, "2-stages-adopted")

    # MQL: move both cutoffs with the keyboard, as precisely as a meeting argues them.
    go(page, "MQL threshold")
    mqls = metric(page, "MQLs")
    for label, presses in (("Fit cutoff F", 7), ("Interest cutoff I", 4)):
        thumb = slider(page, label)
        thumb.focus()
        for _ in range(presses):
            thumb.press("ArrowRight")
        settle(page)
    fit = slider_value(page, "Fit cutoff F")
    interest = slider_value(page, "Interest cutoff I")
    assert metric(page, "MQLs") != mqls
    assert f"F={fit}" in page.url and f"I={interest}" in page.url
    step(page, "3-mql-moved")

    # Record the agreed cutoff.
    page.get_by_role("textbox", name="Who agreed").fill("Anna (marketing), Ben (sales)")
    page.get_by_role("textbox", name="Note").fill("Agreed after the Q4 review")
    page.get_by_role("button", name=f"Record F = {fit}, I = {interest}").click()
    page.get_by_text("Agreed after the Q4 review").first.wait_for(timeout=60_000)
    settle(page)
    step(page, "4-decision-recorded")

    # The link, opened by a colleague in another browser, shows the same cutoffs.
    colleague_context = browser.new_context(viewport={"width": 1400, "height": 1000})
    colleague = colleague_context.new_page()
    colleague.goto(page.url)
    colleague.get_by_role("heading", name="MQL threshold", exact=True).wait_for(timeout=60_000)
    settle(colleague)
    assert slider_value(colleague, "Fit cutoff F") == fit
    assert slider_value(colleague, "Interest cutoff I") == interest
    assert metric(colleague, "MQLs") == metric(page, "MQLs")
    screenshot(colleague, "meeting-5-link-in-second-browser")
    assert_no_exception(colleague)
    colleague_context.close()

    # Forecast: push lead volume, see the scenario move away from the baseline, save it.
    go(page, "Funnel & forecast")
    scenario_before = metric(page, "Scenario, whole horizon")
    volume = slider(page, "Leads per period")
    volume.focus()
    for _ in range(5):
        volume.press("ArrowRight")
    settle(page)
    assert metric(page, "Scenario, whole horizon") != scenario_before
    assert metric(page, "Baseline, whole horizon") == scenario_before
    page.get_by_role("tab", name="Scenarios").click()
    page.get_by_role("textbox", name="Scenario name").fill("More webinars")
    page.get_by_role("textbox", name="Scenario name").press("Enter")
    page.get_by_role("button", name="Save scenario").click()
    page.get_by_text("Saved scenario 'More webinars'").wait_for(timeout=60_000)
    settle(page)
    step(page, "6-forecast-scenario")

    # Data: export the decisions as CSV and find the one just recorded.
    go(page, "Data")
    page.get_by_role("tab", name="Export").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Decisions").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text("utf-8-sig"))))
    assert rows[0]["note"] == "Agreed after the Q4 review"
    assert (rows[0]["fit_cutoff"], rows[0]["interest_cutoff"]) == (f"{fit}.0", f"{interest}.0")
    step(page, "7-data-export")

    # History: the meeting's three changes, signed by Anna.
    go(page, "History")
    with page.expect_download() as download:
        page.get_by_role("button", name="Export these").click()
    history = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text("utf-8-sig"))))
    signed = [(r["who"], r["object"].split()[0], r["action"]) for r in history if r["who"] == "Anna"]
    assert signed == [
        ("Anna", "Scenario", "save"),
        ("Anna", "Decision", "record"),
        ("Anna", "Stages", "save"),
    ]
    step(page, "8-history")

    with store.opened(demo_path) as db:
        assert store.decisions(db)["agreed_by"][0] == "Anna (marketing), Ben (sales)"
        assert store.scenarios(db)["name"][0] == "More webinars"


def test_two_browsers_on_one_store_see_each_others_saves_and_never_overwrite_them(
    app_server: AppServer, page: Page, browser: Browser
) -> None:
    ben_context = browser.new_context(viewport={"width": 1400, "height": 1000})
    ben = ben_context.new_page()
    open_app(page, app_server.url)
    open_app(ben, app_server.url)
    before = metric(ben, "Weighted pipeline")

    page.get_by_role("button", name="Adopt all").click()
    page.get_by_text("Probabilities adopted").wait_for(timeout=60_000)
    settle(page)
    adopted = metric(page, "Weighted pipeline")
    assert adopted != before

    # Ben's next click lists Anna's save in the History; back on Stages he sees her figures,
    # and is told his editor started from an older version.
    go(ben, "History")
    ben.get_by_text("'Prospecting' 10 % ->").first.wait_for(state="attached")  # a grid cell
    go(ben, "Stages & probabilities")
    assert metric(ben, "Weighted pipeline") == adopted
    ben.get_by_text("Someone else saved this pipeline since you opened it").wait_for()
    ben.get_by_role("button", name="Adopt all").click()
    ben.get_by_text("was changed by someone else since you opened it").wait_for(timeout=60_000)
    screenshot(ben, "meeting-two-browsers-stale-save-refused")
    assert_no_exception(ben)
    ben_context.close()


def test_an_adoption_is_undone_from_the_history_through_its_confirmation(
    app_server: AppServer, page: Page, demo_path: Path
) -> None:
    open_app(page, app_server.url)
    before = metric(page, "Weighted pipeline")
    page.get_by_role("button", name="Adopt all").click()
    page.get_by_text("Probabilities adopted").wait_for(timeout=60_000)
    settle(page)
    assert metric(page, "Weighted pipeline") != before

    go(page, "History")
    page.get_by_role("button", name="Undo…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("'Prospecting' 10 % ->").wait_for()
    screenshot(page, "history-undo-dialog")
    dialog.get_by_role("button", name="Undo", exact=True).click()
    page.get_by_text("undone; the undo is listed above").wait_for(timeout=60_000)
    settle(page)
    assert page.get_by_role("dialog").count() == 0
    step(page, "history-undone")

    go(page, "Stages & probabilities")
    assert metric(page, "Weighted pipeline") == before
    with store.opened(demo_path) as db:
        assert store.audit_log(db)["action"].to_list()[:2] == ["undo", "save"]
