"""Who may issue which recognition command (pure): the table ``docs/authorization.md``
renders. The responsible agency records the procedure from the bodies' letters (IQ's
counselling centres report themselves through the partner channel in a later issue).
"""

from __future__ import annotations

from typing import Final

from services.chassis.authorization import (
    RESPONSIBLE,
    Acting,
    Grant,
    KnownCase,
    Role,
    Rule,
    permit_on_known_case,
)
from services.recognition.commands import (
    AssignCompetentAuthority,
    CompleteAdaptation,
    IssueDecision,
    IssueZabStatement,
    PermitProtectedTitle,
    RecognitionCommand,
    RecordCompetenceAssessment,
    RecordCounselling,
    RequestDocuments,
    SetReferenceOccupation,
    StartAdaptation,
    SubmitApplication,
)

_PROCEDURE: Final = Rule(
    "recognition.responsible_agency_records", (Grant.to(RESPONSIBLE, Role.CASE_WORKER),)
)

WHO_MAY_ISSUE: Final[dict[type, Rule]] = dict.fromkeys(
    (
        RecordCounselling,
        SetReferenceOccupation,
        AssignCompetentAuthority,
        SubmitApplication,
        RequestDocuments,
        IssueDecision,
        IssueZabStatement,
        PermitProtectedTitle,
        StartAdaptation,
        CompleteAdaptation,
        RecordCompetenceAssessment,
    ),
    _PROCEDURE,
)


def permit(case: KnownCase | None, command: RecognitionCommand, acting: Acting) -> None:
    """404 for an unknown case, 403 naming the rule for what ``acting`` may not issue."""
    permit_on_known_case(WHO_MAY_ISSUE, acting, command, case)
