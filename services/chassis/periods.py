"""Legal periods in months and years, counted as §§ 187, 188 BGB say (pure: no clock).

Every period of the platform that is set in months or years (the waiting period for work,
the 15- and 48-month marks of § 32 BeschV, retention periods, ages, "still in post after 6
months") is counted here, so that none of them re-invents the month arithmetic. Periods of
administrative law follow the same rules (§ 31 (1) VwVfG NRW, § 26 (1) SGB X).

The statute, as this module reads it:

- § 187 (1) BGB: if an *event* (or a point in the course of a day) starts the period, that
  day is not counted. The period runs from the next day. (``Counting.FROM_EVENT``)
- § 187 (2) BGB: if the *beginning of a day* starts the period, that day is counted; so is
  the day of birth for an age. (``Counting.FROM_START_OF_DAY``)
- § 188 (2) BGB: a period of months ends, in the case of § 187 (1), with the end of the day
  of the last month whose number matches the day of the event; in the case of § 187 (2),
  with the end of the day before the one whose number matches the first day of the period.
- § 188 (3) BGB: if the last month lacks the day that decides the end, the period ends with
  the end of that month's last day.

For § 187 (2) "the day before the matching day" is taken as the day before the matching
day where it exists, and otherwise (a 29th, 30th or 31st the last month lacks) as the
month's last day, by § 188 (3): a year from 29 February 2016 (a birthday) ends on
28 February 2017, and six months from 31 August end on the last day of February.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from enum import StrEnum


class Counting(StrEnum):
    """How the first day of a period is found (§ 187 BGB)."""

    FROM_EVENT = "from_event"  # § 187 (1): the event's day does not count
    FROM_START_OF_DAY = "from_start_of_day"  # § 187 (2): the day counts (also: birth)


def _last_month(start: date, months: int) -> tuple[int, int]:
    """The year and month in which a period of ``months`` from ``start`` ends."""
    year, month0 = divmod(start.year * 12 + start.month - 1 + months, 12)
    return year, month0 + 1


def period_end(start: date, months: int, counting: Counting) -> date:
    """The last day of a period of ``months`` months (§ 188 (2), (3) BGB).

    ``start`` is the event's day (§ 187 (1)) or the period's first day (§ 187 (2)).
    """
    if months < 1:
        raise ValueError(f"a period has at least one month, not {months}")
    year, month = _last_month(start, months)
    days_in_month = calendar.monthrange(year, month)[1]
    if start.day > days_in_month:  # § 188 (3): the month lacks the day
        return date(year, month, days_in_month)
    matching = date(year, month, start.day)
    if counting is Counting.FROM_EVENT:
        return matching
    return matching - timedelta(days=1)


def first_day_after(start: date, months: int, counting: Counting) -> date:
    """The first day on which the period of ``months`` months has run out."""
    return period_end(start, months, counting) + timedelta(days=1)


def months_elapsed(start: date, on: date, counting: Counting) -> int:
    """How many whole months of a period from ``start`` have run out when ``on`` begins."""
    if on <= start:
        return 0
    # A lower bound first: ends grow with the months, so the search only steps forward.
    months = max((on.year - start.year) * 12 + on.month - start.month - 1, 0)
    while first_day_after(start, months + 1, counting) <= on:
        months += 1
    return months


def age_on(born: date, on: date) -> int:
    """The completed years of life on ``on`` (§ 187 (2) S. 2 BGB: the birthday counts);
    someone born on 29 February completes a year at the end of 28 February."""
    return months_elapsed(born, on, Counting.FROM_START_OF_DAY) // 12
