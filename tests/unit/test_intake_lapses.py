"""What ends by the calendar on the write side (pure): consents whose valid_until has come
are due for expiry on their own, and a category's retention erasure leaves the case running."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from contracts.envelope import Agency
from contracts.intake import CategoryErased, ClosingReason, ConsentExpired, DataCategory
from services.chassis.calendar import day_of
from services.chassis.rules import InvalidTransitionError
from services.intake.commands import (
    CloseCase,
    EraseCategory,
    ErasePerson,
    ExpireConsent,
    RecordFirstContact,
    WithdrawConsent,
)
from services.intake.consent import lapsed
from tests.unit.intake_builders import Story, consent

CONSENT = consent().consent_id


def erase_courses(kept_until: date = date(2021, 3, 15)) -> EraseCategory:
    return EraseCategory(
        category=DataCategory.LANGUAGE,
        rule="deufoev-course-data",
        legal_basis="§ 26 Abs. 3 DeuFöV",
        kept_until=kept_until,
        erased_on=date(2021, 4, 1),
    )


def test_a_consent_lapses_on_its_valid_until_not_before() -> None:
    """Valid until 9 February 2017 (its last day): nothing is due on the 9th; from the 10th
    on its expiry on the 10th, which the decider then accepts."""
    story = Story()
    story.then(consent(valid_until=date(2017, 2, 9)))

    assert lapsed(story.case(), date(2017, 2, 9)) == []
    due = lapsed(story.case(), date(2017, 3, 1))
    assert due == [ExpireConsent(consent_id=CONSENT, expired_on=date(2017, 2, 10))]
    assert story.then(due[0]) == [ConsentExpired(consent_id=CONSENT, expired_on=date(2017, 2, 10))]
    assert lapsed(story.case(), date(2017, 3, 1)) == []  # recorded once


def test_an_open_ended_withdrawn_or_erased_consent_never_lapses() -> None:
    """No valid_until, a withdrawal, or an erasure of the person: nothing to expire."""
    open_ended = Story()
    open_ended.then(consent())
    withdrawn = Story()
    withdrawn.then(consent(valid_until=date(2017, 2, 9)))
    withdrawn.then(WithdrawConsent(consent_id=CONSENT, withdrawn_on=date(2016, 6, 1)))
    erased = Story()
    erased.then(consent(valid_until=date(2017, 2, 9)))
    erased.then(ErasePerson(reason="Art. 17 DSGVO", erased_on=date(2016, 6, 1)))

    for story in (open_ended, withdrawn, erased):
        assert lapsed(story.case(), date(2030, 1, 1)) == []


def test_a_closed_cases_consent_still_expires_by_the_responsible_agency() -> None:
    """A closed case takes no new facts, but its consent's end is recorded all the same."""
    story = Story()
    story.then(consent(valid_until=date(2017, 2, 9)))
    story.then(CloseCase(reason=ClosingReason.WORK, closed_on=date(2016, 9, 1)))
    (due,) = lapsed(story.case(), date(2017, 2, 10))

    with pytest.raises(InvalidTransitionError, match="only_responsible"):
        story.then(due, Agency.JC_MG)
    assert story.then(due)[0].type == "intake.consent_expired"


def test_the_business_day_is_the_german_one() -> None:
    """23:30 UTC on 8 February is already 9 February in Germany (and 01:30 in summer too)."""
    assert day_of(datetime(2017, 2, 8, 23, 30, tzinfo=UTC)) == date(2017, 2, 9)
    assert day_of(datetime(2017, 2, 8, 22, 59, tzinfo=UTC)) == date(2017, 2, 8)
    assert day_of(datetime(2017, 7, 8, 22, 30, tzinfo=UTC)) == date(2017, 7, 9)


def test_a_category_erasure_leaves_the_case_open_and_is_recorded_once_per_period() -> None:
    """Course data erased: the event names category, rule and source; the case still takes
    commands; the same period again is refused, a later one is not."""
    story = Story()

    (event,) = story.then(erase_courses())

    assert event == CategoryErased(
        category=DataCategory.LANGUAGE,
        controller=Agency.AA_MG,
        rule="deufoev-course-data",
        legal_basis="§ 26 Abs. 3 DeuFöV",
        kept_until=date(2021, 3, 15),
        erased_on=date(2021, 4, 1),
    )
    assert story.case().erased_on is None
    assert story.case().category_kept_until(DataCategory.LANGUAGE) == date(2021, 3, 15)
    with pytest.raises(InvalidTransitionError, match=r"category\.already_erased"):
        story.then(erase_courses())
    assert story.then(erase_courses(date(2023, 5, 1)))[0].type == "intake.category_erased"
    assert story.then(RecordFirstContact(contacted_on=date(2021, 4, 2)))


def test_only_the_responsible_agency_erases_a_category() -> None:
    """The Jobcenter cannot erase the Agentur's case's course data, nor can anyone after
    the person's erasure."""
    story = Story()

    with pytest.raises(InvalidTransitionError, match="by_responsible_agency"):
        story.then(erase_courses(), Agency.JC_MG)
    story.then(ErasePerson(reason="Art. 17 DSGVO", erased_on=date(2021, 1, 1)))
    with pytest.raises(InvalidTransitionError, match=r"case\.erased"):
        story.then(erase_courses())
