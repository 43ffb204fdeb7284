"""The one boundary where the platform reads the clock: "today" is a German day.

The web, the command API and the jobs take "today" here, so that a day never depends on
the host's time zone or on UTC (at 00:30 in Berlin it is still yesterday in UTC). Pure rules
never import this: their adapters pass the day in. Tests fix the day by overriding
``berlin_today`` (a FastAPI dependency) or by passing a day to what needs one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.chassis.calendar import day_of


def now() -> datetime:
    """The current instant (aware, UTC): what events are stamped with."""
    return datetime.now(UTC)


def today() -> date:
    """Today in Germany."""
    return day_of(now())


async def berlin_today() -> date:
    """Today in Germany, as an (async, so thread-free) FastAPI dependency tests can override."""
    return today()
