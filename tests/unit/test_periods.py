"""Legal periods (§§ 187, 188 BGB): the one implementation against an independent one written
from the statute's words, over every start day of several years and random dates."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.chassis.periods import (
    Counting,
    age_on,
    first_day_after,
    months_elapsed,
    period_end,
)

YEARS = (2014, 2015, 2016, 2017, 2020, 2024)  # 2016, 2020, 2024 are leap years
MONTHS = (1, 2, 3, 6, 9, 12, 15, 48, 60)
ONE_DAY = timedelta(days=1)


# --- the independent reading: days of months found by walking the calendar ----------------


def _days_of_month(any_day: date) -> list[date]:
    """Every day of the month ``any_day`` lies in, found by walking from its first day."""
    day = any_day - timedelta(days=any_day.day - 1)
    days = []
    while day.month == any_day.month:
        days.append(day)
        day += ONE_DAY
    return days


def _last_month(start: date, months: int) -> list[date]:
    """The days of the month ``months`` calendar months after ``start``'s, stepping one month
    at a time (from a month's last day, the next day opens the next month)."""
    month = _days_of_month(start)
    for _ in range(months):
        month = _days_of_month(month[-1] + ONE_DAY)
    return month


def _numbered(month: list[date], number: int) -> date | None:
    return next((day for day in month if day.day == number), None)


def statute_end(start: date, months: int, counting: Counting) -> date:
    """§ 188 (2) and (3) BGB, clause by clause."""
    month = _last_month(start, months)
    matching = _numbered(month, start.day)  # "durch seine Zahl dem Tage entspricht"
    if counting is Counting.FROM_EVENT:
        # 1st case of (2): the end of the day matching the event's day; (3) if it is lacking.
        return matching if matching is not None else month[-1]
    # 2nd case of (2): the end of the day before the one matching the first day; if the
    # month lacks that day, the day before it is the one numbered one less, else (3).
    if matching is not None:
        return matching - ONE_DAY
    before = _numbered(month, start.day - 1)
    return before if before is not None else month[-1]


def statute_months_elapsed(start: date, on: date, counting: Counting) -> int:
    """How many periods of 1, 2, ... months have ended before ``on`` begins, counted up."""
    months = 0
    while statute_end(start, months + 1, counting) < on:
        months += 1
    return months


def every_day(years: tuple[int, ...]) -> Iterator[date]:
    for year in years:
        day = date(year, 1, 1)
        while day.year == year:
            yield day
            day += ONE_DAY


# --- every start day of the years -----------------------------------------------------------


@pytest.mark.parametrize("counting", list(Counting))
def test_every_start_day_ends_where_the_statute_says(counting: Counting) -> None:
    """For every day of 2014-2017, 2020 and 2024 and each length, both readings agree."""
    mismatches = [
        (start, months)
        for start in every_day(YEARS)
        for months in MONTHS
        if period_end(start, months, counting) != statute_end(start, months, counting)
    ]

    assert mismatches == []


@pytest.mark.parametrize("counting", list(Counting))
def test_every_start_day_counts_whole_months_at_both_sides_of_each_end(counting: Counting) -> None:
    """On a period's last day n - 1 months have run out; on the next day n have."""
    for start in every_day(YEARS):
        for months in (3, 15, 48):
            end = statute_end(start, months, counting)
            assert months_elapsed(start, end, counting) == months - 1, (start, months)
            assert months_elapsed(start, end + ONE_DAY, counting) == months, (start, months)


# --- random dates ---------------------------------------------------------------------------

days = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))


@given(
    start=days, months=st.integers(min_value=1, max_value=600), counting=st.sampled_from(Counting)
)
def test_period_end_agrees_with_the_statute_on_random_dates(
    start: date, months: int, counting: Counting
) -> None:
    """Any start day and any length up to 50 years: the same last day."""
    assert period_end(start, months, counting) == statute_end(start, months, counting)


@given(
    start=days,
    offset=st.integers(min_value=-40, max_value=2000),
    counting=st.sampled_from(Counting),
)
def test_months_elapsed_agrees_with_counting_up(
    start: date, offset: int, counting: Counting
) -> None:
    """Whole months run out by any day agree with counting the periods up one by one."""
    on = start + timedelta(days=offset)

    assert months_elapsed(start, on, counting) == statute_months_elapsed(start, on, counting)


@given(born=days, on=days)
def test_age_is_the_number_of_birthdays_passed(born: date, on: date) -> None:
    """§ 187 (2) S. 2: a year of life is complete at the start of the birthday; one born on
    29 February completes it at the end of 28 February in a common year."""
    birthdays_passed = on.year - born.year - ((on.month, on.day) < (born.month, born.day))

    assert age_on(born, on) == max(birthdays_passed, 0)


# --- the cases the statute's commentaries give ----------------------------------------------


def test_an_event_day_is_not_counted_and_the_start_of_a_day_is() -> None:
    """Three months from an event on 15 Jan end with 15 Apr; from the start of 15 Jan,
    with 14 Apr (§ 187 (1) against (2))."""
    assert period_end(date(2016, 1, 15), 3, Counting.FROM_EVENT) == date(2016, 4, 15)
    assert period_end(date(2016, 1, 15), 3, Counting.FROM_START_OF_DAY) == date(2016, 4, 14)


def test_a_day_the_last_month_lacks_ends_the_period_with_that_month() -> None:
    """§ 188 (3): from 31 Jan, three months end with 30 Apr and one with 29 Feb 2016."""
    assert period_end(date(2016, 1, 31), 3, Counting.FROM_EVENT) == date(2016, 4, 30)
    assert period_end(date(2016, 1, 31), 1, Counting.FROM_EVENT) == date(2016, 2, 29)
    assert period_end(date(2015, 1, 31), 1, Counting.FROM_START_OF_DAY) == date(2015, 2, 28)
    assert first_day_after(date(2016, 1, 31), 3, Counting.FROM_EVENT) == date(2016, 5, 1)


def test_a_period_starting_on_the_first_ends_in_the_month_before_the_matching_one() -> None:
    """From the start of 1 March, one month ends with 31 March (the day before 1 April)."""
    assert period_end(date(2016, 3, 1), 1, Counting.FROM_START_OF_DAY) == date(2016, 3, 31)


def test_a_period_has_at_least_one_month() -> None:
    """Zero or negative months are a programming error, not a period."""
    with pytest.raises(ValueError, match="at least one month"):
        period_end(date(2016, 1, 1), 0, Counting.FROM_EVENT)
