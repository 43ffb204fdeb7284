"""Commands recognition accepts: frozen models, validated at the boundary.

Ids (``procedure_id``, ``measure_id``, ``assessment_id``) are chosen by the client, so a
repeated command names the same thing. Checks that need no procedure state live here (422).
"""

from __future__ import annotations

from datetime import date
from typing import Final, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.common import KldbCode
from contracts.recognition import (
    Beratungsstelle,
    Berufsbereich,
    CompetentAuthority,
    DecisionOutcome,
    Kompetenzfeststellung,
    ProtectedTitle,
    QualificationKind,
    Rechtsgrundlage,
    check_missing_competences,
)
from services.chassis.validation import CountryCode, FieldsError, PastDate, ShortText

# Who may permit a protected title: "Ingenieur" only the Bezirksregierung (NRW engineers' law).
TITLE_AUTHORITY: Final[dict[ProtectedTitle, CompetentAuthority]] = {
    ProtectedTitle.INGENIEUR: CompetentAuthority.BEZIRKSREGIERUNG_DUESSELDORF,
}


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _OnProcedure(_Command):
    procedure_id: UUID


class RecordCounselling(_OnProcedure):
    """Record recognition counselling for a qualification (opens the procedure)."""

    qualification_kind: QualificationKind
    qualification_title: ShortText
    country: CountryCode
    counselled_by: Beratungsstelle
    held_on: PastDate


class SetReferenceOccupation(_OnProcedure):
    """Set the German reference occupation (Referenzberuf) of a procedure."""

    kldb: KldbCode
    title: ShortText
    regulated: bool
    bereich: Berufsbereich

    @model_validator(mode="after")
    def _land_law_occupations_are_regulated(self) -> Self:
        if self.bereich is Berufsbereich.LANDESRECHT and not self.regulated:
            raise FieldsError(
                "an occupation under Land law (landesrecht) is regulated", "regulated"
            )
        return self


class AssignCompetentAuthority(_OnProcedure):
    """Assign the competent authority that will decide the procedure."""

    authority: CompetentAuthority


class SubmitApplication(_OnProcedure):
    """Record the application to the competent authority."""

    submitted_on: PastDate


class RequestDocuments(_OnProcedure):
    """Record the authority's request for further documents, with its deadline."""

    documents: tuple[ShortText, ...] = Field(min_length=1, max_length=30)
    requested_on: PastDate
    due_on: date

    @model_validator(mode="after")
    def _deadline_after_request(self) -> Self:
        if self.due_on <= self.requested_on:
            raise FieldsError("due_on must lie after requested_on", "due_on")
        return self


class IssueDecision(_OnProcedure):
    """Record the authority's decision (Bescheid) on the equivalence of the qualification."""

    outcome: DecisionOutcome
    missing_competences: tuple[ShortText, ...] = Field(default=(), max_length=30)
    legal_basis: Rechtsgrundlage
    decided_on: PastDate

    @model_validator(mode="after")
    def _partial_lists_missing_competences(self) -> Self:
        try:
            check_missing_competences(self.outcome, self.missing_competences)
        except ValueError as problem:
            raise FieldsError(str(problem), "missing_competences") from problem
        return self


class IssueZabStatement(_OnProcedure):
    """Record the ZAB's statement of comparability (Zeugnisbewertung) for a university degree."""

    comparable_to: ShortText
    issued_on: PastDate


class PermitProtectedTitle(_OnProcedure):
    """Record the permission to bear a protected title such as "Ingenieur"."""

    title: ProtectedTitle
    authority: CompetentAuthority
    granted_on: PastDate

    @model_validator(mode="after")
    def _granted_by_its_authority(self) -> Self:
        competent = TITLE_AUTHORITY[self.title]
        if self.authority is not competent:
            raise FieldsError(f"only {competent} permits the title {self.title}", "authority")
        return self


class StartAdaptation(_OnProcedure):
    """Record the start of an adaptation qualification (Anpassungsqualifizierung)."""

    measure_id: UUID
    provider: ShortText
    started_on: PastDate


class CompleteAdaptation(_OnProcedure):
    """Record the completion of the running adaptation qualification."""

    measure_id: UUID
    completed_on: PastDate


class RecordCompetenceAssessment(_Command):
    """Record a competence assessment (MYSKILLS, PerF, card-based) of the person."""

    assessment_id: UUID
    method: Kompetenzfeststellung
    occupation: KldbCode
    result_summary: ShortText
    assessed_on: PastDate


ProcedureCommand = (
    SetReferenceOccupation
    | AssignCompetentAuthority
    | SubmitApplication
    | RequestDocuments
    | IssueDecision
    | IssueZabStatement
    | PermitProtectedTitle
    | StartAdaptation
    | CompleteAdaptation
)
RecognitionCommand = RecordCounselling | RecordCompetenceAssessment | ProcedureCommand
