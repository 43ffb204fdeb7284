"""The pure core of intake: decide(case, command) -> events, evolve(case, event) -> case.

No I/O, no clock, no ids: the adapter stamps those, and tells the case who is acting.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Final
from uuid import UUID

from contracts.common import JOBCENTER_BY_SITE, site_of_town
from contracts.envelope import Agency
from contracts.intake import (
    AsylumDecided,
    CaseClosed,
    CategoryErased,
    ClosingReason,
    ContactRecorded,
    FirstContactMade,
    HandOverReason,
    IdentifierLinked,
    IntakeEvent,
    InterpreterAssigned,
    InterpreterNoShow,
    InterpreterRequested,
    InterpreterSessionHeld,
    PersonErased,
    PersonRegistered,
    ProfileRecorded,
    ResidenceStatus,
    ResidenceStatusRecorded,
    SgbIIApplicationRecorded,
    WohnsitzauflageImposed,
)
from services.chassis.authorization import Acting
from services.chassis.rules import InvalidTransitionError, UnknownCaseError
from services.intake import consent, handover
from services.intake.authority import permit
from services.intake.case import Case, InterpreterStage
from services.intake.commands import (
    AcceptHandOver,
    AssignInterpreter,
    CloseCase,
    EraseCategory,
    ErasePerson,
    ExpireConsent,
    GiveConsent,
    ImposeWohnsitzauflage,
    IntakeCommand,
    LinkIdentifier,
    RecordAsylumDecision,
    RecordContact,
    RecordFirstContact,
    RecordInterpreterNoShow,
    RecordInterpreterSession,
    RecordProfile,
    RecordResidenceStatus,
    RecordSgbIIApplication,
    ReferToPartner,
    RegisterPerson,
    RejectHandOver,
    RequestHandOver,
    RequestInterpreter,
    WithdrawConsent,
)
from services.intake.evolve import evolve
from services.intake.profile import completeness


def decide_as(case: Case | None, command: IntakeCommand, acting: Acting) -> list[IntakeEvent]:
    """The events a command of ``acting`` produces: an unknown case first (404), then who
    may issue it (403, ``authority.WHO_MAY_ISSUE``), then the case's state (409)."""
    if case is None and not isinstance(command, RegisterPerson):
        raise UnknownCaseError("case.must_be_registered", "no registered case")
    if case is not None and case.erased_on is not None:
        raise InvalidTransitionError("case.erased", f"the person was erased on {case.erased_on}")
    permit(case, command, acting)
    return decide(case, command)


# § 60a (2) S. 4 AufenthG as added by the Integrationsgesetz of 31.07.2016 (BGBl. I S. 1939),
# in force 06.08.2016; from 01.01.2020 § 60c AufenthG (BGBl. I 2019 S. 1021).
AUSBILDUNGSDULDUNG_FROM: Final = date(2016, 8, 6)


def decide(case: Case | None, command: IntakeCommand) -> list[IntakeEvent]:
    """The events a command produces, or the rule of the case's state that refuses it (who
    issues it is ``decide_as``'s business: reactions and jobs decide here directly)."""
    if isinstance(command, RegisterPerson):
        if case is not None:
            raise InvalidTransitionError("case.already_registered", "this case exists already")
        return [PersonRegistered(**command.model_dump())]
    if case is None:
        raise UnknownCaseError("case.must_be_registered", "no registered case")
    if case.erased_on is not None:
        raise InvalidTransitionError("case.erased", f"the person was erased on {case.erased_on}")
    if isinstance(command, ErasePerson):
        # Also a closed case: retention ends there; every other copy follows the erasure event.
        return [
            PersonErased(controller=case.acting, reason=command.reason, erased_on=command.erased_on)
        ]
    if isinstance(command, EraseCategory):
        return [_erase_category(case, command)]
    if isinstance(command, ExpireConsent):
        # A consent of a closed case still opens data to its recipients: it ends all the same.
        return [consent.expire(case, command)]
    if case.closed_on is not None:
        raise InvalidTransitionError("case.closed", f"the case was closed on {case.closed_on}")
    return _decide_open(case, command)


