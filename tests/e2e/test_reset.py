"""Reset demo data in Chromium: the dialog names what is lost, and a store with imported data is
reset only once its name is typed; the reset is then the History's newest line."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from funnel import importers, store
from tests.e2e.conftest import AppServer
from tests.e2e.helpers import assert_no_exception, open_app, screenshot, settle

pytestmark = pytest.mark.browser


def test_reset_on_imported_data_asks_for_the_store_name(
    app_server: AppServer, page: Page, demo_path: Path
) -> None:
    with store.opened(demo_path) as db:
        importers.import_bytes(db, b"Lead ID,Create Date\nR1,2026-01-02\n", "leads", "crm.csv")
    open_app(page, app_server.url)
    page.get_by_role("button", name="Reset demo data…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("5 pipelines, 600 deals, 3,001 leads").wait_for(timeout=30_000)
    screenshot(page, "reset_dialog")
    dialog.get_by_role("button", name="Reset").click()
    dialog.get_by_text("holds imported or restored data: type its name, demo.db").wait_for(
        timeout=30_000
    )
    with store.opened(demo_path) as db:
        assert store.counts(db)["leads"] == 3_001
    dialog.get_by_label("Type demo.db to confirm").fill("demo.db")
    dialog.get_by_label("Type demo.db to confirm").press("Enter")
    settle(page)
    dialog.get_by_role("button", name="Reset").click()
    page.get_by_text("the store as it was is kept as").wait_for(timeout=60_000)
    settle(page)
    assert_no_exception(page)
    with store.opened(demo_path) as db:
        newest = store.audit_log(db).row(0, named=True)
    assert (newest["entity"], newest["action"]) == ("store", "reset")
    assert list(demo_path.parent.glob("demo.before-reset-*.db"))
