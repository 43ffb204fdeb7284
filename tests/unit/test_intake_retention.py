"""The retention rules: what of a case is due for erasure on a given day (the person, or one
data category while the case file is still needed), at the boundaries."""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

import pytest
from pydantic import ValidationError

from contracts.envelope import Agency
from contracts.intake import DataCategory
from services.intake.retention import packaged_schedule
from services.intake.retention_rules import (
    CaseDates,
    Expiry,
    RetentionCategory,
    RetentionSchedule,
    expired,
    expiries,
    kept_until,
    parse_schedule,
)

SCHEDULE = parse_schedule(
    """
[[rule]]
id = "courses"
controllers = ["AA-MG", "JC-MG"]
category = "course_data"
keep_years = 5
counted_from = "last_course_ended"
source = "§ 26 Abs. 3 DeuFöV"

[[rule]]
id = "aa-file"
controllers = ["AA-MG"]
category = "case_file"
keep_years = 5
counted_from = "case_closed"
source = "§ 84 Abs. 2 SGB X"

[[rule]]
id = "jc-file"
controllers = ["JC-MG"]
category = "case_file"
keep_years = 10
counted_from = "case_closed"
source = "§ 84 Abs. 2 SGB X"
"""
)


def closed(
    on: date, controller: Agency = Agency.AA_MG, *, erased_on: date | None = None
) -> CaseDates:
    return CaseDates(case_id=uuid4(), controller=controller, closed_on=on, erased_on=erased_on)


def handed_over(
    closed_on: date | None = None, last_course_ended_on: date | None = None
) -> CaseDates:
    """A case the Agentur handed over to the Jobcenter MG (Rechtskreiswechsel)."""
    return CaseDates(
        case_id=uuid4(),
        controller=Agency.JC_MG,
        closed_on=closed_on,
        last_course_ended_on=last_course_ended_on,
        held_by=frozenset({Agency.AA_MG, Agency.JC_MG}),
    )


def expiry(case: CaseDates, schedule: RetentionSchedule, today: date) -> Expiry | None:
    """The one expiry of the case on ``today`` (the tests' cases have at most one)."""
    due = expiries(case, schedule, today)
    assert len(due) <= 1, due
    return due[0] if due else None


def test_a_period_of_years_ends_on_the_corresponding_day() -> None:
    """Five years from 31 March 2016 are kept through 31 March 2021 (§ 188 (2) BGB)."""
    assert kept_until(date(2016, 3, 31), 5) == date(2021, 3, 31)


def test_a_period_from_29_february_ends_on_28_february() -> None:
    """A leap day has no corresponding day in a common year: the month's last (§ 188 (3))."""
    assert kept_until(date(2016, 2, 29), 5) == date(2021, 2, 28)
    assert kept_until(date(2016, 2, 29), 4) == date(2020, 2, 29)


def test_a_closed_case_is_kept_through_its_last_day_and_due_the_day_after() -> None:
    """Closed on 31 March 2016 under a five-year rule: kept on 31 March 2021, due on 1 April."""
    case = closed(date(2016, 3, 31))

    assert expiry(case, SCHEDULE, date(2021, 3, 31)) is None
    due = expiry(case, SCHEDULE, date(2021, 4, 1))
    assert due is not None
    assert (due.rule.id, due.kept_until, due.controller) == (
        "aa-file",
        date(2021, 3, 31),
        case.controller,
    )
    assert due.rule.category is RetentionCategory.CASE_FILE


def test_an_open_case_without_courses_never_expires() -> None:
    """No closing and no ended course: no rule has started to run."""
    case = CaseDates(case_id=uuid4(), controller=Agency.AA_MG)

    assert expiry(case, SCHEDULE, date(2099, 1, 1)) is None


def test_each_controller_has_its_own_period() -> None:
    """The same closing day: the Agentur's five years ran out, the Jobcenter's ten did not."""
    aa, jc = closed(date(2016, 6, 1)), closed(date(2016, 6, 1), Agency.JC_MG)

    assert expired([aa, jc], SCHEDULE, date(2022, 1, 1)) == [
        e for e in [expiry(aa, SCHEDULE, date(2022, 1, 1))] if e is not None
    ]
    assert expiry(jc, SCHEDULE, date(2026, 6, 1)) is None
    assert expiry(jc, SCHEDULE, date(2026, 6, 2)) is not None


def test_a_controller_without_a_rule_keeps_nothing_expiring() -> None:
    """A rule names its controllers; a case of another controller is not judged by it."""
    case = closed(date(2000, 1, 1), Agency.JC_RKN)

    assert expiry(case, SCHEDULE, date(2030, 1, 1)) is None


