"""Recognition's HTTP API: one POST per command on the case, 201/409/422 out."""

from __future__ import annotations

from fastapi import APIRouter

from services.chassis.commandapi import add_case_commands, executor
from services.recognition.commands import (
    AssignCompetentAuthority,
    CompleteAdaptation,
    IssueDecision,
    IssueZabStatement,
    PermitProtectedTitle,
    RecordCompetenceAssessment,
    RecordCounselling,
    RequestDocuments,
    SetReferenceOccupation,
    StartAdaptation,
    SubmitApplication,
)
from services.recognition.handlers import handle

router = APIRouter()
# The stream is the person's case from intake; procedures are named in the body.
add_case_commands(
    router,
    executor(handle, "recognition"),
    (
        ("counselling", RecordCounselling),
        ("reference-occupation", SetReferenceOccupation),
        ("competent-authority", AssignCompetentAuthority),
        ("application", SubmitApplication),
        ("document-request", RequestDocuments),
        ("decision", IssueDecision),
        ("zab-statement", IssueZabStatement),
        ("protected-title", PermitProtectedTitle),
        ("adaptation-start", StartAdaptation),
        ("adaptation-completion", CompleteAdaptation),
        ("competence-assessment", RecordCompetenceAssessment),
    ),
)
