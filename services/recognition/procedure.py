"""The state of one recognition procedure, as its events leave it (pure)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from uuid import UUID

from contracts.recognition import (
    AdaptationCompleted,
    AdaptationStarted,
    ApplicationSubmitted,
    Berufsbereich,
    CompetentAuthority,
    CompetentAuthorityAssigned,
    CounsellingHeld,
    DecisionIssued,
    DecisionOutcome,
    DocumentsRequested,
    ProtectedTitle,
    ProtectedTitlePermitted,
    QualificationKind,
    ReferenceOccupationSet,
    ZabStatementIssued,
)


@dataclass(frozen=True)
class ReferenceOccupation:
    kldb: str
    title: str
    regulated: bool
    bereich: Berufsbereich


@dataclass(frozen=True)
class RunningMeasure:
    measure_id: UUID
    started_on: date


@dataclass(frozen=True)
class Procedure:
    """What the rules need to know about one procedure."""

    procedure_id: UUID
    kind: QualificationKind
    counselled_on: date
    reference: ReferenceOccupation | None = None
    authority: CompetentAuthority | None = None
    submitted_on: date | None = None
    documents_due_on: date | None = None  # deadline of the latest unanswered request
    outcome: DecisionOutcome | None = None  # of the latest Bescheid
    decided_on: date | None = None
    zab_statement_on: date | None = None
    titles: frozenset[ProtectedTitle] = frozenset()
    running: RunningMeasure | None = None
    adapted_on: date | None = None  # an adaptation completed since the latest Bescheid
    measure_ids: frozenset[UUID] = frozenset()

    @property
    def awaiting_decision(self) -> bool:
        """Applied for, and the authority still owes its answer."""
        if self.submitted_on is None:
            return False
        if self.authority is CompetentAuthority.ZAB:
            return self.zab_statement_on is None
        return self.outcome is None or self.adapted_on is not None


ProcedureEvent = (
    ReferenceOccupationSet
    | CompetentAuthorityAssigned
    | ApplicationSubmitted
    | DocumentsRequested
    | DecisionIssued
    | ZabStatementIssued
    | ProtectedTitlePermitted
    | AdaptationStarted
    | AdaptationCompleted
)


def opened(event: CounsellingHeld) -> Procedure:
    return Procedure(
        procedure_id=event.procedure_id, kind=event.qualification_kind, counselled_on=event.held_on
    )


def evolve_procedure(  # noqa: PLR0911 - one return per event type
    procedure: Procedure, event: ProcedureEvent
) -> Procedure:
    """The procedure after ``event``."""
    match event:
        case ReferenceOccupationSet():
            reference = ReferenceOccupation(event.kldb, event.title, event.regulated, event.bereich)
            return replace(procedure, reference=reference)
        case CompetentAuthorityAssigned():
            return replace(procedure, authority=event.authority)
        case ApplicationSubmitted():
            return replace(procedure, submitted_on=event.submitted_on)
        case DocumentsRequested():
            return replace(procedure, documents_due_on=event.due_on)
        case DecisionIssued():
            return replace(
                procedure,
                outcome=event.outcome,
                decided_on=event.decided_on,
                adapted_on=None,
                documents_due_on=None,
            )
        case ZabStatementIssued():
            return replace(procedure, zab_statement_on=event.issued_on, documents_due_on=None)
        case ProtectedTitlePermitted():
            return replace(procedure, titles=procedure.titles | {event.title})
        case AdaptationStarted():
            return replace(
                procedure,
                running=RunningMeasure(event.measure_id, event.started_on),
                measure_ids=procedure.measure_ids | {event.measure_id},
            )
        case AdaptationCompleted():
            return replace(procedure, running=None, adapted_on=event.completed_on)
