"""The language service's HTTP API: commands in, 201/409/422 out.

The hand-over's issuer change has no route: only the reaction to intake records it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request

from services.chassis.commandapi import add_command
from services.chassis.eventstore import AppendResult, CommandContext
from services.language.commands import (
    EndEnrolment,
    IssueEntitlement,
    RecordAttendance,
    RecordExam,
    RecordPlacementTest,
    StartEnrolment,
)
from services.language.handlers import LanguagePorts, handle

router = APIRouter()


async def execute(
    request: Request, case_id: UUID, command: Any, context: CommandContext
) -> AppendResult:
    ports: LanguagePorts = request.app.state.language
    return await handle(case_id, command, context, ports)


add_command(router, "/cases/{case_id}/entitlements", IssueEntitlement, execute)
add_command(router, "/cases/{case_id}/placement-tests", RecordPlacementTest, execute)
add_command(router, "/cases/{case_id}/enrolments", StartEnrolment, execute)
add_command(router, "/cases/{case_id}/attendance", RecordAttendance, execute)
add_command(router, "/cases/{case_id}/exams", RecordExam, execute)
add_command(router, "/cases/{case_id}/enrolments/end", EndEnrolment, execute)
