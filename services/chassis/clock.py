"""The platform's one calendar: business dates are German dates (Europe/Berlin).

Every "today" the web, the command API, the jobs and the views judge on is taken here, so
that a day never depends on the host's time zone or on UTC (at 00:30 in Berlin it is
still yesterday in UTC). Pure rules never call this: their adapters pass the day in.
Tests fix the clock by overriding ``berlin_today`` (a FastAPI dependency) or by passing
a day to the function that needs one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

BERLIN: Final = ZoneInfo("Europe/Berlin")


def now() -> datetime:
    """The current instant (aware, UTC): what events are stamped with."""
    return datetime.now(UTC)


def day_of(instant: datetime) -> date:
    """The German calendar day an instant falls on."""
    return instant.astimezone(BERLIN).date()


def today() -> date:
    """Today in Germany."""
    return day_of(now())


async def berlin_today() -> date:
    """Today in Germany, as an (async, so thread-free) FastAPI dependency tests can override."""
    return today()


def end_of_day(day: date) -> datetime:
    """The instant ``day`` ends in Germany: midnight Europe/Berlin at the start of the next
    day (23 or 25 hours after the day began when the clocks change)."""
    return datetime.combine(day + timedelta(days=1), time.min, BERLIN)
