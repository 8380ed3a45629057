""" "Today" in one place, so a demo, a screenshot or a test can be pinned to a day.

Every business date (the forecast's first period, the baseline window, time in stage, interest
decay, a stage move's date, the demo's dates) comes from here. Audit timestamps stay real time:
they say when a person did something, not which business day the app is showing.

Set `FUNNEL_TODAY=2026-11-23` to pin the day; unset, it is the machine's date.

>>> import os
>>> before = os.environ.get("FUNNEL_TODAY", "")
>>> os.environ["FUNNEL_TODAY"] = "2028-02-29"
>>> today()
datetime.date(2028, 2, 29)
>>> os.environ["FUNNEL_TODAY"] = before
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

ENV = "FUNNEL_TODAY"


class ClockError(ValueError):
    """`FUNNEL_TODAY` is set to something that is not a date."""


def today() -> date:
    """The business day: `FUNNEL_TODAY` when set (YYYY-MM-DD), else the machine's date."""
    pinned = os.environ.get(ENV, "").strip()
    if not pinned:
        return date.today()
    try:
        return date.fromisoformat(pinned)
    except ValueError as error:
        raise ClockError(f"{ENV}={pinned!r} is not a date; write it as YYYY-MM-DD.") from error


def now() -> datetime:
    """This moment on the business day: today's date at the real UTC time of day, to the second,
    without a zone (the store's one timestamp format). A pinned day keeps the time of day moving,
    so two stage moves made a minute apart stay in order."""
    real = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    return datetime.combine(today(), real.time())


def stamp(moment: datetime | None = None) -> str:
    """A business timestamp as the store writes it: `2026-11-23T14:05:09`."""
    return (moment or now()).strftime("%Y-%m-%dT%H:%M:%S")
