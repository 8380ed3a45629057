"""The Data page in headless Chromium: upload a CRM export, see the mapped preview, dry run,
import, and see the new lead count."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from funnel import store
from tests.e2e.conftest import AppServer
from tests.e2e.helpers import assert_no_exception, screenshot, settle

pytestmark = pytest.mark.browser

SALESFORCE = (
    b"Lead ID,Title,Company / Account,No. of Employees,Create Date,Converted\n"
    b"00Q1,VP Sales,Acme,250,11/02/2026,1\n"
    b"00Q2,Student,N/A,N/A,11/15/2026,0\n"
    b"00Q3,CTO,=HYPERLINK(1),40,11/20/2026,\n"
)


def test_upload_preview_dry_run_and_import(
    app_server: AppServer, page: Page, demo_path: Path, tmp_path: Path
) -> None:
    with store.opened(demo_path) as db:
        before = store.counts(db)["leads"]
    source = tmp_path / "salesforce-leads.csv"
    source.write_bytes(SALESFORCE)
    page.goto(f"{app_server.url}/data")
    settle(page)
    page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(str(source))
    page.get_by_text("Looks like a Salesforce export").wait_for(timeout=30_000)
    page.get_by_role("heading", name="Preview").wait_for()
    settle(page)
    page.get_by_role("button", name="Dry run").click()
    page.get_by_text("would add 3, would update 0").wait_for(timeout=30_000)
    settle(page)
    assert page.get_by_text("starting like a spreadsheet formula").count() == 1
    screenshot(page, "data_dry_run")
    page.get_by_role("button", name="Import").click()
    page.get_by_text("added 3, updated 0").wait_for(timeout=30_000)
    settle(page)
    leads = page.locator("[data-testid='stMetric']", has_text="Leads")
    assert leads.locator("[data-testid='stMetricValue']").inner_text() == f"{before + 3:,}"
    screenshot(page, "data_imported")
    assert_no_exception(page)


def test_exports_download_csv_and_chart(app_server: AppServer, page: Page) -> None:
    page.goto(f"{app_server.url}/data")
    settle(page)
    page.get_by_role("tab", name="Export").click()
    page.locator("[data-testid='stVegaLiteChart']").first.wait_for(timeout=30_000)
    with page.expect_download(timeout=60_000) as stages_csv:
        page.get_by_role("button", name="Stages").click()
    text = Path(stages_csv.value.path()).read_bytes()
    assert text.startswith(b"\xef\xbb\xbfpipeline,position,name,probability,kind,rot_days\n")
    with page.expect_download(timeout=60_000) as svg:
        page.get_by_role("button", name="SVG").click()
    assert Path(svg.value.path()).read_text().startswith("<svg")
    screenshot(page, "data_export")
    assert_no_exception(page)
