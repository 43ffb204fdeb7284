"""The pure core of intake: decide(case, command) -> events, evolve(case, event) -> case.

No I/O, no clock, no ids: the adapter stamps those.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from uuid import UUID

from contracts.envelope import Agency
from contracts.intake import FirstContactMade, IntakeEvent, PersonRegistered, Site
from services.chassis.rules import InvalidTransitionError
from services.intake.commands import IntakeCommand, RecordFirstContact, RegisterPerson


@dataclass(frozen=True)
class Case:
    """What intake needs to know about a case to decide the next command."""

    case_id: UUID
    site: Site
    allocated_on: date
    responsible: Agency
    first_contact_on: date | None = None


def decide(case: Case | None, command: IntakeCommand) -> list[IntakeEvent]:
    """The events a command produces, or the rule that refuses it."""
    match command:
        case RegisterPerson() if case is None:
            return [
                PersonRegistered(
                    given_name=command.given_name,
                    family_name=command.family_name,
                    date_of_birth=command.date_of_birth,
                    date_of_birth_precision=command.date_of_birth_precision,
                    nationality=command.nationality,
                    languages=command.languages,
                    site=command.site,
                    town=command.town,
                    allocated_on=command.allocated_on,
                )
            ]
        case RegisterPerson():
            raise InvalidTransitionError("case.already_registered", "this case exists already")
        case RecordFirstContact() if case is None:
            raise InvalidTransitionError(
                "case.must_be_registered", "no registered case to record a contact for"
            )
        case RecordFirstContact() if case.first_contact_on is not None:
            raise InvalidTransitionError(
                "first_contact.only_once", f"first contact was on {case.first_contact_on}"
            )
        case RecordFirstContact() if command.contacted_on < case.allocated_on:
            raise InvalidTransitionError(
                "first_contact.not_before_allocation",
                f"contact on {command.contacted_on} precedes allocation on {case.allocated_on}",
            )
        case RecordFirstContact():
            return [
                FirstContactMade(
                    contacted_on=command.contacted_on,
                    interpreter_language=command.interpreter_language,
                )
            ]
    raise AssertionError(f"unhandled command {type(command).__name__}")  # pragma: no cover


def evolve(case: Case | None, case_id: UUID, event: IntakeEvent) -> Case:
    """The case after ``event``."""
    match event:
        case PersonRegistered():
            # Asylum seekers start in SGB III: the Agentur of the whole district is responsible.
            return Case(
                case_id=case_id,
                site=event.site,
                allocated_on=event.allocated_on,
                responsible=Agency.AA_MG,
            )
        case FirstContactMade():
            if case is None:
                raise ValueError(f"first contact for unregistered case {case_id}")
            return replace(case, first_contact_on=event.contacted_on)


def fold(case_id: UUID, history: Iterable[IntakeEvent]) -> Case | None:
    """Rebuild a case from its events."""
    case: Case | None = None
    for event in history:
        case = evolve(case, case_id, event)
    return case
