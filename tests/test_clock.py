"""One clock: every page reads "today" from `funnel.clock`, which `FUNNEL_TODAY` pins.

The tests pin it (tests/conftest.py) to the day their demo store is built at, so moving the
machine's date must not change a single figure; with the pin removed, it must.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from funnel import clock
from tests.conftest import APP, DEMO_TODAY, ROOT

pytestmark = pytest.mark.dates


def machine_date_on(day: date) -> type[date]:
    """A `date` whose `today()` is `day`: the machine's clock moved, nothing else."""

    class Moved(date):
        @classmethod
        def today(cls) -> date:
            return day

    return Moved


def page_figures(page: str) -> list[object]:
    """Every figure a page shows: metrics, captions, and each table's rows."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    figures: list[object] = [(m.label, m.value) for m in at.metric]
    figures += [c.value for c in at.caption]
    figures += [frame.value.to_csv() for frame in at.dataframe]  # NaN-safe: NaN != NaN
    figures += [s.options for s in at.selectbox if s.key == "forecast_reverse_period"]
    return figures


def test_the_pinned_day_is_today_and_now_keeps_the_time_of_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(clock.ENV, "2028-02-29")
    assert clock.today() == date(2028, 2, 29)
    assert clock.now().date() == date(2028, 2, 29)
    assert re.fullmatch(r"2028-02-29T\d\d:\d\d:\d\d", clock.stamp())


def test_without_a_pin_today_is_the_machine_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(clock.ENV)
    monkeypatch.setattr(clock, "date", machine_date_on(date(2030, 7, 4)))
    assert clock.today() == date(2030, 7, 4)


def test_a_pin_that_is_not_a_date_says_how_to_write_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(clock.ENV, "23/11/2026")
    expected = r"FUNNEL_TODAY='23/11/2026' is not a date; write it as YYYY-MM-DD"
    with pytest.raises(clock.ClockError, match=expected):
        clock.today()


@pytest.mark.parametrize("page", ["pages/forecast.py", "pages/stages.py", "pages/mql.py"])
def test_moving_the_machine_date_a_year_on_changes_no_figure_while_the_day_is_pinned(
    app_env: Path, monkeypatch: pytest.MonkeyPatch, page: str
) -> None:
    # The forecast's first period, the stalled deals and the MQL decay all depend on "today".
    before = page_figures(page)
    later = date(DEMO_TODAY.year + 1, DEMO_TODAY.month, min(DEMO_TODAY.day, 28))
    monkeypatch.setattr(clock, "date", machine_date_on(later))
    assert page_figures(page) == before


@pytest.mark.parametrize("page", ["pages/forecast.py", "pages/stages.py", "pages/mql.py"])
def test_unpinned_the_same_pages_do_follow_the_machine_date(
    app_env: Path, monkeypatch: pytest.MonkeyPatch, page: str
) -> None:
    # The control: without it, the test above would pass on a page that ignored the clock.
    monkeypatch.delenv(clock.ENV)
    monkeypatch.setattr(clock, "date", machine_date_on(DEMO_TODAY))
    on_the_day = page_figures(page)
    monkeypatch.setattr(clock, "date", machine_date_on(date(DEMO_TODAY.year + 1, 3, 15)))
    assert page_figures(page) != on_the_day


def test_no_business_date_reads_the_machine_clock_outside_funnel_clock() -> None:
    # Audit timestamps (real time, with their zone) stay; every "today" goes through the clock.
    pattern = re.compile(r"date\.today\(\)|datetime\.now\((?!UTC)")
    sources = [*(ROOT / "src").rglob("*.py"), *(ROOT / "pages").glob("*.py"), ROOT / "app.py"]
    sources += [*(ROOT / "ui").rglob("*.py")]
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sources
        if path.name != "clock.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []
