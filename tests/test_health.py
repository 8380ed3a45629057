"""The data-health line: what limits a page's figures, counted, and nothing when all is well."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from funnel import health
from funnel.views import forecast as forecast_view
from tests.conftest import APP
from tests.test_stage_moves import HISTORY, HISTORY_DEALS, IMPORTED, IMPORTED_HISTORY
from tests.test_stages import deal, deals_frame

pytestmark = pytest.mark.dates
TODAY = date(2026, 11, 23)  # the day these hand-made leads and deals are measured on


def test_the_line_counts_each_limit_and_says_nothing_when_all_is_well() -> None:
    scored = pl.DataFrame(
        {
            "fit": [70.0, None, 40.0, None],
            "interest": [50.0, 20.0, None, None],
            "created": [date(2026, 3, 2)] * 4,
        }
    )
    deals = pl.concat([HISTORY_DEALS, IMPORTED, deals_frame([deal(21, 1, value=None)])])
    history = pl.concat([HISTORY, IMPORTED_HISTORY])
    found = health.measure(scored, (deals, history), TODAY)
    # Leads 2, 3, 4 lack a score on an axis; every lead was created on 2 March.
    # Open deals: 5 and 16 (valued) and 21 (no value); closed: 5 with history, 5 imported.
    assert found == health.Health(4, 3, True, 3, 1, 10, 5)
    assert health.line(found) == (
        "Data health: 3 of 4 leads have no score; all 4 leads share one creation date; 1 of 3 open "
        "deals have no value; 5 of 10 closed deals have no stage history."
    )
    assert health.line(health.measure(scored.head(1), (HISTORY_DEALS, HISTORY), TODAY)) is None
    assert health.line(health.measure(None, None)) is None


def test_known_outcomes_all_of_one_kind_are_said_to_measure_no_conversion_rate() -> None:
    # A lifecycle-stage column names converted leads only: the back-test's 100 % and lift 1 would
    # measure nothing.
    scored = pl.DataFrame(
        {
            "fit": [70.0, 60.0, 40.0],
            "interest": [50.0, 20.0, 30.0],
            "created": [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)],
            "outcome": ["converted", None, "converted"],
        }
    )
    assert health.line(health.measure(scored, None)) == (
        "Data health: 2 leads with a known outcome, all converted: no lead is known as lost, so "
        "conversion rates and lift cannot be measured."
    )
    both = scored.with_columns(outcome=pl.Series(["converted", "lost", None]))
    assert health.line(health.measure(both, None)) is None


@pytest.mark.parametrize(
    "page", ["pages/stages.py", "pages/mql.py", "pages/forecast.py", "pages/data.py"]
)
def test_the_demo_store_has_nothing_to_report(app_env: Path, page: str) -> None:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert not [c.value for c in at.caption if c.value.startswith("Data health")]


def test_dates_after_today_and_deals_older_than_every_window_are_counted() -> None:
    today = TODAY
    scored = pl.DataFrame(
        {
            "fit": [70.0, 60.0, 40.0],
            "interest": [50.0, 20.0, 30.0],
            "created": [date(2026, 3, 2), date(2027, 1, 5), date(2026, 12, 1)],
        }
    )
    # Deals 11..15 closed 1 Oct 2026; two of them are moved to dates after today.
    closed = [deal(i, 4, closed_at=date(2026, 10, 1)) for i in range(11, 14)] + [
        deal(14, 4, closed_at=date(2026, 12, 24)),
        deal(15, 5, closed_at=date(2027, 2, 1)),
    ]
    found = health.measure(scored, (deals_frame(closed), HISTORY.head(0)), today)
    assert (found.future_leads, found.future_closed, found.old_closed) == (2, 2, None)
    assert health.line(found) == (
        "Data health: 5 of 5 closed deals have no stage history; 2 of 3 leads are created after "
        "today, outside every period counted; 2 of 5 closed deals closed after today, outside "
        "every period counted."
    )
    # The same deals all closed in 2017: before the last 8 full quarters, 2024 Q4 to 2026 Q3.
    old = [deal(i, 4, closed_at=date(2017, 6, 30)) for i in range(11, 16)]
    found = health.measure(None, (deals_frame(old), HISTORY.head(0)), today)
    assert found.old_closed == date(2024, 10, 1)
    assert health.line(found) == (
        "Data health: 5 of 5 closed deals have no stage history; all 5 closed deals closed before "
        "2024 Q4, outside today's baseline windows."
    )


def test_the_longest_window_is_the_forecast_pages_longest() -> None:
    assert max(forecast_view.WINDOWS.values()) == health.LONGEST_WINDOW
