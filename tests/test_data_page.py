"""The Data page in AppTest: upload, map, preview, dry run, commit; bad files change nothing."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd
import polars as pl
from streamlit.testing.v1 import AppTest

from funnel import store
from tests.conftest import APP
from tests.xlsx_writer import xlsx_bytes

HUBSPOT = (
    b"Record ID,Email,Job Title,Company Name,Number of Employees,Create Date\n"
    b"H1,ann@acme.com,VP Sales,Acme,250,2026-11-02 09:15\n"
    b"H2,bob@beta.io,CTO,Beta,N/A,2026-11-05 17:40\n"
)


def data_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.switch_page("pages/data.py").run()
    assert not at.exception, at.exception
    return at


def table_with(at: AppTest, column: str) -> pd.DataFrame:
    """The first table on the page that has `column` (AppTest keeps no key on read-only tables)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def texts(at: AppTest) -> str:
    """Every message on the page as a user reads it (the page escapes Markdown in file text)."""
    return re.sub(
        r"\\(.)",
        r"\1",
        "\n".join(
            e.value
            for kind in ("success", "error", "warning", "info", "caption")
            for e in getattr(at, kind)
        ),
    )


def test_upload_map_dry_run_and_import_leads(app_env: Path) -> None:
    with store.opened(app_env) as db:
        before = store.counts(db)["leads"]
    at = data_page()
    at.file_uploader(key="data_upload").set_value(("contacts.csv", HUBSPOT, "text/csv")).run()
    assert "Looks like a HubSpot export" in texts(at)
    preview = table_with(at, "line")
    assert preview["external_id"].to_list() == ["H1", "H2"]
    assert preview["company_size"].to_list() == ["250", "N/A"]
    at.button(key="data_dry_run").click().run()
    assert "contacts.csv: 2 leads read; would add 2, would update 0." in texts(at)
    with store.opened(app_env) as db:
        assert store.counts(db)["leads"] == before
    at.button(key="data_commit").click().run()
    assert not at.exception, at.exception
    assert "contacts.csv: 2 leads read; added 2, updated 0." in texts(at)
    with store.opened(app_env) as db:
        assert store.counts(db)["leads"] == before + 2


def test_bad_rows_are_listed_and_the_import_stays_disabled(app_env: Path) -> None:
    with store.opened(app_env) as db:
        revision = store.revision(db)
    at = data_page()
    bad = b"external_id,created,page_views\nL1,2026-01-02,4\nL2,2026-01-03,lots\n"
    at.file_uploader(key="data_upload").set_value(("bad.csv", bad, "text/csv")).run()
    at.button(key="data_dry_run").click().run()
    problems = table_with(at, "reason")
    assert problems.to_dict("records") == [
        {"line": 3, "column": "page_views", "value": "lots", "reason": "not a number"}
    ]
    assert at.button(key="data_commit").disabled
    with store.opened(app_env) as db:
        assert store.revision(db) == revision


def test_unreadable_upload_says_why(app_env: Path) -> None:
    at = data_page()
    at.file_uploader(key="data_upload").set_value(("empty.csv", b"", "text/csv")).run()
    assert not at.exception
    assert "empty.csv is empty (0 bytes)" in texts(at)


def test_deals_with_new_stages_create_a_pipeline(app_env: Path) -> None:
    deals = b"external_id,name,stage,value\nX1,Big,Discovery,1000\nX2,Won,Closed Won,500\n"
    at = data_page()
    at.radio(key="data_kind").set_value("deals").run()
    at.file_uploader(key="data_upload").set_value(("deals.csv", deals, "text/csv")).run()
    at.button(key="data_dry_run").click().run()
    assert "2 stages not in pipeline" in texts(at)
    at.radio(key="data_unknown").set_value("create").run()
    at.text_input(key="data_new_pipeline").set_value("From our CRM").run()
    at.button(key="data_dry_run").click().run()
    at.button(key="data_commit").click().run()
    assert not at.exception, at.exception
    with store.opened(app_env) as db:
        names = store.pipelines(db)["name"].to_list()
    assert "From our CRM" in names
    assert "1 open deal without a value" not in texts(at)
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Closed won"], metrics["Open pipeline"]) == ("$500", "$1,000")


def test_every_chart_in_the_catalogue_draws(app_env: Path) -> None:
    at = data_page()
    chooser = at.selectbox(key="data_chart")
    assert len(chooser.options) == 8  # five pipelines, two MQL charts, the marketing funnel
    for label in chooser.options:
        at.selectbox(key="data_chart").set_value(label).run()
        assert not at.exception, (label, at.exception)


