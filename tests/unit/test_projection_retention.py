"""A category's retention erasure in the purpose rules (pure): every view and partner feed
drops that category's events of the case recorded before the erasure, keeps the rest of the
case, and takes the category's data recorded afterwards again."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from contracts.envelope import Agency
from contracts.intake import CategoryErased, DataCategory, Partner, Purpose
from services.projections.agency_rows import facts_from_json, facts_to_json
from services.projections.forwarding import Subscription, forwarding
from services.projections.purpose import AnyEvent, CaseFacts, CategoryErasure, ViewId, evolve
from tests.unit.test_projection_purpose import (
    AFTER,
    BEFORE,
    LATER,
    TODAY,
    consent,
    enrolled,
    exam,
    facts,
    grant,
    handed_over,
    obligation,
    placement_test,
    profile,
)

ERASED_ON = date(2016, 10, 15)  # between AFTER and LATER


def courses_erased(on: date = ERASED_ON) -> CategoryErased:
    return CategoryErased(
        category=DataCategory.LANGUAGE,
        controller=Agency.JC_MG,
        rule="deufoev-course-data",
        legal_basis="§ 26 Abs. 3 DeuFöV",
        kept_until=date(2016, 10, 1),
        erased_on=on,
    )


LANGUAGE_EVENTS = pytest.mark.parametrize(
    "event", [obligation(), enrolled(), exam(), placement_test()], ids=lambda e: e.type
)


@LANGUAGE_EVENTS
def test_the_jobcenter_keeps_the_open_case_without_its_course_data(event: AnyEvent) -> None:
    """Handed over to the Jobcenter, then the course data's period ran out: no view holds a
    language event recorded before the erasure, the Jobcenter still holds the profile."""
    case = facts(handed_over(Agency.JC_MG), courses_erased())

    for view in (ViewId.JC_MG, ViewId.AA_MG, ViewId.ABH_MG):
        for recorded in (BEFORE, AFTER):
            assert grant(view, event, case, recorded_on=recorded) is None, (view, recorded)
    assert grant(ViewId.JC_MG, profile(), case, recorded_on=BEFORE) is not None
    assert grant(ViewId.JC_MG, profile(), case, recorded_on=AFTER) is not None


@LANGUAGE_EVENTS
def test_course_data_recorded_after_the_erasure_is_held_again(event: AnyEvent) -> None:
    """A course that starts after the erasure is new data with a period of its own."""
    case = facts(handed_over(Agency.JC_MG), courses_erased())

    assert grant(ViewId.JC_MG, event, case, recorded_on=LATER) is not None


def test_a_partner_feed_stops_forwarding_the_erased_category() -> None:
    """A course provider with a consent for language data: what was recorded before the
    erasure is no longer passed on, what is recorded after it is."""
    subscription = Subscription(
        Partner.COURSE_PROVIDER, Purpose.LANGUAGE_COURSES, frozenset({DataCategory.LANGUAGE})
    )
    given = consent(
        partner=Partner.COURSE_PROVIDER,
        purposes=(Purpose.LANGUAGE_COURSES,),
        categories=(DataCategory.LANGUAGE,),
    )
    case = facts(given, courses_erased())

    assert forwarding(subscription, enrolled(), facts(given), TODAY, recorded_on=AFTER)
    assert forwarding(subscription, enrolled(), case, TODAY, recorded_on=AFTER) is None
    assert forwarding(subscription, enrolled(), case, TODAY, recorded_on=LATER) is not None


def test_the_erasure_survives_the_views_stored_facts() -> None:
    """The facts a view keeps per case (on the German recording day) come back with the
    erased category, its day and its instant; facts stored before the instant load too."""
    day, at = date(2016, 10, 15), datetime(2016, 10, 15, 9, 30, tzinfo=UTC)
    erased = evolve(CaseFacts(), courses_erased().model_copy(update={"erased_on": day}), at)

    assert facts_from_json(facts_to_json(erased)).erased_categories == (
        CategoryErasure(DataCategory.LANGUAGE, day, at),
    )
    stored_before = facts_to_json(erased).replace(
        '{"category": "language", "on": "2016-10-15", "recorded_at": "2016-10-15T09:30:00+00:00"}',
        '["language", "2016-10-15"]',
    )
    assert facts_from_json(stored_before).erased_categories == (
        CategoryErasure(DataCategory.LANGUAGE, day),
    )


def test_data_recorded_the_same_day_is_erased_only_before_the_erasure() -> None:
    """On the erasure's own day the instant decides: a course recorded at 09:00 is erased by
    an erasure at 09:30, one recorded at 10:00 is new data."""
    day = date(2016, 10, 15)
    erasure = CategoryErasure(DataCategory.LANGUAGE, day, datetime(2016, 10, 15, 9, 30, tzinfo=UTC))

    assert erasure.covers(DataCategory.LANGUAGE, day, datetime(2016, 10, 15, 9, 0, tzinfo=UTC))
    assert not erasure.covers(DataCategory.LANGUAGE, day, datetime(2016, 10, 15, 10, tzinfo=UTC))
    assert erasure.covers(DataCategory.LANGUAGE, date(2016, 10, 14), None)
    assert not erasure.covers(DataCategory.PROFILE, date(2016, 10, 14), None)