def _erase_category(case: Case, command: EraseCategory) -> CategoryErased:
    """One category's period ran out (also of a closed case): its data goes, the case stays."""
    erased = case.category_kept_until(command.category)
    if erased is not None and erased >= command.kept_until:
        raise InvalidTransitionError(
            "category.already_erased", f"{command.category} was erased up to {erased}"
        )
    return CategoryErased(
        category=command.category,
        controller=case.acting,
        rule=command.rule,
        legal_basis=command.legal_basis,
        kept_until=command.kept_until,
        erased_on=command.erased_on,
    )


def may_rotate_key(case: Case | None, agency: Agency) -> None:
    """A person's key is rotated for a registered, unerased case by its responsible agency."""
    if case is None:
        raise UnknownCaseError("case.must_be_registered", "no registered case")
    if case.erased_on is not None:
        raise InvalidTransitionError("case.erased", f"the person was erased on {case.erased_on}")
    if agency != case.responsible:
        raise InvalidTransitionError(
            "case.only_responsible_agency_changes",
            f"{case.responsible} is responsible; {agency} may only read",
        )


def _decide_open(case: Case, command: IntakeCommand) -> list[IntakeEvent]:  # noqa: PLR0911, PLR0912  # one arm per command reads best
    match command:
        case LinkIdentifier():
            if command.kind in case.identifiers:
                raise InvalidTransitionError("identifier.already_linked", f"{command.kind} exists")
            return [IdentifierLinked(kind=command.kind, value=command.value)]
        case RecordFirstContact():
            return [_first_contact(case, command)]
        case RecordContact():
            if case.first_contact_on is None or command.contacted_on < case.first_contact_on:
                raise InvalidTransitionError(
                    "contact.after_first_contact", "record the first contact first"
                )
            return [ContactRecorded(**command.model_dump(), by_agency=case.acting)]
        case RecordResidenceStatus():
            _ausbildungsduldung_in_force(command)
            return [ResidenceStatusRecorded(**command.model_dump())]
        case RecordAsylumDecision():
            if case.asylum_outcome is not None:
                raise InvalidTransitionError("asylum.decided_once", f"{case.asylum_outcome}")
            return [AsylumDecided(**command.model_dump())]
        case ImposeWohnsitzauflage():
            site = site_of_town(command.town)
            assert site is not None  # the command validated the town
            return [
                WohnsitzauflageImposed(
                    town=command.town, site=site, effective_from=command.effective_from
                )
            ]
        case RecordSgbIIApplication():
            return _sgb2_application(case, command)
        case GiveConsent():
            return [consent.give(case, command)]
        case WithdrawConsent():
            return [consent.withdraw(case, command)]
        case ReferToPartner():
            return [consent.refer(case, command)]
        case RecordProfile():
            return [
                ProfileRecorded(**command.model_dump(), completeness_percent=completeness(command))
            ]
        case RequestInterpreter():
            if case.interpreter_stage(command.request_id) is not None:
                raise InvalidTransitionError("interpreter.id_taken", f"{command.request_id}")
            # The agency responsible on the appointment date bears the cost.
            return [InterpreterRequested(**command.model_dump(), cost_bearer=case.responsible)]
        case AssignInterpreter():
            _interpreter_at(case, command.request_id, InterpreterStage.REQUESTED)
            return [InterpreterAssigned(**command.model_dump())]
        case RecordInterpreterSession():
            _interpreter_at(case, command.request_id, InterpreterStage.ASSIGNED)
            return [InterpreterSessionHeld(request_id=command.request_id)]
        case RecordInterpreterNoShow():
            _interpreter_at(case, command.request_id, InterpreterStage.ASSIGNED)
            return [InterpreterNoShow(**command.model_dump())]
        case RequestHandOver():
            return [
                handover.request(
                    case,
                    command.handover_id,
                    command.to_agency,
                    command.reason,
                    command.requested_on,
                )
            ]
        case AcceptHandOver():
            return [handover.accept(case, command.handover_id, command.accepted_on)]
        case RejectHandOver():
            return [handover.reject(case, command.handover_id, command.rejected_on, command.reason)]
        case CloseCase():
            if case.pending is not None:
                raise InvalidTransitionError(
                    "case.hand_over_pending", "accept or reject the pending hand-over first"
                )
            if (
                command.reason is ClosingReason.APPRENTICESHIP
                and case.residence_status is ResidenceStatus.AUSBILDUNGSDULDUNG
            ):
                # The Duldung lasts as long as the training; broken off, it gives way to six
                # months' search for another (§ 60a (2) S. 10 AufenthG 2016, § 60c (6)), and
                # afterwards comes the job search: the Agentur follows the case throughout.
                raise InvalidTransitionError(
                    "case.ausbildungsduldung_stays_open",
                    "the training of an Ausbildungsduldung is no exit: the case stays open",
                )
            return [CaseClosed(**command.model_dump())]
    raise AssertionError(f"unhandled command {type(command).__name__}")  # pragma: no cover


