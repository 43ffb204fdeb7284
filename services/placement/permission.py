"""Deciding on work permissions: the request, the BA's consent, the Ausländerbehörde's
decision. Each decision is assessed on its own date, under the rules in force that day,
and names their version; the request is assessed on the job's start date."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from contracts.placement import (
    BaConsentDecided,
    PermissionDecided,
    PlacementEvent,
    WorkPermissionRequested,
)
from services.chassis.rules import InvalidTransitionError
from services.placement.commands import DecideBaConsent, DecidePermission, RequestWorkPermission
from services.placement.eligibility import Assessment, assess
from services.placement.state import PermissionRequest, PlacementCase, known, residence_facts


def request_work_permission(
    case: PlacementCase | None, command: RequestWorkPermission
) -> list[PlacementEvent]:
    """A request, unless no work is possible on the start date or none needs permitting."""
    facts = residence_facts(case)
    if command.request_id in known(case).requests:
        raise InvalidTransitionError(
            "work_permission.request_id_taken", f"request {command.request_id} exists already"
        )
    assessment = assess(facts, command.job_type, command.start_date, command.workplace_district)
    assessment.refuse_if_barred()
    if not assessment.permission_needed:
        raise InvalidTransitionError(
            "work_permission.not_needed", f"a holder of {facts.status} may work by law"
        )
    return [WorkPermissionRequested(**command.model_dump())]


def decide_ba_consent(case: PlacementCase | None, command: DecideBaConsent) -> list[PlacementEvent]:
    """The BA's answer, with the checks the rules of the day demand. It is recorded whatever
    bars work that day: the Ausländerbehörde's grant is where the barriers bite."""
    request, assessment = _open_request(case, command.request_id, command.decided_on)
    if request.ba_consent is not None:
        raise InvalidTransitionError(
            "ba_consent.already_decided", f"decided on {request.ba_consent.decided_on}"
        )
    if assessment.ba_consent_needed and command.granted is None:
        raise InvalidTransitionError(
            "ba_consent.needs_answer",
            f"consent is needed under {assessment.rule_version}: grant or refuse it",
        )
    if not assessment.ba_consent_needed and command.granted is not None:
        raise InvalidTransitionError(
            "ba_consent.not_needed",
            f"no consent is needed for {request.requested.job_type} in month "
            f"{assessment.month_of_stay} under {assessment.rule_version}",
        )
    return [
        BaConsentDecided(
            request_id=command.request_id,
            needed=assessment.ba_consent_needed,
            vorrangpruefung=assessment.vorrangpruefung,
            beschaeftigungsbedingungen_geprueft=assessment.beschaeftigungsbedingungen,
            granted=command.granted,
            decided_on=command.decided_on,
            rule_version=assessment.rule_version,
        )
    ]


def decide_permission(
    case: PlacementCase | None, command: DecidePermission
) -> list[PlacementEvent]:
    """The Ausländerbehörde's decision; a grant needs work to be possible, the BA's consent
    where the rules demand it, and a validity that reaches the job's start."""
    request, assessment = _open_request(case, command.request_id, command.decided_on)
    if command.granted:
        assessment.refuse_if_barred()
        if assessment.ba_consent_needed:
            _require_ba_consent(request, command)
        if command.valid_until is not None and command.valid_until < request.requested.start_date:
            raise InvalidTransitionError(
                "permission.must_cover_start",
                f"valid until {command.valid_until}, the job starts on "
                f"{request.requested.start_date}",
            )
    return [
        PermissionDecided(
            request_id=command.request_id,
            granted=command.granted,
            valid_until=command.valid_until,
            restrictions=command.restrictions,
            refusal_reason=command.refusal_reason,
            decided_on=command.decided_on,
            rule_version=assessment.rule_version,
        )
    ]


def _open_request(
    case: PlacementCase | None, request_id: UUID, decided_on: date
) -> tuple[PermissionRequest, Assessment]:
    """An undecided request, and the assessment of its job on the decision date."""
    facts = residence_facts(case)
    request = known(case).requests.get(request_id)
    if request is None:
        raise InvalidTransitionError(
            "work_permission.unknown_request", f"no work permission request {request_id}"
        )
    if request.permission is not None:
        raise InvalidTransitionError(
            "permission.already_decided", f"decided on {request.permission.decided_on}"
        )
    requested = request.requested
    if decided_on < requested.requested_on:
        raise InvalidTransitionError(
            "work_permission.decision_before_request",
            f"decided on {decided_on}, requested on {requested.requested_on}",
        )
    return request, assess(facts, requested.job_type, decided_on, requested.workplace_district)


def _require_ba_consent(request: PermissionRequest, command: DecidePermission) -> None:
    consent = request.ba_consent
    if consent is None or consent.granted is None or consent.decided_on > command.decided_on:
        raise InvalidTransitionError(
            "permission.needs_ba_consent", "the BA's consent must be decided first"
        )
    if not consent.granted:
        raise InvalidTransitionError(
            "permission.ba_consent_refused", f"the BA refused its consent on {consent.decided_on}"
        )
