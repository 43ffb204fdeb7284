"""Recognition's HTTP API: one POST per command on the case, 201/409/422 out."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request

from services.chassis.commandapi import add_command
from services.chassis.eventstore import AppendResult, CommandContext
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
from services.recognition.handlers import RecognitionPorts, handle

router = APIRouter()


async def execute(
    request: Request, case_id: UUID, command: Any, context: CommandContext
) -> AppendResult:
    ports: RecognitionPorts = request.app.state.recognition
    return await handle(case_id, command, context, ports)


# The stream is the person's case from intake; procedures are named in the body.
for path, command_type in (
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
):
    add_command(router, f"/cases/{{case_id}}/{path}", command_type, execute)