def _ausbildungsduldung_in_force(command: RecordResidenceStatus) -> None:
    if (
        command.status is ResidenceStatus.AUSBILDUNGSDULDUNG
        and command.valid_from < AUSBILDUNGSDULDUNG_FROM
    ):
        raise InvalidTransitionError(
            "residence.ausbildungsduldung_not_yet_in_force",
            f"the Ausbildungsduldung exists from {AUSBILDUNGSDULDUNG_FROM} "
            f"(§ 60a (2) S. 4 AufenthG), not on {command.valid_from}",
        )


def _first_contact(case: Case, command: RecordFirstContact) -> FirstContactMade:
    if case.first_contact_on is not None:
        raise InvalidTransitionError(
            "first_contact.only_once", f"first contact was on {case.first_contact_on}"
        )
    if command.contacted_on < case.allocated_on:
        raise InvalidTransitionError(
            "first_contact.not_before_allocation",
            f"contact on {command.contacted_on} precedes allocation on {case.allocated_on}",
        )
    return FirstContactMade(**command.model_dump())


def _sgb2_application(case: Case, command: RecordSgbIIApplication) -> list[IntakeEvent]:
    if case.residence_status is ResidenceStatus.AUSBILDUNGSDULDUNG:
        raise InvalidTransitionError(
            "sgb2.not_with_ausbildungsduldung",
            "a tolerated person receives AsylbLG benefits (§ 1 (1) Nr. 4 AsylbLG), which "
            "exclude SGB II (§ 7 (1) S. 2 Nr. 3 SGB II): the Agentur stays responsible",
        )
    if not case.protection_granted:
        raise InvalidTransitionError(
            "sgb2.needs_protection_status", "SGB II follows a granted protection status"
        )
    if case.sgb2_applied_on is not None:
        raise InvalidTransitionError("sgb2.applied_once", f"applied on {case.sgb2_applied_on}")
    jobcenter = JOBCENTER_BY_SITE[case.current_site]
    applied = SgbIIApplicationRecorded(applied_on=command.applied_on, jobcenter=jobcenter)
    if case.responsible is not Agency.AA_MG:
        return [applied]
    # The Rechtskreiswechsel is requested with the application, so no case falls between.
    after = evolve(case, case.case_id, applied)
    requested = handover.request(
        after,
        handover.automatic_handover_id(case, command.applied_on),
        jobcenter,
        HandOverReason.RECHTSKREISWECHSEL,
        command.applied_on,
    )
    return [applied, requested]


def _interpreter_at(case: Case, request_id: UUID, expected: InterpreterStage) -> None:
    stage = case.interpreter_stage(request_id)
    if stage is not expected:
        raise InvalidTransitionError(
            f"interpreter.must_be_{expected.value}", f"request {request_id} is {stage or 'unknown'}"
        )


def fold(case_id: UUID, history: Iterable[IntakeEvent]) -> Case | None:
    """Rebuild a case from its events."""
    case: Case | None = None
    for event in history:
        case = evolve(case, case_id, event)
    return case