def test_ambiguous_dates_are_asked_and_the_choice_imports(app_env: Path) -> None:
    at = data_page()
    data = b"external_id,created\nA1,03/04/2026\nA2,05/06/2026\n"
    at.file_uploader(key="data_upload").set_value(("dates.csv", data, "text/csv")).run()
    at.button(key="data_dry_run").click().run()
    assert "no day above 12 tells which" in texts(at)
    assert at.button(key="data_commit").disabled
    at.radio(key="data_dates_created").set_value("dmy").run()
    at.button(key="data_dry_run").click().run()
    at.button(key="data_commit").click().run()
    assert not at.exception, at.exception
    with store.opened(app_env) as db:
        created = store.leads(db).filter(pl.col("external_id") == "A1")["created"].to_list()
    assert created == [date(2026, 4, 3)]


def test_restore_refuses_a_file_that_is_not_a_backup(app_env: Path) -> None:
    with store.opened(app_env) as db:
        before = store.revision(db)
    at = data_page()
    at.file_uploader(key="data_restore_upload").set_value(("x.db", b"id\n1\n", "text/plain")).run()
    assert "This is not a SQLite file, so not a funnel backup. Nothing was changed." in texts(at)
    with store.opened(app_env) as db:
        assert store.revision(db) == before


def test_restore_a_backup_after_confirming(app_env: Path, tmp_path: Path) -> None:
    backup = tmp_path / "backup.db"
    with store.opened(app_env) as db:
        store.backup(db, backup)
        counts = store.counts(db)
        db.conn.execute("DELETE FROM stage_history")
        db.conn.execute("DELETE FROM deals")
        db.conn.commit()
    at = data_page()
    at.file_uploader(key="data_restore_upload").set_value(
        ("backup.db", backup.read_bytes(), "application/octet-stream")
    ).run()
    at.button(key="data_restore").click().run()
    at.button(key="data_restore_confirm").click().run()
    assert not at.exception, at.exception
    with store.opened(app_env) as db:
        assert store.counts(db) == counts
    assert app_env.with_name(f"{app_env.stem}.before-restore.db").exists()


def test_a_workbook_sheet_can_be_chosen(app_env: Path) -> None:
    book = xlsx_bytes(
        {
            "Readme": [["exported by"], ["CRM"]],
            "Leads": [["Lead ID", "Create Date"], ["W1", date(2026, 11, 2)], ["W2", date(2026, 11, 3)]],
        }
    )
    at = data_page()
    at.file_uploader(key="data_upload").set_value(("book.xlsx", book, "application/octet-stream")).run()
    assert "read 'Readme'" in texts(at)
    sheet = next(s for s in at.selectbox if s.label == "Sheet")
    sheet.set_value("Leads").run()
    at.button(key="data_dry_run").click().run()
    assert "book.xlsx: 2 leads read; would add 2, would update 0." in texts(at)


def test_an_import_whose_stage_was_removed_after_the_dry_run_says_so_without_a_traceback(
    app_env: Path,
) -> None:
    with store.opened(app_env) as db:
        version = store.pipelines(db).filter(pl.col("id") == 1)["version"][0]
        stages = store.stage_list(db, 1)  # Traditional B2B: Prospecting, Lead qualification, ...
        before = store.counts(db)["deals"]
    deals = b"external_id,name,stage,value\nX1,Big,Lead qualification,1000\nX2,Won,Prospecting,500\n"
    at = data_page()
    at.radio(key="data_kind").set_value("deals").run()
    at.file_uploader(key="data_upload").set_value(("deals.csv", deals, "text/csv")).run()
    at.selectbox(key="data_pipeline").set_value("Traditional B2B").run()
    at.button(key="data_dry_run").click().run()
    assert "deals.csv: 2 deals read; would add 2, would update 0." in texts(at)
    with store.opened(app_env) as db:  # another session removes the stage meanwhile
        kept = [s for s in stages if s.name != "Lead qualification"]
        store.save_stages(db, 1, kept, version, {int(stages[1].id or 0): "Prospecting"}, "Ben")
    at.button(key="data_commit").click().run()
    assert not at.exception, at.exception
    assert "Stages Lead qualification are not in pipeline 1." in texts(at)
    with store.opened(app_env) as db:  # all or nothing: no deal of the file went in
        assert store.counts(db)["deals"] == before