def test_course_data_of_an_open_case_goes_alone() -> None:
    """An open case the Jobcenter looks after: five years after the last course only the
    course data (the language category) is due, never the person."""
    case = handed_over(last_course_ended_on=date(2016, 12, 20))

    assert expiry(case, SCHEDULE, date(2021, 12, 20)) is None
    due = expiry(case, SCHEDULE, date(2021, 12, 21))

    assert due is not None
    assert (due.rule.id, due.kept_until, due.category) == (
        "courses",
        date(2021, 12, 20),
        DataCategory.LANGUAGE,
    )
    assert due.controller is Agency.JC_MG
    assert due.reason == "retention job: rule courses (course_data) kept until 2021-12-20"
    assert expiry(case, SCHEDULE, date(2099, 1, 1)) == due  # the case file never started


def test_course_data_of_a_closed_case_goes_before_the_file() -> None:
    """Closed at the Jobcenter (ten years): the course data go after five years from the
    last course, the person only when the file's period ran out too."""
    case = handed_over(closed_on=date(2017, 1, 31), last_course_ended_on=date(2016, 12, 20))

    early = expiry(case, SCHEDULE, date(2021, 12, 21))
    late = expiry(case, SCHEDULE, date(2027, 2, 1))

    assert early is not None
    assert early.category is DataCategory.LANGUAGE
    assert late is not None
    assert (late.rule.id, late.kept_until, late.category) == ("jc-file", date(2027, 1, 31), None)


def test_the_person_goes_only_when_every_controllers_file_ran_out() -> None:
    """Held by the Agentur (five years) and the Jobcenter (ten): the Agentur's period alone
    erases nothing; the person goes after the Jobcenter's, under its rule."""
    case = handed_over(closed_on=date(2016, 6, 1))

    assert expiry(case, SCHEDULE, date(2022, 1, 1)) is None
    assert expiry(case, SCHEDULE, date(2026, 6, 1)) is None
    due = expiry(case, SCHEDULE, date(2026, 6, 2))
    assert due is not None
    assert (due.rule.id, due.category) == ("jc-file", None)


def test_an_erased_category_is_due_again_only_for_a_later_period() -> None:
    """Once the course data were erased after a period, the job does not list them again; a
    course that ended after that erasure starts a period of its own."""
    erased = ((DataCategory.LANGUAGE, date(2021, 12, 20)),)
    case = CaseDates(
        case_id=uuid4(),
        controller=Agency.AA_MG,
        last_course_ended_on=date(2016, 12, 20),
        categories_erased=erased,
    )
    later = CaseDates(
        case_id=case.case_id,
        controller=Agency.AA_MG,
        last_course_ended_on=date(2022, 3, 1),
        categories_erased=erased,
    )

    assert expiry(case, SCHEDULE, date(2030, 1, 1)) is None
    due = expiry(later, SCHEDULE, date(2027, 3, 2))
    assert due is not None
    assert due.kept_until == date(2027, 3, 1)


def test_an_erased_case_is_not_listed_again() -> None:
    """Once erased, a case is never due again (the job is safe to repeat)."""
    case = closed(date(2010, 1, 1), erased_on=date(2016, 1, 1))

    assert expiry(case, SCHEDULE, date(2030, 1, 1)) is None


def test_expired_lists_the_longest_overdue_first() -> None:
    """The listing is ordered by the last day kept."""
    later, earlier = closed(date(2012, 5, 5)), closed(date(2011, 5, 5))

    listed = expired([later, earlier], SCHEDULE, date(2020, 1, 1))

    assert [e.case_id for e in listed] == [earlier.case_id, later.case_id]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ('controllers = ["AA-MG"]\ncategory = "case_file"', "two rules for"),
        ('controllers = ["XX"]\ncategory = "case_file"', "controllers"),
        ('controllers = ["JC-RKN"]\ncategory = "archive"', "category"),
    ],
)
def test_a_schedule_with_a_conflict_or_unknown_value_is_refused(change: str, problem: str) -> None:
    """A second rule for one controller and category, or an unknown name, fails to load."""
    text = f"""
[[rule]]
id = "one"
controllers = ["AA-MG"]
category = "case_file"
keep_years = 5
counted_from = "case_closed"
source = "x"

[[rule]]
id = "two"
{change}
keep_years = 5
counted_from = "case_closed"
source = "x"
"""
    with pytest.raises(ValidationError, match=problem):
        parse_schedule(text)


def test_the_packaged_schedule_loads_and_names_its_sources() -> None:
    """The shipped retention.toml is valid, every rule cites a source, and DeuFöV course
    data are kept at most five years (§ 26 Abs. 3 DeuFöV)."""
    schedule: RetentionSchedule = parse_schedule(packaged_schedule())

    assert all(rule.source.strip() for rule in schedule.rule)
    courses = [r for r in schedule.rule if r.category is RetentionCategory.COURSE_DATA]
    assert courses
    assert all(r.keep_years <= 5 and "DeuFöV" in r.source for r in courses)
    assert isinstance(schedule.rule[0].controllers[0], Agency)
    assert UUID(int=0)  # (ids in the listing are case ids only; see the integration test)
