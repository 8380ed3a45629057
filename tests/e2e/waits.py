"""Waiting until a page is really drawn, not just until its script finished.

`conftest.wait_for_app` can return while Streamlit still shows skeletons (a table or chart
whose code is still loading), and a screenshot or a check then sees a half-drawn page. These
waits hold until the script is idle and no skeleton is left.
"""

from __future__ import annotations

from playwright.sync_api import Page

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
