"""The importers' cell parsers as tables of (cell, expected): numbers and dates as CRM exports
write them, each read value or the reason a row is refused."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from funnel import importers
from funnel.importers.parse import _parse_dates, _parse_number

CREATED = next(f for f in importers.FIELDS["leads"] if f.name == "created")


@pytest.mark.parametrize(
    ("cell", "expected", "reason"),
    [
        ("0.5", 0.5, None),
        ("-5", -5.0, None),
        ("1,234.5", 1234.5, None),  # US thousands separator
        ("1.234,5", 1234.5, None),  # European: thousands point, decimal comma
        ("1,5", 1.5, None),  # a comma with no group of three after it is a decimal comma
        ("1 234", 1234.0, None),  # French thousands space
        ("1'000", 1000.0, None),  # Swiss thousands apostrophe
        ("$1,200", 1200.0, None),
        ("€ 99,90", 99.9, None),
        ("12%", 12.0, None),
        ("1e3", 1000.0, None),
        ("abc", None, "not a number"),
        ("NaN", None, "not a finite number"),
        ("1e309", None, "not a finite number"),  # overflows to infinity
        ("1e16", None, "too large (at most 1e+15 in size)"),
    ],
)
def test_numbers(cell: str, expected: float | None, reason: str | None) -> None:
    number, why = _parse_number(pl.Series([cell]), "value", importers.Report("deals", "d.csv"), False)
    assert (number[0], why[0]) == (expected, reason)


NOT_A_DATE = "not a date (expected YYYY-MM-DD, M/D/YYYY or D/M/YYYY)"
IMPLAUSIBLE = "not a plausible date (between 1900-01-01 and 2100-12-31)"


@pytest.mark.parametrize(
    ("cell", "expected", "reason"),
    [
        ("2026-11-02", date(2026, 11, 2), None),
        ("2026/11/2", date(2026, 11, 2), None),
        ("2026-11-02T10:30:00Z", date(2026, 11, 2), None),  # the time of day is dropped
        ("2026-11-02 9:05 PM", date(2026, 11, 2), None),
        ("13/04/2026", date(2026, 4, 13), None),  # a day above 12 says D/M/YYYY
        ("04/13/2026", date(2026, 4, 13), None),  # ... or M/D/YYYY
        ("13.04.26", date(2026, 4, 13), None),  # two-digit years are this century
        ("2026-02-30", None, NOT_A_DATE),
        ("soon", None, NOT_A_DATE),
        ("0000-01-01", None, IMPLAUSIBLE),
        ("9999-12-31", None, IMPLAUSIBLE),
        ("2026-11-02 25:61", date(2026, 11, 2), "not a time of day (hours 0..23, minutes 0..59)"),
    ],
)
def test_dates(cell: str, expected: date | None, reason: str | None) -> None:
    report = importers.Report("leads", "l.csv")
    dates, why = _parse_dates(
        pl.Series([cell]), CREATED, "Create Date", importers.Options(), report, lambda: None
    )
    assert (dates[0], why[0], report.blocking) == (expected, reason, [])


def test_a_date_no_day_above_12_decides_is_asked_about_not_guessed() -> None:
    report = importers.Report("leads", "l.csv")
    _parse_dates(
        pl.Series(["03/04/2026"]), CREATED, "Create Date", importers.Options(), report, lambda: None
    )
    assert report.ambiguous_dates == ["created"]
    assert "no day above 12 tells which" in report.blocking[0]


def test_parse_range_reads_lo_hi_and_leaves_empty_to_the_values() -> None:
    assert importers.parse_range("0:10") == (0.0, 10.0)
    assert importers.parse_range("  ") is None
    with pytest.raises(ValueError):
        importers.parse_range("10")
