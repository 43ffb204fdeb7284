"""The pure core of the language service: decide(path, command) -> events.

No I/O, no clock, no ids: dates and ids come in the commands, the adapter stamps the rest.
State and its fold live in ``state``; the enrolment rules in ``enrolments``.
"""

from __future__ import annotations

from typing import Final

from contracts.language import (
    ISSUER_OF_AGENCY,
    EntitlementIssued,
    Issuer,
    IssuerChanged,
    LanguageEvent,
    PlacementTestTaken,
)
from services.chassis.rules import InvalidTransitionError
from services.language.commands import (
    EndEnrolment,
    IssueEntitlement,
    LanguageCommand,
    RecordAttendance,
    RecordExam,
    RecordPlacementTest,
    StartEnrolment,
    TransferEntitlements,
)
from services.language.enrolments import end, record_attendance, record_exam, start
from services.language.state import LanguagePath, fold

__all__ = ["decide", "fold"]

# Only the agencies of the two legal spheres answer for entitlements a hand-over moves; an
# ABH's or the BAMF's entitlement stays theirs whoever is responsible for the person.
_HANDED_OVER: Final = frozenset({Issuer.AGENTUR, Issuer.JOBCENTER})


def decide(path: LanguagePath | None, command: LanguageCommand) -> list[LanguageEvent]:  # noqa: PLR0911 -- one return per command type
    """The events a command produces, or the rule that refuses it."""
    path = path or LanguagePath()
    match command:
        case IssueEntitlement():
            return [_issue(path, command)]
        case RecordPlacementTest():
            return [PlacementTestTaken(level=command.level, taken_on=command.taken_on)]
        case StartEnrolment():
            return [start(path, command)]
        case RecordAttendance():
            return [record_attendance(path, command)]
        case RecordExam():
            return [record_exam(path, command)]
        case EndEnrolment():
            return [end(path, command)]
        case TransferEntitlements():
            return list(_transfer(path, command))


def _issue(path: LanguagePath, command: IssueEntitlement) -> EntitlementIssued:
    if command.entitlement_id in path.entitlements:
        raise InvalidTransitionError(
            "entitlement.already_issued", f"entitlement {command.entitlement_id} exists already"
        )
    return EntitlementIssued.model_validate(command.model_dump())


def _transfer(path: LanguagePath, command: TransferEntitlements) -> list[IssuerChanged]:
    """Entitlements the handing-over agency issued up to the hand-over move with the case;
    an enrolment on one continues as it is."""
    if ISSUER_OF_AGENCY[command.to_agency] not in _HANDED_OVER:
        return []
    return [
        IssuerChanged(
            entitlement_id=entitlement.entitlement_id,
            from_agency=command.from_agency,
            to_agency=command.to_agency,
            handover_id=command.handover_id,
            effective_on=command.effective_on,
        )
        for entitlement in path.entitlements.values()
        if entitlement.agency is command.from_agency
        and entitlement.issuer in _HANDED_OVER
        and entitlement.issued_on <= command.effective_on
    ]
