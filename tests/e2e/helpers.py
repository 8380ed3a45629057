"""What every browser test does to a page: open the app, wait until a page is really drawn,
take a screenshot, check no exception is shown.

One wait (`settle`): until the script run has ended and no skeleton is left (a table or chart
whose code is still loading), so a check or a screenshot never sees a half-drawn page.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"

IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
NO_SKELETON = "() => document.querySelectorAll('[data-testid=\"stSkeleton\"]').length === 0"


def settle(page: Page, timeout: float = 60_000) -> None:
    """Wait until the script run has ended and every element has been drawn."""
    page.wait_for_selector(IDLE, timeout=timeout)
    page.wait_for_function(NO_SKELETON, timeout=timeout)
    page.wait_for_timeout(400)
    page.wait_for_selector(IDLE, timeout=timeout)
    page.wait_for_function(NO_SKELETON, timeout=timeout)


def open_app(page: Page, url: str) -> None:
    """Open the app at its root, as a user starting it does, and wait for the real navigation.

    (A link opened first on a fresh server is test_shell's case.)
    """
    page.goto(url)
    page.locator("[data-testid='stSidebar']").get_by_role("link", name="History").wait_for(
        timeout=60_000
    )
    settle(page)


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_no_exception(page: Page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0, "a Streamlit exception is shown"
