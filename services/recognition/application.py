"""Rules from the Referenzberuf to the authority's answer for a university degree (pure)."""

from __future__ import annotations

from contracts.recognition import (
    ApplicationSubmitted,
    Berufsbereich,
    CompetentAuthority,
    CompetentAuthorityAssigned,
    DocumentsRequested,
    ProtectedTitlePermitted,
    QualificationKind,
    ReferenceOccupationSet,
    ZabStatementIssued,
)
from services.chassis.rules import InvalidTransitionError
from services.recognition.commands import (
    AssignCompetentAuthority,
    IssueZabStatement,
    PermitProtectedTitle,
    RequestDocuments,
    SetReferenceOccupation,
    SubmitApplication,
)
from services.recognition.procedure import Procedure
from services.recognition.zustaendigkeit import competent_for


def set_reference_occupation(
    procedure: Procedure, command: SetReferenceOccupation
) -> ReferenceOccupationSet:
    # The authority was chosen for the Referenzberuf: changing it afterwards would orphan it.
    if procedure.authority is not None:
        raise InvalidTransitionError(
            "reference_occupation.fixed_once_authority_assigned",
            f"{procedure.authority} is already assigned for the current Referenzberuf",
        )
    if (
        command.bereich is Berufsbereich.AKADEMISCH
        and procedure.kind is not QualificationKind.HOCHSCHULABSCHLUSS
    ):
        raise InvalidTransitionError(
            "reference_occupation.academic_needs_hochschulabschluss",
            f"{command.title} needs a university degree; this is a {procedure.kind}",
        )
    return ReferenceOccupationSet(
        procedure_id=procedure.procedure_id,
        kldb=command.kldb,
        title=command.title,
        regulated=command.regulated,
        bereich=command.bereich,
    )


def assign_authority(
    procedure: Procedure, command: AssignCompetentAuthority
) -> CompetentAuthorityAssigned:
    if procedure.submitted_on is not None:
        raise InvalidTransitionError(
            "authority.fixed_after_application",
            f"the application went to {procedure.authority} on {procedure.submitted_on}",
        )
    competent = competent_for(procedure.kind, procedure.reference)
    if command.authority is not competent.authority:
        raise InvalidTransitionError(
            competent.rule, f"this procedure goes to {competent.authority}, not {command.authority}"
        )
    return CompetentAuthorityAssigned(
        procedure_id=procedure.procedure_id, authority=command.authority
    )


def submit_application(procedure: Procedure, command: SubmitApplication) -> ApplicationSubmitted:
    # No separate Referenzberuf check: only the ZAB is ever assigned without one.
    if procedure.submitted_on is not None:
        raise InvalidTransitionError(
            "application.already_submitted", f"submitted on {procedure.submitted_on}"
        )
    if procedure.authority is None:
        raise InvalidTransitionError(
            "application.needs_authority", "assign the competent authority first"
        )
    if command.submitted_on < procedure.counselled_on:
        raise InvalidTransitionError(
            "application.not_before_counselling",
            f"submitted on {command.submitted_on}, counselled on {procedure.counselled_on}",
        )
    return ApplicationSubmitted(
        procedure_id=procedure.procedure_id,
        authority=procedure.authority,
        submitted_on=command.submitted_on,
    )


def request_documents(procedure: Procedure, command: RequestDocuments) -> DocumentsRequested:
    if procedure.submitted_on is None:
        raise InvalidTransitionError(
            "documents.needs_application", "only an application's authority requests documents"
        )
    if not procedure.awaiting_decision:
        raise InvalidTransitionError(
            "documents.procedure_decided", "the authority has answered; nothing is pending"
        )
    if command.requested_on < procedure.submitted_on:
        raise InvalidTransitionError(
            "documents.not_before_application",
            f"requested on {command.requested_on}, applied on {procedure.submitted_on}",
        )
    return DocumentsRequested(
        procedure_id=procedure.procedure_id,
        documents=command.documents,
        requested_on=command.requested_on,
        due_on=command.due_on,
    )


def issue_zab_statement(procedure: Procedure, command: IssueZabStatement) -> ZabStatementIssued:
    if procedure.kind is not QualificationKind.HOCHSCHULABSCHLUSS:
        raise InvalidTransitionError(
            "zab_statement.needs_hochschulabschluss", "the ZAB evaluates university degrees only"
        )
    if procedure.authority is not CompetentAuthority.ZAB:
        raise InvalidTransitionError(
            "zab_statement.needs_zab", f"this procedure lies with {procedure.authority}"
        )
    if procedure.submitted_on is None:
        raise InvalidTransitionError(
            "zab_statement.needs_application", "the ZAB evaluates on application"
        )
    if procedure.zab_statement_on is not None:
        raise InvalidTransitionError(
            "zab_statement.already_issued", f"issued on {procedure.zab_statement_on}"
        )
    if command.issued_on < procedure.submitted_on:
        raise InvalidTransitionError(
            "zab_statement.not_before_application",
            f"issued on {command.issued_on}, applied on {procedure.submitted_on}",
        )
    return ZabStatementIssued(
        procedure_id=procedure.procedure_id,
        comparable_to=command.comparable_to,
        issued_on=command.issued_on,
    )


def permit_protected_title(
    procedure: Procedure, command: PermitProtectedTitle
) -> ProtectedTitlePermitted:
    if procedure.kind is not QualificationKind.HOCHSCHULABSCHLUSS:
        raise InvalidTransitionError(
            "protected_title.needs_hochschulabschluss",
            f"the title {command.title} needs a university degree",
        )
    if command.title in procedure.titles:
        raise InvalidTransitionError(
            "protected_title.already_permitted", f"{command.title} was permitted before"
        )
    if command.granted_on < procedure.counselled_on:
        raise InvalidTransitionError(
            "protected_title.not_before_counselling",
            f"granted on {command.granted_on}, counselled on {procedure.counselled_on}",
        )
    return ProtectedTitlePermitted(
        procedure_id=procedure.procedure_id,
        title=command.title,
        authority=command.authority,
        granted_on=command.granted_on,
    )
