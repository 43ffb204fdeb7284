"""The platform's one calendar: business dates are German dates (Europe/Berlin).

Pure (no clock): which German day an instant falls on, and when a day ends there. Reading
the clock is ``services.chassis.clock``'s, the one place "today" is taken.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

BERLIN: Final = ZoneInfo("Europe/Berlin")


def day_of(instant: datetime) -> date:
    """The German calendar day an (aware) instant falls on."""
    return instant.astimezone(BERLIN).date()


def end_of_day(day: date) -> datetime:
    """The instant ``day`` ends in Germany: midnight Europe/Berlin at the start of the next
    day (23 or 25 hours after the day began when the clocks change)."""
    return datetime.combine(day + timedelta(days=1), time.min, BERLIN)
