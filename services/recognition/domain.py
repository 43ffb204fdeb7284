"""The pure core of recognition: decide(case, command) -> events, evolve(case, event) -> case.

A case's stream holds any number of procedures (one per foreign qualification) and the
person's competence assessments. No I/O, no clock, no ids: commands bring their dates and
ids, the adapter stamps the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from uuid import UUID

from contracts.recognition import CompetenceAssessed, CounsellingHeld, RecognitionEvent
from services.chassis.rules import InvalidTransitionError
from services.recognition.application import (
    assign_authority,
    issue_zab_statement,
    permit_protected_title,
    request_documents,
    set_reference_occupation,
    submit_application,
)
from services.recognition.bescheid import complete_adaptation, issue_decision, start_adaptation
from services.recognition.commands import (
    AssignCompetentAuthority,
    CompleteAdaptation,
    IssueDecision,
    IssueZabStatement,
    PermitProtectedTitle,
    ProcedureCommand,
    RecognitionCommand,
    RecordCompetenceAssessment,
    RecordCounselling,
    RequestDocuments,
    SetReferenceOccupation,
    StartAdaptation,
    SubmitApplication,
)
from services.recognition.procedure import Procedure, ProcedureEvent, evolve_procedure, opened


@dataclass(frozen=True)
class Recognition:
    """A person's recognition procedures and competence assessments."""

    case_id: UUID
    procedures: Mapping[UUID, Procedure] = field(default_factory=lambda: MappingProxyType({}))
    assessments: frozenset[UUID] = frozenset()


def decide(case: Recognition | None, command: RecognitionCommand) -> list[RecognitionEvent]:
    """The events a command produces, or the rule that refuses it."""
    match command:
        case RecordCounselling():
            if case is not None and command.procedure_id in case.procedures:
                raise InvalidTransitionError(
                    "procedure.already_opened", f"procedure {command.procedure_id} exists"
                )
            return [CounsellingHeld(**command.model_dump())]
        case RecordCompetenceAssessment():
            if case is not None and command.assessment_id in case.assessments:
                raise InvalidTransitionError(
                    "competence_assessment.already_recorded",
                    f"assessment {command.assessment_id} exists",
                )
            return [CompetenceAssessed(**command.model_dump())]
        case _:
            return [_decide_on_procedure(_procedure(case, command.procedure_id), command)]


def _procedure(case: Recognition | None, procedure_id: UUID) -> Procedure:
    procedure = None if case is None else case.procedures.get(procedure_id)
    if procedure is None:
        raise InvalidTransitionError(
            "procedure.unknown", f"no procedure {procedure_id}: record the counselling first"
        )
    return procedure


def _decide_on_procedure(  # noqa: PLR0911 - one return per command type
    procedure: Procedure, command: ProcedureCommand
) -> ProcedureEvent:
    match command:
        case SetReferenceOccupation():
            return set_reference_occupation(procedure, command)
        case AssignCompetentAuthority():
            return assign_authority(procedure, command)
        case SubmitApplication():
            return submit_application(procedure, command)
        case RequestDocuments():
            return request_documents(procedure, command)
        case IssueDecision():
            return issue_decision(procedure, command)
        case IssueZabStatement():
            return issue_zab_statement(procedure, command)
        case PermitProtectedTitle():
            return permit_protected_title(procedure, command)
        case StartAdaptation():
            return start_adaptation(procedure, command)
        case CompleteAdaptation():
            return complete_adaptation(procedure, command)


def evolve(case: Recognition | None, case_id: UUID, event: RecognitionEvent) -> Recognition:
    """The case after ``event``."""
    case = case or Recognition(case_id=case_id)
    match event:
        case CounsellingHeld():
            return _with(case, opened(event))
        case CompetenceAssessed():
            return replace(case, assessments=case.assessments | {event.assessment_id})
        case _:
            procedure = case.procedures.get(event.procedure_id)
            if procedure is None:
                raise ValueError(f"{event.type} for unknown procedure {event.procedure_id}")
            return _with(case, evolve_procedure(procedure, event))


def _with(case: Recognition, procedure: Procedure) -> Recognition:
    procedures = {**case.procedures, procedure.procedure_id: procedure}
    return replace(case, procedures=MappingProxyType(procedures))


def fold(case_id: UUID, history: Iterable[RecognitionEvent]) -> Recognition | None:
    """Rebuild a case from its events; ``None`` while it has none."""
    case: Recognition | None = None
    for event in history:
        case = evolve(case, case_id, event)
    return case
