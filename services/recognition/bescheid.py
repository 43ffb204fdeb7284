"""Rules of the Bescheid and of the adaptation qualification that may follow it (pure)."""

from __future__ import annotations

from contracts.recognition import (
    AdaptationCompleted,
    AdaptationStarted,
    CompetentAuthority,
    DecisionIssued,
    DecisionOutcome,
)
from services.chassis.rules import InvalidTransitionError
from services.recognition.commands import CompleteAdaptation, IssueDecision, StartAdaptation
from services.recognition.procedure import Procedure


def issue_decision(procedure: Procedure, command: IssueDecision) -> DecisionIssued:
    if procedure.authority is CompetentAuthority.ZAB:
        raise InvalidTransitionError(
            "decision.zab_issues_statement", "the ZAB answers with a Zeugnisbewertung"
        )
    if procedure.submitted_on is None or procedure.authority is None:
        raise InvalidTransitionError("decision.needs_application", "nothing was applied for")
    if procedure.reference is None:  # pragma: no cover - only the ZAB is assigned without one
        raise AssertionError(f"procedure {procedure.procedure_id} has no Referenzberuf")
    if procedure.running is not None:
        raise InvalidTransitionError(
            "decision.adaptation_still_running",
            f"measure {procedure.running.measure_id} started {procedure.running.started_on}",
        )
    if procedure.outcome is not None and procedure.adapted_on is None:
        raise InvalidTransitionError(
            "decision.only_after_adaptation",
            f"decided {procedure.outcome} on {procedure.decided_on}; a new Bescheid needs a "
            "completed adaptation qualification",
        )
    if command.decided_on < procedure.submitted_on:
        raise InvalidTransitionError(
            "decision.not_before_application",
            f"decided on {command.decided_on}, applied on {procedure.submitted_on}",
        )
    if procedure.adapted_on is not None and command.decided_on < procedure.adapted_on:
        raise InvalidTransitionError(
            "decision.not_before_adaptation_completed",
            f"decided on {command.decided_on}, adaptation completed on {procedure.adapted_on}",
        )
    if command.outcome is DecisionOutcome.ABGELEHNT_MANGELNDE_MITWIRKUNG and not (
        procedure.documents_due_on is not None and command.decided_on > procedure.documents_due_on
    ):
        raise InvalidTransitionError(
            "decision.mitwirkung_needs_overdue_documents",
            "refusal for lack of cooperation needs a documents request whose deadline "
            f"has passed (due {procedure.documents_due_on})",
        )
    return DecisionIssued(
        procedure_id=procedure.procedure_id,
        authority=procedure.authority,
        reference_occupation=procedure.reference.kldb,
        outcome=command.outcome,
        missing_competences=command.missing_competences,
        legal_basis=command.legal_basis,
        decided_on=command.decided_on,
    )


def start_adaptation(procedure: Procedure, command: StartAdaptation) -> AdaptationStarted:
    if procedure.outcome is not DecisionOutcome.TEILWEISE_GLEICHWERTIGKEIT:
        raise InvalidTransitionError(
            "adaptation.needs_partial_decision",
            f"an adaptation closes the gaps of a partial recognition; latest: {procedure.outcome}",
        )
    if procedure.running is not None:
        raise InvalidTransitionError(
            "adaptation.already_running", f"measure {procedure.running.measure_id} runs"
        )
    if command.measure_id in procedure.measure_ids:
        raise InvalidTransitionError(
            "adaptation.measure_id_taken", f"measure {command.measure_id} was recorded before"
        )
    if procedure.decided_on is not None and command.started_on < procedure.decided_on:
        raise InvalidTransitionError(
            "adaptation.not_before_decision",
            f"started on {command.started_on}, decided on {procedure.decided_on}",
        )
    return AdaptationStarted(
        procedure_id=procedure.procedure_id,
        measure_id=command.measure_id,
        provider=command.provider,
        started_on=command.started_on,
    )


def complete_adaptation(procedure: Procedure, command: CompleteAdaptation) -> AdaptationCompleted:
    running = procedure.running
    if running is None or running.measure_id != command.measure_id:
        raise InvalidTransitionError(
            "adaptation.not_running", f"measure {command.measure_id} is not running"
        )
    if command.completed_on < running.started_on:
        raise InvalidTransitionError(
            "adaptation.not_before_start",
            f"completed on {command.completed_on}, started on {running.started_on}",
        )
    return AdaptationCompleted(
        procedure_id=procedure.procedure_id,
        measure_id=command.measure_id,
        completed_on=command.completed_on,
    )
