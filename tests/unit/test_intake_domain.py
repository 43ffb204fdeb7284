"""The pure intake decider: every rule, without a broker or a database."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from contracts.common import Site
from contracts.envelope import Agency
from contracts.intake import FirstContactMade, PersonRegistered
from services.chassis.rules import InvalidTransitionError
from services.intake.commands import RecordFirstContact, RegisterPerson
from services.intake.domain import decide, fold
from tests.unit.intake_builders import CASE, register


def test_registration_opens_a_case_under_the_agentur() -> None:
    """A new person's case starts in SGB III with the Agentur responsible."""
    events = decide(None, register())

    assert [type(e) for e in events] == [PersonRegistered]
    case = fold(CASE, events)
    assert case is not None
    assert case.responsible is Agency.AA_MG
    assert case.site is Site.MG
    assert case.allocated_on == date(2016, 2, 1)


def test_registering_twice_is_refused() -> None:
    """The same case cannot be registered again."""
    case = fold(CASE, decide(None, register()))

    with pytest.raises(InvalidTransitionError) as refused:
        decide(case, register())

    assert refused.value.rule == "case.already_registered"


def test_first_contact_for_unknown_case_is_refused() -> None:
    """A first contact needs a registered person."""
    with pytest.raises(InvalidTransitionError) as refused:
        decide(None, RecordFirstContact(contacted_on=date(2016, 2, 9)))

    assert refused.value.rule == "case.must_be_registered"


def test_first_contact_with_interpreter_is_recorded() -> None:
    """First contact records its date and the interpreter's language."""
    case = fold(CASE, decide(None, register()))
    command = RecordFirstContact(contacted_on=date(2016, 2, 9), interpreter_language="ar")

    events = decide(case, command)

    assert events == [FirstContactMade(contacted_on=date(2016, 2, 9), interpreter_language="ar")]


def test_first_contact_on_allocation_day_is_allowed_but_not_the_day_before() -> None:
    """Contact on the allocation date counts; the day before would precede the allocation."""
    case = fold(CASE, decide(None, register()))

    same_day = decide(case, RecordFirstContact(contacted_on=date(2016, 2, 1)))
    with pytest.raises(InvalidTransitionError) as refused:
        decide(case, RecordFirstContact(contacted_on=date(2016, 1, 31)))

    assert len(same_day) == 1
    assert refused.value.rule == "first_contact.not_before_allocation"


def test_first_contact_only_once() -> None:
    """A second first contact is refused."""
    history = decide(None, register())
    history += decide(fold(CASE, history), RecordFirstContact(contacted_on=date(2016, 2, 9)))

    with pytest.raises(InvalidTransitionError) as refused:
        decide(fold(CASE, history), RecordFirstContact(contacted_on=date(2016, 3, 1)))

    assert refused.value.rule == "first_contact.only_once"


@pytest.mark.parametrize(
    ("site", "town"),
    [(Site.NE, "Grevenbroich"), (Site.GV, "Neuss"), (Site.MG, "Kaarst")],
)
def test_town_must_belong_to_site(site: Site, town: str) -> None:
    """A town outside the site's area is bad input, not a domain refusal."""
    with pytest.raises(ValidationError, match="not served by site"):
        register(site=site, town=town)


@pytest.mark.parametrize(
    ("site", "town"),
    [
        (Site.NE, "Dormagen"),
        (Site.GV, "Jüchen"),
        (Site.GV, "Rommerskirchen"),
        (Site.NE, "Meerbusch"),
    ],
)
def test_towns_of_the_rhein_kreis_sites_are_accepted(site: Site, town: str) -> None:
    """Each Rhein-Kreis town is served by its own site."""
    assert register(site=site, town=town).town == town


def test_allocation_before_birth_is_bad_input() -> None:
    """An allocation date before the date of birth cannot be right."""
    with pytest.raises(ValidationError, match="before date_of_birth"):
        RegisterPerson.model_validate(
            {
                "given_name": "A",
                "family_name": "B",
                "date_of_birth": "2016-03-01",
                "nationality": "SYR",
                "site": "MG",
                "town": "Mönchengladbach",
                "allocated_on": "2016-02-01",
            }
        )
