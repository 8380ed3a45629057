"""One formula rule: what the import warns about is what every CSV export neutralises."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlite_utils import Database

from funnel import importers, sheets

# (text cell, as a CSV export writes it). Where the two old rules differed: "-5" and "-1,500.50"
# were neutralised by the export though the import did not call them formulas; "-2+3" and "-"
# were neutralised by the export but not warned about by the import.
CELLS = [
    ("=1+1", "'=1+1"),
    ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
    ("+1", "'+1"),
    ("+33 6 12 34 56 78", "'+33 6 12 34 56 78"),
    ("-1+1", "'-1+1"),
    ("-2+3", "'-2+3"),
    ("-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0"),
    ("- VP Sales", "'- VP Sales"),
    ("-", "'-"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\tcmd", "'\tcmd"),
    ("\rcmd", "'\rcmd"),
    ("-1", "-1"),
    ("-1,500.50", "-1,500.50"),
    ("-0.5", "-0.5"),
    ("Acme = best", "Acme = best"),
    (" =1+1", " =1+1"),
    ("1-2", "1-2"),
    ("", ""),
    (None, None),
]


@pytest.mark.parametrize(("cell", "expected"), CELLS)
def test_text_cells_a_spreadsheet_would_run_are_neutralised(
    cell: str | None, expected: str | None
) -> None:
    result = sheets.neutralise(pl.DataFrame({"company": [cell]}, schema={"company": pl.String}))
    assert result["company"].to_list() == [expected]


@pytest.mark.parametrize(("cell", "expected"), CELLS)
def test_the_import_warns_about_exactly_the_cells_an_export_neutralises(
    fresh_db: Database, cell: str | None, expected: str | None
) -> None:
    data = pl.DataFrame({"external_id": ["L1"], "created": ["2026-01-02"], "company": [cell]})
    raw = importers.read_table(data.write_csv().encode(), "leads.csv")
    options = importers.Options(importers.suggest_mapping(raw.frame.columns, "leads"))
    prepared = importers.validate(fresh_db, raw, "leads", options)
    warned = any("spreadsheet formula" in w for w in prepared.report.warnings)
    # What the import stores (trimmed, "-" read as missing) is what a later export writes: it
    # warns exactly when the export would neutralise that value.
    stored = prepared.frame["company"]
    assert warned == (sheets.neutralise(stored.to_frame())["company"][0] != stored[0])


def test_numbers_are_never_neutralised() -> None:
    frame = pl.DataFrame({"value": [-1500.0], "size": [-3]})
    assert_frame_equal(sheets.neutralise(frame), frame)


def test_csv_has_a_bom_and_neutralised_cells() -> None:
    data = sheets.to_csv(pl.DataFrame({"name": ["=1+1", "Acme", "-5"], "value": [-5, 7, 1]}))
    assert data.startswith(b"\xef\xbb\xbf")
    assert data[3:].decode() == "name,value\n'=1+1,-5\nAcme,7\n-5,1\n"
