"""How each intake event changes the case (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from uuid import UUID

from contracts.envelope import Agency
from contracts.intake import (
    AsylumDecided,
    CaseClosed,
    CategoryErased,
    ConsentExpired,
    ConsentGiven,
    ConsentWithdrawn,
    ContactRecorded,
    FirstContactMade,
    HandOverAccepted,
    HandOverReason,
    HandOverRejected,
    HandOverRequested,
    IdentifierLinked,
    IntakeEvent,
    InterpreterAssigned,
    InterpreterNoShow,
    InterpreterRequested,
    InterpreterSessionHeld,
    PersonErased,
    PersonRegistered,
    ProfileRecorded,
    ReferredToPartner,
    ResidenceStatusRecorded,
    SgbIIApplicationRecorded,
    WohnsitzauflageImposed,
)
from services.intake.case import Case, Consent, InterpreterStage, PendingHandOver


def evolve(case: Case | None, case_id: UUID, event: IntakeEvent) -> Case:  # noqa: PLR0911, PLR0912  # one arm per event reads best
    """The case after ``event``."""
    if isinstance(event, PersonRegistered):
        # Asylum seekers start in SGB III: the Agentur of the whole district is responsible.
        born = event.date_of_birth if isinstance(event.date_of_birth, date) else None
        return Case(
            case_id=case_id,
            site=event.site,
            town=event.town,
            allocated_on=event.allocated_on,
            responsible=Agency.AA_MG,
            date_of_birth=born,
            held_by=frozenset({Agency.AA_MG}),
        )
    if case is None:
        raise ValueError(f"{event.type} for unregistered case {case_id}")
    match event:
        case IdentifierLinked():
            return replace(case, identifiers=case.identifiers | {event.kind})
        case FirstContactMade():
            return replace(
                case,
                first_contact_on=event.contacted_on,
                interpreter_language=event.interpreter_language,
            )
        case ContactRecorded():
            return case
        case ResidenceStatusRecorded():
            return replace(case, residence_status=event.status)
        case AsylumDecided():
            return replace(case, asylum_outcome=event.outcome)
        case WohnsitzauflageImposed():
            return replace(case, assigned_site=event.site)
        case SgbIIApplicationRecorded():
            return replace(case, sgb2_applied_on=event.applied_on)
        case ConsentGiven():
            given = Consent(
                event.consent_id,
                frozenset(event.purposes),
                event.recipients,
                frozenset(event.data_categories),
                event.given_on,
                event.valid_until,
            )
            return replace(case, consents=(*case.consents, given))
        case ConsentWithdrawn():
            return _end_consent(case, event.consent_id, event.withdrawn_on)
        case ConsentExpired():
            return _end_consent(case, event.consent_id, event.expired_on)
        case ProfileRecorded():
            return replace(case, profile_completeness=event.completeness_percent)
        case InterpreterRequested():
            return _interpreter(case, event.request_id, InterpreterStage.REQUESTED)
        case InterpreterAssigned():
            return _interpreter(case, event.request_id, InterpreterStage.ASSIGNED)
        case InterpreterSessionHeld():
            return _interpreter(case, event.request_id, InterpreterStage.HELD)
        case InterpreterNoShow():
            return _interpreter(case, event.request_id, InterpreterStage.NO_SHOW)
        case ReferredToPartner():
            return replace(case, referrals=case.referrals | {event.referral_id})
        case HandOverRequested():
            pending = PendingHandOver(
                event.handover_id, event.from_agency, event.to_agency, event.reason
            )
            return replace(case, pending=pending)
        case HandOverAccepted():
            return _accepted(case, event)
        case HandOverRejected():
            return replace(case, pending=None)
        case CaseClosed():
            return replace(case, closed_on=event.closed_on)
        case PersonErased():
            return replace(case, erased_on=event.erased_on)
        case CategoryErased():
            erased = (*case.categories_erased, (event.category, event.kept_until))
            return replace(case, categories_erased=erased)
    raise AssertionError(f"unhandled event {event.type}")  # pragma: no cover


def _end_consent(case: Case, consent_id: UUID, on: date) -> Case:
    consents = tuple(
        replace(c, ended_on=on) if c.consent_id == consent_id else c for c in case.consents
    )
    return replace(case, consents=consents)


def _interpreter(case: Case, request_id: UUID, stage: InterpreterStage) -> Case:
    stages = dict(case.interpreters) | {request_id: stage}
    return replace(case, interpreters=tuple(stages.items()))


def _accepted(case: Case, event: HandOverAccepted) -> Case:
    if event.reason is HandOverReason.UNDER_25_JUGENDBERUFSAGENTUR:
        return replace(case, pending=None, jba_route=True)
    site = event.new_site or case.site
    held = case.held_by | {event.to_agency}
    return replace(case, pending=None, responsible=event.to_agency, site=site, held_by=held)
