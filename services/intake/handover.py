"""Pure rules of responsibility: exactly one responsible agency, two-phase hand-overs."""

from __future__ import annotations

import uuid
from datetime import date

from contracts.common import JOBCENTER_BY_SITE
from contracts.envelope import Agency
from contracts.intake import (
    HandOverAccepted,
    HandOverPackage,
    HandOverReason,
    HandOverRejected,
    HandOverRequested,
    IdentifierKind,
    ResidenceStatus,
)
from services.chassis.rules import InvalidTransitionError
from services.intake.case import Case, PendingHandOver

JOBCENTERS = frozenset({Agency.JC_MG, Agency.JC_RKN})
JBA_AGE_LIMIT = 25

# Automatic hand-overs get a deterministic id, so the pure decider needs no random source.
_AUTOMATIC = uuid.UUID("6f1d3b0e-6a4c-5c1e-9d7e-2b3f4a5c6d7e")


def automatic_handover_id(case: Case, applied_on: date) -> uuid.UUID:
    return rechtskreiswechsel_id(case.case_id, applied_on)


def rechtskreiswechsel_id(case_id: uuid.UUID, applied_on: date) -> uuid.UUID:
    """The id of the hand-over an SGB II application requests: the receiving Jobcenter can
    name it from the case and the application day alone (the demo data accepts by it)."""
    return uuid.uuid5(_AUTOMATIC, f"{case_id}:sgb2:{applied_on.isoformat()}")


def package(case: Case, on: date) -> HandOverPackage:
    """The package of DOMAIN.md step 7, from the case and the milestones intake learned."""
    valid = tuple(c.consent_id for c in case.consents if c.valid_on(on))
    return HandOverPackage(
        identifiers=tuple(sorted(case.identifiers)),
        residence_status=case.residence_status,
        asylum_outcome=case.asylum_outcome,
        profile_completeness_percent=case.profile_completeness,
        language_level=case.milestones.language_level,
        running_courses=case.milestones.running_courses,
        recognition_state=case.milestones.recognition_state,
        measures=case.milestones.measures,
        employer_contacts=case.milestones.employer_contacts,
        interpreter_language=case.interpreter_language,
        valid_consents=valid,
    )


def _missing_items(case: Case) -> list[str]:
    missing = []
    if IdentifierKind.BAMF_AKTENZEICHEN not in case.identifiers:
        missing.append("BAMF file number")
    if case.residence_status is None:
        missing.append("residence status")
    return missing


def request(
    case: Case, handover_id: uuid.UUID, to_agency: Agency, reason: HandOverReason, on: date
) -> HandOverRequested:
    """Phase one, with every rule that keeps one responsible agency and a complete package."""
    if case.pending is not None:
        raise InvalidTransitionError(
            "hand_over.one_pending_at_a_time",
            f"hand-over {case.pending.handover_id} to {case.pending.to_agency} is still pending",
        )
    match reason:
        case HandOverReason.RECHTSKREISWECHSEL:
            _check_rechtskreiswechsel(case, to_agency)
        case HandOverReason.MOVE_BETWEEN_JOBCENTERS:
            _check_move(case, to_agency)
        case HandOverReason.UNDER_25_JUGENDBERUFSAGENTUR:
            _check_jba(case, to_agency, on)
    if missing := _missing_items(case):
        raise InvalidTransitionError(
            "hand_over.package_incomplete", f"mandatory items missing: {', '.join(missing)}"
        )
    return HandOverRequested(
        handover_id=handover_id,
        from_agency=case.responsible,
        to_agency=to_agency,
        reason=reason,
        package=package(case, on),
        requested_on=on,
    )


def _check_rechtskreiswechsel(case: Case, to_agency: Agency) -> None:
    if case.residence_status is ResidenceStatus.AUSBILDUNGSDULDUNG:
        # Tolerated, hence AsylbLG and no SGB II (§ 7 (1) S. 2 Nr. 3 SGB II); the training
        # is followed by the Agentur (DOMAIN.md, residence statuses).
        raise InvalidTransitionError(
            "hand_over.ausbildungsduldung_stays_with_agentur",
            "an Ausbildungsduldung keeps the case with the Agentur: no hand-over to SGB II",
        )
    if case.responsible is not Agency.AA_MG:
        raise InvalidTransitionError(
            "hand_over.rechtskreiswechsel_from_agentur", "only the Agentur hands over to SGB II"
        )
    if not case.protection_granted or case.sgb2_applied_on is None:
        raise InvalidTransitionError(
            "hand_over.rechtskreiswechsel_needs_protection_and_sgb2",
            "protection must be granted and SGB II applied for",
        )
    expected = JOBCENTER_BY_SITE[case.current_site]
    if to_agency is not expected:
        raise InvalidTransitionError(
            "hand_over.jobcenter_of_the_town",
            f"{case.current_site} belongs to {expected}, not {to_agency}",
        )


def _check_move(case: Case, to_agency: Agency) -> None:
    if case.responsible not in JOBCENTERS or to_agency not in JOBCENTERS:
        raise InvalidTransitionError(
            "hand_over.move_between_jobcenters_only", "a move goes from one Jobcenter to another"
        )
    if case.assigned_site is None or JOBCENTER_BY_SITE[case.assigned_site] is not to_agency:
        raise InvalidTransitionError(
            "hand_over.move_needs_wohnsitzauflage",
            f"no residence assignment to a town of {to_agency}",
        )
    if to_agency is case.responsible:
        raise InvalidTransitionError("hand_over.to_another_agency", "already responsible")


def _check_jba(case: Case, to_agency: Agency, on: date) -> None:
    # The Jugendberufsagentur is a network, not a controller: the case stays with the agency
    # responsible under its legal sphere, which works it through the JBA.
    if to_agency is not case.responsible:
        raise InvalidTransitionError(
            "hand_over.jba_stays_with_responsible_agency",
            f"the JBA route runs under {case.responsible}",
        )
    age = case.age_on(on)
    if age is None or age >= JBA_AGE_LIMIT:
        raise InvalidTransitionError(
            "hand_over.jba_only_under_25", f"age on {on} is {age if age is not None else 'unknown'}"
        )


def accept(case: Case, handover_id: uuid.UUID, on: date) -> HandOverAccepted:
    pending = _pending_for_receiver(case, handover_id)
    moved = pending.reason is HandOverReason.MOVE_BETWEEN_JOBCENTERS
    return HandOverAccepted(
        handover_id=handover_id,
        from_agency=pending.from_agency,
        to_agency=pending.to_agency,
        reason=pending.reason,
        accepted_on=on,
        new_site=case.assigned_site if moved else None,
    )


def reject(case: Case, handover_id: uuid.UUID, on: date, reason: str) -> HandOverRejected:
    _pending_for_receiver(case, handover_id)
    return HandOverRejected(handover_id=handover_id, rejected_on=on, reason=reason)


def _pending_for_receiver(case: Case, handover_id: uuid.UUID) -> PendingHandOver:
    pending = case.pending
    if pending is None or pending.handover_id != handover_id:
        raise InvalidTransitionError("hand_over.not_pending", f"no pending hand-over {handover_id}")
    if case.acting is not pending.to_agency:
        raise InvalidTransitionError(
            "hand_over.only_receiver_decides", f"{pending.to_agency} decides, not {case.acting}"
        )
    return pending
